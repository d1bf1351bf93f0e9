"""Writing analysis results into the ``recordings`` table, and reading them back.

Rows are keyed by path, and storing a result is idempotent. The same file seen
again (a duplicate event, a restart, a copy over itself) updates ``last_seen`` and
nothing else. A file whose content changed is analysed again in place. A file that
reappears under a new path with the content of a missing row takes that row over,
so a move never loses the recording's history.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.analysis import JobResult, nfc_name, redact
from pipeline.catalog import record_ingest_error

logger = logging.getLogger(__name__)

STAT_COLUMNS = (
    "sample_rate",
    "channels",
    "codec",
    "container",
    "decoder",
    "frames",
    "duration_s",
    "silence_ratio",
    "longest_silence_s",
    "rms_dbfs",
    "peak_dbfs",
    "clipped_samples",
    "verdict",
    "speech_ratio",
    "snr_db",
)
NOTICE_COLUMNS = ("notice_found", "notice_offset_s", "notice_score")
METADATA_COLUMNS = (
    "profile",
    "start_time_source",
    "line",
    "other_party",
    "direction",
    "mode",
    "call_id",
    "department",
)
INTEGER_COLUMNS = ("sample_rate", "channels", "frames", "clipped_samples")
FLOAT_COLUMNS = (
    "duration_s",
    "silence_ratio",
    "longest_silence_s",
    "rms_dbfs",
    "peak_dbfs",
    "speech_ratio",
    "snr_db",
    "notice_offset_s",
    "notice_score",
)


def _row(result: JobResult, now: datetime) -> dict[str, Any]:
    metadata = result.metadata
    stats = result.stats or {}
    row: dict[str, Any] = {
        "root": result.root,
        "path": result.path,
        "file_name": result.path.rsplit("/", 1)[-1],
        "file_name_nfc": nfc_name(result.path),
        "size_bytes": result.size_bytes,
        "mtime": datetime.fromtimestamp(result.mtime_ns / 1e9, UTC),
        "mtime_ns": result.mtime_ns,
        "sha256": result.sha256,
        "start_time": metadata.get("start_time"),
        "stats": json.dumps(stats, ensure_ascii=False) if stats else None,
        "metadata": json.dumps(metadata, ensure_ascii=False, default=str),
        "status": "error" if result.error else "ok",
        "flags": list(result.flags),
        "error": result.error,
        "now": now,
    }
    for column in METADATA_COLUMNS:
        row[column] = metadata.get(column)
    row["mode"] = row["mode"] or "unknown"
    for column in STAT_COLUMNS:
        row[column] = stats.get(column)
    notice = stats.get("notice") or {}
    row["notice_found"] = notice.get("found")
    row["notice_offset_s"] = notice.get("offset_s")
    row["notice_score"] = notice.get("score")
    return row


def _batch_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["start_time"] = pd.to_datetime(
        frame["start_time"], utc=True, format="ISO8601"
    )
    for column in INTEGER_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    for column in FLOAT_COLUMNS:
        frame[column] = frame[column].astype("Float64")
    return frame


_UPSERT = """
INSERT INTO recordings (
    root, path, file_name, file_name_nfc, size_bytes, mtime, mtime_ns, sha256,
    profile, start_time, start_time_source, line, other_party, direction, mode,
    call_id, department, sample_rate, channels, codec, container, decoder, frames,
    duration_s, silence_ratio, longest_silence_s, rms_dbfs, peak_dbfs,
    clipped_samples, verdict, speech_ratio, snr_db, notice_found, notice_offset_s,
    notice_score, stats, metadata, status, flags, error, first_seen, last_seen,
    analysed_at
)
SELECT
    root, path, file_name, file_name_nfc, size_bytes, mtime, mtime_ns, sha256,
    profile, start_time, start_time_source, line, other_party, direction, mode,
    call_id, department, sample_rate, channels, codec, container, decoder, frames,
    duration_s, silence_ratio, longest_silence_s, rms_dbfs, peak_dbfs,
    clipped_samples, verdict, speech_ratio, snr_db,
    CAST(notice_found AS BOOLEAN), notice_offset_s, notice_score,
    CAST(stats AS JSON), CAST(metadata AS JSON), status,
    CAST(flags AS VARCHAR[]), error, now, now, now
FROM batch
ON CONFLICT (path) DO UPDATE SET
    root = excluded.root, file_name = excluded.file_name,
    file_name_nfc = excluded.file_name_nfc, size_bytes = excluded.size_bytes,
    mtime = excluded.mtime, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,
    profile = excluded.profile, start_time = excluded.start_time,
    start_time_source = excluded.start_time_source, line = excluded.line,
    other_party = excluded.other_party, direction = excluded.direction,
    mode = excluded.mode, call_id = excluded.call_id,
    department = excluded.department, sample_rate = excluded.sample_rate,
    channels = excluded.channels, codec = excluded.codec,
    container = excluded.container, decoder = excluded.decoder,
    frames = excluded.frames, duration_s = excluded.duration_s,
    silence_ratio = excluded.silence_ratio,
    longest_silence_s = excluded.longest_silence_s,
    rms_dbfs = excluded.rms_dbfs, peak_dbfs = excluded.peak_dbfs,
    clipped_samples = excluded.clipped_samples, verdict = excluded.verdict,
    speech_ratio = excluded.speech_ratio, snr_db = excluded.snr_db,
    notice_found = excluded.notice_found,
    notice_offset_s = excluded.notice_offset_s,
    notice_score = excluded.notice_score, stats = excluded.stats,
    metadata = excluded.metadata, status = excluded.status,
    flags = excluded.flags, error = excluded.error,
    analysis_count = recordings.analysis_count + 1,
    last_seen = excluded.last_seen, analysed_at = excluded.analysed_at,
    missing_since = NULL
"""


def _take_over_moved(con: duckdb.DuckDBPyConnection) -> None:
    """Move a missing row to a new path when a file with its content appears."""
    moves = con.execute(
        "SELECT b.path, min(r.id) FROM batch AS b"
        " JOIN recordings AS r ON r.sha256 = b.sha256"
        " WHERE r.missing_since IS NOT NULL AND r.status <> 'deleted'"
        " AND b.path NOT IN (SELECT path FROM recordings)"
        " GROUP BY b.path"
    ).fetchall()
    moved_ids = set()
    for path, recording_id in moves:
        if recording_id in moved_ids:
            continue
        moved_ids.add(recording_id)
        con.execute("UPDATE recordings SET path = ? WHERE id = ?", [path, recording_id])
        logger.info("recording id=%d moved to %s", recording_id, redact(path))


def _paths_being_destroyed(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Return batch paths that a purge is destroying or has just destroyed.

    The purge overwrites a file before it unlinks it, and the watcher receives
    events for that write like any other. Its result must not become a row,
    because the file is gone or about to be. A destroyed path that contains a
    file again is a new file.
    """
    rows = con.execute(
        "SELECT DISTINCT path, status FROM destruction_records"
        " WHERE status IN ('planned', 'destroyed')"
        " AND path IN (SELECT path FROM batch)"
    ).fetchall()
    skipped = {
        path for path, status in rows if status == "planned" or not os.path.exists(path)
    }
    for path in skipped:
        logger.debug("skipped a result for %s: the purge destroys it", redact(path))
    return skipped


def _free_purged_paths(con: duckdb.DuckDBPyConnection) -> None:
    """Move tombstones aside when a new file appears at a purged file's path.

    The new file is a new recording and needs its own row, but paths are
    unique. The tombstone keeps its id and gets ``#purged-ID`` after its path;
    the destruction record keeps the original path.
    """
    moved = con.execute(
        "UPDATE recordings SET path = path || '#purged-' || id"
        " WHERE status = 'deleted' AND path IN (SELECT path FROM batch)"
        " RETURNING id"
    ).fetchall()
    for (recording_id,) in moved:
        logger.info("purged recording id=%d: a new file took its path", recording_id)


def _duplicate_paths(con: duckdb.DuckDBPyConnection) -> set[str]:
    # Two present files with one content are both on disk and both must be purged,
    # so both keep a row. The flag shows the IT team the recorder wrote it twice.
    rows = con.execute(
        "SELECT b.path FROM batch AS b JOIN recordings AS r ON r.sha256 = b.sha256"
        " WHERE r.path <> b.path AND r.missing_since IS NULL"
        " AND r.status <> 'deleted'"
        " UNION SELECT path FROM batch WHERE sha256 IN"
        " (SELECT sha256 FROM batch GROUP BY sha256 HAVING count(*) > 1)"
        " AND path NOT IN (SELECT min(path) FROM batch GROUP BY sha256)"
    ).fetchall()
    return {path for (path,) in rows}


def store_results(
    con: duckdb.DuckDBPyConnection,
    results: Sequence[JobResult],
    *,
    now: datetime | None = None,
    skipped: set[str] | None = None,
) -> int:
    """Store finished jobs (call on the writer thread); return rows written.

    ``skipped``, when given, receives the paths whose result was not stored
    because the purge is destroying or has destroyed the file.
    """
    now = now or datetime.now(UTC)
    analysed = [result for result in results if result.outcome == "analysed"]
    unchanged = [result for result in results if result.outcome == "unchanged"]

    if unchanged:
        frame = pd.DataFrame(
            {
                "path": [result.path for result in unchanged],
                "size_bytes": [result.size_bytes for result in unchanged],
                "mtime_ns": [result.mtime_ns for result in unchanged],
                "mtime": [
                    datetime.fromtimestamp(result.mtime_ns / 1e9, UTC)
                    for result in unchanged
                ],
            }
        )
        con.register("touched", frame)
        con.execute(
            "UPDATE recordings SET size_bytes = t.size_bytes, mtime_ns = t.mtime_ns,"
            " mtime = t.mtime, last_seen = ?, missing_since = NULL"
            " FROM touched AS t WHERE recordings.path = t.path",
            [now],
        )
        con.unregister("touched")

    if analysed:
        rows = [_row(result, now) for result in analysed]
        con.register("batch", _batch_frame(rows))
        destroyed = _paths_being_destroyed(con)
        if skipped is not None:
            skipped.update(destroyed)
        if destroyed:
            rows = [row for row in rows if row["path"] not in destroyed]
            analysed = [r for r in analysed if r.path not in destroyed]
            if not rows:
                con.unregister("batch")
                return len(unchanged)
            con.register("batch", _batch_frame(rows))
        _free_purged_paths(con)
        _take_over_moved(con)
        duplicates = _duplicate_paths(con)
        if duplicates:
            for row in rows:
                if (
                    row["path"] in duplicates
                    and "duplicate_content" not in row["flags"]
                ):
                    row["flags"].append("duplicate_content")
            con.register("batch", _batch_frame(rows))
        con.execute(_UPSERT)
        con.unregister("batch")
        for result in analysed:
            if result.error:
                record_ingest_error(
                    con, stage="analysis", message=result.error, path=result.path
                )
    return len(analysed) + len(unchanged)


def mark_missing(
    con: duckdb.DuckDBPyConnection, paths: Iterable[str], *, now: datetime | None = None
) -> int:
    """Mark rows whose files are gone; rows are never dropped. Returns rows marked."""
    paths = list(paths)
    if not paths:
        return 0
    frame = pd.DataFrame({"path": paths})
    con.register("gone", frame)
    marked = con.execute(
        "UPDATE recordings SET missing_since = ? FROM gone"
        " WHERE recordings.path = gone.path AND missing_since IS NULL"
        " AND status <> 'deleted'"
        # A file the purge is destroying is gone on purpose: the purge marks
        # its row deleted, so it is not reported missing on the way.
        " AND recordings.id NOT IN (SELECT recording_id FROM destruction_records"
        " WHERE status = 'planned') RETURNING id",
        [now or datetime.now(UTC)],
    ).fetchall()
    con.unregister("gone")
    for (recording_id,) in marked:
        logger.warning("recording id=%d is missing from disk", recording_id)
    return len(marked)


def known_paths(cursor: duckdb.DuckDBPyConnection, prefix: str) -> tuple[set, set]:
    """Return the paths under ``prefix`` that are not deleted, split by presence.

    The first set contains the present rows' paths, the second those of rows
    marked missing. A reconciliation that compares names only reads no more.
    """
    # Two single-column queries fetch faster than one with a presence column.
    present = cursor.execute(
        "SELECT path FROM recordings WHERE starts_with(path, ?)"
        " AND status <> 'deleted' AND missing_since IS NULL",
        [prefix],
    ).fetchall()
    missing = cursor.execute(
        "SELECT path FROM recordings WHERE starts_with(path, ?)"
        " AND status <> 'deleted' AND missing_since IS NOT NULL",
        [prefix],
    ).fetchall()
    return {path for (path,) in present}, {path for (path,) in missing}


def known_files(
    cursor: duckdb.DuckDBPyConnection, prefix: str
) -> tuple[dict[str, tuple[int | None, int | None]], set[str]]:
    """Return the rows under ``prefix`` that are not deleted, split by presence.

    The first value maps each present row's path to (size_bytes, mtime_ns). The
    second contains the paths of rows marked missing. Reconciliation reads every
    row of a root at start, so only the columns it compares are fetched.
    """
    rows = cursor.execute(
        "SELECT path, size_bytes, mtime_ns FROM recordings"
        " WHERE starts_with(path, ?) AND status <> 'deleted'"
        " AND missing_since IS NULL",
        [prefix],
    ).fetchall()
    present = {path: (size, mtime_ns) for path, size, mtime_ns in rows}
    missing = cursor.execute(
        "SELECT path FROM recordings"
        " WHERE starts_with(path, ?) AND status <> 'deleted'"
        " AND missing_since IS NOT NULL",
        [prefix],
    ).fetchall()
    return present, {path for (path,) in missing}


def count_errors(cursor: duckdb.DuckDBPyConnection, targets: Iterable[Path]) -> int:
    """Return the number of present rows in error at or below each target path.

    A target that is a folder counts the rows below it, any other target the
    row of that path.
    """
    targets = list(targets)
    prefixes = [str(path).rstrip("/") + "/" for path in targets if path.is_dir()]
    files = [str(path) for path in targets if not path.is_dir()]
    rows = cursor.execute(
        "SELECT count(*) FROM recordings WHERE status = 'error'"
        " AND missing_since IS NULL"
        " AND (path IN (SELECT unnest(?::VARCHAR[]))"
        " OR EXISTS (SELECT 1 FROM unnest(?::VARCHAR[]) AS t(prefix)"
        " WHERE starts_with(recordings.path, t.prefix)))",
        [files, prefixes],
    ).fetchall()
    return rows[0][0]
