"""The daily purge scheduler that the dashboard server runs in the background."""

from __future__ import annotations

import logging
import threading
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic

from pipeline.catalog import Catalog
from pipeline.config import Config
from pipeline.protected_copy import remove_stale_copies
from pipeline.purge import PurgeSummary, run_purge

logger = logging.getLogger(__name__)


def _slot(day: date, config: Config) -> datetime:
    hour, minute = (int(part) for part in config["retention.purge_time"].split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=config.tz)


def next_run_after(moment: datetime, config: Config) -> datetime:
    """Return the first daily purge time strictly after ``moment``, as an aware time.

    ``retention.purge_time`` is a local time of day in the configured time zone.
    """
    day = moment.astimezone(config.tz).date()
    slot = _slot(day, config)
    if slot <= moment:
        slot = _slot(day + timedelta(days=1), config)
    return slot


def previous_run_at_or_before(moment: datetime, config: Config) -> datetime:
    """Return the last daily purge time at or before ``moment``."""
    day = moment.astimezone(config.tz).date()
    slot = _slot(day, config)
    if slot > moment:
        slot = _slot(day - timedelta(days=1), config)
    return slot


class PurgeScheduler:
    """A thread that runs ``run_purge(apply=True)`` daily at ``retention.purge_time``.

    The thread wakes every ``tick_s`` seconds and compares the wall clock with
    :attr:`next_run`, an aware wall-clock time, so a corrected clock is followed
    at the next tick instead of after a stale monotonic deadline. A purge deletes
    only what has expired at the wall-clock time of the run.

    A clock jump never triggers a purge. A jump is a tick at which the wall clock
    moved more than ``JUMP_TOLERANCE_S`` seconds away from the monotonic clock.
    The slot that the jump crossed is skipped with a warning, and the next slot
    is scheduled from the new clock. At start, a slot missed since the last applied
    run is caught up at the first tick. A catalog without any applied run waits
    for the next slot, so a new installation is not purged the moment it starts.

    Every tick also deletes protected copies that waited longer than
    ``security.copy_keep_minutes`` for their download.
    """

    JUMP_TOLERANCE_S = 60.0

    def __init__(
        self,
        catalog: Catalog,
        config: Config,
        *,
        tick_s: float = 30.0,
        operator: str = "system",
        clock=None,
    ):
        self.catalog = catalog
        self.config = config
        self.tick_s = tick_s
        self.operator = operator
        self._clock = clock or (lambda: datetime.now(UTC))
        self.next_run: datetime | None = None
        self.last_run: datetime | None = None
        self.last_summary: PurgeSummary | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Schedule the next run and start the thread."""
        now = self._clock()
        rows = (
            self.catalog.cursor()
            .execute(
                "SELECT max(now_used), max(finished_at) FROM purge_runs"
                " WHERE mode = 'apply' AND status = 'completed'"
            )
            .fetchall()
        )
        last_now_used, self.last_run = rows[0]
        self.next_run = next_run_after(now, self.config)
        if last_now_used is not None:
            missed = previous_run_at_or_before(now, self.config)
            if last_now_used < missed:
                self.next_run = missed
        self._thread = threading.Thread(
            target=self._loop, name="recwatch-purge", daemon=True
        )
        self._thread.start()
        logger.info("purge scheduler started: next run %s", self.next_run.isoformat())

    def stop(self) -> None:
        """Stop the thread, waiting for a running purge to finish its batch."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        logger.info("purge scheduler stopped")

    def _loop(self) -> None:
        previous_wall = self._clock()
        previous_mono = monotonic()
        self.sweep_copies()
        while not self._stop.wait(self.tick_s):
            self.sweep_copies()
            wall = self._clock()
            mono = monotonic()
            drift = (wall - previous_wall).total_seconds() - (mono - previous_mono)
            previous_wall, previous_mono = wall, mono
            if abs(drift) > self.JUMP_TOLERANCE_S:
                self.next_run = next_run_after(wall, self.config)
                logger.warning(
                    "wall clock jumped by %.0f s, so the purge slot it crossed is "
                    "skipped. Next purge at %s. Check the clock, then run "
                    "`recwatch purge --apply` by hand if a purge is due",
                    drift,
                    self.next_run.isoformat(),
                )
                continue
            if wall >= self.next_run:
                self._run_once(wall)
                self.next_run = next_run_after(max(wall, self._clock()), self.config)

    def sweep_copies(self) -> None:
        """Delete protected copies that were not downloaded in time."""
        keep_s = self.config["security.copy_keep_minutes"] * 60.0
        try:
            remove_stale_copies(self.config.data_dir, keep_s, clock.time())
        except OSError:
            logger.exception("cannot sweep protected copies; the next tick retries")

    def _run_once(self, now: datetime) -> None:
        try:
            self.last_summary = run_purge(
                self.catalog, self.config, apply=True, now=now, operator=self.operator
            )
            self.last_error = None
        except Exception as error:  # noqa: BLE001 - the next day's run retries
            logger.exception("scheduled purge failed; the next run retries")
            self.last_error = f"{type(error).__name__}: {error}"
        self.last_run = now
