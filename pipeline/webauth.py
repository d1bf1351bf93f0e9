"""Login for the dashboard server: a Bokeh auth module.

Serve with ``panel serve dashboard.py --auth-module pipeline/webauth.py`` and a
cookie secret (``scripts/serve`` passes both). Bokeh 3.9 reads ``get_user``,
``login_url``, ``LoginHandler``, ``logout_url`` and ``LogoutHandler`` from this
module and requires a user on every document, session, metadata and websocket
route; a request without one is redirected to ``login_url``.

Passwords are checked by :class:`pipeline.auth.UserStore` (argon2id, with failed
logins rate-limited per username and per address). Every login, failed login and
logout is written to the access log. The signed cookie carries only a random
token; the user behind it is looked up in :data:`pipeline.websessions.SESSIONS`,
which ends a session after the configured idle time.
"""

from __future__ import annotations

import html
import logging
import threading
from urllib.parse import parse_qs, urlsplit

from tornado.ioloop import IOLoop
from tornado.web import RequestHandler

from pipeline import accesslog
from pipeline.auth import LoginStatus, create_demo_users
from pipeline.service import Service, start_service
from pipeline.websessions import (
    COOKIE_NAME,
    SESSIONS,
    idle_minutes,
    mark_auth_active,
    user_store,
)

logger = logging.getLogger(__name__)

login_url = "/login"
logout_url = "/logout"

LOGIN_TEXT = {
    "ko": {
        "title": "녹취시스템 로그인",
        "username": "아이디",
        "password": "비밀번호",
        "submit": "로그인",
        "invalid": "아이디 또는 비밀번호가 올바르지 않습니다.",
        "locked": "로그인 실패가 반복되어 {minutes}분 동안 로그인할 수 없습니다.",
        "no_secret": (
            "서버가 쿠키 비밀키 없이 시작되었습니다. scripts/serve로 다시 시작하십시오."
        ),
        "switch": "English",
        "notice": "허가된 사용자만 접속할 수 있으며 모든 접속은 기록됩니다.",
    },
    "en": {
        "title": "Call recording system login",
        "username": "Username",
        "password": "Password",
        "submit": "Log in",
        "invalid": "The username or password is incorrect.",
        "locked": "Too many failed logins: try again in {minutes} minutes.",
        "no_secret": (
            "The server was started without a cookie secret. Restart it with "
            "scripts/serve."
        ),
        "switch": "한국어",
        "notice": "Authorized users only. Every access is recorded.",
    },
}

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{font-family: "NanumGothic", sans-serif; background: #eef2f6; margin: 0}}
header {{background: #1f4e79; color: white; padding: 14px 24px; font-size: 20px}}
main {{max-width: 360px; margin: 60px auto; background: white; padding: 24px;
  border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.2)}}
label {{display: block; margin-top: 12px}}
input {{width: 100%; box-sizing: border-box; padding: 8px; font-size: 15px}}
button {{margin-top: 18px; width: 100%; padding: 10px; font-size: 15px;
  background: #1f4e79; color: white; border: 0; border-radius: 4px}}
.login-error {{color: #c62828; margin-top: 12px}}
.login-notice {{color: #555; font-size: 13px; margin-top: 16px}}
</style></head>
<body><header>{title}</header><main>
<form method="post" action="{action}" class="login-form">
<input type="hidden" name="next" value="{next}">
<input type="hidden" name="lang" value="{lang}">
<label for="username">{username}</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">{password}</label>
<input id="password" name="password" type="password"
  autocomplete="current-password" required>
<button type="submit">{submit}</button>
</form>
<div class="login-error">{error}</div>
<div class="login-notice">{notice}</div>
<p><a class="login-language" href="{switch_href}">{switch}</a></p>
</main></body></html>
"""


_prepared = threading.Event()


def _service() -> Service:
    """Return the process's service, creating demo users on its first start."""
    service = start_service()
    if _prepared.is_set():
        return service
    users_file = service.config["security.users_file"]
    if service.config["demo.enabled"] and not user_store(service.config).path.exists():
        create_demo_users(users_file)
        logger.info("demo users created: %s", users_file)
    SESSIONS.idle_seconds = idle_minutes(service.config) * 60
    _prepared.set()
    return service


mark_auth_active()


def safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this server, else "/".

    A full URL or a protocol-relative "//host" would let a crafted login link send
    the user to another site after the login.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/"
    return target


def login_language(language: str | None, next_target: str | None) -> str:
    """Return the login page's language: ``lang``, else the page asked for, else ko.

    A visit to /dashboard?lang=en without a login is sent to the login page with
    the whole address in ``next``, so its ``lang`` sets the login page's too.
    """
    if language is None and next_target:
        requested = parse_qs(urlsplit(next_target).query).get("lang")
        language = requested[0] if requested else None
    return language if language in LOGIN_TEXT else "ko"


def session_token(request_handler: RequestHandler) -> str | None:
    """Return the session token of the request's signed cookie, or None."""
    if not request_handler.application.settings.get("cookie_secret"):
        return None
    value = request_handler.get_secure_cookie(COOKIE_NAME)
    return value.decode("ascii", "replace") if value else None


def get_user(request_handler: RequestHandler) -> str | None:
    """Return the username of the request's live session, or None to require a login."""
    if not _prepared.is_set():
        # The first request of the server creates the demo users and reads the
        # idle time, so the login page works before anybody has logged in.
        _service()
        _log_routes(request_handler.application)
    session = SESSIONS.lookup(session_token(request_handler))
    return session.username if session else None


def _log_routes(application) -> None:
    """Log the URL patterns that the server answers, for the route tests."""
    router = getattr(application, "wildcard_router", None)
    patterns = [rule.matcher.regex.pattern for rule in getattr(router, "rules", [])]
    logger.info("server routes: %s", " ".join(patterns))


def log_access(
    service: Service,
    *,
    actor: str,
    action: str,
    client_addr: str,
    role: str | None = None,
    result: str = "ok",
    detail: dict | None = None,
) -> None:
    """Append an access-log entry on the catalog's writer thread."""
    service.catalog.write(
        lambda con: accesslog.append(
            con,
            actor=actor,
            action=action,
            role=role,
            client_addr=client_addr,
            object_type="session",
            result=result,
            detail=detail,
        )
    )


class LoginHandler(RequestHandler):
    """The login form (GET) and the password check (POST)."""

    def get(self) -> None:
        self._render(error="")

    async def post(self) -> None:
        username = self.get_body_argument("username", "").strip()
        password = self.get_body_argument("password", "")
        client_addr = self.request.remote_ip or ""
        text = LOGIN_TEXT[self._language()]
        if not self.application.settings.get("cookie_secret"):
            logger.error("login rejected: the server has no cookie secret")
            self.set_status(503)
            self._render(error=text["no_secret"])
            return

        # Argon2 and the catalog write block, so they run off the event loop.
        service = await IOLoop.current().run_in_executor(None, _service)
        store = user_store(service.config)
        result = await IOLoop.current().run_in_executor(
            None, store.login, username, password, client_addr
        )
        if result.status is LoginStatus.OK:
            user = result.user
            token = SESSIONS.create(user.username, client_addr)
            await IOLoop.current().run_in_executor(
                None,
                lambda: log_access(
                    service,
                    actor=user.username,
                    action="login",
                    role=",".join(user.roles),
                    client_addr=client_addr,
                ),
            )
            # No expires_days: a session cookie ends with the browser as well.
            self.set_secure_cookie(
                COOKIE_NAME,
                token,
                expires_days=None,
                httponly=True,
                samesite="Strict",
            )
            self.redirect(safe_next(self.get_body_argument("next", "/")))
            return

        known = username if _is_known(store, username) else "(unknown)"
        reason = "locked" if result.status is LoginStatus.LOCKED else "invalid"
        await IOLoop.current().run_in_executor(
            None,
            lambda: log_access(
                service,
                actor=known,
                action="login_failed",
                client_addr=client_addr,
                result="denied",
                detail={"reason": reason},
            ),
        )
        self.set_status(429 if reason == "locked" else 401)
        if reason == "locked":
            minutes = max(1, round(result.retry_after_seconds / 60))
            self._render(error=text["locked"].format(minutes=minutes))
        else:
            self._render(error=text["invalid"])

    def _language(self) -> str:
        return login_language(
            self.get_argument("lang", None), self.get_argument("next", None)
        )

    def _render(self, *, error: str) -> None:
        language = self._language()
        text = LOGIN_TEXT[language]
        next_path = safe_next(self.get_argument("next", "/"))
        other = "en" if language == "ko" else "ko"
        query = f"?lang={other}&next={html.escape(next_path, quote=True)}"
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")
        self.write(
            LOGIN_PAGE.format(
                lang=language,
                title=text["title"],
                action=html.escape(self.request.path, quote=True),
                next=html.escape(next_path, quote=True),
                username=text["username"],
                password=text["password"],
                submit=text["submit"],
                error=html.escape(error),
                notice=text["notice"],
                switch=text["switch"],
                switch_href=query,
            )
        )


def _is_known(store, username: str) -> bool:
    """Return whether ``username`` exists, so that typed passwords are not logged."""
    return any(user.username == username for user in store.list_users())


class LogoutHandler(RequestHandler):
    """End the session, clear its cookie and return to the login form."""

    def get(self) -> None:
        token = session_token(self)
        session = SESSIONS.end(token)
        self.clear_cookie(COOKIE_NAME)
        if session is not None:
            service = _service()
            log_access(
                service,
                actor=session.username,
                action="logout",
                client_addr=self.request.remote_ip or "",
            )
        self.redirect(login_url)
