"""Tamper-evident access log (접속기록) kept in the catalog.

Every entry stores the SHA-256 hash of the previous entry (``prev_hash``) and its own
hash over ``prev_hash`` plus the canonical JSON of its content, so an edited, removed,
inserted or reordered row breaks the chain at that row. A rewrite of the whole chain
from some row onwards, or a cut-off tail, leaves the chain itself consistent, so the
service also records the chain head in a separate append-only head file, and
:func:`verify` compares the table with every head recorded there.

Ids are assigned by :func:`append` as ``max(id) + 1`` rather than by a sequence, so a
removed row shows as a gap. Access-log entries are kept for at least
``RETENTION_DAYS_MIN`` days, and this module has no function that deletes them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.errors import RecwatchError

logger = logging.getLogger(__name__)

# The city's rules require access records to be kept for at least two years.
RETENTION_DAYS_MIN = 730

GENESIS_HASH = "0" * 64
RESULTS = ("ok", "denied", "failed")
# The address of the browser whose action is being handled. The dashboard sets
# it around each action, so entries written deep in the pipeline carry it too.
CLIENT_ADDRESS: ContextVar[str | None] = ContextVar("client_address", default=None)
VERIFY_CHUNK_ROWS = 10_000

# "at" is a reserved word in DuckDB 2.x, so the column name is always quoted.
SCHEMA_SQL: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS access_log (
        id BIGINT PRIMARY KEY,
        "at" TIMESTAMPTZ NOT NULL,
        actor VARCHAR NOT NULL,
        role VARCHAR,
        client_addr VARCHAR,
        action VARCHAR NOT NULL,
        object_type VARCHAR,
        object_ids VARCHAR[] NOT NULL,
        result VARCHAR NOT NULL CHECK (result IN ('ok', 'denied', 'failed')),
        detail JSON,
        prev_hash VARCHAR NOT NULL,
        hash VARCHAR NOT NULL
    )
    """,
    'CREATE INDEX IF NOT EXISTS access_log_at ON access_log ("at")',
]

_SELECT_COLUMNS = (
    'id, epoch_us("at"), actor, role, client_addr, action, object_type, '
    "object_ids, result, detail, prev_hash, hash"
)

# A Korean phone number written with or without hyphens: 02, 0xx area codes, 010
# mobiles and 050x personal numbers. Letters and digits around it must not touch it,
# so that hex digests and long ids do not match.
PHONE_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])0\d{1,3}[- .]?\d{3,4}[- .]?\d{4}(?![0-9A-Za-z])"
)


@dataclass(frozen=True)
class LogEntry:
    """One access-log row as stored."""

    id: int
    at: datetime
    actor: str
    role: str | None
    client_addr: str | None
    action: str
    object_type: str | None
    object_ids: tuple[str, ...]
    result: str
    detail: dict[str, Any] | None
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class LogHead:
    """Id and hash of the last entry; id 0 with the genesis hash for an empty log."""

    id: int
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`.

    ``first_bad`` is the lowest id at which the log is known to differ from the chain
    that was written, or ``None`` when the log is intact. ``problem`` is a sentence
    naming that id and what is wrong with it.
    """

    entries: int
    intact: bool
    first_bad: int | None
    problem: str | None


@dataclass(frozen=True)
class _RecordedHead:
    id: int
    hash: str
    recorded_at: str
    line_number: int


def create_schema(con) -> None:
    """Create the access_log table on a DuckDB connection if it is missing."""
    for statement in SCHEMA_SQL:
        con.execute(statement)


def canonical_json(value: Any) -> str:
    """Serialize ``value`` the way entry hashes expect: sorted keys, no whitespace."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def format_at(at: datetime) -> str:
    """Format an aware datetime as UTC ISO 8601 with microseconds."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str,
    *,
    id: int,
    at: datetime,
    actor: str,
    role: str | None,
    client_addr: str | None,
    action: str,
    object_type: str | None,
    object_ids: Iterable[str],
    result: str,
    detail: Mapping[str, Any] | None,
) -> str:
    """Compute an entry's SHA-256 hex digest over ``prev_hash`` and its content."""
    content = {
        "id": id,
        "at": format_at(at),
        "actor": actor,
        "role": role,
        "client_addr": client_addr,
        "action": action,
        "object_type": object_type,
        "object_ids": list(object_ids),
        "result": result,
        "detail": detail,
    }
    payload = prev_hash + canonical_json(content)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def head(con) -> LogHead:
    """Return the id and hash of the last entry."""
    rows = con.execute(
        "SELECT id, hash FROM access_log ORDER BY id DESC LIMIT 1"
    ).fetchall()
    if not rows:
        return LogHead(0, GENESIS_HASH)
    return LogHead(rows[0][0], rows[0][1])


def append(
    con,
    *,
    actor: str,
    action: str,
    role: str | None = None,
    client_addr: str | None = None,
    object_type: str | None = None,
    object_ids: Iterable[str | int] = (),
    result: str = "ok",
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> LogEntry:
    """Append one entry to the chain inside the caller's transaction.

    ``con`` is a DuckDB connection or cursor. Only one writer may append at a time:
    two concurrent appends would both read the same head, and the primary key makes
    the second insert fail instead of forking the chain.

    ``detail`` contains ids and codes only. A string in it that looks like a phone
    number raises :class:`RecwatchError`, because the access log must not contain
    personal data. Without ``client_addr`` the entry takes :data:`CLIENT_ADDRESS`.
    """
    if client_addr is None:
        client_addr = CLIENT_ADDRESS.get()
    if not actor:
        raise RecwatchError("access-log entry has an empty actor. Pass the username.")
    if not action:
        raise RecwatchError(
            "access-log entry has an empty action. Pass one such as 'play'."
        )
    if result not in RESULTS:
        raise RecwatchError(
            f"access-log result {result!r} is invalid. Expected one of {RESULTS}."
        )
    if at is None:
        at = datetime.now(UTC)
    elif at.tzinfo is None:
        raise RecwatchError(
            f"access-log time {at.isoformat()} has no time zone. "
            f"Pass an aware datetime."
        )
    # DuckDB stores microseconds, so the hashed time must be the stored one.
    at = at.astimezone(UTC)
    ids = tuple(str(object_id) for object_id in object_ids)
    detail_dict = None if detail is None else dict(detail)
    if detail_dict is not None:
        _reject_phone_numbers(detail_dict, action)
        # Round-trip through JSON so the returned entry equals what verify reads back.
        detail_dict = json.loads(canonical_json(detail_dict))

    last = head(con)
    entry_id = last.id + 1
    digest = entry_hash(
        last.hash,
        id=entry_id,
        at=at,
        actor=actor,
        role=role,
        client_addr=client_addr,
        action=action,
        object_type=object_type,
        object_ids=ids,
        result=result,
        detail=detail_dict,
    )
    con.execute(
        "INSERT INTO access_log "
        "VALUES (?, ?::TIMESTAMPTZ, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            entry_id,
            format_at(at),
            actor,
            role,
            client_addr,
            action,
            object_type,
            list(ids),
            result,
            None if detail_dict is None else canonical_json(detail_dict),
            last.hash,
            digest,
        ],
    )
    logger.debug(
        "access log entry %d appended: action=%s result=%s", entry_id, action, result
    )
    return LogEntry(
        id=entry_id,
        at=at,
        actor=actor,
        role=role,
        client_addr=client_addr,
        action=action,
        object_type=object_type,
        object_ids=ids,
        result=result,
        detail=detail_dict,
        prev_hash=last.hash,
        hash=digest,
    )


def record_head(con, head_file: Path) -> None:
    """Append the current chain head as a line "id hash at" to ``head_file``, fsync'd.

    ``at`` is the UTC time the head was recorded. Keep the head file outside the
    catalog, because it is what reveals a cut-off tail or a rewritten chain.
    """
    current = head(con)
    recorded_at = format_at(datetime.now(UTC))
    head_file = Path(head_file)
    is_new = not head_file.exists()
    with open(head_file, "a", encoding="ascii") as stream:
        stream.write(f"{current.id} {current.hash} {recorded_at}\n")
        stream.flush()
        os.fsync(stream.fileno())
    if is_new:
        # A new directory entry is durable only once the directory itself is synced.
        directory_fd = os.open(head_file.parent, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)
    logger.info("access log head recorded: id=%d file=%s", current.id, head_file)


def verify(
    con, *, head_file: Path | None = None, chunk_rows: int = VERIFY_CHUNK_ROWS
) -> VerifyResult:
    """Check the hash chain row by row, and against the heads in ``head_file``.

    Rows are streamed in id order, ``chunk_rows`` at a time, and the check stops at
    the first problem. Without a head file a cut-off tail, or a chain that
    was recomputed from an edited row onwards, cannot be detected.
    """
    recorded = _read_head_file(Path(head_file)) if head_file is not None else {}
    entries = con.execute("SELECT count(*) FROM access_log").fetchall()[0][0]
    cursor = con.execute(f"SELECT {_SELECT_COLUMNS} FROM access_log ORDER BY id")

    expected_id = 1
    prev_hash = GENESIS_HASH
    last_matching_head = 0
    while rows := cursor.fetchmany(chunk_rows):
        for row in rows:
            problem = _check_row(row, expected_id, prev_hash)
            if problem is None:
                problem = _check_recorded_heads(row, recorded, last_matching_head)
            if problem is not None:
                first_bad, sentence = problem
                return _broken(entries, first_bad, sentence)
            if row[0] in recorded:
                last_matching_head = row[0]
            expected_id = row[0] + 1
            prev_hash = row[11]

    last_id = expected_id - 1
    beyond = [h for heads in recorded.values() for h in heads if h.id > last_id]
    if beyond:
        latest = max(beyond, key=lambda h: h.id)
        sentence = (
            f"entry {last_id + 1} is missing: the log ends at entry {last_id}, but "
            f"the head file recorded entry {latest.id} at {latest.recorded_at} "
            f"(line {latest.line_number}), so the tail was cut off"
        )
        return _broken(entries, last_id + 1, sentence)
    return VerifyResult(entries=entries, intact=True, first_bad=None, problem=None)


def _broken(entries: int, first_bad: int, problem: str) -> VerifyResult:
    logger.warning("access log verification failed at entry %d: %s", first_bad, problem)
    return VerifyResult(
        entries=entries, intact=False, first_bad=first_bad, problem=problem
    )


def _check_row(row: tuple, expected_id: int, prev_hash: str) -> tuple[int, str] | None:
    """Return (first bad id, sentence) when ``row`` breaks the chain, else None."""
    (
        entry_id,
        at_us,
        actor,
        role,
        client_addr,
        action,
        object_type,
        object_ids,
        result,
        detail_text,
        stored_prev_hash,
        stored_hash,
    ) = row
    if entry_id > expected_id:
        if expected_id == entry_id - 1:
            missing = f"entry {expected_id} is missing"
        else:
            missing = f"entries {expected_id} to {entry_id - 1} are missing"
        return (
            expected_id,
            f"{missing}: entry {entry_id} follows entry {expected_id - 1}",
        )
    if entry_id < expected_id:
        return entry_id, f"entry {entry_id} appears more than once"

    try:
        detail = None if detail_text is None else json.loads(detail_text)
    except json.JSONDecodeError:
        return entry_id, f"entry {entry_id} has a detail that is not valid JSON"
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=at_us)
    computed = entry_hash(
        stored_prev_hash,
        id=entry_id,
        at=at,
        actor=actor,
        role=role,
        client_addr=client_addr,
        action=action,
        object_type=object_type,
        object_ids=object_ids or [],
        result=result,
        detail=detail,
    )
    if computed != stored_hash:
        return entry_id, (
            f"entry {entry_id} was changed: its content does not match its hash "
            f"{stored_hash[:12]}…"
        )
    if stored_prev_hash != prev_hash:
        previous = "the genesis hash" if entry_id == 1 else f"entry {entry_id - 1}"
        return entry_id, (
            f"entry {entry_id} does not link to {previous}: its prev_hash is "
            f"{stored_prev_hash[:12]}… but {previous} has hash {prev_hash[:12]}…, "
            f"so an entry before it was changed, inserted or removed"
        )
    return None


def _check_recorded_heads(
    row: tuple, recorded: dict[int, list[_RecordedHead]], last_matching_head: int
) -> tuple[int, str] | None:
    entry_id, stored_hash = row[0], row[11]
    for recorded_head in recorded.get(entry_id, ()):
        if recorded_head.hash != stored_hash:
            return entry_id, (
                f"entry {entry_id} has hash {stored_hash[:12]}… but the head file "
                f"recorded {recorded_head.hash[:12]}… at {recorded_head.recorded_at} "
                f"(line {recorded_head.line_number}), so the chain was rewritten "
                f"after entry {last_matching_head} and at or before entry {entry_id}"
            )
    return None


def _read_head_file(head_file: Path) -> dict[int, list[_RecordedHead]]:
    """Parse the head file into recorded heads by entry id."""
    if not head_file.is_file():
        raise RecwatchError(
            f"head file {head_file} was not found. Pass the file that the service "
            f"writes with record_head, or verify without a head file."
        )
    recorded: dict[int, list[_RecordedHead]] = {}
    text = head_file.read_text(encoding="ascii", errors="replace")
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if (
            len(fields) != 3
            or not fields[0].isdigit()
            or not re.fullmatch(r"[0-9a-f]{64}", fields[1])
        ):
            raise RecwatchError(
                f"head file {head_file} line {line_number} is invalid: found "
                f"{line[:80]!r}, expected 'id sha256-hex utc-time'. The head file "
                f"may have been edited, so keep it as evidence and verify against "
                f"its last good copy."
            )
        entry = _RecordedHead(int(fields[0]), fields[1], fields[2], line_number)
        if entry.id == 0 and entry.hash != GENESIS_HASH:
            raise RecwatchError(
                f"head file {head_file} line {line_number} records entry 0 with hash "
                f"{entry.hash[:12]}…, but expected the genesis hash of 64 zeros."
            )
        recorded.setdefault(entry.id, []).append(entry)
    # Entry 0 is the empty log, which is always consistent with any table.
    recorded.pop(0, None)
    return recorded


def _reject_phone_numbers(value: Any, action: str) -> None:
    if isinstance(value, str):
        if PHONE_PATTERN.search(value):
            raise RecwatchError(
                f"access-log detail for action {action!r} contains a phone number. "
                f"Log the recording or request id instead of personal data."
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _reject_phone_numbers(key, action)
            _reject_phone_numbers(item, action)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_phone_numbers(item, action)
