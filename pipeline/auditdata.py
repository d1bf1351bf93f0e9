"""Read API for auditor notebooks: open a verified snapshot read-only.

A notebook never opens the live catalog. It opens a snapshot file published by
:mod:`pipeline.snapshots`, read-only, after checking it against its manifest:

1. the manifest exists and parses;
2. the SHA-256 of the file equals the manifest's;
3. the schema version and the row count of every table equal the manifest's;
4. the access-log chain head in the manifest is an entry of the snapshot's
   access log and no later entry exists;
5. when a head file is given, that head was recorded in it.

Check 2 catches any change to the file. Checks 3 to 5 still hold when someone
recomputes the manifest's hash after editing the file, and check 5 also when the
whole manifest is rewritten, because the head file is kept outside the snapshots.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from pipeline.catalog import DUCKDB_CONFIG
from pipeline.snapshots import (
    SNAPSHOT_DIR_NAME,
    Manifest,
    SnapshotError,
    file_sha256,
    list_snapshots,
    manifest_path,
    table_row_counts,
)

logger = logging.getLogger(__name__)

SEOUL = ZoneInfo("Asia/Seoul")
SNAPSHOT_ENV_VAR = "RECWATCH_SNAPSHOT"
DATA_DIR_ENV_VAR = "RECWATCH_DATA_DIR"
VIOLATION_COLUMNS = ["violation", "object", "detail"]

__all__ = [
    "Snapshot",
    "SnapshotError",
    "open_snapshot",
    "open_from_environment",
    "newest_snapshot",
    "mark_violations",
    "collect_violations",
    "summary_line",
]


class Snapshot:
    """A verified snapshot opened read-only; close it with :meth:`close`."""

    def __init__(self, path: Path, manifest: Manifest, con: duckdb.DuckDBPyConnection):
        self.path = path
        self.manifest = manifest
        self.con = con

    @property
    def taken_at(self) -> datetime:
        """Time the snapshot was taken (aware, UTC)."""
        return self.manifest.taken_at

    def describe(self) -> str:
        """Return one line naming the snapshot and its time in Asia/Seoul."""
        local = self.taken_at.astimezone(SEOUL)
        stamp = local.strftime("%Y-%m-%d %H:%M:%S")
        return (
            f"스냅샷 {self.path.name}: {stamp} (Asia/Seoul) 기준 자료 / "
            f"snapshot {self.path.name} taken {stamp} Asia/Seoul "
            f"({self.taken_at.isoformat()})"
        )

    def sql(self, query: str, params: Any = None) -> pd.DataFrame:
        """Run a read query and return the whole result as a DataFrame."""
        return self.con.execute(query, params or []).df()

    def has_table(self, name: str) -> bool:
        """Return whether the snapshot contains table ``name``."""
        return name in self.manifest.row_counts

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def newest_snapshot(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the newest snapshot under ``data_dir/snapshots``.

    Without ``data_dir`` the data folder of the configuration is used
    (``$RECWATCH_CONFIG``, else the embedded default).
    """
    if data_dir is None:
        from pipeline.config import load_config

        data_dir = load_config().data_dir
    folder = Path(data_dir) / SNAPSHOT_DIR_NAME
    snapshots = list_snapshots(folder)
    if not snapshots:
        raise SnapshotError(
            f"no snapshot found in {folder}. Publish one with 'recwatch snapshot' "
            f"or from the running dashboard server."
        )
    return snapshots[-1]


def open_snapshot(
    path: str | os.PathLike | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    head_file: str | os.PathLike | None = None,
) -> Snapshot:
    """Open the snapshot at ``path`` (default: newest under ``data_dir``) read-only.

    Raises :class:`SnapshotError` naming the first check that failed.
    """
    snapshot_path = Path(path) if path else newest_snapshot(data_dir)
    if not snapshot_path.is_file():
        raise SnapshotError(
            f"snapshot {snapshot_path} was not found. Check the path, or list the "
            f"snapshots folder for the available ones."
        )
    manifest_file = manifest_path(snapshot_path)
    if not manifest_file.is_file():
        raise SnapshotError(
            f"manifest missing for snapshot {snapshot_path}: expected "
            f"{manifest_file}. A snapshot without its manifest cannot be verified; "
            f"use another snapshot."
        )
    manifest = Manifest.from_json(
        manifest_file.read_text(encoding="utf-8"), manifest_file
    )

    actual_sha = file_sha256(snapshot_path)
    if actual_sha != manifest.sha256:
        raise SnapshotError(
            f"SHA-256 mismatch on {snapshot_path.name}: manifest says "
            f"{manifest.sha256}, file is {actual_sha}. The file changed after it "
            f"was published; keep it as evidence and use another snapshot."
        )

    con = duckdb.connect(str(snapshot_path), read_only=True, config=DUCKDB_CONFIG)
    try:
        # Instants are shown, and hours and weekdays taken, in the users' time zone.
        con.execute("SET TimeZone = 'Asia/Seoul'")
        _check_contents(con, snapshot_path, manifest)
        if head_file is not None:
            _check_head_file(Path(head_file), snapshot_path, manifest)
    except BaseException:
        con.close()
        raise
    logger.info("snapshot opened: %s", snapshot_path.name)
    return Snapshot(snapshot_path, manifest, con)


def open_from_environment() -> Snapshot:
    """Open ``$RECWATCH_SNAPSHOT``, else the newest under ``$RECWATCH_DATA_DIR``."""
    path = os.environ.get(SNAPSHOT_ENV_VAR) or None
    data_dir = os.environ.get(DATA_DIR_ENV_VAR) or None
    return open_snapshot(path, data_dir=data_dir)


def mark_violations(
    kind: str,
    rows: pd.DataFrame,
    object_column: str,
    detail: str | Callable[[pd.Series], str],
) -> pd.DataFrame:
    """Return ``rows`` as violations of ``kind``, one per row.

    The result has the columns ``violation``, ``object`` (the value of
    ``object_column``) and ``detail`` (the text, or ``detail(row)``).
    """
    if rows.empty:
        return pd.DataFrame(columns=VIOLATION_COLUMNS)
    if callable(detail):
        details = [detail(row) for _, row in rows.iterrows()]
    else:
        details = [detail] * len(rows)
    return pd.DataFrame(
        {
            "violation": kind,
            "object": rows[object_column].astype(str).to_list(),
            "detail": details,
        }
    )


def collect_violations(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate violation frames into one, sorted by kind and object."""
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=VIOLATION_COLUMNS)
    combined = pd.concat(frames, ignore_index=True)
    return combined.sort_values(["violation", "object"], kind="stable").reset_index(
        drop=True
    )


def summary_line(
    violations: pd.DataFrame, kinds: Sequence[str], not_checked: Sequence[str] = ()
) -> str:
    """Return "violations: kind=count ..." for every kind, zeros included.

    Kinds in ``not_checked`` are listed as ``kind=not_checked``, because a table
    they need is absent from the snapshot.
    """
    counts = violations["violation"].value_counts().to_dict()
    parts = []
    for kind in kinds:
        value = "not_checked" if kind in not_checked else counts.get(kind, 0)
        parts.append(f"{kind}={value}")
    return "violations: " + " ".join(parts)


def _check_contents(
    con: duckdb.DuckDBPyConnection, path: Path, manifest: Manifest
) -> None:
    database = con.execute("SELECT current_database()").fetchall()[0][0]
    version_rows = con.execute("SELECT max(version) FROM schema_migrations").fetchall()
    version = int(version_rows[0][0] or 0)
    if version != manifest.schema_version:
        raise SnapshotError(
            f"schema version mismatch on {path.name}: manifest "
            f"{manifest.schema_version}, snapshot {version}. Use another snapshot."
        )

    counts = table_row_counts(con, database)
    for table in sorted(set(counts) | set(manifest.row_counts)):
        expected = manifest.row_counts.get(table)
        found = counts.get(table)
        if expected != found:
            raise SnapshotError(
                f"row count of {table} on {path.name}: manifest "
                f"{_count_text(expected)}, snapshot {_count_text(found)}. The "
                f"snapshot's content changed after it was published; use another "
                f"snapshot."
            )

    head = manifest.access_log_head
    rows = con.execute("SELECT hash FROM access_log WHERE id = ?", [head.id]).fetchall()
    last_id = con.execute("SELECT coalesce(max(id), 0) FROM access_log").fetchall()
    if head.id == 0:
        head_found = last_id[0][0] == 0
    else:
        head_found = bool(rows) and rows[0][0] == head.hash
    if not head_found or last_id[0][0] != head.id:
        stored = rows[0][0] if rows else "no such entry"
        raise SnapshotError(
            f"access-log chain head on {path.name}: manifest records entry {head.id} "
            f"with hash {head.hash}, snapshot has {stored} and ends at entry "
            f"{last_id[0][0]}. The access log in the snapshot was changed; use "
            f"another snapshot."
        )


def _check_head_file(head_file: Path, path: Path, manifest: Manifest) -> None:
    head = manifest.access_log_head
    if not head_file.is_file():
        raise SnapshotError(
            f"head file {head_file} was not found. Pass the access-log head file "
            f"of the server that published {path.name}."
        )
    expected_line = (str(head.id), head.hash)
    for line in head_file.read_text(encoding="ascii", errors="replace").splitlines():
        if tuple(line.split()[:2]) == expected_line:
            return
    raise SnapshotError(
        f"access-log chain head of {path.name} (entry {head.id}, hash "
        f"{head.hash[:12]}…) is not recorded in head file {head_file}. The manifest "
        f"or the head file was changed; keep both as evidence."
    )


def _count_text(count: int | None) -> str:
    return "no such table" if count is None else str(count)
