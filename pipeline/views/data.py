"""Aggregate read queries behind the dashboard's cards and charts.

Every function aggregates in DuckDB and returns one row per day, line,
department or state, or a short list, so a page costs about the same whatever
the catalog's size. Values
are bound as parameters. Counts are cast to BIGINT (or DOUBLE) in SQL because
hvPlot bar charts fail on the int32 columns that DuckDB INTEGER becomes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import duckdb
import pandas as pd

from pipeline import retention
from pipeline.config import Config

logger = logging.getLogger(__name__)

GROUP_COLUMNS = {
    "line": "coalesce(r.line, '')",
    "department": "coalesce(r.department, l.department, '')",
}


def _with_state(config: Config) -> str:
    return (
        "WITH r AS (SELECT recordings.*,"
        f" {retention.expires_at_sql(config)} AS expires_at,"
        f" {retention.state_sql(config)} AS retention_state FROM recordings)"
    )


def storage_used(cursor: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Return (bytes, files) of recordings whose audio is still on disk."""
    rows = cursor.execute(
        "SELECT coalesce(sum(size_bytes), 0)::BIGINT, count(*)::BIGINT"
        " FROM recordings WHERE status <> 'deleted' AND missing_since IS NULL"
    ).fetchall()
    return int(rows[0][0]), int(rows[0][1])


def calls_per_day(
    cursor: duckdb.DuckDBPyConnection,
    config: Config,
    *,
    days: int = 40,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Return columns day (local date) and calls for the last ``days`` days.

    Days without calls are present with 0, so the chart's time axis has no gaps.
    """
    now = now or datetime.now(UTC)
    last_day = now.astimezone(config.tz).date()
    first_day = last_day - timedelta(days=days - 1)
    return cursor.execute(
        "WITH days AS ("
        "  SELECT CAST(d AS DATE) AS day"
        "  FROM range($first::TIMESTAMP, $last::TIMESTAMP + INTERVAL 1 DAY,"
        "             INTERVAL 1 DAY) t(d)),"
        " calls AS ("
        "  SELECT CAST(timezone($tz, start_time) AS DATE) AS day, count(*) AS n"
        "  FROM recordings WHERE start_time IS NOT NULL GROUP BY ALL)"
        " SELECT days.day, coalesce(calls.n, 0)::BIGINT AS calls"
        " FROM days LEFT JOIN calls USING (day) ORDER BY days.day",
        {"first": first_day, "last": last_day, "tz": config["timezone"]},
    ).df()


def expiry_by_day(
    cursor: duckdb.DuckDBPyConnection, config: Config, *, now: datetime | None = None
) -> pd.DataFrame:
    """Return columns day (local expiry date), state and recordings.

    Deleted recordings are left out: their expiry no longer matters.
    """
    # Counting per 15-minute bucket of the start time first leaves a few
    # thousand rows for the time zone conversion, which costs about 0.3 s per
    # million rows. Every time zone offset in use is a multiple of 15 minutes,
    # so a bucket never straddles a local midnight and the days are exact.
    days = int(config["retention.days"])
    return cursor.execute(
        "WITH buckets AS ("
        "  SELECT epoch_us(start_time) // 900000000 AS bucket,"
        f"  {retention.state_sql(config)} AS state, count(*) AS n"
        "  FROM recordings WHERE start_time IS NOT NULL GROUP BY ALL)"
        " SELECT CAST(timezone($tz, make_timestamptz(bucket * 900000000)"
        f"  + INTERVAL {days} DAY) AS DATE) AS day,"
        "  state, sum(n)::BIGINT AS recordings"
        " FROM buckets WHERE state <> 'deleted'"
        " GROUP BY ALL ORDER BY day, state",
        {"tz": config["timezone"], "now": now or datetime.now(UTC)},
    ).df()


def counts_by(
    cursor: duckdb.DuckDBPyConnection,
    config: Config,
    group: str,
    *,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Return columns ``group`` ('line' or 'department'), state and recordings."""
    if group not in GROUP_COLUMNS:
        raise ValueError(
            f"cannot group recordings by {group!r}: expected one of "
            f"{', '.join(GROUP_COLUMNS)}"
        )
    # The lines registry supplies the department when the file name has none.
    return cursor.execute(
        f"{_with_state(config)}"
        f" SELECT {GROUP_COLUMNS[group]} AS {group}, retention_state AS state,"
        "  count(*)::BIGINT AS recordings"
        " FROM r LEFT JOIN lines l ON l.number = r.line"
        " GROUP BY ALL ORDER BY 1, 2",
        {"now": now or datetime.now(UTC)},
    ).df()


def recent_ingest_errors(
    cursor: duckdb.DuckDBPyConnection, *, limit: int = 10
) -> pd.DataFrame:
    """Return the newest ingest errors: occurred_at, path, stage, message, flags.

    ``flags`` are the flags of the recording at the same path, so the dashboard
    can name the kind of fault in the user's language. The list is empty for an
    error without such a recording, such as a recorder folder that went away.
    """
    return cursor.execute(
        "SELECT e.occurred_at, e.path, e.stage, e.message,"
        " coalesce(r.flags, []::VARCHAR[]) AS flags"
        " FROM ingest_errors e LEFT JOIN recordings r ON r.path = e.path"
        " ORDER BY e.occurred_at DESC, e.id DESC LIMIT $limit",
        {"limit": int(limit)},
    ).df()


def line_numbers(cursor: duckdb.DuckDBPyConnection) -> list[str]:
    """Return every line seen in recordings or in the lines registry, sorted."""
    rows = cursor.execute(
        "SELECT line FROM recordings WHERE line IS NOT NULL"
        " UNION SELECT number FROM lines ORDER BY 1"
    ).fetchall()
    return [row[0] for row in rows]


def flag_names(cursor: duckdb.DuckDBPyConnection) -> list[str]:
    """Return every flag that some recording carries, sorted."""
    rows = cursor.execute(
        "SELECT DISTINCT unnest(flags) AS flag FROM recordings ORDER BY 1"
    ).fetchall()
    return [row[0] for row in rows]


def line_departments(cursor: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Return line number -> department from the lines registry."""
    rows = cursor.execute(
        "SELECT number, department FROM lines WHERE department IS NOT NULL"
    ).fetchall()
    return dict(rows)
