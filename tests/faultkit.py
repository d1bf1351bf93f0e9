"""Helpers for the fault tests: a service subprocess, a spool writer, mounts.

Run as a script, this module is the other side of those helpers:

``python tests/faultkit.py serve CONFIG [--settle-timeout S]``
    Runs :func:`pipeline.service.start_service` until killed. With
    ``--settle-timeout`` it instead waits until the catalog lists exactly the
    ``.wav`` files on disk, stops the service cleanly and exits 0, or exits 1
    when that does not happen within ``S`` seconds.
``python tests/faultkit.py purge-scheduler CONFIG STOP_FILE``
    Runs a :class:`pipeline.purge_schedule.PurgeScheduler` with a 0.2 s tick
    until ``STOP_FILE`` exists; run it under libfaketime to move its clock.
``python tests/faultkit.py write SPOOL STOP_FILE SEED``
    Writes short WAV calls into ``SPOOL/YYYY/MM/DD`` until ``STOP_FILE`` exists,
    finishing the file it is writing, as a recorder would.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
FAULTKIT = Path(__file__).resolve()
RATE = 8000
SETTLE_POLL_S = 0.5
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


def write_config(folder: Path, *, data_dir: Path | None = None, **sections) -> Path:
    """Write a TOML config with the demo off, data under ``folder``, one spool.

    ``sections`` maps a section name to a dict of its settings, for example
    ``ingest={"workers": 1}``; values are written with ``repr``-like TOML.
    """
    spool = folder / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    table = {
        "ingest": {"stable_s": 0.3, "workers": 1, "poll_interval_s": 0.2},
        "demo": {"enabled": False},
        "snapshots": {"interval_s": 3600.0},
    }
    for name, values in sections.items():
        table.setdefault(name, {}).update(values)
    lines = [f'data_dir = "{data_dir or folder / "data"}"']
    for name, values in table.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    lines += ["[[recorders]]", f'root = "{spool}"', 'profile = "freepbx"']
    path = folder / "recwatch.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def start_service_process(
    config_path: Path, log_path: Path, *, settle_timeout_s: float | None = None
) -> subprocess.Popen:
    """Start ``faultkit.py serve`` in its own process group, logging to a file."""
    command = [sys.executable, str(FAULTKIT), "serve", str(config_path)]
    if settle_timeout_s is not None:
        command += ["--settle-timeout", str(settle_timeout_s)]
    env = {**os.environ, "RECWATCH_CONFIG": str(config_path), "TZ": "UTC"}
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_writer_process(
    spool: Path, stop_file: Path, seed: int, log_path: Path
) -> subprocess.Popen:
    """Start ``faultkit.py write`` that fills ``spool`` until ``stop_file`` exists."""
    command = [sys.executable, str(FAULTKIT), "write", str(spool), str(stop_file)]
    command.append(str(seed))
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT
        )


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the process group that ``process`` leads, then reap it.

    The group includes the analysis workers, so SIGKILL stops the server and its
    workers together, as a power cut or the OOM killer taking the group would.
    """
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    process.wait(timeout=30)
    # Workers of a killed server can outlive it for a moment. A leftover
    # worker has no catalog lock, but it keeps using a core.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def set_clock_offset(offset_file: Path, seconds: float) -> None:
    """Set the wall-clock offset that libfaketime reads from ``offset_file``."""
    temporary = offset_file.with_suffix(".tmp")
    temporary.write_text(f"{seconds:+.0f}s\n", encoding="ascii")
    os.replace(temporary, offset_file)


def start_faketime_process(
    command: list[str], offset_file: Path, log_path: Path, config_path: Path
) -> subprocess.Popen:
    """Start ``faultkit.py COMMAND...`` with its wall clock moved by libfaketime.

    libfaketime reads the offset again at most once a second, so rewriting
    ``offset_file`` makes the clock jump in the running process within 1 s.
    The monotonic clock stays real, as it does when NTP or an operator steps
    the system clock.
    NOTE: under libfaketime 0.9.10, ``time.sleep`` fails with EINVAL on Python
    3.11 (it uses ``clock_nanosleep``), so code run this way waits on events.
    """
    env = {
        **os.environ,
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(offset_file),
        "FAKETIME_CACHE_DURATION": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "RECWATCH_CONFIG": str(config_path),
    }
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, str(FAULTKIT), *command],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wav_files(spool: Path) -> set[str]:
    """Return the paths of every ``.wav`` file below ``spool``."""
    return {str(path) for path in spool.rglob("*.wav")}


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (such as ``"8m"``) on ``folder``; always unmount.

    Raises ``PermissionError`` when this process may not mount file systems.
    """
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        raise PermissionError(f"mount tmpfs on {folder} failed: {mounted.stderr}")
    try:
        yield folder
    finally:
        unmount(folder)


def unmount(folder: Path) -> None:
    """Unmount ``folder``, lazily when a process still has files open on it."""
    result = subprocess.run(["umount", str(folder)], capture_output=True, text=True)
    if result.returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def can_mount(folder: Path) -> str | None:
    """Return None when a tmpfs can be mounted here, else the reason it cannot."""
    try:
        with tmpfs(folder, "1m"):
            return None
    except (PermissionError, FileNotFoundError) as error:
        return str(error)


def fill(folder: Path, *, keep_free: int = 0) -> Path:
    """Write a ballast file into ``folder`` until its file system is full."""
    ballast = folder / "ballast.bin"
    chunk = b"\0" * (64 * 1024)
    with open(ballast, "wb") as handle:
        try:
            while True:
                free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
                if free <= keep_free:
                    break
                handle.write(chunk[: max(1, min(len(chunk), free - keep_free))])
                handle.flush()
        except OSError:
            pass
    return ballast


# -- the subprocess side ------------------------------------------------------


def _serve(config_path: str, settle_timeout_s: float | None) -> int:
    from pipeline.config import load_config
    from pipeline.service import start_service, stop_service

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    config = load_config(config_path)
    service = start_service(config)
    if settle_timeout_s is None:
        while True:
            time.sleep(3600)
    spool = config.recorders[0].root
    deadline = time.monotonic() + settle_timeout_s
    matches = 0
    while time.monotonic() < deadline:
        time.sleep(SETTLE_POLL_S)
        listed = {
            path
            for (path,) in service.catalog.query(
                "SELECT path FROM recordings"
                " WHERE missing_since IS NULL AND status <> 'deleted'"
            )
        }
        # Two matching checks in a row, so a file queued between them is counted.
        matches = matches + 1 if listed == wav_files(spool) else 0
        if matches >= 2:
            stop_service()
            return 0
    stop_service()
    return 1


def _run_purge_scheduler(config_path: str, stop_file: Path) -> int:
    import threading

    from pipeline.catalog import Catalog
    from pipeline.config import load_config
    from pipeline.purge_schedule import PurgeScheduler

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    config = load_config(config_path)
    waiter = threading.Event()
    with Catalog(config.catalog_path) as catalog:
        scheduler = PurgeScheduler(catalog, config, tick_s=0.2)
        scheduler.start()
        print(f"scheduler ready: next run {scheduler.next_run.isoformat()}", flush=True)
        while not stop_file.exists():
            waiter.wait(0.1)
        scheduler.stop()
    return 0


def _write(spool: Path, stop_file: Path, seed: int) -> int:
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    start = datetime(2026, 12, 3, 9, 0, 0) + timedelta(days=seed % 7)
    index = 0
    while not stop_file.exists():
        moment = start + timedelta(seconds=37 * index)
        folder = spool / f"{moment:%Y/%m/%d}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"in-2101-0200001234-{moment:%Y%m%d-%H%M%S}-{seed}.{index}.wav"
        seconds = float(rng.uniform(0.3, 1.5))
        samples = 0.3 * np.sin(2 * np.pi * 300 * np.arange(int(seconds * RATE)) / RATE)
        samples += 0.01 * rng.standard_normal(samples.size)
        sf.write(folder / name, samples, RATE, subtype="PCM_16")
        index += 1
        time.sleep(float(rng.uniform(0.02, 0.15)))
    print(f"wrote {index} files", flush=True)
    return 0


def main(argv: list[str]) -> int:
    """Run the ``serve`` or ``write`` side; see the module docstring."""
    command, *rest = argv
    if command == "serve":
        timeout = float(rest[2]) if rest[1:2] == ["--settle-timeout"] else None
        return _serve(rest[0], timeout)
    if command == "purge-scheduler":
        return _run_purge_scheduler(rest[0], Path(rest[1]))
    if command == "write":
        return _write(Path(rest[0]), Path(rest[1]), int(rest[2]))
    expected = "serve, purge-scheduler or write"
    raise SystemExit(f"unknown faultkit command {command!r}; expected {expected}")


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_DIR))
    raise SystemExit(main(sys.argv[1:]))
