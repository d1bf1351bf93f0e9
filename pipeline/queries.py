"""Read queries over the catalog, shared by the command line and the dashboard.

Every filter is a bound parameter, never text pasted into SQL, and every list is
paged in DuckDB, so a page costs the same with a thousand rows or a million.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from pipeline import retention
from pipeline.config import Config

RECORDING_COLUMNS = (
    "id",
    "path",
    "file_name_nfc AS file_name",
    "start_time",
    "start_time_source",
    "duration_s",
    "sample_rate",
    "channels",
    "codec",
    "decoder",
    "silence_ratio",
    "longest_silence_s",
    "rms_dbfs",
    "peak_dbfs",
    "clipped_samples",
    "verdict",
    "speech_ratio",
    "snr_db",
    "notice_found",
    "notice_offset_s",
    "notice_score",
    "size_bytes",
    "sha256",
    "status",
    "flags",
    "error",
    "line",
    "other_party",
    "direction",
    "mode",
    "call_id",
    "department",
    "profile",
    "first_seen",
    "last_seen",
    "missing_since",
    "deleted_at",
)

SORTABLE = {"start_time", "duration_s", "silence_ratio", "first_seen", "id", "line"}


@dataclass
class RecordingFilter:
    """Filters of the recordings list; empty fields do not filter."""

    start_from: datetime | None = None
    start_to: datetime | None = None
    line: str | None = None
    states: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    status: str | None = None
    text: str | None = None
    departments: tuple[str, ...] = field(default_factory=tuple)


def _state_view(config: Config) -> str:
    return (
        f"SELECT *, {retention.expires_at_sql(config)} AS expires_at,"
        f" {retention.state_sql(config)} AS retention_state FROM recordings"
    )


def _where(filters: RecordingFilter) -> tuple[str, dict[str, Any]]:
    # DuckDB does not mix ? and $name placeholders, and $now is needed in the
    # state expression, so every filter value is bound by name: $p0, $p1, ...
    clauses: list[str] = []
    params: dict[str, Any] = {}

    def bind(template: str, value: Any) -> None:
        name = f"p{len(params)}"
        params[name] = value
        clauses.append(template.replace("?", "$" + name))

    if filters.start_from is not None:
        bind("start_time >= ?", filters.start_from)
    if filters.start_to is not None:
        bind("start_time < ?", filters.start_to)
    if filters.line:
        bind("line = ?", filters.line)
    if filters.states:
        bind("list_contains(?::VARCHAR[], retention_state)", list(filters.states))
    if filters.flags:
        bind("list_has_any(flags, ?::VARCHAR[])", list(filters.flags))
    if filters.status:
        bind("status = ?", filters.status)
    if filters.departments:
        bind("list_contains(?::VARCHAR[], department)", list(filters.departments))
    if filters.text:
        if filters.text.lower() == filters.text.upper():
            # Text without upper or lower case, such as a phone number, matches
            # the same rows without lower(), which takes most of the scan time.
            bind("contains(file_name_nfc, ?)", filters.text)
        else:
            bind("contains(lower(file_name_nfc), lower(?))", filters.text)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_recordings(
    cursor: duckdb.DuckDBPyConnection,
    config: Config,
    *,
    filters: RecordingFilter | None = None,
    limit: int | None = None,
    offset: int = 0,
    order_by: str = "start_time",
    descending: bool = True,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Return one page of recordings with ``expires_at`` and ``retention_state``."""
    if order_by not in SORTABLE:
        raise ValueError(
            f"cannot sort recordings by {order_by!r}: expected one of "
            f"{', '.join(sorted(SORTABLE))}"
        )
    where, params = _where(filters or RecordingFilter())
    direction = "DESC" if descending else "ASC"
    sql = (
        f"WITH r AS ({_state_view(config)}) SELECT {', '.join(RECORDING_COLUMNS)},"
        f" expires_at, retention_state FROM r{where}"
        f" ORDER BY {order_by} {direction} NULLS LAST, id {direction}"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return cursor.execute(sql, {**params, "now": now or datetime.now(UTC)}).df()


def count_recordings(
    cursor: duckdb.DuckDBPyConnection,
    config: Config,
    *,
    filters: RecordingFilter | None = None,
    now: datetime | None = None,
) -> int:
    """Return how many recordings match ``filters``."""
    where, params = _where(filters or RecordingFilter())
    sql = f"WITH r AS ({_state_view(config)}) SELECT count(*) FROM r{where}"
    rows = cursor.execute(sql, {**params, "now": now or datetime.now(UTC)}).fetchall()
    return int(rows[0][0])


def state_counts(
    cursor: duckdb.DuckDBPyConnection, config: Config, *, now: datetime | None = None
) -> dict[str, int]:
    """Return the number of recordings in each retention state (all states keyed)."""
    rows = cursor.execute(
        f"WITH r AS ({_state_view(config)})"
        " SELECT retention_state, count(*)::BIGINT FROM r GROUP BY ALL",
        {"now": now or datetime.now(UTC)},
    ).fetchall()
    counts = dict.fromkeys(retention.STATES, 0)
    counts.update({state: int(count) for state, count in rows})
    return counts
