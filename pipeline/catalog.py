"""The DuckDB catalog: schema migrations, the single writer thread and readers.

DuckDB lets one process open a database file for writing, and while it holds the
file every other process is refused, read-only included. So one process owns the
catalog (the dashboard server while it runs, otherwise the command line). Inside
that process a DuckDB connection must not be shared between threads: the
:class:`Catalog` gives each reading thread its own cursor and runs every write on
one writer thread, fed by a queue, so writes never interleave.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from pipeline import (
    accesslog,
    accessreview,
    handover,
    holds,
    protected_copy,
    purge,
    requests,
    returns,
)
from pipeline.errors import CatalogLockedError, RecwatchError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Only DuckDB's built-in extensions are used, and nothing may be downloaded at run
# time: an INSTALL or an automatic install would try the network and fail offline.
DUCKDB_CONFIG = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "recordings, ingest errors, lines and departments",
        """
        CREATE SEQUENCE recording_id_seq;
        CREATE TABLE recordings (
            id BIGINT PRIMARY KEY DEFAULT nextval('recording_id_seq'),
            root VARCHAR NOT NULL,
            path VARCHAR NOT NULL UNIQUE,
            file_name VARCHAR NOT NULL,
            file_name_nfc VARCHAR NOT NULL,
            size_bytes BIGINT,
            mtime TIMESTAMPTZ,
            mtime_ns BIGINT,
            sha256 VARCHAR,
            profile VARCHAR,
            start_time TIMESTAMPTZ,
            start_time_source VARCHAR,
            line VARCHAR,
            other_party VARCHAR,
            direction VARCHAR,
            mode VARCHAR NOT NULL DEFAULT 'unknown',
            call_id VARCHAR,
            department VARCHAR,
            sample_rate INTEGER,
            channels INTEGER,
            codec VARCHAR,
            container VARCHAR,
            decoder VARCHAR,
            frames BIGINT,
            duration_s DOUBLE,
            silence_ratio DOUBLE,
            longest_silence_s DOUBLE,
            rms_dbfs DOUBLE,
            peak_dbfs DOUBLE,
            clipped_samples BIGINT,
            stats JSON,
            metadata JSON,
            status VARCHAR NOT NULL,
            flags VARCHAR[] NOT NULL DEFAULT [],
            error VARCHAR,
            analysis_count INTEGER NOT NULL DEFAULT 1,
            first_seen TIMESTAMPTZ NOT NULL,
            last_seen TIMESTAMPTZ NOT NULL,
            analysed_at TIMESTAMPTZ,
            missing_since TIMESTAMPTZ,
            deleted_at TIMESTAMPTZ
        );
        CREATE INDEX recordings_start_time ON recordings (start_time);
        CREATE INDEX recordings_sha256 ON recordings (sha256);
        CREATE SEQUENCE ingest_error_id_seq;
        CREATE TABLE ingest_errors (
            id BIGINT PRIMARY KEY DEFAULT nextval('ingest_error_id_seq'),
            occurred_at TIMESTAMPTZ NOT NULL,
            path VARCHAR,
            stage VARCHAR NOT NULL,
            message VARCHAR NOT NULL
        );
        CREATE TABLE departments (
            name VARCHAR PRIMARY KEY,
            code VARCHAR
        );
        CREATE TABLE lines (
            number VARCHAR PRIMARY KEY,
            department VARCHAR,
            mode VARCHAR NOT NULL DEFAULT 'selective',
            approval_doc VARCHAR,
            approved_by VARCHAR,
            valid_from DATE,
            valid_to DATE
        );
        """,
    ),
    (
        2,
        "hash-chained access log",
        ";\n".join(accesslog.SCHEMA_SQL),
    ),
    (
        3,
        "holds, purge runs and destruction records",
        ";\n".join([*holds.SCHEMA_SQL, *purge.SCHEMA_SQL]),
    ),
    (
        4,
        "requests, approvals, handovers, notices and user lines",
        ";\n".join(
            [
                *requests.SCHEMA_SQL,
                *handover.SCHEMA_SQL,
                *returns.SCHEMA_SQL,
                *protected_copy.SCHEMA_SQL,
            ]
        ),
    ),
    (
        5,
        "call quality and recording-notice columns",
        """
        ALTER TABLE recordings ADD COLUMN verdict VARCHAR;
        ALTER TABLE recordings ADD COLUMN speech_ratio DOUBLE;
        ALTER TABLE recordings ADD COLUMN snr_db DOUBLE;
        ALTER TABLE recordings ADD COLUMN notice_found BOOLEAN;
        ALTER TABLE recordings ADD COLUMN notice_offset_s DOUBLE;
        ALTER TABLE recordings ADD COLUMN notice_score DOUBLE;
        """,
    ),
    (6, "access-log monthly reviews", ";\n".join(accessreview.SCHEMA_SQL)),
)

SCHEMA_VERSION = MIGRATIONS[-1][0]

_LOCK_PID = re.compile(r"PID (\d+)")


SNAPSHOT_SUFFIX = ".duckdb"
MANIFEST_SUFFIX = ".manifest.json"
"""A published snapshot ``NAME.duckdb`` has its manifest ``NAME.manifest.json``."""


def snapshot_manifest(path: Path) -> Path:
    """Return the path a snapshot's manifest would have beside ``path``."""
    name = path.name.removesuffix(SNAPSHOT_SUFFIX)
    return path.with_name(name + MANIFEST_SUFFIX)


def connect(
    path: str | Path, *, read_only: bool = False, memory_mb: int | None = None
) -> duckdb.DuckDBPyConnection:
    """Open a catalog file, turning DuckDB's lock conflict into a clear error.

    ``memory_mb`` sets DuckDB's memory limit; None keeps DuckDB's default of 80 %
    of the machine's memory. A published snapshot opens only read-only: writing
    to it would change evidence, and a purge run on it would delete live files
    that the live catalog then reports missing.
    """
    path = Path(path)
    if not read_only and snapshot_manifest(path).is_file():
        raise RecwatchError(
            f"{path} is a published snapshot (its manifest "
            f"{snapshot_manifest(path).name} is beside it), and snapshots are only "
            "read. Pass the live catalog to commands that write; read the snapshot "
            "with `recwatch recordings --db` or `recwatch log verify --db`"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = dict(DUCKDB_CONFIG)
    if memory_mb is not None:
        config["memory_limit"] = f"{int(memory_mb)}MB"
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as error:
        text = str(error)
        if "lock" not in text.lower():
            raise
        pid = _LOCK_PID.search(text)
        holder = f"process {pid.group(1)}" if pid else "another process"
        raise CatalogLockedError(
            f"catalog {path} is in use by {holder}, usually the dashboard server "
            "(panel serve). Stop the server first, or use the dashboard, which "
            "runs ingest itself while it is up",
            path=str(path),
            holder=holder,
        ) from None


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION`; return the version found."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL)"
    )
    row = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    found = row[0] or 0
    if found > SCHEMA_VERSION:
        raise RecwatchError(
            f"catalog schema version {found} is newer than this recwatch supports "
            f"({SCHEMA_VERSION}); upgrade recwatch before opening it"
        )
    for version, description, sql in MIGRATIONS:
        if version <= found:
            continue
        con.execute("BEGIN")
        try:
            con.execute(sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [version, description, datetime.now(UTC)],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        logger.info("catalog migrated to schema version %d: %s", version, description)
    return found


class Catalog:
    """Owner of one catalog file: a writer thread plus a cursor per reader thread.

    Use as a context manager, or call :meth:`close`. Writes go through
    :meth:`write` (blocking) or :meth:`submit` (returns a future); both run the
    function on the writer thread inside a transaction. Reads use :meth:`cursor`,
    which returns the calling thread's own cursor.
    """

    def __init__(self, path: str | Path, *, memory_mb: int | None = None):
        self.path = Path(path)
        self._con = connect(self.path, memory_mb=memory_mb)
        migrate(self._con)
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._version = 0
        self._changed = threading.Condition()
        self._closed = False
        self._writer = threading.Thread(
            target=self._run_writer, name="catalog-writer", daemon=True
        )
        self._writer.start()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------

    def submit(self, function: Callable[[duckdb.DuckDBPyConnection], T]) -> Future:
        """Queue ``function(con)`` to run on the writer thread in a transaction."""
        if self._closed:
            raise RecwatchError(f"catalog {self.path} is closed")
        future: Future = Future()
        # The function runs in the caller's context, so context variables such
        # as the access log's client address reach the writer thread.
        self._queue.put((contextvars.copy_context(), function, future))
        return future

    def write(self, function: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``function(con)`` on the writer thread and return its result."""
        return self.submit(function).result()

    def _run_writer(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            context, function, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                self._con.execute("BEGIN")
                result = context.run(function, self._con)
                self._con.execute("COMMIT")
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                try:
                    self._con.execute("ROLLBACK")
                except duckdb.Error as rollback_error:
                    # A failed COMMIT (a full disk, say) has already ended the
                    # transaction; the caller gets the real error below.
                    logger.debug("rollback after a failed write: %s", rollback_error)
                future.set_exception(error)
                continue
            with self._changed:
                self._version += 1
                self._changed.notify_all()
            future.set_result(result)

    @property
    def version(self) -> int:
        """A counter raised by every committed write; readers poll it cheaply."""
        return self._version

    def wait_for_change(self, version: int, timeout: float) -> int:
        """Block until the version passes ``version`` or ``timeout`` seconds pass."""
        with self._changed:
            self._changed.wait_for(lambda: self._version > version, timeout)
            return self._version

    # -- reading -------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Return this thread's cursor, creating it on first use."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._con.cursor()
            self._local.cursor = cursor
            with self._cursors_lock:
                self._cursors.append(cursor)
        return cursor

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        """Run a read query on this thread's cursor and fetch every row."""
        return self.cursor().execute(sql, params or []).fetchall()

    def query_df(self, sql: str, params: Sequence[Any] | None = None):
        """Run a read query on this thread's cursor and return a pandas DataFrame."""
        return self.cursor().execute(sql, params or []).df()

    def close(self) -> None:
        """Finish queued writes, stop the writer thread and close the file."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join()
        with self._cursors_lock:
            for cursor in self._cursors:
                cursor.close()
            self._cursors.clear()
        self._con.close()


def record_ingest_error(
    con: duckdb.DuckDBPyConnection, *, stage: str, message: str, path: str | None
) -> None:
    """Append one row to ``ingest_errors`` (call on the writer thread)."""
    con.execute(
        "INSERT INTO ingest_errors (occurred_at, path, stage, message) "
        "VALUES (?, ?, ?, ?)",
        [datetime.now(UTC), path, stage, message],
    )


def executemany(
    con: duckdb.DuckDBPyConnection, sql: str, rows: Iterable[Sequence[Any]]
) -> None:
    """Run ``sql`` for each row, skipping the call when there are none."""
    rows = list(rows)
    if rows:
        con.executemany(sql, rows)
