"""Holds (보존 조치): legal or evidence exceptions that stop the purge of a recording.

A hold has a reason, an approver and an end date. It protects its recording until
the end of ``ends_on`` in the configured time zone, or until it is released,
whichever comes first. An expired hold stops protecting without any action, so
the next purge may delete the recording. Holds are never deleted: a release
fills in ``released_by``, ``released_at`` and ``release_reason``.

Every placement and release writes an access-log entry (action ``hold_change``)
in the same transaction as the change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import duckdb

from pipeline import accesslog
from pipeline.errors import RecwatchError

logger = logging.getLogger(__name__)

ACCESS_LOG_ACTION = "hold_change"

# ends_at is the first instant the hold no longer protects: midnight at the start
# of the day after ends_on, in the time zone configured when the hold was placed.
# Storing the instant keeps the purge query free of time zone arithmetic.
SCHEMA_SQL: list[str] = [
    "CREATE SEQUENCE IF NOT EXISTS hold_id_seq",
    """
    CREATE TABLE IF NOT EXISTS holds (
        id BIGINT PRIMARY KEY DEFAULT nextval('hold_id_seq'),
        recording_id BIGINT NOT NULL,
        reason VARCHAR NOT NULL,
        approver VARCHAR NOT NULL,
        placed_by VARCHAR NOT NULL,
        placed_at TIMESTAMPTZ NOT NULL,
        ends_on DATE NOT NULL,
        ends_at TIMESTAMPTZ NOT NULL,
        released_by VARCHAR,
        released_at TIMESTAMPTZ,
        release_reason VARCHAR
    )
    """,
    "CREATE INDEX IF NOT EXISTS holds_recording_id ON holds (recording_id)",
]

_COLUMNS = (
    "id, recording_id, reason, approver, placed_by, placed_at, ends_on, ends_at,"
    " released_by, released_at, release_reason"
)


def active_hold_sql(recording_id_column: str, now_param: str = "$now") -> str:
    """Return a SQL condition that is true when the recording has an active hold."""
    return (
        "EXISTS (SELECT 1 FROM holds AS h"
        f" WHERE h.recording_id = {recording_id_column}"
        f" AND h.released_at IS NULL AND h.ends_at > {now_param})"
    )


@dataclass(frozen=True)
class Hold:
    """One row of the holds table."""

    id: int
    recording_id: int
    reason: str
    approver: str
    placed_by: str
    placed_at: datetime
    ends_on: date
    ends_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None

    def is_active(self, now: datetime) -> bool:
        """Return whether the hold still protects its recording at ``now``."""
        return self.released_at is None and now < self.ends_at


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the holds table and its sequence if they are missing."""
    for statement in SCHEMA_SQL:
        con.execute(statement)


def hold_end_instant(ends_on: date, tz: ZoneInfo) -> datetime:
    """Return the UTC instant at which a hold ending on ``ends_on`` stops protecting."""
    next_day = datetime.combine(ends_on + timedelta(days=1), time(0), tzinfo=tz)
    return next_day.astimezone(UTC)


# NOTE: the regulation sets no maximum hold length, so this limit is a guess. An
# end date further ahead is most likely a typo (2099 for 2029). A longer hold can
# be placed again before this one ends.
MAX_HOLD_YEARS = 10


def latest_end(today: date) -> date:
    """Return the last end date a hold placed ``today`` may have."""
    try:
        return today.replace(year=today.year + MAX_HOLD_YEARS)
    except ValueError:  # today is 29 February
        return today.replace(year=today.year + MAX_HOLD_YEARS, day=28)


def _require_text(value: str | None, field: str, example: str) -> str:
    text = (value or "").strip()
    if not text:
        raise RecwatchError(
            f"missing {field}: a hold needs a non-empty {field}, for example {example}",
            code=f"hold_missing_{field}",
        )
    return text


def _aware_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError(f"now={now.isoformat()} has no time zone: pass an aware time")
    return now


def place_hold(
    con: duckdb.DuckDBPyConnection,
    recording_id: int,
    *,
    reason: str,
    approver: str,
    ends_on: date,
    actor: str,
    tz: ZoneInfo | str = "Asia/Seoul",
    now: datetime | None = None,
) -> int:
    """Place a hold on a recording and return the new hold's id.

    Call on the catalog's writer thread (inside ``Catalog.write``). ``ends_on`` is
    the last local date in ``tz`` on which the hold protects the recording, and it
    must be later than today and at most ``MAX_HOLD_YEARS`` ahead. Raises
    :class:`RecwatchError` for an empty reason or approver, an end date out of
    that range, or a recording that is unknown or already deleted.
    """
    reason = _require_text(reason, "reason", "'감사원 감사 증거 (문서 2026-0001)'")
    approver = _require_text(approver, "approver", "'정보통신과장'")
    actor = _require_text(actor, "actor", "the operator's username")
    now = _aware_now(now)
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    today = now.astimezone(zone).date()
    if ends_on <= today:
        raise RecwatchError(
            f"invalid end date {ends_on.isoformat()} for a hold on recording "
            f"{recording_id}: it must be later than today ({today.isoformat()})",
            code="hold_end_not_future",
            values={"ends_on": ends_on.isoformat(), "today": today.isoformat()},
        )
    latest = latest_end(today)
    if ends_on > latest:
        raise RecwatchError(
            f"invalid end date {ends_on.isoformat()} for a hold on recording "
            f"{recording_id}: a hold may end at most {MAX_HOLD_YEARS} years ahead, "
            f"on {latest.isoformat()} at the latest. Check the year, or place the "
            "hold again before it ends",
            code="hold_end_too_far",
            values={"ends_on": ends_on.isoformat(), "latest": latest.isoformat()},
        )

    found = con.execute(
        "SELECT status FROM recordings WHERE id = ?", [recording_id]
    ).fetchall()
    if not found:
        raise RecwatchError(
            f"recording {recording_id} not found: check the id with "
            "`recwatch recordings`",
            code="recording_not_found",
            values={"recording": recording_id},
        )
    if found[0][0] == "deleted":
        raise RecwatchError(
            f"recording {recording_id} was already deleted by a purge: a hold can "
            "no longer protect it",
            code="hold_recording_deleted",
            values={"recording": recording_id},
        )

    ends_at = hold_end_instant(ends_on, zone)
    hold_id = con.execute(
        "INSERT INTO holds (recording_id, reason, approver, placed_by, placed_at,"
        " ends_on, ends_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [recording_id, reason, approver, actor, now, ends_on, ends_at],
    ).fetchall()[0][0]
    # The reason is free text that may name people, so the log entry carries ids
    # and dates only; the reason stays in the holds table.
    accesslog.append(
        con,
        actor=actor,
        action=ACCESS_LOG_ACTION,
        object_type="recording",
        object_ids=[recording_id],
        detail={"change": "placed", "hold_id": hold_id, "ends_on": str(ends_on)},
        at=now,
    )
    logger.info(
        "hold %d placed on recording %d until %s", hold_id, recording_id, ends_on
    )
    return hold_id


def release_hold(
    con: duckdb.DuckDBPyConnection,
    hold_id: int,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> Hold:
    """Release an active hold before its end date and return the updated hold.

    Call on the catalog's writer thread. Raises :class:`RecwatchError` for an
    empty reason, an unknown hold or a hold that was already released.
    """
    reason = _require_text(reason, "reason", "'수사 종결'")
    actor = _require_text(actor, "actor", "the operator's username")
    now = _aware_now(now)
    hold = get_hold(con, hold_id)
    if hold.released_at is not None:
        raise RecwatchError(
            f"hold {hold_id} was already released on "
            f"{hold.released_at.isoformat()} by {hold.released_by}",
            code="hold_already_released",
            values={"hold": hold_id, "by": hold.released_by},
        )
    con.execute(
        "UPDATE holds SET released_by = ?, released_at = ?, release_reason = ?"
        " WHERE id = ?",
        [actor, now, reason, hold_id],
    )
    accesslog.append(
        con,
        actor=actor,
        action=ACCESS_LOG_ACTION,
        object_type="recording",
        object_ids=[hold.recording_id],
        detail={"change": "released", "hold_id": hold_id},
        at=now,
    )
    logger.info("hold %d on recording %d released", hold_id, hold.recording_id)
    return get_hold(con, hold_id)


def get_hold(cursor: duckdb.DuckDBPyConnection, hold_id: int) -> Hold:
    """Return one hold, or raise :class:`RecwatchError` when the id is unknown."""
    rows = cursor.execute(
        f"SELECT {_COLUMNS} FROM holds WHERE id = ?", [hold_id]
    ).fetchall()
    if not rows:
        raise RecwatchError(
            f"hold {hold_id} not found: list holds with `recwatch hold list`",
            code="hold_not_found",
            values={"hold": hold_id},
        )
    return Hold(*rows[0])


def active_holds(
    cursor: duckdb.DuckDBPyConnection, now: datetime | None = None
) -> list[Hold]:
    """Return the holds that protect their recording at ``now``, oldest first."""
    rows = cursor.execute(
        f"SELECT {_COLUMNS} FROM holds"
        " WHERE released_at IS NULL AND ends_at > ? ORDER BY placed_at, id",
        [_aware_now(now)],
    ).fetchall()
    return [Hold(*row) for row in rows]


def list_holds(
    cursor: duckdb.DuckDBPyConnection, *, recording_id: int | None = None
) -> list[Hold]:
    """Return every hold, released and expired ones included, newest first."""
    sql = f"SELECT {_COLUMNS} FROM holds"
    params: list = []
    if recording_id is not None:
        sql += " WHERE recording_id = ?"
        params.append(recording_id)
    rows = cursor.execute(sql + " ORDER BY placed_at DESC, id DESC", params).fetchall()
    return [Hold(*row) for row in rows]
