"""Users, roles, permissions and masking of personal data.

Recordings are protected like CCTV footage, so access is limited to the fewest
people. Each role gets only the actions its work needs (``PERMISSIONS``), and the
server checks every action with :func:`require`. Phone numbers and names are masked
for roles that may not see personal data.

Users live in a JSON file with argon2id password hashes (never the plain text). The
file is replaced atomically on every change.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.errors import ConfigError, PermissionDenied, RecwatchError

logger = logging.getLogger(__name__)

# --- roles and permissions ------------------------------------------------------------

ROLES = ("viewer", "operator", "approver", "auditor", "admin")

ACTIONS = frozenset(
    {
        "view_counts",  # totals and ingest health, no personal data
        "view_recordings",  # recording lists and metadata, numbers masked
        "view_personal",  # phone numbers, names and other personal fields unmasked
        "view_access_log",
        "review_access_log",  # record the monthly review of the access log
        "manage_requests",  # enter and update Form 1 requests
        "approve_request",
        "handover",  # Form 2 handover receipts and Form 3 notices
        "play",
        "download",
        "export_own",  # password-protected copy of a call the user took part in
        "place_hold",
        "release_hold",
        "purge",
        "manage_users",
        "change_settings",
    }
)

_READ = frozenset({"view_counts", "view_recordings", "view_personal"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"view_counts"}),
    # 담당자: runs the request, handover, hold and purge work.
    "operator": _READ
    | {
        "manage_requests",
        "handover",
        "play",
        "download",
        "export_own",
        "place_hold",
        "release_hold",
        "purge",
    },
    # 팀장/과장: approves requests and reviews the access log every month.
    "approver": _READ
    | {"approve_request", "export_own", "view_access_log", "review_access_log"},
    # 감사 담당자: reads everything including the access log, and may record the
    # monthly review, but cannot play, export or change recordings, users or settings.
    "auditor": _READ | {"view_access_log", "review_access_log"},
    # Users and settings only: administering the system gives no access to recordings.
    "admin": frozenset({"view_counts", "manage_users", "change_settings"}),
}

# Roles that can see personal data or change recordings, users or settings.
PRIVILEGED_ROLES = frozenset({"operator", "approver", "auditor", "admin"})

# An auditor must be independent of the work being audited.
_ROLES_EXCLUDED_FROM_AUDITOR = frozenset({"operator", "approver", "admin"})


@dataclass(frozen=True)
class User:
    """An authenticated person and the roles the users file gives them."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    department: str

    def __post_init__(self) -> None:
        _validate_roles(self.username, self.roles)


def allowed(user: User, action: str) -> bool:
    """Return whether any of the user's roles permits ``action``."""
    _validate_action(action)
    return any(action in PERMISSIONS[role] for role in user.roles)


def require(user: User, action: str) -> None:
    """Raise PermissionDenied unless one of the user's roles permits ``action``."""
    if allowed(user, action):
        return
    permitted_roles = [role for role in ROLES if action in PERMISSIONS[role]]
    raise PermissionDenied(
        f"user {user.username!r} with roles {', '.join(user.roles)} may not perform "
        f"{action!r}. It needs one of the roles {', '.join(permitted_roles)}, which "
        f"an administrator can grant.",
        code="permission_denied",
        values={"action": action, "roles": list(permitted_roles)},
    )


def can_see_personal(user: User) -> bool:
    """Return whether the user may see phone numbers and names unmasked."""
    return allowed(user, "view_personal")


def _validate_action(action: str) -> None:
    if action not in ACTIONS:
        raise RecwatchError(
            f"action {action!r} is unknown. "
            f"Expected one of {', '.join(sorted(ACTIONS))}."
        )


def _validate_roles(username: str, roles: Iterable[str]) -> None:
    roles = tuple(roles)
    if not roles:
        raise ConfigError(
            f"user {username!r} has no roles. Give at least one of {ROLES}."
        )
    unknown = [role for role in roles if role not in PERMISSIONS]
    if unknown:
        raise ConfigError(
            f"user {username!r} has unknown roles {unknown}. "
            f"Expected roles from {ROLES}."
        )
    if "auditor" in roles and _ROLES_EXCLUDED_FROM_AUDITOR.intersection(roles):
        conflicting = sorted(_ROLES_EXCLUDED_FROM_AUDITOR.intersection(roles))
        raise ConfigError(
            f"user {username!r} has the auditor role together with {conflicting}. "
            f"An auditor must not do the work being audited, so give these roles to "
            f"different users."
        )


# --- users file -----------------------------------------------------------------------

USERS_FILE_FORMAT = 1
MIN_PASSWORD_LENGTH = 10
MAX_FAILED_LOGINS = 5
# Higher per address than per username: an office behind one NAT or proxy shares
# an address, and one person's typos must not lock everyone out.
MAX_FAILED_LOGINS_PER_ADDRESS = 20
FAILED_LOGIN_WINDOW_SECONDS = 600
LOGIN_LOCKOUT_SECONDS = 600

_USERNAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{1,31}")


class LoginStatus(Enum):
    """Outcome of a login attempt, for the login page to show."""

    OK = "ok"
    INVALID_CREDENTIALS = "invalid_credentials"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    """A login attempt's status, its user when OK, and the wait when LOCKED."""

    status: LoginStatus
    user: User | None = None
    retry_after_seconds: float = 0.0


class _FailureLimiter:
    """Count failed logins per key, and lock a key after too many in the window."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}

    def retry_after(self, key: str) -> float:
        """Return the seconds until ``key`` is unlocked, or 0 when it is not locked."""
        now = self._clock()
        until = self._locked_until.get(key)
        if until is None:
            return 0.0
        if until <= now:
            del self._locked_until[key]
            return 0.0
        return until - now

    def record_failure(self, key: str, limit: int = MAX_FAILED_LOGINS) -> bool:
        """Count one failure for ``key`` and return True when this locks it."""
        now = self._clock()
        failures = self._failures.setdefault(key, deque())
        failures.append(now)
        while failures and failures[0] <= now - FAILED_LOGIN_WINDOW_SECONDS:
            failures.popleft()
        if len(failures) < limit:
            return False
        self._locked_until[key] = now + LOGIN_LOCKOUT_SECONDS
        del self._failures[key]
        return True

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def prune(self) -> None:
        """Drop keys with no failures inside the window, so memory stays bounded."""
        cutoff = self._clock() - FAILED_LOGIN_WINDOW_SECONDS
        stale = [key for key, times in self._failures.items() if times[-1] <= cutoff]
        for key in stale:
            del self._failures[key]


class UserStore:
    """Users in a JSON file, with argon2id hashes and rate-limited logins.

    The file is read on every call, so a change made by another process (for
    example the command line) takes effect without a restart. Writes take an
    exclusive ``flock`` on a ``.lock`` file beside it and replace the file
    atomically. Failed-login counts live in memory and restart empty.
    """

    def __init__(
        self,
        path: Path,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._hasher = hasher or PasswordHasher()
        self._thread_lock = threading.Lock()
        self._limiter = _FailureLimiter(clock)
        self._dummy_hash: str | None = None

    # --- reading ---

    def list_users(self) -> list[User]:
        """Return every user, sorted by username."""
        records = self._load()
        return [_user_from_record(name, records[name]) for name in sorted(records)]

    def get_user(self, username: str) -> User:
        """Return one user, or raise ConfigError when the username is not found."""
        records = self._load()
        if username not in records:
            raise ConfigError(f"user {username!r} was not found in {self.path}.")
        return _user_from_record(username, records[username])

    # --- changes ---

    def add_user(
        self,
        username: str,
        password: str,
        roles: Iterable[str],
        display_name: str,
        department: str,
    ) -> User:
        """Add a user with an argon2id hash of ``password``."""
        roles = tuple(roles)
        _validate_username(username)
        _validate_roles(username, roles)
        _validate_password(username, password)
        password_hash = self._hasher.hash(password)
        now = _utc_now_text()
        with self._locked_records() as records:
            if username in records:
                raise ConfigError(
                    f"user {username!r} already exists in {self.path}. Choose another "
                    f"username, or use set_password to change the password."
                )
            records[username] = {
                "display_name": display_name,
                "department": department,
                "roles": list(roles),
                "password_hash": password_hash,
                "created_at": now,
                "password_changed_at": now,
            }
        logger.info("user added: username=%s roles=%s", username, ",".join(roles))
        return User(username, display_name, roles, department)

    def set_password(self, username: str, password: str) -> None:
        """Replace a user's password hash."""
        _validate_password(username, password)
        password_hash = self._hasher.hash(password)
        with self._locked_records() as records:
            record = _existing_record(records, username, self.path)
            record["password_hash"] = password_hash
            record["password_changed_at"] = _utc_now_text()
        logger.info("password changed: username=%s", username)

    def set_roles(self, username: str, roles: Iterable[str]) -> User:
        """Replace a user's roles, keeping at least one admin."""
        roles = tuple(roles)
        _validate_roles(username, roles)
        with self._locked_records() as records:
            record = _existing_record(records, username, self.path)
            if "admin" not in roles:
                _check_other_admin_remains(records, username, self.path)
            record["roles"] = list(roles)
            user = _user_from_record(username, record)
        logger.info("roles changed: username=%s roles=%s", username, ",".join(roles))
        return user

    def remove_user(self, username: str) -> None:
        """Remove a user, unless it is the last admin."""
        with self._locked_records() as records:
            _existing_record(records, username, self.path)
            _check_other_admin_remains(records, username, self.path)
            del records[username]
        logger.info("user removed: username=%s", username)

    # --- login ---

    def login(self, username: str, password: str, client_addr: str) -> LoginResult:
        """Check a password, with failed logins limited per username and per address.

        After ``MAX_FAILED_LOGINS`` failures within ``FAILED_LOGIN_WINDOW_SECONDS``
        for one username, or ``MAX_FAILED_LOGINS_PER_ADDRESS`` from one client
        address, that failure and further
        attempts return LOCKED for ``LOGIN_LOCKOUT_SECONDS``, even with the right
        password. The caller writes the login or login_failed access-log entry.
        """
        user_key = f"user:{username}"
        addr_key = f"addr:{client_addr}"
        with self._thread_lock:
            self._limiter.prune()
            retry_after = max(
                self._limiter.retry_after(user_key), self._limiter.retry_after(addr_key)
            )
        if retry_after > 0:
            logger.warning(
                "login rejected while locked: retry_after=%.0f s", retry_after
            )
            return LoginResult(LoginStatus.LOCKED, retry_after_seconds=retry_after)

        record = self._load().get(username)
        if record is not None:
            password_hash = record["password_hash"]
        else:
            # Verifying against a dummy hash for unknown usernames keeps their
            # response time the same as for known ones, so timing hides usernames.
            if self._dummy_hash is None:
                self._dummy_hash = self._hasher.hash("not-a-password-of-any-user")
            password_hash = self._dummy_hash
        try:
            self._hasher.verify(password_hash, password)
            verified = record is not None
        except VerificationError:
            verified = False
        except InvalidHashError:
            logger.error("stored password hash is invalid: username=%s", username)
            verified = False

        if not verified:
            with self._thread_lock:
                user_locked = self._limiter.record_failure(user_key)
                addr_locked = self._limiter.record_failure(
                    addr_key, MAX_FAILED_LOGINS_PER_ADDRESS
                )
            # People sometimes type a password into the username field, so an
            # unknown username is never logged.
            logged_name = username if record is not None else "(unknown)"
            logger.warning("login failed: username=%s", logged_name)
            if user_locked or addr_locked:
                logger.warning(
                    "login locked for %d s after %d failures: username=%s",
                    LOGIN_LOCKOUT_SECONDS,
                    MAX_FAILED_LOGINS,
                    logged_name,
                )
                return LoginResult(
                    LoginStatus.LOCKED, retry_after_seconds=LOGIN_LOCKOUT_SECONDS
                )
            return LoginResult(LoginStatus.INVALID_CREDENTIALS)

        # A success clears the username's count but not the address's, so one valid
        # account cannot reset the limit for guessing other accounts' passwords.
        with self._thread_lock:
            self._limiter.clear(user_key)
        if self._hasher.check_needs_rehash(password_hash):
            self._rehash(username, password)
        logger.info("login succeeded: username=%s", username)
        return LoginResult(LoginStatus.OK, user=_user_from_record(username, record))

    def authenticate(
        self, username: str, password: str, client_addr: str
    ) -> User | None:
        """Return the user for a correct password, else None (see :meth:`login`)."""
        return self.login(username, password, client_addr).user

    def _rehash(self, username: str, password: str) -> None:
        """Store a new hash made with the hasher's current parameters."""
        password_hash = self._hasher.hash(password)
        with self._locked_records() as records:
            if username in records:
                records[username]["password_hash"] = password_hash
        logger.info("password hash upgraded: username=%s", username)

    # --- file access ---

    def _load(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ConfigError(
                f"users file {self.path} is not valid JSON ({error}). Restore it from "
                f"a backup."
            ) from error
        found_format = document.get("format") if isinstance(document, dict) else None
        if found_format != USERS_FILE_FORMAT:
            raise ConfigError(
                f"users file {self.path} has format {found_format!r}, expected "
                f"{USERS_FILE_FORMAT}. Restore it from a backup."
            )
        return document.get("users", {})

    @contextmanager
    def _locked_records(self) -> Iterator[dict[str, dict]]:
        """Load the records under a file lock and write them back if no error occurs."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with self._thread_lock, open(lock_path, "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                records = self._load()
                yield records
                self._write(records)
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _write(self, records: dict[str, dict]) -> None:
        """Replace the users file atomically, readable by its owner only."""
        document = {"format": USERS_FILE_FORMAT, "users": records}
        text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
        descriptor, temp_name = tempfile.mkstemp(
            dir=self.path.parent, prefix=self.path.name + ".", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(text + "\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temp_name, 0o600)
            os.replace(temp_name, self.path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        directory_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)


def _user_from_record(username: str, record: dict) -> User:
    return User(
        username=username,
        display_name=record.get("display_name", ""),
        roles=tuple(record.get("roles", ())),
        department=record.get("department", ""),
    )


def _existing_record(records: dict[str, dict], username: str, path: Path) -> dict:
    if username not in records:
        raise ConfigError(f"user {username!r} was not found in {path}.")
    return records[username]


def _check_other_admin_remains(
    records: dict[str, dict], username: str, path: Path
) -> None:
    other_admins = [
        name
        for name, record in records.items()
        if name != username and "admin" in record.get("roles", ())
    ]
    if "admin" in records[username].get("roles", ()) and not other_admins:
        raise ConfigError(
            f"user {username!r} is the last admin in {path}. Add another admin first, "
            f"so that someone can still manage users."
        )


def _validate_username(username: str) -> None:
    if not _USERNAME_PATTERN.fullmatch(username):
        raise ConfigError(
            f"username {username!r} is invalid. Expected 2 to 32 characters: a "
            f"lowercase letter, then lowercase letters, digits, '.', '_' or '-'."
        )


def _validate_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError(
            f"password for {username!r} is too short: {len(password)} characters, "
            f"expected at least {MIN_PASSWORD_LENGTH}."
        )
    classes = [
        any(char.isalpha() for char in password),
        any(char.isdigit() for char in password),
        any(not char.isalnum() for char in password),
    ]
    if sum(classes) < 2:
        raise ConfigError(
            f"password for {username!r} uses only one kind of character. Expected at "
            f"least two of letters, digits and symbols."
        )
    if password.lower() == username.lower():
        raise ConfigError(
            f"password for {username!r} equals the username. Choose another password."
        )


def _utc_now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- demo users -----------------------------------------------------------------------

# Fixed passwords for the demo deployment, printed in the README. Never use them on a
# real deployment.
DEMO_PASSWORDS: dict[str, str] = {
    "viewer": "demo-viewer-2026",
    "operator": "demo-operator-2026",
    "approver": "demo-approver-2026",
    "auditor": "demo-auditor-2026",
    "admin": "demo-admin-2026",
}

_DEMO_DISPLAY_NAMES = {
    "viewer": "데모 열람자",
    "operator": "데모 담당자",
    "approver": "데모 팀장",
    "auditor": "데모 감사 담당자",
    "admin": "데모 관리자",
}
_DEMO_DEPARTMENT = "정보통신과"


def create_demo_users(path: Path) -> dict[str, str]:
    """Create one demo user per role, named after the role, and return their passwords.

    A demo user that already exists gets its demo password and role back, so the
    README's credentials always work on the demo deployment.
    """
    store = UserStore(path)
    existing = {user.username for user in store.list_users()}
    for role, password in DEMO_PASSWORDS.items():
        if role in existing:
            store.set_password(role, password)
            store.set_roles(role, (role,))
        else:
            store.add_user(
                role, password, (role,), _DEMO_DISPLAY_NAMES[role], _DEMO_DEPARTMENT
            )
    return dict(DEMO_PASSWORDS)


# --- privileged users -----------------------------------------------------------------


@dataclass(frozen=True)
class PrivilegedCheck:
    """Privileged users compared with the configured maximum."""

    users: tuple[User, ...]
    maximum: int

    @property
    def within_limit(self) -> bool:
        return len(self.users) <= self.maximum

    @property
    def message(self) -> str:
        if self.within_limit:
            return (
                f"{len(self.users)} privileged users, "
                f"within the maximum of {self.maximum}."
            )
        return (
            f"{len(self.users)} privileged users exceed the maximum of "
            f"{self.maximum}. Remove roles that are no longer needed, or raise the "
            f"maximum with a recorded reason."
        )


def privileged_users(store: UserStore) -> list[User]:
    """Return the users with a role in ``PRIVILEGED_ROLES``, sorted by username."""
    return [
        user for user in store.list_users() if PRIVILEGED_ROLES.intersection(user.roles)
    ]


def check_privileged_users(store: UserStore, maximum: int) -> PrivilegedCheck:
    """Compare the number of privileged users with ``maximum``."""
    if maximum < 1:
        raise ConfigError(
            f"maximum number of privileged users is {maximum}. Expected at least 1, "
            f"because an admin is always needed."
        )
    check = PrivilegedCheck(tuple(privileged_users(store)), maximum)
    if not check.within_limit:
        logger.warning(
            "privileged users exceed the maximum: count=%d maximum=%d",
            len(check.users),
            maximum,
        )
    return check


# --- masking --------------------------------------------------------------------------

_MOBILE_PREFIXES = ("010", "011", "016", "017", "018", "019")


def mask_phone(number: str | None) -> str:
    """Mask the middle group of a Korean phone number: "0200001234" -> "02-****-1234".

    Seoul numbers have the area code 02, other areas and mobiles a three-digit prefix
    (031, 010, 070) and 0505 personal numbers a four-digit one. Internal extensions of
    up to four digits are shown unmasked. A number in no known layout keeps only its
    last four digits. "+82" numbers are read as domestic ones.
    """
    if not number:
        return ""
    digits = re.sub(r"\D", "", number)
    if number.strip().startswith("+82") or (
        digits.startswith("82") and len(digits) > 10
    ):
        digits = "0" + digits[2:]
    if len(digits) <= 4:
        return digits

    prefix_length = _phone_prefix_length(digits)
    subscriber = digits[prefix_length:]
    if prefix_length == 0 or len(subscriber) not in (7, 8):
        return "*" * (len(digits) - 4) + digits[-4:]
    middle = subscriber[:-4]
    return f"{digits[:prefix_length]}-{'*' * len(middle)}-{subscriber[-4:]}"


def _phone_prefix_length(digits: str) -> int:
    """Return the length of the area code or mobile prefix, or 0 when unknown."""
    if digits.startswith("02"):
        return 2
    if digits.startswith("0505") and len(digits) == 12:
        return 4
    if digits.startswith(_MOBILE_PREFIXES) or re.match(r"0[3-7]\d", digits):
        return 3
    return 0


def mask_name(name: str | None) -> str:
    """Mask a name, keeping its first and last character: "홍길동" -> "홍*동".

    Two-character names keep the first character ("홍*"), one-character names are
    masked whole, and spaces in Latin names are kept.
    """
    if not name:
        return ""
    name = name.strip()
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    middle = "".join(" " if char == " " else "*" for char in name[1:-1])
    return name[0] + middle + name[-1]


def mask_birth(value: str | date | None) -> str:
    """Mask a birth date, keeping the year: "1990-01-02" -> "1990-**-**".

    Accepts a ``date``, "YYYY-MM-DD", "YYYY.MM.DD", "YYYYMMDD" and six-digit
    "YYMMDD". A resident registration number ("YYMMDD-NNNNNNN") keeps its first two
    digits only, because the rest identifies the person. Any other text is masked
    whole.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, date):
        return f"{value.year:04d}-**-**"
    text = value.strip()
    if match := re.fullmatch(r"(\d{4})([-./])\d{1,2}\2\d{1,2}", text):
        return f"{match.group(1)}{match.group(2)}**{match.group(2)}**"
    if re.fullmatch(r"\d{8}", text):
        return text[:4] + "****"
    if re.fullmatch(r"\d{6}", text):
        return text[:2] + "****"
    if re.fullmatch(r"\d{6}-?\d{7}", text):
        separator = "-" if "-" in text else ""
        return text[:2] + "****" + separator + "*******"
    return "*" * len(text)
