"""Review of the access log (접속기록): filtered listing, anomalies and monthly reviews.

Access records are reviewed every month. A reviewer (a role with
``review_access_log``) marks a month reviewed with a note, and
:func:`unreviewed_months` lists the months still open. The anomaly queries flag
entries that a reviewer should look at first: access outside working hours, bulk
downloads, play or download without an approved request, and repeated failed
logins. Every function takes a DuckDB connection or cursor and runs in SQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pandas as pd

from pipeline import accesslog
from pipeline.auth import User, require
from pipeline.errors import RecwatchError

logger = logging.getLogger(__name__)

# NOTE: this table is not yet created by the catalog migrations, so callers must
# run create_schema (or a migration) before the review functions.
SCHEMA_SQL: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS access_log_reviews (
        month DATE PRIMARY KEY,
        reviewer VARCHAR NOT NULL,
        reviewed_at TIMESTAMPTZ NOT NULL,
        note VARCHAR NOT NULL
    )
    """,
]

WORK_START = time(9, 0)
WORK_END = time(18, 0)
BULK_DOWNLOADS_PER_HOUR = 20
FAILED_LOGINS_MIN = 5
FAILED_LOGIN_WINDOW_MINUTES = 10
MAX_NOTE_LENGTH = 2000
# A request lets its recordings be played or downloaded once it reached approval.
APPROVED_REQUEST_STATES = ("approved", "provided", "returned", "closed")

ANOMALIES = ("off_hours", "bulk_download", "no_approved_request", "failed_logins")


def create_schema(con) -> None:
    """Create the access_log_reviews table if it does not exist."""
    for statement in SCHEMA_SQL:
        con.execute(statement)


def table_exists(con, name: str) -> bool:
    """Return whether table ``name`` exists in the catalog."""
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    return rows[0][0] > 0


# --- listing -------------------------------------------------------------------------


@dataclass(frozen=True)
class LogFilter:
    """Conditions on access-log entries; None or empty means no condition."""

    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    recording_id: str | None = None
    request_id: str | None = None


def _where(filters: LogFilter) -> tuple[str, dict]:
    """Return the WHERE clause and its parameters for ``filters``."""
    clauses = ["TRUE"]
    params: dict = {}
    if filters.actor:
        clauses.append("actor = $actor")
        params["actor"] = filters.actor
    if filters.action:
        clauses.append("action = $action")
        params["action"] = filters.action
    if filters.since is not None:
        clauses.append('"at" >= $since')
        params["since"] = filters.since
    if filters.until is not None:
        clauses.append('"at" < $until')
        params["until"] = filters.until
    if filters.recording_id:
        clauses.append("object_type = 'recording' AND list_contains(object_ids, $rec)")
        params["rec"] = str(filters.recording_id)
    if filters.request_id:
        clauses.append("object_type = 'request' AND list_contains(object_ids, $req)")
        params["req"] = str(filters.request_id)
    return " AND ".join(clauses), params


def count_entries(con, filters: LogFilter) -> int:
    """Return the number of access-log entries that match ``filters``."""
    where, params = _where(filters)
    return con.execute(
        f"SELECT count(*) FROM access_log WHERE {where}", params
    ).fetchall()[0][0]


def list_entries(con, filters: LogFilter, *, limit: int, offset: int) -> pd.DataFrame:
    """Return one page of matching entries, newest first.

    Columns: id, at, actor, role, client_addr, action, object_type, object_ids,
    result, detail (JSON text).
    """
    where, params = _where(filters)
    return con.execute(
        'SELECT id, "at", actor, role, client_addr, action, object_type,'
        " object_ids, result, detail::VARCHAR AS detail"
        f" FROM access_log WHERE {where}"
        " ORDER BY id DESC LIMIT $limit OFFSET $offset",
        {**params, "limit": int(limit), "offset": int(offset)},
    ).df()


def distinct_values(con, column: str) -> list[str]:
    """Return the distinct actors or actions of the log, sorted."""
    if column not in ("actor", "action"):
        raise ValueError(
            f"cannot list values of column {column!r}: expected actor or action"
        )
    rows = con.execute(
        f"SELECT DISTINCT {column} FROM access_log ORDER BY 1"
    ).fetchall()
    return [row[0] for row in rows]


# --- anomalies -----------------------------------------------------------------------


def anomalies(
    con,
    tz: ZoneInfo,
    *,
    since: datetime | None = None,
    bulk_downloads_per_hour: int = BULK_DOWNLOADS_PER_HOUR,
    limit: int = 500,
) -> pd.DataFrame:
    """Return flagged entries: id, at, actor, client_addr, action, result, anomaly.

    An entry can appear once per anomaly kind:

    - off_hours: a successful action by a user before ``WORK_START``, from
      ``WORK_END`` or on a Saturday or Sunday, in local time ``tz``. Failed logins
      are left to the failed_logins rule.
    - bulk_download: every download of a user in a clock hour with more than
      ``bulk_downloads_per_hour`` successful downloads.
    - no_approved_request: a successful play or download of a recording that no
      approved request covers. Skipped when the requests tables do not exist.
    - failed_logins: a failed login that is at least the ``FAILED_LOGINS_MIN``-th
      one of its username or of its client address within
      ``FAILED_LOGIN_WINDOW_MINUTES`` minutes.
    """
    since_clause = '"at" >= $since' if since is not None else "TRUE"
    params = {
        "tz": str(tz),
        "start": WORK_START.hour * 60 + WORK_START.minute,
        "end": WORK_END.hour * 60 + WORK_END.minute,
        "bulk": int(bulk_downloads_per_hour),
        "failed": FAILED_LOGINS_MIN,
        "limit": int(limit),
    }
    if since is not None:
        params["since"] = since
    parts = [
        # Local minutes of the day, so that 18:00 itself is outside working hours.
        "SELECT id, 'off_hours' AS anomaly FROM log"
        " WHERE result = 'ok' AND actor <> 'system'"
        ' AND (isodow(timezone($tz, "at")) >= 6'
        '  OR hour(timezone($tz, "at")) * 60 + minute(timezone($tz, "at")) < $start'
        '  OR hour(timezone($tz, "at")) * 60 + minute(timezone($tz, "at")) >= $end)',
        "SELECT id, 'bulk_download' AS anomaly FROM ("
        "  SELECT id, count(*) OVER (PARTITION BY actor,"
        "   date_trunc('hour', \"at\")) AS per_hour"
        "  FROM log WHERE action = 'download' AND result = 'ok')"
        " WHERE per_hour > $bulk",
        "SELECT id, 'failed_logins' AS anomaly FROM ("
        "  SELECT id,"
        '   count(*) OVER (PARTITION BY actor ORDER BY "at" RANGE BETWEEN'
        f"    INTERVAL {FAILED_LOGIN_WINDOW_MINUTES} MINUTES PRECEDING AND CURRENT ROW)"
        "    AS by_user,"
        '   count(*) OVER (PARTITION BY client_addr ORDER BY "at" RANGE BETWEEN'
        f"    INTERVAL {FAILED_LOGIN_WINDOW_MINUTES} MINUTES PRECEDING AND CURRENT ROW)"
        "    AS by_addr"
        "  FROM log WHERE action = 'login_failed')"
        " WHERE by_user >= $failed OR by_addr >= $failed",
    ]
    if table_exists(con, "requests") and table_exists(con, "request_recordings"):
        states = ", ".join(f"'{state}'" for state in APPROVED_REQUEST_STATES)
        parts.append(
            "SELECT DISTINCT log.id, 'no_approved_request' AS anomaly"
            " FROM log, unnest(log.object_ids) AS u(recording_id)"
            " WHERE log.action IN ('play', 'download') AND log.result = 'ok'"
            " AND log.object_type = 'recording'"
            " AND NOT EXISTS (SELECT 1 FROM request_recordings rr"
            "  JOIN requests r ON r.id = rr.request_id"
            f"  WHERE r.status IN ({states})"
            "  AND CAST(rr.recording_id AS VARCHAR) = u.recording_id)"
        )
    return con.execute(
        f"WITH log AS (SELECT * FROM access_log WHERE {since_clause}),"
        f" flagged AS ({' UNION ALL '.join(parts)})"
        ' SELECT log.id, log."at", log.actor, log.client_addr, log.action,'
        " log.result, flagged.anomaly"
        " FROM flagged JOIN log USING (id)"
        " ORDER BY log.id DESC, flagged.anomaly LIMIT $limit",
        params,
    ).df()


# --- monthly reviews ---------------------------------------------------------------


def month_start(value: date) -> date:
    """Return the first day of the month of ``value``."""
    return date(value.year, value.month, 1)


def mark_reviewed(
    con,
    user: User,
    month: date,
    note: str,
    *,
    tz: ZoneInfo,
    client_addr: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record that ``user`` reviewed the access log of ``month``, with ``note``.

    Raises PermissionDenied without ``review_access_log``, and RecwatchError for
    an empty note, a month that has not ended yet, or a month already reviewed.
    Writes a review_access_log entry into the access log in the same transaction.
    """
    require(user, "review_access_log")
    note = (note or "").strip()
    if not note:
        raise RecwatchError(
            "access-log review note is empty. Write what was checked and found."
        )
    if len(note) > MAX_NOTE_LENGTH:
        raise RecwatchError(
            f"access-log review note has {len(note)} characters. Expected at most "
            f"{MAX_NOTE_LENGTH}: shorten it."
        )
    now = now or datetime.now(UTC)
    month = month_start(month)
    current = month_start(now.astimezone(tz).date())
    if month >= current:
        raise RecwatchError(
            f"month {month:%Y-%m} has not ended yet. Review it from "
            f"{_next_month(month):%Y-%m-%d} on."
        )
    existing = con.execute(
        "SELECT reviewer FROM access_log_reviews WHERE month = ?", [month]
    ).fetchall()
    if existing:
        raise RecwatchError(
            f"month {month:%Y-%m} was already reviewed by {existing[0][0]}. "
            f"Each month is reviewed once."
        )
    con.execute(
        "INSERT INTO access_log_reviews VALUES (?, ?, ?, ?)",
        [month, user.username, now, note],
    )
    accesslog.append(
        con,
        actor=user.username,
        action="review_access_log",
        role=",".join(user.roles),
        client_addr=client_addr,
        object_type="month",
        object_ids=(f"{month:%Y-%m}",),
        detail={"month": f"{month:%Y-%m}"},
        at=now,
    )
    logger.info("access log month reviewed: month=%s reviewer=%s", month, user.username)


def list_reviews(con) -> pd.DataFrame:
    """Return every review: month, reviewer, reviewed_at, note, newest month first."""
    return con.execute(
        "SELECT month, reviewer, reviewed_at, note FROM access_log_reviews"
        " ORDER BY month DESC"
    ).df()


def unreviewed_months(con, tz: ZoneInfo, *, now: datetime | None = None) -> list[date]:
    """Return the ended months without a review, oldest first.

    Months count from the month of the first access-log entry, in local time
    ``tz``. Ended months without any entry are listed too, because a month with no
    access records at all is itself worth a reviewer's look.
    """
    now = now or datetime.now(UTC)
    current = month_start(now.astimezone(tz).date())
    rows = con.execute(
        'SELECT min(timezone(?, "at"))::DATE FROM access_log', [str(tz)]
    ).fetchall()
    if rows[0][0] is None:
        return []
    month = month_start(rows[0][0])
    reviewed = {
        row[0] for row in con.execute("SELECT month FROM access_log_reviews").fetchall()
    }
    months = []
    while month < current:
        if month not in reviewed:
            months.append(month)
        month = _next_month(month)
    return months


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def verify_chain(con, head_file) -> accesslog.VerifyResult:
    """Run :func:`accesslog.verify` and log the outcome."""
    result = accesslog.verify(con, head_file=head_file)
    if result.intact:
        logger.info("access log chain verified: entries=%d", result.entries)
    else:
        logger.error(
            "access log chain broken: entries=%d first_bad=%s",
            result.entries,
            result.first_bad,
        )
    return result
