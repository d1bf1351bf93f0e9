"""Recorder files cataloged in-process, for the holds, purge and lines tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline import holds, lines, purge
from pipeline.analysis import Job, run_job
from pipeline.catalog import Catalog
from pipeline.config import Config
from pipeline.recordings import store_results

SEOUL = ZoneInfo("Asia/Seoul")


def create_retention_schema(con) -> None:
    """Create the holds, purge and lines tables on a catalog connection."""
    holds.create_schema(con)
    purge.create_schema(con)
    lines.create_schema(con)


def catalog_files(
    catalog: Catalog, config: Config, paths: Iterable[Path]
) -> dict[Path, int]:
    """Analyse files in this process, store them, and return path -> recording id."""
    root = config.recorders[0].root
    results = [
        run_job(
            Job(
                path=str(path),
                root=str(root),
                profile_name=config.recorders[0].profile,
                timezone=config["timezone"],
            )
        )
        for path in paths
    ]
    catalog.write(lambda con: store_results(con, results))
    ids = {}
    for path in paths:
        found = catalog.query("SELECT id FROM recordings WHERE path = ?", [str(path)])
        ids[path] = found[0][0]
    return ids


def local(*args: int) -> datetime:
    """Return an aware Asia/Seoul datetime."""
    return datetime(*args, tzinfo=SEOUL)
