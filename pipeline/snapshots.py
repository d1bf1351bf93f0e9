"""Read-only snapshots of the catalog for auditors, published by the catalog owner.

DuckDB lets one process open a database file, and while the server has the
catalog open no other process may open it, read-only included. Auditors therefore work
on snapshots: the owning process copies the whole catalog into a new file with
``COPY FROM DATABASE``, inside one read transaction on its own cursor, so the copy
is consistent and the writer thread keeps committing meanwhile. The file is then
fsync'd and renamed into ``DATA_DIR/snapshots/catalog-YYYYMMDDTHHMMSSZ.duckdb``
with a manifest JSON beside it. :mod:`pipeline.auditdata` opens a snapshot and
checks it against its manifest.

The manifest stores the time (UTC), schema version, row count of every table, the
access-log chain head, the SHA-256 of the snapshot file, the reason and the masking
applied. The chain head is also appended to the access-log head file, so a
snapshot's head can later be checked against a record kept outside the catalog.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipeline import accesslog, auth
from pipeline.catalog import (
    DUCKDB_CONFIG,
    MANIFEST_SUFFIX,
    SNAPSHOT_SUFFIX,
    Catalog,
    snapshot_manifest,
)
from pipeline.config import Config
from pipeline.errors import RecwatchError

logger = logging.getLogger(__name__)

SNAPSHOT_DIR_NAME = "snapshots"
SNAPSHOT_PREFIX = "catalog-"
MANIFEST_FORMAT = 1
TIME_FORMAT = "%Y%m%dT%H%M%SZ"

DEFAULT_INTERVAL_S = 3600.0
DEFAULT_ROLE = "auditor"

# Personal columns masked in a snapshot for a role without view_personal. A table
# or column that does not exist in the catalog is skipped.
MASKED_COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("recordings", "other_party", auth.mask_phone),
    ("requests", "recorded_phone", auth.mask_phone),
    ("requests", "requester_contact", auth.mask_phone),
    ("requests", "requester_name", auth.mask_name),
    ("requests", "requester_birth", auth.mask_birth),
    ("handovers", "recipient_name", auth.mask_name),
)

_SNAPSHOT_NAME = re.compile(
    r"catalog-(\d{8}T\d{6}Z)(?:-(\d+))?\.duckdb"
)  # an optional -N suffix separates two snapshots taken in the same second


class SnapshotError(RecwatchError):
    """A snapshot is missing, or does not match its manifest."""


@dataclass(frozen=True)
class Manifest:
    """The facts recorded about one snapshot when it was published."""

    taken_at: datetime
    schema_version: int
    row_counts: dict[str, int]
    access_log_head: accesslog.LogHead
    sha256: str
    reason: str
    masking: str
    file_name: str

    def to_json(self) -> str:
        document = {
            "format": MANIFEST_FORMAT,
            "taken_at": self.taken_at.astimezone(UTC).isoformat(),
            "schema_version": self.schema_version,
            "row_counts": self.row_counts,
            "access_log_head": {
                "id": self.access_log_head.id,
                "hash": self.access_log_head.hash,
            },
            "sha256": self.sha256,
            "reason": self.reason,
            "masking": self.masking,
            "file_name": self.file_name,
        }
        return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: Path) -> Manifest:
        """Parse a manifest, raising SnapshotError on a missing or invalid field."""
        try:
            document = json.loads(text)
            if document.get("format") != MANIFEST_FORMAT:
                raise ValueError(
                    f"format {document.get('format')!r}, expected {MANIFEST_FORMAT}"
                )
            head = document["access_log_head"]
            return cls(
                taken_at=datetime.fromisoformat(document["taken_at"]),
                schema_version=int(document["schema_version"]),
                row_counts={k: int(v) for k, v in document["row_counts"].items()},
                access_log_head=accesslog.LogHead(int(head["id"]), str(head["hash"])),
                sha256=str(document["sha256"]),
                reason=str(document["reason"]),
                masking=str(document["masking"]),
                file_name=str(document["file_name"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise SnapshotError(
                f"manifest {source} is invalid: {error}. Publish a new snapshot; "
                f"keep this one as evidence if it was altered."
            ) from None


def snapshot_dir(config: Config) -> Path:
    """Return the folder that contains the snapshots of ``config``'s catalog."""
    return config.data_dir / SNAPSHOT_DIR_NAME


def manifest_path(snapshot_path: Path) -> Path:
    """Return the manifest path beside ``snapshot_path``."""
    return snapshot_manifest(snapshot_path)


def list_snapshots(folder: Path) -> list[Path]:
    """Return the snapshot files in ``folder``, oldest first by the time in the name."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _SNAPSHOT_NAME.fullmatch(path.name)
        if match:
            found.append((match.group(1), int(match.group(2) or 0), path))
    return [path for _, _, path in sorted(found)]


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def table_row_counts(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, int]:
    """Count the rows of every base table in the main schema of ``database``."""
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables()"
        " WHERE database_name = ? AND schema_name = 'main' ORDER BY table_name",
        [database],
    ).fetchall()
    counts = {}
    for (table,) in tables:
        rows = con.execute(
            f'SELECT count(*) FROM "{database}".main."{table}"'
        ).fetchall()
        counts[table] = int(rows[0][0])
    return counts


def masking_for_role(role: str) -> bool:
    """Return whether a snapshot for ``role`` must mask personal columns."""
    if role not in auth.PERMISSIONS:
        raise RecwatchError(
            f"snapshot role {role!r} is unknown. Expected one of {auth.ROLES}."
        )
    return "view_personal" not in auth.PERMISSIONS[role]


def publish_snapshot(
    catalog: Catalog,
    config: Config,
    *,
    reason: str = "scheduled",
    role: str = DEFAULT_ROLE,
    now: datetime | None = None,
) -> Path:
    """Copy the catalog into a new verified snapshot file and return its path.

    Call from the process that owns ``catalog``, from any thread: the copy runs in
    one read transaction on the calling thread's cursor, so it sees one consistent
    state while the writer thread goes on committing. Personal columns are masked
    when ``role`` may not see personal data (the auditor role may, so its
    snapshots are not masked).
    """
    folder = snapshot_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    taken_at = (now or datetime.now(UTC)).astimezone(UTC)
    final_path = _free_snapshot_path(folder, taken_at)
    temp_path = folder / f".{final_path.stem}.{secrets.token_hex(4)}.tmp"
    head_file = Path(config["security.access_log_head_file"])
    mask = masking_for_role(role)

    try:
        head, schema_version, counts = _copy_catalog(catalog, temp_path, head_file)
        masking = _mask_personal_columns(temp_path) if mask else "none"
        _fsync_file(temp_path)
        manifest = Manifest(
            taken_at=taken_at,
            schema_version=schema_version,
            row_counts=counts,
            access_log_head=head,
            sha256=file_sha256(temp_path),
            reason=reason,
            masking=masking,
            file_name=final_path.name,
        )
        # The manifest goes first, because readers reject a snapshot file that is
        # visible without its manifest.
        _write_atomically(manifest_path(final_path), manifest.to_json() + "\n")
        os.replace(temp_path, final_path)
        _fsync_directory(folder)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        Path(str(temp_path) + ".wal").unlink(missing_ok=True)
        raise
    logger.info(
        "snapshot published: %s reason=%s rows=%d access_log_head=%d masking=%s",
        final_path.name,
        reason,
        sum(counts.values()),
        head.id,
        masking,
    )
    return final_path


def _copy_catalog(
    catalog: Catalog, target: Path, head_file: Path
) -> tuple[accesslog.LogHead, int, dict[str, int]]:
    """Copy the catalog to ``target`` and return its head, schema version and counts."""
    cursor = catalog.cursor()
    source = cursor.execute("SELECT current_database()").fetchall()[0][0]
    alias = f"snapshot_{secrets.token_hex(6)}"
    cursor.execute("BEGIN TRANSACTION")
    try:
        cursor.execute(f"ATTACH '{_sql_string(target)}' AS {alias}")
        cursor.execute(f'COPY FROM DATABASE "{source}" TO {alias}')
        head = accesslog.head(cursor)
        version_rows = cursor.execute(
            "SELECT max(version) FROM schema_migrations"
        ).fetchall()
        counts = table_row_counts(cursor, source)
        # The head file line must name the head that this copy contains.
        accesslog.record_head(cursor, head_file)
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        _detach_quietly(cursor, alias)
        raise
    cursor.execute(f"DETACH {alias}")
    return head, int(version_rows[0][0] or 0), counts


def _detach_quietly(cursor: duckdb.DuckDBPyConnection, alias: str) -> None:
    try:
        cursor.execute(f"DETACH DATABASE IF EXISTS {alias}")
    except duckdb.Error:
        logger.exception("detaching the failed snapshot copy %s failed", alias)


def _mask_personal_columns(path: Path) -> str:
    """Mask the personal columns in the snapshot file and describe what was masked."""
    con = duckdb.connect(str(path), config=DUCKDB_CONFIG)
    masked = []
    try:
        columns = set(
            con.execute(
                "SELECT table_name, column_name FROM duckdb_columns()"
                " WHERE schema_name = 'main'"
            ).fetchall()
        )
        for table, column, function in MASKED_COLUMNS:
            if (table, column) not in columns:
                continue
            values = con.execute(
                f'SELECT DISTINCT "{column}" FROM "{table}"'
                f' WHERE "{column}" IS NOT NULL'
            ).fetchall()
            pairs = [(function(value), value) for (value,) in values]
            if pairs:
                con.executemany(
                    f'UPDATE "{table}" SET "{column}" = ? WHERE "{column}" = ?', pairs
                )
            masked.append(f"{table}.{column}")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return "masked: " + ", ".join(masked) if masked else "none"


def _free_snapshot_path(folder: Path, taken_at: datetime) -> Path:
    """Return a new snapshot path that sorts after every existing one of that second."""
    stamp = taken_at.strftime(TIME_FORMAT)
    used = [
        int(match.group(2) or 1)
        for path in folder.iterdir()
        if (
            match := _SNAPSHOT_NAME.fullmatch(
                path.name.replace(MANIFEST_SUFFIX, SNAPSHOT_SUFFIX)
            )
        )
        and match.group(1) == stamp
    ]
    if not used:
        return folder / f"{SNAPSHOT_PREFIX}{stamp}{SNAPSHOT_SUFFIX}"
    return folder / f"{SNAPSHOT_PREFIX}{stamp}-{max(used) + 1}{SNAPSHOT_SUFFIX}"


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as stream:
        os.fsync(stream.fileno())


def _fsync_directory(folder: Path) -> None:
    directory_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def prune_snapshots(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` snapshots and their manifests."""
    if keep < 1:
        raise RecwatchError(
            f"snapshots to keep is {keep}. Expected at least 1, so that auditors "
            f"always have a snapshot."
        )
    removed = []
    for path in list_snapshots(folder)[:-keep]:
        path.unlink(missing_ok=True)
        manifest_path(path).unlink(missing_ok=True)
        removed.append(path)
    if removed:
        logger.info("pruned %d old snapshot(s) in %s", len(removed), folder)
    return removed


class SnapshotPublisher:
    """Thread that publishes a snapshot every ``interval_s`` and on request.

    After each snapshot it deletes all but the newest ``keep``. A failed snapshot
    is logged and retried at the next interval; the thread keeps running.
    """

    def __init__(
        self,
        catalog: Catalog,
        config: Config,
        *,
        interval_s: float | None = None,
        keep: int | None = None,
        role: str = DEFAULT_ROLE,
    ):
        self.catalog = catalog
        self.config = config
        self.interval_s = (
            interval_s if interval_s is not None else config["snapshots.interval_s"]
        )
        self.keep = int(keep if keep is not None else config["snapshots.keep"])
        self.role = role
        masking_for_role(role)
        if self.interval_s <= 0:
            raise RecwatchError(
                f"snapshot interval is {self.interval_s} s. Expected a positive "
                f"number of seconds, such as {DEFAULT_INTERVAL_S:.0f}."
            )
        self._requests: list[tuple[str, Future]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_path: Path | None = None

    def start(self) -> None:
        """Start the publishing thread; the first snapshot is taken at once."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name="recwatch-snapshots", daemon=True
        )
        self._thread.start()
        logger.info(
            "snapshot publisher started: every %.0f s, keeping %d",
            self.interval_s,
            self.keep,
        )

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the thread after the snapshot in progress, if any."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._lock:
            pending, self._requests = self._requests, []
        for _, future in pending:
            future.cancel()
        logger.info("snapshot publisher stopped")

    def request(self, reason: str = "on_demand") -> Future:
        """Ask for a snapshot now; the future's result is the snapshot path."""
        future: Future = Future()
        with self._lock:
            self._requests.append((reason, future))
        self._wake.set()
        return future

    def _run(self) -> None:
        self._publish("scheduled", ())
        while not self._stop.is_set():
            woken = self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            with self._lock:
                pending, self._requests = self._requests, []
            if woken and pending:
                reason = pending[0][0]
                self._publish(reason, [future for _, future in pending])
            elif not woken:
                self._publish("scheduled", ())

    def _publish(self, reason: str, futures: Iterable[Future]) -> None:
        futures = [f for f in futures if f.set_running_or_notify_cancel()]
        try:
            path = publish_snapshot(
                self.catalog, self.config, reason=reason, role=self.role
            )
            prune_snapshots(snapshot_dir(self.config), self.keep)
        except Exception as error:
            logger.exception("snapshot failed: reason=%s; retrying next time", reason)
            for future in futures:
                future.set_exception(error)
            return
        self.last_path = path
        for future in futures:
            future.set_result(path)
