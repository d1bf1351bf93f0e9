"""Fault tests: crashes, full disks, vanished roots, clock jumps, browser sessions.

Each test drives real processes and real files: the service runs in a
subprocess (see ``faultkit.py``), and mounts are real tmpfs mounts, skipped
where this process may not mount.
"""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest
from faultkit import (
    kill_group,
    start_service_process,
    start_writer_process,
    wav_files,
    write_config,
)

from pipeline.catalog import Catalog

CRASH_RESTARTS = 30
CRASH_SEED = 20261203


def _catalog_paths(catalog_path: Path) -> tuple[list[str], int, int]:
    """Return present paths, row count and distinct path count of a catalog."""
    with Catalog(catalog_path) as catalog:
        present = [
            path
            for (path,) in catalog.query(
                "SELECT path FROM recordings"
                " WHERE missing_since IS NULL AND status <> 'deleted'"
            )
        ]
        ((rows, distinct),) = catalog.query(
            "SELECT count(*), count(DISTINCT path) FROM recordings"
        )
    return present, rows, distinct


@pytest.mark.slow
def test_sigkill_during_ingest_loses_nothing(tmp_path):
    config_path = write_config(tmp_path)
    spool = tmp_path / "spool"
    log_path = tmp_path / "service.log"
    stop_file = tmp_path / "stop-writing"
    rng = random.Random(CRASH_SEED)
    writer = start_writer_process(spool, stop_file, CRASH_SEED, tmp_path / "w.log")
    try:
        for _ in range(CRASH_RESTARTS):
            service = start_service_process(config_path, log_path)
            # The delay covers start-up, migration, the first reconciliation and
            # steady ingest, so kills land in each of them across the run.
            time.sleep(rng.uniform(0.3, 3.5))
            assert service.poll() is None, log_path.read_text()
            kill_group(service)
    finally:
        stop_file.touch()
        writer.wait(timeout=30)

    settle = start_service_process(config_path, log_path, settle_timeout_s=60)
    try:
        returncode = settle.wait(timeout=120)
    except subprocess.TimeoutExpired:
        kill_group(settle)
        raise
    on_disk = wav_files(spool)
    present, rows, distinct = _catalog_paths(tmp_path / "data" / "catalog.duckdb")
    assert returncode == 0, log_path.read_text()[-4000:]
    assert len(on_disk) > CRASH_RESTARTS
    assert set(present) == on_disk
    assert len(present) == len(on_disk)
    assert rows == distinct
