"""Tests of the login sessions, the cookie secret, safe redirects and masking."""

from __future__ import annotations

import os
import stat
from types import SimpleNamespace

import pytest

from pipeline.auth import User
from pipeline.catalog import Catalog
from pipeline.errors import ConfigError
from pipeline.views.formatting import format_phone, mask_phone_numbers
from pipeline.views.session import PersonalViewLog
from pipeline.webauth import login_language, safe_next
from pipeline.websessions import SessionStore, load_or_create_cookie_secret


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- sessions -------------------------------------------------------------------------


def test_session_lookup_returns_user():
    store = SessionStore(60, clock=FakeClock())
    token = store.create("operator", "127.0.0.1")
    session = store.lookup(token)
    assert session is not None
    assert session.username == "operator"
    assert session.client_addr == "127.0.0.1"


def test_session_tokens_are_unique():
    store = SessionStore(60, clock=FakeClock())
    tokens = {store.create("viewer", "127.0.0.1") for _ in range(100)}
    assert len(tokens) == 100
    assert min(len(token) for token in tokens) >= 40


def test_session_expires_after_idle_time():
    clock = FakeClock()
    store = SessionStore(60, clock=clock)
    token = store.create("viewer", "127.0.0.1")
    clock.now += 61
    assert store.lookup(token) is None
    clock.now -= 61
    assert store.lookup(token) is None, "an expired session must not come back"


def test_session_touch_extends_idle_time():
    clock = FakeClock()
    store = SessionStore(60, clock=clock)
    token = store.create("viewer", "127.0.0.1")
    for _ in range(5):
        clock.now += 50
        assert store.lookup(token) is not None
    clock.now += 50
    assert store.lookup(token, touch=False) is not None
    clock.now += 50
    assert store.lookup(token) is None


def test_session_end_logs_out():
    store = SessionStore(60, clock=FakeClock())
    token = store.create("viewer", "127.0.0.1")
    ended = store.end(token)
    assert ended is not None
    assert store.lookup(token) is None
    assert store.end(token) is None


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param("not-a-token", id="unknown"),
    ],
)
def test_session_lookup_rejects_unknown(token):
    store = SessionStore(60, clock=FakeClock())
    store.create("viewer", "127.0.0.1")
    assert store.lookup(token) is None


# -- cookie secret --------------------------------------------------------------------


def test_cookie_secret_created_once(tmp_path):
    first = load_or_create_cookie_secret(tmp_path / "data")
    second = load_or_create_cookie_secret(tmp_path / "data")
    path = tmp_path / "data" / "cookie_secret"
    assert first == second
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_cookie_secret_readable_by_others_rejected(tmp_path):
    load_or_create_cookie_secret(tmp_path)
    os.chmod(tmp_path / "cookie_secret", 0o644)
    with pytest.raises(ConfigError, match="mode 644.*chmod 600"):
        load_or_create_cookie_secret(tmp_path)


def test_cookie_secret_too_short_rejected(tmp_path):
    path = tmp_path / "cookie_secret"
    path.write_text("short\n", encoding="ascii")
    os.chmod(path, 0o600)
    with pytest.raises(ConfigError, match="shorter than 32"):
        load_or_create_cookie_secret(tmp_path)


# -- redirects after login ------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param(
            "/dashboard?page=recordings", "/dashboard?page=recordings", id="path"
        ),
        pytest.param(None, "/", id="none"),
        pytest.param("", "/", id="empty"),
        pytest.param("https://example.invalid/", "/", id="absolute"),
        pytest.param("//example.invalid/x", "/", id="protocol-relative"),
        pytest.param("/\\example.invalid", "/", id="backslash"),
        pytest.param("javascript:alert(1)", "/", id="javascript"),
        pytest.param("dashboard", "/", id="relative"),
    ],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


# -- masking --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "next_target", "expected"),
    [
        pytest.param("en", None, "en", id="lang"),
        pytest.param(None, "/dashboard?page=retention&lang=en", "en", id="from-next"),
        pytest.param("ko", "/dashboard?lang=en", "ko", id="lang-wins"),
        pytest.param(None, "/dashboard?lang=fr", "ko", id="unknown"),
        pytest.param(None, None, "ko", id="default"),
    ],
)
def test_login_language(language, next_target, expected):
    assert login_language(language, next_target) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "in-2101-0200001234-20261106-135114-1764812350.5.wav",
            "in-2101-02-****-1234-20261106-135114-1764812350.5.wav",
            id="freepbx-seoul",
        ),
        pytest.param(
            "out-2101-01012345678-20261106-1.wav",
            "out-2101-010-****-5678-20261106-1.wav",
            id="freepbx-mobile",
        ),
        pytest.param(
            "call from 031-123-4567 failed",
            "call from 031-***-4567 failed",
            id="dashed",
        ),
        pytest.param("line 2101 at 20261106", "line 2101 at 20261106", id="no-number"),
    ],
)
def test_mask_phone_numbers(text, expected):
    assert mask_phone_numbers(text) == expected


def test_format_phone_masks_on_request():
    assert format_phone("0200001234") == "0200001234"
    assert format_phone("0200001234", mask=True) == "02-****-1234"
    assert format_phone(None, mask=True) == ""


# -- view_personal rate limit ---------------------------------------------------------


def test_personal_view_logged_once_a_minute(tmp_path):
    clock = FakeClock()
    user = User("operator", "데모 담당자", ("operator",), "정보통신과")
    with Catalog(tmp_path / "catalog.duckdb") as catalog:
        service = SimpleNamespace(catalog=catalog)
        log = PersonalViewLog(service, user, interval_s=60, clock=clock)
        assert log.record("recordings", 20) is True
        assert log.record("recordings", 20) is False
        assert log.record("retention", 3) is True
        assert log.record("holds", 0) is False
        clock.now += 61
        assert log.record("recordings", 5) is True
        rows = catalog.query(
            "SELECT actor, action, object_ids, detail->>'rows' FROM access_log"
            " ORDER BY id"
        )
    assert [row[1] for row in rows] == ["view_personal"] * 3
    assert [row[2] for row in rows] == [["recordings"], ["retention"], ["recordings"]]
    assert [row[3] for row in rows] == ["20", "3", "5"]
    assert {row[0] for row in rows} == {"operator"}
