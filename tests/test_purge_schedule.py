"""The daily purge scheduler with a controllable wall clock and a real catalog."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime

import pytest
from conftest import make_config, wait_until, write_call
from retention_fixtures import catalog_files, create_retention_schema, local

from pipeline import purge
from pipeline.protected_copy import remove_stale_copies
from pipeline.purge_schedule import (
    PurgeScheduler,
    next_run_after,
    previous_run_at_or_before,
)


class WallClock:
    """A wall clock that the test sets; the scheduler reads it from its thread."""

    def __init__(self, now: datetime):
        self._now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, now: datetime) -> None:
        with self._lock:
            self._now = now


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param(local(2026, 12, 4, 1, 0), local(2026, 12, 4, 2, 30), id="before"),
        pytest.param(local(2026, 12, 4, 2, 30), local(2026, 12, 5, 2, 30), id="at"),
        pytest.param(local(2026, 12, 4, 9, 0), local(2026, 12, 5, 2, 30), id="after"),
        pytest.param(
            local(2026, 12, 31, 23, 0), local(2027, 1, 1, 2, 30), id="year-end"
        ),
    ],
)
def test_next_run_after(config, moment, expected):
    assert next_run_after(moment, config) == expected


def test_next_run_follows_configured_zone(tmp_path):
    config = make_config(
        tmp_path, timezone="Europe/Berlin", retention__purge_time="03:00"
    )
    # 2026-03-29 is the spring-forward day in Berlin: 03:00 local is 01:00 UTC.
    moment = local(2026, 3, 29, 8, 0)
    found = next_run_after(moment, config)
    assert found.isoformat() == "2026-03-29T03:00:00+02:00"


def test_previous_run(config):
    assert previous_run_at_or_before(local(2026, 12, 4, 2, 30), config) == local(
        2026, 12, 4, 2, 30
    )
    assert previous_run_at_or_before(local(2026, 12, 4, 2, 29), config) == local(
        2026, 12, 3, 2, 30
    )


@pytest.fixture
def expired_file(catalog, config):
    catalog.write(create_retention_schema)
    path = write_call(config.recorders[0].root, datetime(2026, 10, 25, 9, 0))
    catalog_files(catalog, config, [path])
    return path


def test_scheduler_runs_at_slot(catalog, config, expired_file):
    clock = WallClock(local(2026, 12, 4, 2, 29, 59))
    scheduler = PurgeScheduler(catalog, config, tick_s=0.02, clock=clock)
    scheduler.start()
    try:
        assert scheduler.next_run == local(2026, 12, 4, 2, 30)
        assert scheduler.last_run is None
        clock.set(local(2026, 12, 4, 2, 30, 1))
        wait_until(lambda: scheduler.last_summary is not None)
    finally:
        scheduler.stop()
    assert scheduler.last_summary.deleted == 1
    assert scheduler.last_error is None
    assert scheduler.next_run == local(2026, 12, 5, 2, 30)
    assert not expired_file.exists()


def test_clock_jump_skips_slot(catalog, config, expired_file):
    clock = WallClock(local(2026, 12, 4, 2, 0))
    scheduler = PurgeScheduler(catalog, config, tick_s=0.02, clock=clock)
    scheduler.start()
    try:
        clock.set(local(2026, 12, 4, 3, 0))
        wait_until(lambda: scheduler.next_run == local(2026, 12, 5, 2, 30))
    finally:
        scheduler.stop()
    assert scheduler.last_summary is None
    assert expired_file.exists()


def test_missed_slot_caught_up(catalog, config, expired_file):
    purge.run_purge(catalog, config, apply=True, now=local(2026, 11, 20, 2, 30))
    clock = WallClock(local(2026, 12, 4, 9, 0))
    scheduler = PurgeScheduler(catalog, config, tick_s=0.02, clock=clock)
    scheduler.start()
    try:
        assert scheduler.next_run == local(2026, 12, 4, 2, 30)
        assert scheduler.last_run is not None
        wait_until(lambda: scheduler.last_summary is not None)
    finally:
        scheduler.stop()
    assert scheduler.last_summary.deleted == 1


def test_new_catalog_waits_for_slot(catalog, config, expired_file):
    clock = WallClock(local(2026, 12, 4, 9, 0))
    scheduler = PurgeScheduler(catalog, config, tick_s=0.02, clock=clock)
    scheduler.start()
    scheduler.stop()
    assert scheduler.next_run == local(2026, 12, 5, 2, 30)
    assert expired_file.exists()


def test_stop_without_start(catalog, config):
    PurgeScheduler(catalog, config).stop()


def old_archive(path, age_s: float):
    """Write a small zip-named file whose modification time is ``age_s`` ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK\x05\x06" + bytes(18))
    moment = time.time() - age_s
    os.utime(path, (moment, moment))
    return path


def test_stale_copies_removed(config, tmp_path):
    keep_s = config["security.copy_keep_minutes"] * 60
    handovers = config.data_dir / "private" / "handovers"
    exports = config.data_dir / "private" / "exports" / "operator"
    stale = [
        old_archive(handovers / "2026-0001.zip", keep_s + 5),
        old_archive(exports / "recording-7.zip", keep_s + 5),
    ]
    fresh = old_archive(handovers / "2026-0002.zip", keep_s - 60)
    outside = old_archive(tmp_path / "elsewhere" / "kept.zip", keep_s * 10)
    (handovers / "link.zip").symlink_to(outside)
    os.utime(handovers / "link.zip", (0, 0), follow_symlinks=False)

    removed = remove_stale_copies(config.data_dir, keep_s, time.time())

    assert sorted(removed) == sorted(stale)
    assert not any(path.exists() for path in stale)
    assert fresh.exists()
    assert outside.exists()
    assert (handovers / "link.zip").is_symlink()


def test_scheduler_sweeps_copies(catalog, config):
    keep_s = config["security.copy_keep_minutes"] * 60
    archive = old_archive(
        config.data_dir / "private" / "handovers" / "2026-0003.zip", keep_s + 5
    )
    scheduler = PurgeScheduler(
        catalog, config, tick_s=0.02, clock=WallClock(local(2026, 12, 4, 9, 0))
    )
    scheduler.start()
    try:
        wait_until(lambda: not archive.exists())
    finally:
        scheduler.stop()
