"""Background services of the dashboard server, started once per process.

``panel serve`` runs ``dashboard.py`` once per browser session, but the catalog
file can have only one owner. So the server process owns one :class:`Service`:
the catalog with its writer thread, the ingest watcher and, on the embedded
default, the demo spool with its live call generator. :func:`start_service` is
idempotent and thread-safe; the server's ``--setup`` script calls it before any
session exists, and a session that finds no service starts it too.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from pipeline.catalog import Catalog
from pipeline.config import Config, load_config
from pipeline.ingest import Ingestor
from pipeline.purge_schedule import PurgeScheduler
from pipeline.snapshots import SnapshotPublisher

logger = logging.getLogger(__name__)

SERVER_FILE_NAME = "server.json"
# Files the service creates (catalog, snapshots, head file, copies) carry
# personal data, so they are readable by the service's own user only.
PRIVATE_UMASK = 0o077
# The demo's past purge runs as of this many days ago, so the calls that
# expired since then stay on disk and show as overdue.
DEMO_PURGE_LAG_DAYS = 4
DEMO_DONE_MARKER = ".demo-complete"

_lock = threading.Lock()
_service: Service | None = None


class Service:
    """The catalog, ingest and demo generator owned by one server process."""

    def __init__(self, config: Config):
        self.config = config
        self.catalog: Catalog | None = None
        self.ingestor: Ingestor | None = None
        self.purge_scheduler: PurgeScheduler | None = None
        self.snapshots: SnapshotPublisher | None = None
        self.started_at: datetime | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Open the catalog, start ingest and, for the demo, the call generator."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        # Copying a catalog of a million recordings into a snapshot took DuckDB
        # to 1.2 GB without a limit and stayed at 640 MB with 512 MB.
        self.catalog = Catalog(
            self.config.catalog_path, memory_mb=self.config["catalog_memory_mb"]
        )
        self.ingestor = Ingestor(self.catalog, self.config)
        self.ingestor.start()
        self.purge_scheduler = PurgeScheduler(self.catalog, self.config)
        self.purge_scheduler.start()
        self.snapshots = SnapshotPublisher(self.catalog, self.config)
        self.snapshots.start()
        self.started_at = datetime.now(UTC)
        _write_server_file(self.config)
        if self.config["demo.enabled"]:
            self._spawn(self._run_demo, "recwatch-demo")
        logger.info(
            "service started: catalog %s, %d recorder root(s)",
            self.config.catalog_path,
            len(self.config.recorders),
        )

    def stop(self) -> None:
        """Stop the threads, ingest and the catalog, in that order."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        if self.snapshots is not None:
            self.snapshots.stop()
        if self.purge_scheduler is not None:
            self.purge_scheduler.stop()
        if self.ingestor is not None:
            self.ingestor.stop()
        if self.catalog is not None:
            self.catalog.close()
        _remove_server_file(self.config)
        logger.info("service stopped")

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _run_demo(self) -> None:
        spool = self.config.recorders[0].root
        marker = spool / DEMO_DONE_MARKER
        try:
            from pipeline import demo

            self.catalog.write(demo.load_demo_lines)
            self._assign_demo_lines(demo.DEMO_LINES[0]["number"])
            if not marker.exists():
                logger.info("writing the demo recorder spool under %s", spool)
                written = demo.write_demo_spool(spool, days=self.config["demo.days"])
                marker.write_text(f"{len(written)} files\n", encoding="utf-8")
                logger.info("demo spool written: %d files", len(written))
                self._purge_demo_history(len(written))
        except Exception:
            logger.exception("writing the demo spool failed; ingest goes on")
            return
        interval_s = self.config["demo.live_interval_s"]
        if interval_s <= 0:
            return
        rng = demo.live_rng()
        while not self._stop.wait(interval_s):
            try:
                demo.write_demo_call(spool, datetime.now(UTC), rng=rng)
            except Exception:
                logger.exception("writing a live demo call failed; trying again")

    def _assign_demo_lines(self, line: str) -> None:
        """Give the demo operator and approver a line, for the own-copy page."""
        from pipeline import auth, protected_copy

        admin = auth.User(
            username="demo-setup", display_name="demo", roles=("admin",), department=""
        )
        for username in ("operator", "approver"):
            protected_copy.assign_line(self.catalog, admin, username, line)

    def _purge_demo_history(self, written: int) -> None:
        """Purge the oldest demo calls as of a few days ago, as a past purge would.

        Without it a fresh demo shows no deleted recordings, and every expired
        call would still be overdue instead of only the last few days' worth.
        """
        from pipeline.purge import run_purge

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not self._stop.is_set():
            (count,) = self.catalog.query("SELECT count(*) FROM recordings")[0]
            if count >= written * 0.9:
                break
            time.sleep(1)
        as_of = datetime.now(UTC) - timedelta(days=DEMO_PURGE_LAG_DAYS)
        summary = run_purge(
            self.catalog, self.config, apply=True, now=as_of, operator="demo"
        )
        logger.info("demo history purge: %s", summary.totals_line())
        # The snapshot taken at start predates the demo data; auditors should
        # not wait for the next scheduled one.
        if self.snapshots is not None:
            self.snapshots.request("demo ready")


def start_service(config: Config | None = None) -> Service:
    """Start this process's service once and return it."""
    global _service
    with _lock:
        if _service is None:
            service = Service(config or load_config())
            service.start()
            atexit.register(service.stop)
            _service = service
        return _service


def current() -> Service | None:
    """Return this process's service, or None before it has started."""
    return _service


def stop_service() -> None:
    """Stop this process's service, if any (for tests and clean shutdown)."""
    global _service
    with _lock:
        if _service is not None:
            _service.stop()
            atexit.unregister(_service.stop)
            _service = None


def _server_file(config: Config) -> Path:
    return config.data_dir / SERVER_FILE_NAME


def _write_server_file(config: Config) -> None:
    info = {
        "pid": os.getpid(),
        "catalog": str(config.catalog_path),
        "started_at": datetime.now(UTC).isoformat(),
        "port": _served_port(),
    }
    path = _server_file(config)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(info), encoding="utf-8")
    os.replace(temporary, path)


def _served_port() -> str | None:
    """Return the port that ``panel serve`` was given, or None when unknown."""
    arguments = sys.argv[1:]
    port = None
    # argparse keeps the last of repeated options, and scripts/serve puts its
    # default port before the caller's arguments, so the last --port counts.
    for index, argument in enumerate(arguments):
        if argument == "--port" and index + 1 < len(arguments):
            port = arguments[index + 1]
        elif argument.startswith("--port="):
            port = argument.split("=", 1)[1]
    if port is not None:
        return port
    # panel serve listens on 5006 unless it is given a port.
    return os.environ.get("RECWATCH_PORT") or ("5006" if "serve" in arguments else None)


def _remove_server_file(config: Config) -> None:
    try:
        info = json.loads(_server_file(config).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if info.get("pid") == os.getpid():
        _server_file(config).unlink(missing_ok=True)


def describe_server(config: Config) -> str | None:
    """Describe the running dashboard server that owns the catalog, if one runs."""
    try:
        info = json.loads(_server_file(config).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pid = info.get("pid")
    if not isinstance(pid, int) or not psutil.pid_exists(pid):
        return None
    port = info.get("port")
    where = f", http://127.0.0.1:{port}" if port else ""
    return f"The dashboard server (pid {pid}{where}) holds it"
