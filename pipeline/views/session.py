"""The user of the current dashboard session, and access-log entries for it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import panel as pn
from tornado.web import decode_signed_value

from pipeline import accesslog
from pipeline.auth import User
from pipeline.errors import ConfigError
from pipeline.service import Service
from pipeline.websessions import COOKIE_NAME, SESSIONS, user_store

logger = logging.getLogger(__name__)

# view_personal entries are written at most once per page and session in this time.
VIEW_PERSONAL_INTERVAL_S = 60.0


def session_token() -> str | None:
    """Return the login token from the signed cookie of this session's request."""
    value = pn.state.cookies.get(COOKIE_NAME) if pn.state.curdoc else None
    secret = pn.config.cookie_secret
    if not value or not secret:
        return None
    decoded = decode_signed_value(secret, COOKIE_NAME, value)
    return decoded.decode("ascii", "replace") if decoded else None


def oauth_username() -> str | None:
    """Return the user Panel's OAuth login set, when an OAuth provider is in use.

    With ``--oauth-provider`` the organisation's identity provider checks the
    password and Panel keeps the login; recwatch's own session table is unused
    and roles still come from the users file, matched by username.
    """
    if pn.config.oauth_provider and pn.state.user:
        return pn.state.user
    return None


def session_alive(*, touch: bool = False) -> bool:
    """Return whether this session's login is still live (not logged out or idle)."""
    if oauth_username():
        return True
    return SESSIONS.lookup(session_token(), touch=touch) is not None


def current_user(service: Service) -> User | None:
    """Return the logged-in user of this session, or None without a live login.

    The user is read from the users file on every call, so a role removed by an
    administrator takes effect on the next page the user opens.
    """
    # NOTE: the OAuth branch is exercised only without a real identity
    # provider; the recwatch login below is what the browser tests cover.
    username = oauth_username()
    if username is None:
        session = SESSIONS.lookup(session_token(), touch=False)
        if session is None:
            return None
        username = session.username
    try:
        return user_store(service.config).get_user(username)
    except ConfigError:
        logger.warning("session user is not in the users file: username=%s", username)
        return None


def client_addr() -> str:
    """Return the browser's address for this session, or "" outside a session."""
    context = pn.state.curdoc.session_context if pn.state.curdoc else None
    if context is None or context.request is None:
        return ""
    return getattr(context.request, "remote_ip", "") or ""


def record_access(
    service: Service,
    user: User,
    action: str,
    *,
    object_type: str | None = None,
    object_ids: Iterable[str | int] = (),
    result: str = "ok",
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append an access-log entry for ``user`` on the catalog's writer thread."""
    address = client_addr()
    ids = tuple(object_ids)
    service.catalog.write(
        lambda con: accesslog.append(
            con,
            actor=user.username,
            action=action,
            role=",".join(user.roles),
            client_addr=address,
            object_type=object_type,
            object_ids=ids,
            result=result,
            detail=detail,
        )
    )


class PersonalViewLog:
    """Writes view_personal entries, at most one per page per interval.

    One instance belongs to one browser session, so the limit is per page and
    session. Without it every refresh of an open page would add an entry.
    """

    def __init__(
        self,
        service: Service,
        user: User,
        *,
        interval_s: float = VIEW_PERSONAL_INTERVAL_S,
        clock=time.monotonic,
    ) -> None:
        self._service = service
        self._user = user
        self._interval_s = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, page: str, rows: int) -> bool:
        """Log that ``page`` showed ``rows`` rows of personal data; return if logged."""
        if rows <= 0:
            return False
        now = self._clock()
        with self._lock:
            last = self._last.get(page)
            if last is not None and now - last < self._interval_s:
                return False
            self._last[page] = now
        record_access(
            self._service,
            self._user,
            "view_personal",
            object_type="page",
            object_ids=(page,),
            detail={"page": page, "rows": int(rows)},
        )
        return True
