"""Purge: unrecoverable deletion of expired recordings, with destruction records.

A recording expires ``retention.days`` after its start time (see
:mod:`pipeline.retention`). :func:`run_purge` deletes the file of every expired
recording that no active hold protects, and writes one destruction record
(파기 기록) per file. A dry run, the default, only reports what it would delete.

Each file goes through these steps, so that a crash at any point leaves the
catalog and the disk consistent:

1. A destruction record with status ``planned`` is committed, for a batch of
   files at once, before any file of that batch is touched.
2. The file's bytes are overwritten in place with zeros, one pass, and fsync'd.
3. The file is unlinked and its folder fsync'd.
4. The record becomes ``destroyed`` and the recording row a tombstone with
   status ``deleted``, in one transaction per batch.

Every applied run first finishes the ``planned`` records that an interrupted run
left behind: a file still on disk is overwritten and unlinked, a file already
gone is marked destroyed. Planned records are reused, never duplicated, so each
deleted file has exactly one destruction record.

Decisions on the files that are not deleted:

- A file already missing from disk is skipped and gets no destruction record,
  because recwatch did not destroy it and cannot vouch that it is gone for good.
  Its row is marked missing, so the overview shows it for the IT team to explain.
- A path whose real location (symbolic links resolved) is outside every
  configured recorder root is skipped and reported. Neither the link nor its
  target is touched. A symbolic link that stays inside the roots is skipped too,
  because its target is a file of its own that the purge handles directly.
- A file whose size or modification time differs from the catalog is skipped,
  because it is not the file that was cataloged. Ingest analyses it again.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from pipeline import accesslog, erase, holds, retention
from pipeline.analysis import redact
from pipeline.config import Config
from pipeline.errors import RecwatchError

if TYPE_CHECKING:
    from pipeline.catalog import Catalog

logger = logging.getLogger(__name__)

ACCESS_LOG_ACTION = "purge"
# A dry run reads only catalog rows and destroys nothing, so the access log
# names it apart from a purge.
PREVIEW_ACCESS_LOG_ACTION = "purge_preview"
# How far ahead of the wall clock an applied purge may measure expiry. A few
# minutes allow for a slow clock sync; more would destroy unexpired recordings.
MAX_FUTURE_NOW = timedelta(minutes=5)
METHOD = "overwrite+unlink"
BATCH_FILES = 500

REASON_EXPIRED = "expired"
HELD_REASON_PREFIX = "held until "
REASON_OUTSIDE_ROOTS = "outside the recorder roots"
REASON_SYMLINK = (
    "symbolic link: only regular files inside the recorder roots are purged"
)
REASON_MISSING = "file already missing from disk: not destroyed by recwatch"
REASON_CHANGED = (
    "file changed since it was cataloged (size or modification time differ): "
    "ingest analyses it again before it can be purged"
)
REASON_NOT_REGULAR = "not a regular file"
REASON_RESUMED = "finishing a destruction that an interrupted purge started"
REASON_HELD_WHILE_PLANNED = (
    "a hold was placed while an interrupted purge had this file planned for "
    "destruction: the file was left as it is and may be partly overwritten"
)

SCHEMA_SQL: list[str] = [
    "CREATE SEQUENCE IF NOT EXISTS purge_run_id_seq",
    """
    CREATE TABLE IF NOT EXISTS purge_runs (
        id BIGINT PRIMARY KEY DEFAULT nextval('purge_run_id_seq'),
        job VARCHAR NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,
        mode VARCHAR NOT NULL CHECK (mode IN ('dry_run', 'apply')),
        operator VARCHAR NOT NULL,
        now_used TIMESTAMPTZ NOT NULL,
        deleted BIGINT NOT NULL DEFAULT 0,
        held BIGINT NOT NULL DEFAULT 0,
        skipped BIGINT NOT NULL DEFAULT 0,
        errors BIGINT NOT NULL DEFAULT 0,
        status VARCHAR NOT NULL
            CHECK (status IN ('running', 'completed', 'failed', 'interrupted'))
    )
    """,
    "CREATE SEQUENCE IF NOT EXISTS destruction_record_id_seq",
    """
    CREATE TABLE IF NOT EXISTS destruction_records (
        id BIGINT PRIMARY KEY DEFAULT nextval('destruction_record_id_seq'),
        recording_id BIGINT NOT NULL,
        run_id BIGINT NOT NULL,
        path VARCHAR NOT NULL,
        sha256 VARCHAR,
        size_bytes BIGINT,
        planned_at TIMESTAMPTZ NOT NULL,
        destroyed_at TIMESTAMPTZ,
        operator VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        method VARCHAR NOT NULL,
        status VARCHAR NOT NULL CHECK (status IN ('planned', 'destroyed', 'failed')),
        error VARCHAR
    )
    """,
    "CREATE INDEX IF NOT EXISTS destruction_records_recording"
    " ON destruction_records (recording_id)",
]

# One purge at a time per process: the scheduler and a manual run must not plan
# the same files twice. Another process cannot open the catalog at all.
_run_lock = threading.Lock()


@dataclass(frozen=True)
class Candidate:
    """An expired recording and what the purge does with it.

    ``action`` is ``delete``, ``held`` or ``skipped``; ``reason`` says why.
    ``real_path`` is the file's location with symbolic links resolved.
    """

    recording_id: int
    path: str
    start_time: datetime
    expires_at: datetime
    sha256: str | None
    size_bytes: int | None
    action: str
    reason: str
    real_path: str | None = None


@dataclass(frozen=True)
class PurgeLine:
    """One file in a purge report.

    ``outcome`` is ``deleted``, ``would_delete``, ``held``, ``skipped`` or
    ``error``.
    """

    recording_id: int
    start_time: datetime | None
    path: str
    outcome: str
    reason: str


@dataclass
class PurgeSummary:
    """Counts and per-file lines of one purge run."""

    deleted: int = 0
    would_delete: int = 0
    held: int = 0
    skipped: int = 0
    errors: int = 0
    lines: list[PurgeLine] = field(default_factory=list)
    run_id: int | None = None
    job: str = ""
    apply: bool = False
    now: datetime | None = None

    def count_line(self, line: PurgeLine) -> None:
        """Append ``line`` and raise the counter of its outcome."""
        self.lines.append(line)
        if line.outcome == "deleted":
            self.deleted += 1
        elif line.outcome == "would_delete":
            self.would_delete += 1
        elif line.outcome == "held":
            self.held += 1
        elif line.outcome == "skipped":
            self.skipped += 1
        else:
            self.errors += 1

    def totals_line(self) -> str:
        """Return the machine-readable last line of a purge report.

        A dry run reports ``would_delete`` in place of ``deleted``, so that its
        report cannot be read as a record of destruction.
        """
        first = (
            f"deleted={self.deleted}"
            if self.apply
            else f"would_delete={self.would_delete}"
        )
        return (
            f"purge: {first} held={self.held} "
            f"skipped={self.skipped} errors={self.errors}"
        )


@dataclass(frozen=True)
class _Planned:
    """A destruction record that is planned and whose file is not yet destroyed."""

    record_id: int
    recording_id: int
    path: str
    start_time: datetime | None


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the purge_runs and destruction_records tables if they are missing."""
    for statement in SCHEMA_SQL:
        con.execute(statement)


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError(f"now={now.isoformat()} has no time zone: pass an aware time")
    return now


def _real_roots(config: Config) -> list[str]:
    return [os.path.realpath(recorder.root) for recorder in config.recorders]


def _is_under(path: str, roots: Sequence[str]) -> bool:
    return any(os.path.commonpath([path, root]) == root for root in roots)


# -- planning ------------------------------------------------------------------


def plan_purge(
    cursor: duckdb.DuckDBPyConnection, config: Config, now: datetime | None = None
) -> list[Candidate]:
    """Return every expired recording that still has a row, with the action for it.

    A recording is expired when ``start_time + retention.days <= now``. Both are
    compared as UTC instants, so the server's time zone does not move an expiry.
    Recordings with a planned destruction record are left out, because the next
    applied run finishes them first. The check of each file on disk is read-only.
    """
    now = _aware(now)
    expires = retention.expires_at_sql(config)
    rows = cursor.execute(
        f"SELECT id, path, start_time, {expires} AS expires_at, sha256, size_bytes,"
        f" mtime_ns, missing_since IS NOT NULL, {holds.active_hold_sql('r.id')}"
        " FROM recordings AS r"
        f" WHERE status <> 'deleted' AND start_time IS NOT NULL"
        f" AND {expires} <= $now"
        " AND id NOT IN (SELECT recording_id FROM destruction_records"
        "  WHERE status = 'planned')"
        " ORDER BY start_time, id",
        {"now": now},
    ).fetchall()
    held_until = _held_until(cursor, now)
    roots = _real_roots(config)
    candidates = []
    for (
        recording_id,
        path,
        start_time,
        expires_at,
        sha256,
        size_bytes,
        mtime_ns,
        missing,
        held,
    ) in rows:
        if held:
            action = "held"
            reason = f"{HELD_REASON_PREFIX}{held_until[recording_id]}"
            real_path = None
        else:
            action, reason, real_path = _check_file(
                path, roots, size_bytes, mtime_ns, missing
            )
        candidates.append(
            Candidate(
                recording_id=recording_id,
                path=path,
                start_time=start_time,
                expires_at=expires_at,
                sha256=sha256,
                size_bytes=size_bytes,
                action=action,
                reason=reason,
                real_path=real_path,
            )
        )
    return candidates


def _held_until(cursor: duckdb.DuckDBPyConnection, now: datetime) -> dict[int, str]:
    """Map each held recording to the latest end date and id of its active holds."""
    latest: dict[int, holds.Hold] = {}
    for hold in holds.active_holds(cursor, now):
        known = latest.get(hold.recording_id)
        if known is None or hold.ends_at > known.ends_at:
            latest[hold.recording_id] = hold
    return {
        recording_id: f"{hold.ends_on.isoformat()} (hold {hold.id})"
        for recording_id, hold in latest.items()
    }


def _check_file(
    path: str,
    roots: Sequence[str],
    size_bytes: int | None,
    mtime_ns: int | None,
    missing: bool,
) -> tuple[str, str, str | None]:
    """Return (action, reason, real path) for an expired recording that is not held."""
    if missing or not os.path.lexists(path):
        return "skipped", REASON_MISSING, None
    real_path = os.path.realpath(path)
    if not _is_under(real_path, roots):
        return "skipped", REASON_OUTSIDE_ROOTS, None
    if os.path.islink(path):
        return "skipped", REASON_SYMLINK, None
    try:
        info = os.stat(real_path, follow_symlinks=False)
    except FileNotFoundError:
        return "skipped", REASON_MISSING, None
    if not stat.S_ISREG(info.st_mode):
        return "skipped", REASON_NOT_REGULAR, None
    changed_size = size_bytes is not None and info.st_size != size_bytes
    changed_mtime = mtime_ns is not None and info.st_mtime_ns != mtime_ns
    if changed_size or changed_mtime:
        return "skipped", REASON_CHANGED, None
    return "delete", REASON_EXPIRED, real_path


# -- destroying files ----------------------------------------------------------


def _destroy(path: str, roots: Sequence[str]) -> str | None:
    """Destroy one file; return None on success or the error message."""
    real_path = os.path.realpath(path)
    if not _is_under(real_path, roots):
        return REASON_OUTSIDE_ROOTS
    try:
        erase.overwrite_and_unlink(real_path)
    except FileNotFoundError:
        # A resumed record whose file an interrupted run already unlinked, or a
        # file removed by another process: nothing is left at this path.
        return None
    except OSError as error:
        return f"overwrite or unlink failed: {error.strerror or error}"
    return None


# -- catalog writes ------------------------------------------------------------


def _start_run(
    catalog: Catalog, *, job: str, mode: str, operator: str, now: datetime
) -> int:
    def write(con: duckdb.DuckDBPyConnection) -> int:
        if mode == "apply":
            # A run still marked running was cut short: this process holds the
            # run lock and is the only process that can open the catalog.
            con.execute(
                "UPDATE purge_runs SET status = 'interrupted'"
                " WHERE status = 'running' AND mode = 'apply'"
            )
        return con.execute(
            "INSERT INTO purge_runs (job, started_at, mode, operator, now_used,"
            " status) VALUES (?, ?, ?, ?, ?, 'running') RETURNING id",
            [job, datetime.now(UTC), mode, operator, now],
        ).fetchall()[0][0]

    return catalog.write(write)


def _finish_run(
    catalog: Catalog, summary: PurgeSummary, *, operator: str, status: str
) -> None:
    def write(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "UPDATE purge_runs SET finished_at = ?, deleted = ?, held = ?,"
            " skipped = ?, errors = ?, status = ? WHERE id = ?",
            [
                datetime.now(UTC),
                summary.deleted,
                summary.held,
                summary.skipped,
                summary.errors,
                status,
                summary.run_id,
            ],
        )
        counts = (
            {"deleted": summary.deleted}
            if summary.apply
            else {"would_delete": summary.would_delete}
        )
        accesslog.append(
            con,
            actor=operator,
            action=ACCESS_LOG_ACTION if summary.apply else PREVIEW_ACCESS_LOG_ACTION,
            object_type="purge_run",
            object_ids=[summary.run_id],
            result="ok" if status == "completed" else "failed",
            detail={
                "change": "run_finished",
                "job": summary.job,
                "mode": "apply" if summary.apply else "dry_run",
                "status": status,
                "now": summary.now.astimezone(UTC).isoformat(),
                **counts,
                "held": summary.held,
                "skipped": summary.skipped,
                "errors": summary.errors,
            },
        )

    catalog.write(write)


def _plan_batch(
    catalog: Catalog,
    batch: Sequence[Candidate],
    summary: PurgeSummary,
    *,
    operator: str,
) -> list[_Planned]:
    """Commit a planned destruction record for each candidate in one transaction.

    A failed record left by an earlier run is reused, so a recording never gets
    a second record for the same file.
    """
    planned_at = datetime.now(UTC)
    frame = pd.DataFrame(
        {
            "recording_id": [c.recording_id for c in batch],
            "path": [c.path for c in batch],
            "sha256": [c.sha256 for c in batch],
            "size_bytes": pd.array([c.size_bytes for c in batch], dtype="Int64"),
            "reason": [
                f"retention expired at {c.expires_at.astimezone(UTC).isoformat()}"
                for c in batch
            ],
        }
    )
    start_times = {c.recording_id: c.start_time for c in batch}
    values = {
        "run_id": summary.run_id,
        "planned_at": planned_at,
        "operator": operator,
        "method": METHOD,
    }

    def write(con: duckdb.DuckDBPyConnection) -> list[_Planned]:
        con.register("purge_batch", frame)
        try:
            rows = con.execute(
                "UPDATE destruction_records AS d SET run_id = $run_id, path = b.path,"
                " sha256 = b.sha256, size_bytes = b.size_bytes,"
                " planned_at = $planned_at, operator = $operator,"
                " reason = b.reason, status = 'planned', error = NULL"
                " FROM purge_batch AS b"
                " WHERE d.recording_id = b.recording_id AND d.status = 'failed'"
                " RETURNING d.id, d.recording_id, d.path",
                {k: values[k] for k in ("run_id", "planned_at", "operator")},
            ).fetchall()
            rows += con.execute(
                "INSERT INTO destruction_records (recording_id, run_id, path,"
                " sha256, size_bytes, planned_at, operator, reason, method, status)"
                " SELECT recording_id, $run_id, path, sha256, size_bytes,"
                " $planned_at, $operator, reason, $method, 'planned'"
                " FROM purge_batch WHERE recording_id NOT IN"
                " (SELECT recording_id FROM destruction_records"
                "  WHERE status = 'planned')"
                " RETURNING id, recording_id, path",
                values,
            ).fetchall()
        finally:
            con.unregister("purge_batch")
        planned = [
            _Planned(record_id, recording_id, path, start_times[recording_id])
            for record_id, recording_id, path in sorted(rows)
        ]
        accesslog.append(
            con,
            actor=operator,
            action=ACCESS_LOG_ACTION,
            object_type="recording",
            object_ids=[item.recording_id for item in planned],
            detail=_batch_detail(summary, "planned", len(planned)),
        )
        return planned

    return catalog.write(write)


def _batch_detail(summary: PurgeSummary, change: str, count: int) -> dict:
    return {
        "change": change,
        "job": summary.job,
        "run_id": summary.run_id,
        "count": count,
    }


def _complete_batch(
    catalog: Catalog,
    destroyed: Sequence[_Planned],
    failed: Sequence[tuple[_Planned, str]],
    summary: PurgeSummary,
    *,
    operator: str,
    change: str,
) -> None:
    """Mark destroyed and failed records and tombstone the recordings, in one commit.

    The tombstone keeps id, path, hash, start time, line and department, and
    clears the other party's number, the metadata and the audio statistics JSON.
    """

    def write(con: duckdb.DuckDBPyConnection) -> None:
        if destroyed:
            recording_ids = [item.recording_id for item in destroyed]
            con.execute(
                "UPDATE destruction_records SET status = 'destroyed',"
                " destroyed_at = ?, error = NULL"
                " WHERE list_contains(?::BIGINT[], id)",
                [datetime.now(UTC), [item.record_id for item in destroyed]],
            )
            con.execute(
                "UPDATE recordings SET status = 'deleted', deleted_at = ?,"
                " other_party = NULL, metadata = NULL, stats = NULL"
                " WHERE list_contains(?::BIGINT[], id)",
                [summary.now, recording_ids],
            )
            accesslog.append(
                con,
                actor=operator,
                action=ACCESS_LOG_ACTION,
                object_type="recording",
                object_ids=recording_ids,
                detail=_batch_detail(summary, change, len(recording_ids)),
            )
        if failed:
            con.executemany(
                "UPDATE destruction_records SET status = 'failed', error = ?"
                " WHERE id = ?",
                [[error, item.record_id] for item, error in failed],
            )
            accesslog.append(
                con,
                actor=operator,
                action=ACCESS_LOG_ACTION,
                object_type="recording",
                object_ids=[item.recording_id for item, _ in failed],
                result="failed",
                detail=_batch_detail(summary, "destruction_failed", len(failed)),
            )

    catalog.write(write)


# -- running -------------------------------------------------------------------


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _pending_planned(cursor: duckdb.DuckDBPyConnection) -> list[_Planned]:
    rows = cursor.execute(
        "SELECT d.id, d.recording_id, d.path, r.start_time"
        " FROM destruction_records AS d LEFT JOIN recordings AS r"
        " ON r.id = d.recording_id WHERE d.status = 'planned' ORDER BY d.id"
    ).fetchall()
    return [_Planned(*row) for row in rows]


def _destroy_batch(
    catalog: Catalog,
    batch: Sequence[_Planned],
    summary: PurgeSummary,
    *,
    roots: Sequence[str],
    operator: str,
    change: str,
    reason: str | None = None,
) -> None:
    """Destroy the files of committed planned records, then record the result."""
    destroyed: list[_Planned] = []
    failed: list[tuple[_Planned, str]] = []
    for item in batch:
        error = _destroy(item.path, roots)
        if error is None:
            destroyed.append(item)
        else:
            logger.error(
                "purge %s: recording %d not destroyed: %s",
                summary.job,
                item.recording_id,
                redact(error),
            )
            failed.append((item, error))
    erase.fsync_folders(os.path.realpath(item.path) for item in destroyed)
    _complete_batch(
        catalog, destroyed, failed, summary, operator=operator, change=change
    )
    for item in destroyed:
        summary.count_line(
            PurgeLine(
                item.recording_id,
                item.start_time,
                item.path,
                "deleted",
                reason or REASON_EXPIRED,
            )
        )
    for item, error in failed:
        summary.count_line(
            PurgeLine(item.recording_id, item.start_time, item.path, "error", error)
        )


def _resume_planned(
    catalog: Catalog, summary: PurgeSummary, *, roots: Sequence[str], operator: str
) -> None:
    """Finish the planned records that an interrupted run left behind."""
    pending = _pending_planned(catalog.cursor())
    if not pending:
        return
    logger.warning(
        "purge %s: finishing %d destruction(s) left planned by an interrupted run",
        summary.job,
        len(pending),
    )
    held_ids = {hold.recording_id for hold in holds.active_holds(catalog.cursor())}
    held = [item for item in pending if item.recording_id in held_ids]
    if held:
        # The file may already be partly overwritten, so the record is closed as
        # failed and the IT team decides with the hold's approver.
        failed = [(item, REASON_HELD_WHILE_PLANNED) for item in held]
        _complete_batch(
            catalog, [], failed, summary, operator=operator, change="resumed"
        )
        for item in held:
            logger.warning(
                "purge %s: recording %d: %s",
                summary.job,
                item.recording_id,
                REASON_HELD_WHILE_PLANNED,
            )
            summary.count_line(
                PurgeLine(
                    item.recording_id,
                    item.start_time,
                    item.path,
                    "held",
                    REASON_HELD_WHILE_PLANNED,
                )
            )
    pending = [item for item in pending if item.recording_id not in held_ids]
    for batch in _batches(pending, BATCH_FILES):
        _destroy_batch(
            catalog,
            batch,
            summary,
            roots=roots,
            operator=operator,
            change="resumed",
            reason=REASON_RESUMED,
        )


def _mark_missing(catalog: Catalog, candidates: Sequence[Candidate], now) -> None:
    # Imported here so that pipeline.catalog can import this module's SCHEMA_SQL
    # for its migrations: pipeline.recordings imports pipeline.catalog.
    from pipeline.recordings import mark_missing

    paths = [c.path for c in candidates if c.reason == REASON_MISSING]
    if paths:
        catalog.write(lambda con: mark_missing(con, paths, now=now))


def job_name(now: datetime, config: Config) -> str:
    """Return a run's job name such as ``purge-20261204-0230`` in local time."""
    return f"purge-{now.astimezone(config.tz):%Y%m%d-%H%M}"


def run_purge(
    catalog: Catalog,
    config: Config,
    *,
    apply: bool = False,
    now: datetime | None = None,
    operator: str = "system",
) -> PurgeSummary:
    """Delete, or with ``apply=False`` only list, the expired unheld recordings.

    ``now`` is the instant that expiry is measured against (default: the wall
    clock). Every run writes a ``purge_runs`` row and access-log entries: one per
    batch state change, listing the recording ids, and one with the counts when
    the run ends. A dry run touches no file and no recording row.
    """
    now = _aware(now)
    latest = datetime.now(UTC) + MAX_FUTURE_NOW
    if apply and now > latest:
        raise RecwatchError(
            f"purge rejected: expiry measured at {now.isoformat()} is later than "
            "the current time, so recordings still inside the retention period "
            "would be destroyed. Run the purge without a future time; a dry run "
            "may look ahead"
        )
    with _run_lock:
        summary = PurgeSummary(job=job_name(now, config), apply=apply, now=now)
        summary.run_id = _start_run(
            catalog,
            job=summary.job,
            mode="apply" if apply else "dry_run",
            operator=operator,
            now=now,
        )
        logger.info(
            "purge %s started (%s, run %d)",
            summary.job,
            "apply" if apply else "dry run",
            summary.run_id,
        )
        try:
            _run(catalog, config, summary, apply=apply, operator=operator)
        except BaseException:
            logger.exception("purge %s failed", summary.job)
            _finish_run(catalog, summary, operator=operator, status="failed")
            raise
        _finish_run(catalog, summary, operator=operator, status="completed")
    logger.info("purge %s finished: %s", summary.job, summary.totals_line())
    return summary


def _run(
    catalog: Catalog,
    config: Config,
    summary: PurgeSummary,
    *,
    apply: bool,
    operator: str,
) -> None:
    roots = _real_roots(config)
    if apply:
        _resume_planned(catalog, summary, roots=roots, operator=operator)
    else:
        for item in _pending_planned(catalog.cursor()):
            summary.count_line(
                PurgeLine(
                    item.recording_id,
                    item.start_time,
                    item.path,
                    "would_delete",
                    REASON_RESUMED,
                )
            )

    # A recording whose planned record was just closed is already reported.
    reported = {line.recording_id for line in summary.lines}
    candidates = [
        candidate
        for candidate in plan_purge(catalog.cursor(), config, summary.now)
        if candidate.recording_id not in reported
    ]
    to_delete = [c for c in candidates if c.action == "delete"]
    for candidate in candidates:
        if candidate.action == "held":
            outcome = "held"
        elif candidate.action == "skipped":
            outcome = "skipped"
            if candidate.reason != REASON_MISSING:
                logger.warning(
                    "purge %s: recording %d skipped: %s",
                    summary.job,
                    candidate.recording_id,
                    candidate.reason,
                )
        else:
            continue
        summary.count_line(
            PurgeLine(
                candidate.recording_id,
                candidate.start_time,
                candidate.path,
                outcome,
                candidate.reason,
            )
        )

    if not apply:
        for candidate in to_delete:
            summary.count_line(
                PurgeLine(
                    candidate.recording_id,
                    candidate.start_time,
                    candidate.path,
                    "would_delete",
                    candidate.reason,
                )
            )
        return

    _mark_missing(catalog, candidates, summary.now)
    for batch in _batches(to_delete, BATCH_FILES):
        planned = _plan_batch(catalog, batch, summary, operator=operator)
        _destroy_batch(
            catalog,
            planned,
            summary,
            roots=roots,
            operator=operator,
            change="destroyed",
        )
