"""Tests for roles, permissions, the users file, login limits and masking."""

from __future__ import annotations

import json
from datetime import date

import pytest
from argon2 import PasswordHasher

from pipeline import auth
from pipeline.auth import LoginStatus, User, UserStore
from pipeline.errors import ConfigError, PermissionDenied, RecwatchError

# Cheap argon2id parameters keep the tests fast, and the algorithm is the real one.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct-horse-42"

# The permission matrix as the roles are documented, written out independently of
# auth.PERMISSIONS so that a change to either shows up here.
EXPECTED_ALLOWED = {
    "viewer": {"view_counts"},
    "operator": {
        "view_counts",
        "view_recordings",
        "view_personal",
        "manage_requests",
        "handover",
        "play",
        "download",
        "export_own",
        "place_hold",
        "release_hold",
        "purge",
    },
    "approver": {
        "view_counts",
        "view_recordings",
        "view_personal",
        "approve_request",
        "export_own",
        "view_access_log",
        "review_access_log",
    },
    "auditor": {
        "view_counts",
        "view_recordings",
        "view_personal",
        "view_access_log",
        "review_access_log",
    },
    "admin": {"view_counts", "manage_users", "change_settings"},
}


class FakeClock:
    """Monotonic seconds that a test advances by hand instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_user(*roles: str) -> User:
    return User("kim.test", "테스트 사용자", roles, "정보통신과")


def make_store(tmp_path, clock=None) -> UserStore:
    if clock is None:
        return UserStore(tmp_path / "users.json", hasher=FAST_HASHER)
    return UserStore(tmp_path / "users.json", hasher=FAST_HASHER, clock=clock)


# --- permission matrix ------------------------------------------------------------


def matrix_cells():
    for role in auth.ROLES:
        for action in sorted(auth.ACTIONS):
            expected = action in EXPECTED_ALLOWED[role]
            yield pytest.param(
                role,
                action,
                expected,
                id=f"{role}-{action}-{'allow' if expected else 'deny'}",
            )


@pytest.mark.parametrize(("role", "action", "expected"), list(matrix_cells()))
def test_require_matrix_cell(role, action, expected):
    user = make_user(role)
    if expected:
        auth.require(user, action)
        assert auth.allowed(user, action)
    else:
        with pytest.raises(PermissionDenied, match=f"'kim.test' with roles {role} "):
            auth.require(user, action)
        assert not auth.allowed(user, action)


def test_matrix_lists_every_role_and_action():
    assert set(auth.PERMISSIONS) == set(auth.ROLES)
    for allowed_actions in auth.PERMISSIONS.values():
        assert allowed_actions <= auth.ACTIONS


def test_auditor_cannot_play_export_or_change():
    forbidden = {
        "play",
        "download",
        "export_own",
        "manage_requests",
        "approve_request",
        "handover",
        "place_hold",
        "release_hold",
        "purge",
        "manage_users",
        "change_settings",
    }
    assert not forbidden & auth.PERMISSIONS["auditor"]


def test_require_message_names_action_and_roles():
    with pytest.raises(PermissionDenied, match="may not perform 'purge'") as caught:
        auth.require(make_user("viewer"), "purge")
    assert "needs one of the roles operator" in str(caught.value)


def test_require_combines_roles():
    user = make_user("viewer", "admin")
    auth.require(user, "manage_users")
    auth.require(user, "view_counts")
    with pytest.raises(PermissionDenied):
        auth.require(user, "view_personal")


def test_require_rejects_unknown_action():
    with pytest.raises(RecwatchError, match="action 'fly' is unknown"):
        auth.require(make_user("admin"), "fly")


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        pytest.param((), "has no roles", id="none"),
        pytest.param(("owner",), "unknown roles", id="unknown"),
        pytest.param(("auditor", "operator"), "auditor role together", id="auditor-op"),
        pytest.param(("auditor", "admin"), "auditor role together", id="auditor-admin"),
    ],
)
def test_user_rejects_invalid_roles(roles, message):
    with pytest.raises(ConfigError, match=message):
        make_user(*roles)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        pytest.param(role, "view_personal" in EXPECTED_ALLOWED[role], id=role)
        for role in auth.ROLES
    ],
)
def test_can_see_personal_by_role(role, expected):
    assert auth.can_see_personal(make_user(role)) is expected


# --- users file -------------------------------------------------------------------


def test_store_never_writes_plain_password(tmp_path):
    store = make_store(tmp_path)
    store.add_user("operator1", PASSWORD, ["operator"], "데모 담당자", "정보통신과")
    store.set_password("operator1", "second-horse-43")
    text = store.path.read_text(encoding="utf-8")
    assert PASSWORD not in text
    assert "second-horse-43" not in text
    record = json.loads(text)["users"]["operator1"]
    assert record["password_hash"].startswith("$argon2id$")


def test_store_default_hasher_is_argon2id(tmp_path):
    store = UserStore(tmp_path / "users.json")
    store.add_user("admin1", PASSWORD, ["admin"], "데모 관리자", "정보통신과")
    record = json.loads(store.path.read_text())["users"]["admin1"]
    assert record["password_hash"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_store_file_is_owner_only(tmp_path):
    store = make_store(tmp_path)
    store.add_user("admin1", PASSWORD, ["admin"], "데모 관리자", "정보통신과")
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert [path.name for path in tmp_path.glob("*.tmp")] == []


def test_store_round_trips_users(tmp_path):
    store = make_store(tmp_path)
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    store.add_user("admin1", PASSWORD, ["admin", "viewer"], "데모 관리자", "정보통신과")
    reopened = make_store(tmp_path)
    assert reopened.list_users() == [
        User("admin1", "데모 관리자", ("admin", "viewer"), "정보통신과"),
        User("op2", "데모 담당자", ("operator",), "민원과"),
    ]
    assert reopened.get_user("op2").department == "민원과"


def test_store_authenticates_correct_password(tmp_path):
    store = make_store(tmp_path)
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    user = store.authenticate("op2", PASSWORD, "127.0.0.1")
    assert user == User("op2", "데모 담당자", ("operator",), "민원과")
    assert store.authenticate("op2", "wrong-horse-42", "127.0.0.1") is None
    assert store.authenticate("nobody", PASSWORD, "127.0.0.1") is None


def test_store_set_password_replaces_old(tmp_path):
    store = make_store(tmp_path)
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    store.set_password("op2", "second-horse-43")
    assert store.authenticate("op2", PASSWORD, "127.0.0.1") is None
    assert store.authenticate("op2", "second-horse-43", "127.0.0.1") is not None


def test_store_remove_user(tmp_path):
    store = make_store(tmp_path)
    store.add_user("admin1", PASSWORD, ["admin"], "데모 관리자", "정보통신과")
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    store.remove_user("op2")
    assert [user.username for user in store.list_users()] == ["admin1"]
    with pytest.raises(ConfigError, match="user 'op2' was not found"):
        store.remove_user("op2")


def test_store_keeps_last_admin(tmp_path):
    store = make_store(tmp_path)
    store.add_user("admin1", PASSWORD, ["admin"], "데모 관리자", "정보통신과")
    with pytest.raises(ConfigError, match="last admin"):
        store.remove_user("admin1")
    with pytest.raises(ConfigError, match="last admin"):
        store.set_roles("admin1", ["viewer"])
    store.add_user("admin2", PASSWORD, ["admin"], "데모 관리자", "정보통신과")
    store.remove_user("admin1")
    assert [user.username for user in store.list_users()] == ["admin2"]


@pytest.mark.parametrize(
    ("username", "password", "roles", "message"),
    [
        pytest.param("op2", "short-1", ["operator"], "too short", id="short"),
        pytest.param(
            "op2", "onlyletterspassword", ["operator"], "one kind", id="letters"
        ),
        pytest.param(
            "operator.kim", "OPERATOR.KIM", ["operator"], "equals the", id="upper"
        ),
        pytest.param(
            "op2.op2.op2", "op2.op2.op2", ["operator"], "equals the", id="same"
        ),
        pytest.param(
            "Op2", PASSWORD, ["operator"], "username 'Op2' is invalid", id="upper-name"
        ),
        pytest.param("op2", PASSWORD, ["boss"], "unknown roles", id="role"),
    ],
)
def test_store_rejects_invalid_user(tmp_path, username, password, roles, message):
    store = make_store(tmp_path)
    with pytest.raises(ConfigError, match=message):
        store.add_user(username, password, roles, "데모", "정보통신과")
    assert store.list_users() == []


def test_store_rejects_duplicate_user(tmp_path):
    store = make_store(tmp_path)
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    with pytest.raises(ConfigError, match="user 'op2' already exists"):
        store.add_user("op2", PASSWORD, ["viewer"], "데모", "민원과")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{not json", "is not valid JSON", id="syntax"),
        pytest.param(
            '{"format": 9, "users": {}}', "has format 9, expected 1", id="format"
        ),
        pytest.param("[]", "has format None", id="array"),
    ],
)
def test_store_rejects_invalid_file(tmp_path, content, message):
    (tmp_path / "users.json").write_text(content)
    with pytest.raises(ConfigError, match=message):
        make_store(tmp_path).list_users()


def test_store_upgrades_weak_hash_on_login(tmp_path):
    weak = make_store(tmp_path)
    weak.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    store = UserStore(tmp_path / "users.json", hasher=stronger)
    assert store.authenticate("op2", PASSWORD, "127.0.0.1") is not None
    record = json.loads(store.path.read_text())["users"]["op2"]
    assert "$m=2048,t=2,p=1$" in record["password_hash"]


# --- login limits -----------------------------------------------------------------


def fail_logins(store: UserStore, username: str, client_addr: str, count: int):
    return [store.login(username, "wrong-horse-42", client_addr) for _ in range(count)]


def test_login_locks_username_after_failures(tmp_path):
    clock = FakeClock()
    store = make_store(tmp_path, clock)
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    results = fail_logins(store, "op2", "127.0.0.1", auth.MAX_FAILED_LOGINS)
    statuses = [result.status for result in results]
    expected = [LoginStatus.INVALID_CREDENTIALS] * (auth.MAX_FAILED_LOGINS - 1)
    assert statuses == [*expected, LoginStatus.LOCKED]

    # The right password from another address is still rejected while locked.
    locked = store.login("op2", PASSWORD, "127.0.0.2")
    assert locked.status is LoginStatus.LOCKED
    assert locked.user is None
    assert locked.retry_after_seconds == auth.LOGIN_LOCKOUT_SECONDS
    assert store.authenticate("op2", PASSWORD, "127.0.0.2") is None

    clock.now += auth.LOGIN_LOCKOUT_SECONDS - 1
    assert store.login("op2", PASSWORD, "127.0.0.2").retry_after_seconds == 1
    clock.now += 1
    assert store.login("op2", PASSWORD, "127.0.0.2").status is LoginStatus.OK


def test_login_locks_client_address(tmp_path):
    clock = FakeClock()
    store = make_store(tmp_path, clock)
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    for index in range(auth.MAX_FAILED_LOGINS_PER_ADDRESS):
        store.login(f"guess{index}", "wrong-horse-42", "127.0.0.9")
    assert store.login("op2", PASSWORD, "127.0.0.9").status is LoginStatus.LOCKED
    assert store.login("op2", PASSWORD, "127.0.0.1").status is LoginStatus.OK


def test_typos_from_shared_address_lock_no_one_else(tmp_path):
    clock = FakeClock()
    store = make_store(tmp_path, clock)
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    # One person's five typos lock that username, not the office's address.
    fail_logins(store, "admin", "10.0.0.1", auth.MAX_FAILED_LOGINS)
    assert store.login("op2", PASSWORD, "10.0.0.1").status is LoginStatus.OK


def test_login_forgets_failures_outside_window(tmp_path):
    clock = FakeClock()
    store = make_store(tmp_path, clock)
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    fail_logins(store, "op2", "127.0.0.1", auth.MAX_FAILED_LOGINS - 1)
    clock.now += auth.FAILED_LOGIN_WINDOW_SECONDS
    result = fail_logins(store, "op2", "127.0.0.1", 1)[0]
    assert result.status is LoginStatus.INVALID_CREDENTIALS
    assert store.login("op2", PASSWORD, "127.0.0.1").status is LoginStatus.OK


def test_login_success_resets_username_count(tmp_path):
    clock = FakeClock()
    store = make_store(tmp_path, clock)
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    fail_logins(store, "op2", "127.0.0.1", auth.MAX_FAILED_LOGINS - 1)
    assert store.login("op2", PASSWORD, "127.0.0.2").status is LoginStatus.OK
    result = fail_logins(store, "op2", "127.0.0.3", 1)[0]
    assert result.status is LoginStatus.INVALID_CREDENTIALS


def test_login_success_keeps_address_count(tmp_path):
    clock = FakeClock()
    store = make_store(tmp_path, clock)
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    store.add_user("op3", PASSWORD, ["operator"], "데모 담당자", "민원과")
    for index in range(auth.MAX_FAILED_LOGINS_PER_ADDRESS - 1):
        store.login(f"guess{index}", "wrong-horse-42", "127.0.0.9")
    assert store.login("op2", PASSWORD, "127.0.0.9").status is LoginStatus.OK
    result = store.login("op3", "wrong-horse-42", "127.0.0.9")
    assert result.status is LoginStatus.LOCKED


def test_login_unknown_user_counts_failures(tmp_path):
    store = make_store(tmp_path, FakeClock())
    results = fail_logins(store, "nobody", "127.0.0.1", auth.MAX_FAILED_LOGINS)
    assert results[-1].status is LoginStatus.LOCKED


def test_login_logs_no_password_or_unknown_name(tmp_path, caplog):
    store = make_store(tmp_path, FakeClock())
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    caplog.set_level("DEBUG", logger="pipeline.auth")
    store.login("op2", "wrong-horse-42", "127.0.0.1")
    store.login("typed-secret-99", "wrong-horse-42", "127.0.0.1")
    store.login("op2", PASSWORD, "127.0.0.1")
    assert "login failed: username=op2" in caplog.text
    assert "login failed: username=(unknown)" in caplog.text
    assert "typed-secret-99" not in caplog.text
    assert "wrong-horse-42" not in caplog.text
    assert PASSWORD not in caplog.text


# --- demo users and privileged users ----------------------------------------------


def test_demo_users_log_in_with_documented_passwords(tmp_path):
    path = tmp_path / "users.json"
    passwords = auth.create_demo_users(path)
    assert passwords["operator"] == "demo-operator-2026"
    assert set(passwords) == set(auth.ROLES)
    store = UserStore(path)
    for username, password in passwords.items():
        user = store.authenticate(username, password, "127.0.0.1")
        assert user is not None, username
        assert user.roles == (username,)


def test_demo_users_reset_on_rerun(tmp_path):
    path = tmp_path / "users.json"
    auth.create_demo_users(path)
    store = UserStore(path, hasher=FAST_HASHER)
    store.set_password("viewer", "changed-horse-44")
    auth.create_demo_users(path)
    assert store.authenticate("viewer", "demo-viewer-2026", "127.0.0.1") is not None
    assert len(store.list_users()) == len(auth.ROLES)


def test_privileged_users_excludes_viewers(tmp_path):
    store = make_store(tmp_path)
    store.add_user("admin1", PASSWORD, ["admin"], "데모 관리자", "정보통신과")
    store.add_user("view1", PASSWORD, ["viewer"], "데모 열람자", "민원과")
    store.add_user("op2", PASSWORD, ["operator", "viewer"], "데모 담당자", "민원과")
    names = [user.username for user in auth.privileged_users(store)]
    assert names == ["admin1", "op2"]


def test_check_privileged_users_limit(tmp_path):
    store = make_store(tmp_path)
    store.add_user("admin1", PASSWORD, ["admin"], "데모 관리자", "정보통신과")
    store.add_user("op2", PASSWORD, ["operator"], "데모 담당자", "민원과")
    within = auth.check_privileged_users(store, maximum=2)
    assert within.within_limit
    assert within.message == "2 privileged users, within the maximum of 2."
    over = auth.check_privileged_users(store, maximum=1)
    assert not over.within_limit
    assert over.message.startswith("2 privileged users exceed the maximum of 1.")
    with pytest.raises(ConfigError, match="Expected at least 1"):
        auth.check_privileged_users(store, maximum=0)


# --- masking ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        pytest.param("02-0000-1234", "02-****-1234", id="seoul-hyphens"),
        pytest.param("0200001234", "02-****-1234", id="seoul-digits"),
        pytest.param("020001234", "02-***-1234", id="seoul-short"),
        pytest.param("031-000-1234", "031-***-1234", id="gyeonggi"),
        pytest.param("0310001234", "031-***-1234", id="gyeonggi-digits"),
        pytest.param("010-0000-1234", "010-****-1234", id="mobile"),
        pytest.param("01000001234", "010-****-1234", id="mobile-digits"),
        pytest.param("070-0000-1234", "070-****-1234", id="internet-phone"),
        pytest.param("0505-0000-1234", "0505-****-1234", id="personal-number"),
        pytest.param("+82 2-0000-1234", "02-****-1234", id="international"),
        pytest.param("+82-10-0000-1234", "010-****-1234", id="international-mobile"),
        pytest.param("1234", "1234", id="extension"),
        pytest.param("123", "123", id="short-extension"),
        pytest.param("1588-0000", "****0000", id="representative"),
        pytest.param("0800001234", "******1234", id="unknown-prefix"),
        pytest.param("", "", id="empty"),
        pytest.param(None, "", id="none"),
    ],
)
def test_mask_phone(number, expected):
    assert auth.mask_phone(number) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("홍길동", "홍*동", id="three"),
        pytest.param("이몽", "이*", id="two"),
        pytest.param("남궁길동", "남**동", id="four"),
        pytest.param("김", "*", id="one"),
        pytest.param("Jane Roe", "J*** **e", id="latin"),
        pytest.param(" 홍길동 ", "홍*동", id="spaces"),
        pytest.param("", "", id="empty"),
        pytest.param(None, "", id="none"),
    ],
)
def test_mask_name(name, expected):
    assert auth.mask_name(name) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1990-01-02", "1990-**-**", id="iso"),
        pytest.param("1990.1.2", "1990.**.**", id="dots"),
        pytest.param("19900102", "1990****", id="digits"),
        pytest.param("900102", "90****", id="short"),
        pytest.param(date(1990, 1, 2), "1990-**-**", id="date"),
        pytest.param("900102-1000000", "90****-*******", id="resident-number"),
        pytest.param("9001021000000", "90***********", id="resident-digits"),
        pytest.param("born in spring", "**************", id="text"),
        pytest.param(None, "", id="none"),
    ],
)
def test_mask_birth(value, expected):
    assert auth.mask_birth(value) == expected
