"""Server-side login sessions of the dashboard and the cookie secret that signs them.

A login creates a random token that the browser keeps in a signed cookie; the
token maps to a :class:`WebSession` in the process-wide :data:`SESSIONS` table. A
session that has seen no request for the configured idle time ends, so a stolen
or forgotten browser stops working by itself. The table lives in memory, so a
server restart logs everybody out.

Bokeh loads the auth module (``pipeline/webauth.py``) from its file path under a
generated module name, so module-level state there would not be shared with the
dashboard's ``import pipeline.webauth``. Shared state therefore lives in this
module, which both import normally.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.auth import UserStore
from pipeline.config import Config
from pipeline.errors import ConfigError

logger = logging.getLogger(__name__)

COOKIE_NAME = "recwatch_session"
COOKIE_SECRET_FILE = "cookie_secret"
# Used until the configuration has a security.session_idle_minutes setting.
DEFAULT_IDLE_MINUTES = 30
TOKEN_BYTES = 32


@dataclass
class WebSession:
    """One logged-in browser: its user, address and last request time."""

    token: str
    username: str
    client_addr: str
    created_at: float
    last_seen: float


class SessionStore:
    """Login sessions keyed by token, ended after ``idle_seconds`` without a request."""

    def __init__(
        self,
        idle_seconds: float = DEFAULT_IDLE_MINUTES * 60,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._sessions: dict[str, WebSession] = {}
        self._lock = threading.Lock()

    def create(self, username: str, client_addr: str) -> str:
        """Start a session for ``username`` and return its new random token."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock()
        with self._lock:
            self._prune(now)
            self._sessions[token] = WebSession(
                token, username, client_addr, created_at=now, last_seen=now
            )
        return token

    def lookup(self, token: str | None, *, touch: bool = True) -> WebSession | None:
        """Return the live session of ``token``, or None when unknown or idle too long.

        With ``touch`` the lookup counts as activity and restarts the idle time.
        """
        if not token:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now - session.last_seen > self.idle_seconds:
                del self._sessions[token]
                logger.info("login session expired: username=%s", session.username)
                return None
            if touch:
                session.last_seen = now
            return session

    def end(self, token: str | None) -> WebSession | None:
        """End the session of ``token`` and return it, or None if it was not live."""
        if not token:
            return None
        with self._lock:
            return self._sessions.pop(token, None)

    def __len__(self) -> int:
        with self._lock:
            self._prune(self._clock())
            return len(self._sessions)

    def _prune(self, now: float) -> None:
        expired = [
            token
            for token, session in self._sessions.items()
            if now - session.last_seen > self.idle_seconds
        ]
        for token in expired:
            del self._sessions[token]


SESSIONS = SessionStore()

_state_lock = threading.Lock()
_auth_active = False
_user_stores: dict[Path, UserStore] = {}


def mark_auth_active() -> None:
    """Record that the server runs with the recwatch login (the auth module loaded)."""
    global _auth_active
    with _state_lock:
        _auth_active = True


def auth_active() -> bool:
    """Return whether the server runs with ``--auth-module pipeline/webauth.py``."""
    with _state_lock:
        return _auth_active


def idle_minutes(config: Config) -> float:
    """Return the session idle time from the configuration, in minutes."""
    return float(config["security.session_idle_minutes"])


def user_store(config: Config) -> UserStore:
    """Return the process's one UserStore for the configured users file.

    The store counts failed logins in memory, so every login must go through the
    same instance for the rate limit to hold.
    """
    path = Path(config["security.users_file"])
    with _state_lock:
        store = _user_stores.get(path)
        if store is None:
            store = _user_stores[path] = UserStore(path)
        return store


def load_or_create_cookie_secret(data_dir: Path) -> str:
    """Return the cookie secret in ``data_dir/cookie_secret``, creating it first.

    The file is created with mode 0600 so that only the server's account can read
    it. An existing file that others can read raises ConfigError.
    """
    path = Path(data_dir) / COOKIE_SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_cookie_secret(path)
    secret = secrets.token_urlsafe(48)
    with os.fdopen(descriptor, "w", encoding="ascii") as stream:
        stream.write(secret + "\n")
    logger.info("cookie secret created: %s", path)
    return secret


def _read_cookie_secret(path: Path) -> str:
    """Read an existing cookie secret, checking its mode and length."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            f"cookie secret {path} has mode {mode:o}, so other accounts can read "
            f"it. Expected 600: run chmod 600 {path}."
        )
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < TOKEN_BYTES:
        raise ConfigError(
            f"cookie secret {path} is shorter than {TOKEN_BYTES} characters. "
            f"Delete the file so that the server creates a new one."
        )
    return secret
