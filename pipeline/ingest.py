"""Ingest: watch recorder roots, take complete files, analyse them, catalog them.

Filesystem events only make ingest fast; the directory scan makes it complete.
inotify drops events when its queue overflows, files arrive while the service is
down, and a file created in a folder that was itself just created can miss its
events. So :class:`Ingestor` reconciles every root against a scan at start, after
lost events and periodically, and the catalog write is idempotent on path and
SHA-256, so seeing a file twice never makes a second row.

A file is taken when it is complete: a close-after-write event was seen, or it
was renamed into place, or its size and mtime have not changed for
``ingest.stable_s`` seconds. A WAV whose header promises more data than the file
contains waits up to ``ingest.incomplete_grace_s`` longer for the rest.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    EventsLostEvent,
    FileClosedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from pipeline import recordings
from pipeline.analysis import Job, JobResult, audio_options, redact, run_job
from pipeline.catalog import Catalog, record_ingest_error
from pipeline.config import Config, RecorderRoot
from pipeline.errors import RecwatchError
from pipeline.scan import (
    folder_identity,
    is_ignored,
    list_tree,
    scan_tree,
    wav_header_incomplete,
)

logger = logging.getLogger(__name__)

# Results are written in batches: one transaction per batch keeps a burst of
# thousands of small files from costing one commit each.
MAX_BATCH_ROWS = 500
MAX_BATCH_DELAY_S = 0.2
# Polling stats every file below a root, so it runs far less often than the
# inotify observer reacts; the periodic reconciliation scan covers the rest.
POLLING_INTERVAL_S = 5.0
# Moving or unmounting a watched root sends no event that watchdog reports, so
# each root's folder identity is checked on this timer.
ROOT_CHECK_INTERVAL_S = 2.0


@dataclass
class _Pending:
    """A file seen by an event or a scan that is not yet known to be complete."""

    size: int = -1
    mtime_ns: int = -1
    changed_at: float = 0.0
    closed: bool = False
    forced: bool = False


@dataclass
class IngestSummary:
    """Outcome of one ``Ingestor.ingest_once`` run.

    ``files`` equals ``analysed + unchanged + skipped``. ``errors`` counts the
    files of ``analysed`` whose new row has an error, so a rerun over the same
    files reports 0. ``rows_in_error`` counts every present row under the given
    paths whose status is ``error``, whichever run wrote it.
    """

    files: int = 0
    analysed: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: int = 0
    rows_in_error: int = 0

    def totals_line(self) -> str:
        """Return the machine-readable last line of ``recwatch ingest --once``."""
        return (
            f"ingest: files={self.files} analysed={self.analysed} "
            f"unchanged={self.unchanged} skipped={self.skipped} "
            f"errors_this_run={self.errors} rows_in_error={self.rows_in_error}"
        )


@dataclass
class IngestHealth:
    """Counters and times that the dashboard shows as ingest health."""

    started_at: datetime | None = None
    watcher_alive: bool = False
    observed_roots: int = 0
    last_event_at: datetime | None = None
    last_reconcile_at: datetime | None = None
    last_reconcile_files: int = 0
    pending: int = 0
    in_flight: int = 0
    files_stored: int = 0
    files_analysed: int = 0
    files_unchanged: int = 0
    files_skipped: int = 0
    file_errors: int = 0
    errors: int = 0
    events_lost: int = 0
    unavailable_roots: list[str] = field(default_factory=list)
    polling_roots: list[str] = field(default_factory=list)


class _EventHandler(FileSystemEventHandler):
    """Thin watchdog handler: hands every event to the ingestor and returns."""

    def __init__(self, ingestor: Ingestor):
        self._ingestor = ingestor

    def on_any_event(self, event: FileSystemEvent) -> None:
        logger.debug("event %s %s", event.event_type, redact(str(event.src_path)))
        self._ingestor.health.last_event_at = datetime.now(UTC)

    def on_created(self, event: FileSystemEvent) -> None:
        if isinstance(event, DirCreatedEvent):
            # Files written into a new folder before its watch was added send no
            # events; a scan of the folder finds them.
            self._ingestor.scan_folder(str(event.src_path))
        else:
            self._ingestor.notify(str(event.src_path))

    def on_modified(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._ingestor.notify(str(event.src_path))

    def on_closed(self, event: FileClosedEvent) -> None:
        self._ingestor.notify(str(event.src_path), closed=True)

    def on_moved(self, event: FileSystemEvent) -> None:
        if isinstance(event, DirMovedEvent):
            self._ingestor.request_reconcile("folder moved")
            return
        self._ingestor.notify_gone(str(event.src_path))
        # A rename into place is the usual way to publish a finished file.
        self._ingestor.notify(str(event.dest_path), closed=True)

    def on_deleted(self, event: FileSystemEvent) -> None:
        if isinstance(event, DirDeletedEvent):
            self._ingestor.request_reconcile("folder deleted")
        else:
            self._ingestor.notify_gone(str(event.src_path))

    def on_events_lost(self, event: EventsLostEvent) -> None:
        self._ingestor.health.events_lost += 1
        logger.warning(
            "filesystem events were lost (inotify queue overflow); "
            "reconciling with a directory scan"
        )
        self._ingestor.request_reconcile("events lost")


def _worker_init(notice_clip: str | None) -> None:
    # Analysis workers ignore Ctrl-C: the parent decides when they stop.
    import signal

    from pipeline import audio

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Paid once per worker, not per file: imports and the notice reference.
    audio.warm_up(notice_clip)


def make_executor(workers: int, notice_clip: str | None = None) -> ProcessPoolExecutor:
    """Start the analysis pool; workers live as long as the pool."""
    # spawn, not fork: the server process runs threads (watchdog, Tornado, the
    # catalog writer) and a forked child could inherit a held lock.
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(notice_clip,),
    )


class Ingestor:
    """Keeps the catalog in step with the recorder roots.

    ``start()`` reconciles every root, then follows filesystem events with a
    watchdog observer per root and rescans periodically. ``ingest_once()`` does
    a single reconciliation of given paths and waits for it, for the command line.
    """

    def __init__(
        self,
        catalog: Catalog,
        config: Config,
        *,
        executor: ProcessPoolExecutor | None = None,
    ):
        self.catalog = catalog
        self.config = config
        self.health = IngestHealth()
        self._roots = list(config.recorders)
        self._ignore = tuple(config["ingest.ignore_patterns"])
        self._audio_options = audio_options(config)
        self._executor = executor
        self._owns_executor = executor is None
        self._pending: dict[str, _Pending] = {}
        self._gone: set[str] = set()
        self._folders_to_scan: set[str] = set()
        self._reconcile_reasons: list[str] = []
        self._in_flight: dict[str, None] = {}
        # Files whose job failed once because a worker died, retried only once.
        self._crashed: set[str] = set()
        self._done: list[JobResult] = []
        self._done_lock = threading.Lock()
        self._wakeup = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._observers: list = []
        self._next_reconcile = 0.0
        self._last_flush = time.monotonic()
        self._unavailable: set[str] = set()
        self._root_ids: dict[str, tuple[int, int] | None] = {}
        self._next_root_check = 0.0
        # Enough jobs queued to keep every worker busy between two loop steps.
        self._max_in_flight = 64 * config["ingest.workers"]
        self._ready_hint = False
        self.last_summary: IngestSummary | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self, *, observe: bool = True) -> None:
        """Reconcile every root in the background and follow its events."""
        if self._thread is not None:
            return
        if self._executor is None:
            self._executor = make_executor(
                self.config["ingest.workers"], self._audio_options["notice_clip"]
            )
        self.health.started_at = datetime.now(UTC)
        if observe:
            self._start_observers()
        self.request_reconcile("start")
        self._thread = threading.Thread(
            target=self._run, name="recwatch-ingest", daemon=True
        )
        self._thread.start()
        logger.info(
            "ingest started on %d recorder root(s) with %d worker(s)",
            len(self._roots),
            self.config["ingest.workers"],
        )

    def stop(self) -> None:
        """Stop observers and the ingest loop, store finished work, stop workers."""
        self._stopping.set()
        with self._wakeup:
            self._wakeup.notify_all()
        for observer in self._observers:
            observer.stop()
        for observer in self._observers:
            observer.join(timeout=10)
        self._observers.clear()
        self.health.watcher_alive = False
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        if self._executor is not None and self._owns_executor:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        logger.info("ingest stopped")

    def _start_observers(self) -> None:
        for recorder in self._roots:
            recorder.root.mkdir(parents=True, exist_ok=True)
            self._root_ids[str(recorder.root)] = folder_identity(recorder.root)
            self._observers.append(self._start_observer(recorder.root))
        self.health.observed_roots = len(self._observers)
        self.health.watcher_alive = True

    def _start_observer(self, root: Path, *, polling: bool = False):
        """Start an inotify observer on ``root``, or a polling one when that fails."""
        handler = _EventHandler(self)
        if not polling:
            observer = Observer()
            try:
                observer.daemon = True
                observer.schedule(handler, str(root), recursive=True)
                observer.start()
                return observer
            except OSError as error:
                # ENOSPC from inotify_add_watch means fs.inotify.max_user_watches
                # is used up; EMFILE means max_user_instances is.
                logger.error(
                    "cannot watch %s with inotify (%s); falling back to polling "
                    "every %.0f s. Raise fs.inotify.max_user_watches and "
                    "fs.inotify.max_user_instances with sysctl, then restart",
                    root,
                    error.strerror or error,
                    POLLING_INTERVAL_S,
                )
                self._record_watch_error(root, error)
        observer = PollingObserver(timeout=POLLING_INTERVAL_S)
        observer.schedule(handler, str(root), recursive=True)
        observer.daemon = True
        observer.start()
        self.health.polling_roots = sorted({*self.health.polling_roots, str(root)})
        return observer

    def _record_watch_error(self, root: Path, error: OSError) -> None:
        message = (
            f"cannot watch recorder root {root} with inotify: {error}; ingest "
            "falls back to polling, which is slower. Raise fs.inotify."
            "max_user_watches (sysctl) and restart the server"
        )
        try:
            self.catalog.write(
                lambda con: record_ingest_error(
                    con, stage="watch", message=message, path=str(root)
                )
            )
        except RecwatchError:
            logger.exception("could not store the watch error for %s", root)

    def watcher_alive(self) -> bool:
        """Return True while every observer thread runs."""
        alive = bool(self._observers) and all(o.is_alive() for o in self._observers)
        self.health.watcher_alive = alive
        return alive

    def _revive_observers(self) -> None:
        # An observer thread dies when inotify fails while adding a watch for a
        # new folder. A dead watcher behind a live dashboard would stop ingest
        # silently, so it is replaced by a polling observer and a scan.
        for index, observer in enumerate(self._observers):
            if observer.is_alive() or self._stopping.is_set():
                continue
            root = self._roots[index].root
            if self._root_ids.get(str(root)) is None:
                # The root is gone; _check_roots starts a watcher when it is back.
                continue
            logger.error("the watcher on %s stopped; restarting it with polling", root)
            self._record_watch_error(root, OSError("the watcher thread stopped"))
            self._observers[index] = self._start_observer(root, polling=True)
            self.request_reconcile("watcher restarted")

    # -- event intake (watchdog threads) -------------------------------------

    def notify(self, path: str, *, closed: bool = False) -> None:
        """Note that a file appeared or changed; ``closed`` after close-write."""
        if is_ignored(os.path.basename(path), self._ignore):
            return
        with self._wakeup:
            pending = self._pending.setdefault(path, _Pending())
            pending.closed = pending.closed or closed
            self._gone.discard(path)
            self._wakeup.notify_all()

    def notify_gone(self, path: str) -> None:
        """Note that a file was deleted or renamed away."""
        with self._wakeup:
            self._pending.pop(path, None)
            self._gone.add(path)
            self._wakeup.notify_all()

    def scan_folder(self, folder: str) -> None:
        """Queue a scan of one folder, for folders created after the watch."""
        with self._wakeup:
            self._folders_to_scan.add(folder)
            self._wakeup.notify_all()

    def request_reconcile(self, reason: str) -> None:
        """Queue a full reconciliation of every root."""
        with self._wakeup:
            self._reconcile_reasons.append(reason)
            self._wakeup.notify_all()

    # -- the loop -----------------------------------------------------------------

    def _run(self) -> None:
        poll_s = self.config["ingest.poll_interval_s"]
        interval_s = self.config["ingest.reconcile_interval_s"]
        self._next_reconcile = time.monotonic() + interval_s
        while not self._stopping.is_set():
            try:
                self._step(interval_s)
            except Exception:
                # One bad step must not end ingest: log it and go on.
                logger.exception("ingest step failed; continuing")
                self.health.errors += 1
                time.sleep(poll_s)
            with self._wakeup:
                if not self._has_work():
                    self._wakeup.wait(poll_s)
        self._drain(timeout_s=30)

    def _has_work(self) -> bool:
        # Finished results alone are no reason to loop at once: they wait for
        # their batch, and spinning here would take a core from the workers.
        flush_due = len(self._done) >= MAX_BATCH_ROWS or (
            self._done and time.monotonic() - self._last_flush >= MAX_BATCH_DELAY_S
        )
        slots_free = self._pending and len(self._in_flight) < self._max_in_flight
        return bool(
            self._reconcile_reasons
            or self._folders_to_scan
            or self._gone
            or flush_due
            or (slots_free and self._ready_hint)
        )

    def _step(self, interval_s: float) -> None:
        now = time.monotonic()
        if self._observers:
            self._check_roots(now)
        with self._wakeup:
            reasons, self._reconcile_reasons = self._reconcile_reasons, []
            folders, self._folders_to_scan = self._folders_to_scan, set()
            gone, self._gone = self._gone, set()
        if now >= self._next_reconcile:
            reasons.append("periodic")
        if reasons == ["start"]:
            # Files added or removed while the service was down matter most at
            # start, and the names alone show them at a third of a full scan's
            # cost. The full scan follows at the next step and finds files
            # rewritten in place.
            self.reconcile(reason="start", names_only=True)
            self.request_reconcile("start, sizes and times")
        elif reasons:
            self._next_reconcile = now + interval_s
            self.reconcile(reason=", ".join(sorted(set(reasons))))
        for folder in folders:
            for path in scan_tree(Path(folder), self._ignore):
                self.notify(path)
        if gone:
            self._store_gone(gone)
        self._submit_ready(now)
        self._flush(force=False)
        self.health.pending = len(self._pending)
        self.health.in_flight = len(self._in_flight)
        if self._observers and not self.watcher_alive():
            self._revive_observers()

    def _check_roots(self, now: float) -> None:
        """Follow a root that was removed, renamed, unmounted or mounted over.

        watchdog 7.1 sends no event when the watched root itself is renamed or
        unmounted, and an inotify watch follows a renamed folder. So a changed
        (st_dev, st_ino) restarts the root's watcher and queues a reconciliation,
        which raises the unavailable-root alert or catalogs the returned files.
        """
        if now < self._next_root_check:
            return
        self._next_root_check = now + ROOT_CHECK_INTERVAL_S
        for index, recorder in enumerate(self._roots):
            key = str(recorder.root)
            identity = folder_identity(recorder.root)
            if identity != self._root_ids.get(key):
                self._root_ids[key] = identity
                change = "gone" if identity is None else "replaced or mounted over"
                logger.warning("recorder root %s is %s; reconciling", key, change)
                self._replace_observer(index, start=identity is not None)
                self.request_reconcile(f"recorder root {change}")
            elif key in self._unavailable and scan_tree(recorder.root, self._ignore):
                # Cheap while the root is unavailable, which means it held no file.
                self.request_reconcile("recorder root has files again")

    def _replace_observer(self, index: int, *, start: bool) -> None:
        old = self._observers[index]
        old.stop()
        old.join(timeout=10)
        if start and not self._stopping.is_set():
            root = self._roots[index].root
            polling = str(root) in self.health.polling_roots
            self._observers[index] = self._start_observer(root, polling=polling)

    def _store_gone(self, paths: set[str]) -> None:
        # A file below an unavailable root is not gone, only out of reach: an
        # unmounted share must not turn into a mass of missing recordings.
        vanished = [
            path
            for path in paths
            if not os.path.lexists(path) and self._root_available(path)
        ]
        if vanished:
            self.catalog.write(lambda con: recordings.mark_missing(con, vanished))

    def _root_available(self, path: str) -> bool:
        root = self._root_for(path).root
        return str(root) not in self._unavailable and root.is_dir()

    def _root_for(self, path: str) -> RecorderRoot:
        for recorder in self._roots:
            root = str(recorder.root)
            if path == root or path.startswith(root.rstrip("/") + "/"):
                return recorder
        return self._roots[0]

    def _job(self, path: str, known_sha256: str | None) -> Job:
        recorder = self._root_for(path)
        table = self.config.profiles.get(recorder.profile)
        return Job(
            path=path,
            root=str(recorder.root),
            profile_name=recorder.profile,
            profile_table=dict(table) if table else None,
            timezone=self.config["timezone"],
            audio_options=self._audio_options,
            known_sha256=known_sha256,
        )

    def _is_ready(self, path: str, pending: _Pending, now: float) -> bool | None:
        """Return True when complete, False to wait, None when the file is gone."""
        try:
            # lstat, so that a dangling link gets its symlink row instead of
            # looking deleted.
            info = os.lstat(path)
        except FileNotFoundError:
            return None
        if pending.forced:
            return True
        if (info.st_size, info.st_mtime_ns) != (pending.size, pending.mtime_ns):
            first_look = pending.size < 0
            pending.size, pending.mtime_ns = info.st_size, info.st_mtime_ns
            pending.changed_at = now
            if not (first_look and pending.closed):
                return False
        quiet_s = now - pending.changed_at
        # Only a regular file's header is read, because opening a FIFO waits.
        if stat.S_ISREG(info.st_mode) and wav_header_incomplete(path, info.st_size):
            grace_s = self.config["ingest.incomplete_grace_s"]
            return quiet_s >= self.config["ingest.stable_s"] + grace_s
        return pending.closed or quiet_s >= self.config["ingest.stable_s"]

    def _submit_ready(self, now: float) -> None:
        limit = self._max_in_flight
        with self._wakeup:
            candidates = list(self._pending.items())
        ready: list[str] = []
        self._ready_hint = False
        for path, pending in candidates:
            if len(self._in_flight) + len(ready) >= limit:
                self._ready_hint = True
                break
            if path in self._in_flight:
                continue
            state = self._is_ready(path, pending, now)
            if state is None:
                with self._wakeup:
                    self._pending.pop(path, None)
                    self._gone.add(path)
                self._skip(path, "it was deleted or moved before it was complete")
            elif state:
                ready.append(path)
        if not ready:
            return
        known = self._known(ready)
        for path in ready:
            with self._wakeup:
                self._pending.pop(path, None)
            self._submit(path, known.get(path))

    def _known(self, paths: list[str]) -> dict[str, str | None]:
        rows = self.catalog.query(
            "SELECT path, sha256 FROM recordings WHERE path IN"
            " (SELECT unnest(?::VARCHAR[])) AND status <> 'deleted'",
            [paths],
        )
        return dict(rows)

    def _submit(self, path: str, known_sha256: str | None) -> None:
        # Registered before submitting: a fast job may finish, and its callback
        # remove the entry, before submit() has even returned.
        with self._done_lock:
            self._in_flight[path] = None
        job = self._job(path, known_sha256)
        try:
            future = self._executor.submit(run_job, job)
        except BrokenProcessPool:
            # A worker died (killed, or crashed in a decoder), and a broken pool
            # takes no more jobs, so ingest would stop for good without a new one.
            if not self._replace_broken_pool():
                with self._done_lock:
                    self._in_flight.pop(path, None)
                raise
            future = self._executor.submit(run_job, job)
        future.add_done_callback(lambda done, path=path: self._collect(path, done))

    def _replace_broken_pool(self) -> bool:
        """Start a new analysis pool in place of a broken one this ingestor owns."""
        if not self._owns_executor:
            return False
        broken = self._executor
        self._executor = make_executor(
            self.config["ingest.workers"], self._audio_options["notice_clip"]
        )
        broken.shutdown(wait=False, cancel_futures=True)
        self.health.errors += 1
        logger.error(
            "an analysis worker died, so the analysis pool was restarted; the "
            "files it was analysing get an error row and are analysed again at "
            "the next scan. Check the system log for the killed process"
        )
        return True

    def _collect(self, path: str, future: Future) -> None:
        try:
            result = future.result()
        except BrokenProcessPool as error:
            # Every job of a pool fails when one of its workers dies, so the file
            # is queued once more for the new pool. A file that kills its worker
            # again gets the error row below.
            with self._done_lock:
                retry = path not in self._crashed
                self._crashed.add(path)
                if retry:
                    self._in_flight.pop(path, None)
            if retry:
                logger.warning(
                    "analysis worker died while %s was queued or analysed; it is "
                    "analysed again",
                    redact(path),
                )
                self.notify(path, closed=True)
                return
            result = self._worker_failed(path, error)
        except Exception as error:  # the worker died or could not run the job
            result = self._worker_failed(path, error)
        with self._done_lock:
            self._done.append(result)
            self._in_flight.pop(path, None)
        with self._wakeup:
            self._wakeup.notify_all()

    def _worker_failed(self, path: str, error: Exception) -> JobResult:
        """Return the error row of a file whose job failed outside ``run_job``."""
        logger.error("analysis worker failed on %s", redact(path), exc_info=error)
        return JobResult(
            path=path,
            root=str(self._root_for(path).root),
            outcome="analysed",
            error=(
                f"analysis worker failed on {path}: {type(error).__name__}: "
                f"{error}; the file is tried again on the next scan"
            ),
            flags=["analysis_failed"],
        )

    def _flush(self, *, force: bool) -> None:
        with self._done_lock:
            if not self._done:
                return
            due = (
                force
                or len(self._done) >= MAX_BATCH_ROWS
                or time.monotonic() - self._last_flush >= MAX_BATCH_DELAY_S
            )
            if not due:
                return
            batch, self._done = self._done, []
        self._last_flush = time.monotonic()
        retry = [r.path for r in batch if r.outcome == "changing"]
        vanished = {r.path for r in batch if r.outcome == "vanished"}
        storable = [r for r in batch if r.outcome in ("analysed", "unchanged")]
        destroyed: set[str] = set()
        try:
            stored = self.catalog.write(
                lambda con: recordings.store_results(con, storable, skipped=destroyed)
            )
        except Exception:
            logger.exception("storing %d results failed; they are retried", len(batch))
            self.health.errors += 1
            retry.extend(r.path for r in storable)
            storable, stored = [], 0
            destroyed.clear()
        written = [r for r in storable if r.path not in destroyed]
        analysed = [r for r in written if r.outcome == "analysed"]
        file_errors = sum(1 for r in analysed if r.error)
        self.health.files_stored += stored
        self.health.files_analysed += len(analysed)
        self.health.files_unchanged += len(written) - len(analysed)
        self.health.file_errors += file_errors
        self.health.errors += file_errors
        for result in analysed:
            self._log_stored(result)
        for path in destroyed:
            self._skip(path, "the purge is destroying it", level=logging.INFO)
        for path in vanished:
            self._skip(path, "it was deleted or moved before it was analysed")
        for path in retry:
            self.notify(path)
        if vanished:
            self._store_gone(vanished)

    def _skip(self, path: str, reason: str, *, level: int = logging.WARNING) -> None:
        """Count and log a file that gets no catalog row in this pass."""
        self.health.files_skipped += 1
        logger.log(level, "skipped %s: %s", redact(path), reason)

    @staticmethod
    def _log_stored(result: JobResult) -> None:
        stats = result.stats or {}
        if result.error:
            logger.warning(
                "cataloged %s with error: %s",
                redact(result.path),
                redact(result.error),
            )
        else:
            logger.info(
                "cataloged %s duration=%.1fs codec=%s flags=%s",
                redact(result.path),
                stats.get("duration_s") or 0.0,
                stats.get("codec"),
                ",".join(result.flags) or "-",
            )

    def _drain(self, *, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self._in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
            self._flush(force=True)
        self._flush(force=True)

    # -- reconciliation --------------------------------------------------------

    def reconcile(
        self,
        *,
        reason: str = "requested",
        roots: Iterable[Path] = (),
        names_only: bool = False,
    ) -> int:
        """Compare roots with the catalog: queue new or changed files, mark gone ones.

        Returns the number of files found on disk. A root that is absent, or empty
        while the catalog lists present files below it, is treated as unavailable
        (an unmounted share looks like that), so its rows are not marked missing.
        With ``names_only``, only the folders' entries are read: that finds files
        added and removed, but not files rewritten in place, at about a third of
        the cost on a large tree.
        """
        targets = [Path(root) for root in roots] or [r.root for r in self._roots]
        started = time.monotonic()
        total = 0
        for root in targets:
            if names_only:
                total += self._reconcile_names(root)
            else:
                total += self._reconcile_root(root)
        self.health.last_reconcile_at = datetime.now(UTC)
        self.health.last_reconcile_files = total
        self.health.unavailable_roots = sorted(self._unavailable)
        logger.info(
            "reconciled %d file(s) in %.1f s (%s)",
            total,
            time.monotonic() - started,
            reason,
        )
        return total

    def _reconcile_root(self, root: Path) -> int:
        prefix = str(root).rstrip("/") + "/"
        present, missing = recordings.known_files(self.catalog.cursor(), prefix)
        on_disk = scan_tree(root, self._ignore) if root.is_dir() else {}
        if not self._root_usable(root, bool(on_disk), bool(present)):
            return 0

        # A restart usually finds the tree as the catalog has it. One dict
        # comparison in C confirms that faster than the lookups per file below.
        if on_disk == present:
            return len(on_disk)
        cataloged = present.get
        changed = [path for path, seen in on_disk.items() if cataloged(path) != seen]
        for path in changed:
            self.notify(path, closed=path in present or path in missing)
        gone = [path for path in present if path not in on_disk]
        if gone:
            with self._wakeup:
                self._gone.update(gone)
        return len(on_disk)

    def _reconcile_names(self, root: Path) -> int:
        prefix = str(root).rstrip("/") + "/"
        present, missing = recordings.known_paths(self.catalog.cursor(), prefix)
        on_disk = list_tree(root, self._ignore) if root.is_dir() else set()
        if not self._root_usable(root, bool(on_disk), bool(present)):
            return 0
        if on_disk == present:
            return len(on_disk)
        for path in on_disk - present:
            self.notify(path, closed=path in missing)
        gone = present - on_disk
        if gone:
            with self._wakeup:
                self._gone.update(gone)
        return len(on_disk)

    def _root_usable(self, root: Path, has_files: bool, has_rows: bool) -> bool:
        """Return False, and report the root, when it looks unmounted."""
        if not root.is_dir() or (not has_files and has_rows):
            self._report_unavailable(root)
            return False
        if str(root) in self._unavailable:
            self._unavailable.discard(str(root))
            logger.info("recorder root %s is available again", root)
        return True

    def _report_unavailable(self, root: Path) -> None:
        if str(root) in self._unavailable:
            return
        self._unavailable.add(str(root))
        message = (
            f"recorder root {root} is missing or empty while the catalog lists "
            "files in it; check that the recorder's share is mounted. Its "
            "recordings are not marked missing until it is back"
        )
        logger.error("%s", message)
        self.catalog.write(
            lambda con: record_ingest_error(
                con, stage="reconcile", message=message, path=str(root)
            )
        )

    # -- one-shot ingest for the command line ------------------------------------

    def ingest_once(
        self,
        paths: Iterable[Path],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Catalog every new or changed file under ``paths``; return files found.

        ``last_summary`` then contains the run's counts (see ``IngestSummary``).
        """
        if self._executor is None:
            self._executor = make_executor(
                self.config["ingest.workers"], self._audio_options["notice_clip"]
            )
        health = self.health
        at_start = replace(health)
        targets = [Path(path).resolve() for path in paths]
        total = 0
        for path in targets:
            # Not is_file(): a FIFO given by name is a file to catalog as well.
            if not path.is_dir():
                self.notify(str(path), closed=True)
                total += 1
            else:
                total += self._reconcile_root(path)
        # A one-shot run takes files as they are: there is no later event to
        # wait for, and an incomplete WAV is flagged truncated by the analysis.
        for pending in self._pending.values():
            pending.forced = True
        queued = len(self._pending)
        stored = 0
        while self._pending or self._in_flight or self._done or self._gone:
            with self._wakeup:
                gone, self._gone = self._gone, set()
            if gone:
                self._store_gone(gone)
            self._submit_ready(time.monotonic())
            before = self.health.files_stored
            self._flush(force=True)
            stored += self.health.files_stored - before
            if progress is not None:
                progress(min(stored, queued), queued)
            if self._in_flight and not self._done:
                with self._wakeup:
                    self._wakeup.wait(0.05)
        # Files whose size and mtime match their row are not queued at all.
        up_to_date = total - queued
        self.last_summary = IngestSummary(
            files=total,
            analysed=health.files_analysed - at_start.files_analysed,
            unchanged=up_to_date + health.files_unchanged - at_start.files_unchanged,
            skipped=health.files_skipped - at_start.files_skipped,
            errors=health.file_errors - at_start.file_errors,
            rows_in_error=recordings.count_errors(self.catalog.cursor(), targets),
        )
        logger.info("run finished: %s", self.last_summary.totals_line())
        return total

    def health_dict(self) -> dict:
        """Return the health counters as a plain dict."""
        self.health.pending = len(self._pending)
        self.health.in_flight = len(self._in_flight)
        return asdict(self.health)
