"""Measure reconciliation, ingest latency and purge at a large city's scale.

Run from the repository root::

    .venv/bin/python benchmarks/scale.py all          # 200,000 / 60 s / 30,000
    .venv/bin/python benchmarks/scale.py all --quick  # 20,000 / 20 s / 3,000
    .venv/bin/python benchmarks/scale.py reconcile | latency | purge

Each measurement generates its own made-up recorder files (FreePBX names, 8 kHz
16-bit mono WAV) under ``--data-dir`` (default benchmarks/scale-data/, git-ignored)
and prints the load average before and after it.

reconcile
    A tree of ``--files`` short WAVs, each with its own content, in ``YYYY/MM/DD``
    folders over 40 days. The real ingest (``Ingestor.ingest_once``) catalogs it
    once; tree and catalog are kept and reused while ``--files`` stays the same.
    Then the startup scan is timed as a restarting service does it: open the
    catalog, build a fresh ``Ingestor`` and run ``reconcile(names_only=True)``,
    which finds files added and removed, until it has queued no work.
    ``find ROOT -type f | wc -l`` is timed on the same tree. The full
    reconciliation that the service runs next, with each file's size and time,
    is timed too, against ``find`` printing each file's size and time. All run
    once to warm the cache and then alternate; the fastest of ``--rounds`` counts.
    Target: startup scan <= 3 x find. A cold cache is not measured, because emptying
    the kernel's dentry, inode and page caches needs root and slows every
    process on the machine.
latency
    The service's ingest path (catalog writer thread, ``Ingestor.start()`` with a
    watchdog observer and the analysis pool) on a temporary catalog and spool. A
    writer thread creates ``--rate`` calls per second for ``--seconds`` seconds, each
    10 to 120 s long (log-uniform) and closed after it is written. A reader thread
    waits for each catalog commit and notes when each row becomes visible. Latency
    is row-visible time minus close time. Target: p95 <= 1.5 s.
purge
    ``--purge-files`` expired calls (40 to 45 days old) are cataloged by the real
    ingest, then ``run_purge(apply=True)`` runs as the daily scheduler runs it
    (planned record, overwrite, fsync, unlink, tombstone, destroyed record). The
    script checks that every file is gone and every recording has one destroyed
    record. Baselines in the same run on copies of the same files: plain
    ``os.unlink``, and ``erase.overwrite_and_unlink`` without any catalog work.
    Target: 30,000 files in <= 60 s.

``all`` runs the three in turn and ends with
``ratios: reconcile/find=... latency_p95=...s purge_30k=...s``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from arguments import folder_path, positive_float, positive_int  # noqa: E402

from pipeline import erase, synth  # noqa: E402
from pipeline.analysis import run_job  # noqa: E402
from pipeline.catalog import Catalog  # noqa: E402
from pipeline.config import Config, build_config  # noqa: E402
from pipeline.ingest import Ingestor  # noqa: E402
from pipeline.purge import run_purge  # noqa: E402
from pipeline.recordings import known_files, known_paths  # noqa: E402
from pipeline.scan import list_tree, scan_tree  # noqa: E402

DATA_DIR = REPO / "benchmarks" / "scale-data"
RATE = 8000
RECONCILE_DAYS = 40
RECONCILE_TARGET_RATIO = 3.0
LATENCY_TARGET_S = 1.5
PURGE_TARGET_S = 60.0
PURGE_AGE_DAYS = (40, 45)
MIN_CALL_S = 10.0
MAX_CALL_S = 120.0
# Distinct calls synthesised for the latency writer. Each file is one of them
# with its first sample changed, so every file has its own SHA-256.
CALL_POOL_SIZE = 24
WARM_UP_FILES = 8
# Rows still invisible this long after the writer stops count as lost.
VISIBLE_TIMEOUT_S = 60.0

FULL = {"files": 200_000, "seconds": 60.0, "purge_files": 30_000}
QUICK = {"files": 20_000, "seconds": 20.0, "purge_files": 3_000}


# -- shared helpers --------------------------------------------------------------


def machine() -> dict:
    """Return the CPU, memory and software facts printed with every run."""
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kib = 0
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal"):
                memory_kib = int(line.split()[1])
    import duckdb
    import watchdog.version

    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(memory_kib / 1024**2, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "watchdog": watchdog.version.VERSION_STRING,
        "date": datetime.now(UTC).date().isoformat(),
    }


def print_load(label: str) -> tuple[float, float, float]:
    """Print and return ``os.getloadavg()`` with a label."""
    load = os.getloadavg()
    print(f"load average {label}: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return load


def make_config(base: Path, **ingest: object) -> Config:
    """Return the project's configuration with its catalog and spool under ``base``."""
    table = {
        "data_dir": str(base / "data"),
        "recorders": [{"root": str(base / "spool"), "profile": "freepbx"}],
        "ingest": dict(ingest),
    }
    (base / "spool").mkdir(parents=True, exist_ok=True)
    return build_config(table, base=base, source=base / "recwatch.toml")


def call_path(root: Path, start: datetime, index: int) -> Path:
    """Return the FreePBX path of a made-up call starting at ``start`` (local)."""
    folder = root / f"{start:%Y}" / f"{start:%m}" / f"{start:%d}"
    unique = f"{int(start.timestamp())}.{index}"
    name = f"in-2101-0200001234-{start:%Y%m%d}-{start:%H%M%S}-{unique}.wav"
    return folder / name


def wav_bytes(seconds: float, seed: int) -> bytes:
    """Return a 16-bit PCM WAV of a made-up call built from recorded speech."""
    call = synth.build_call(seconds, rng=np.random.default_rng(seed))
    buffer = io.BytesIO()
    sf.write(buffer, call.samples, RATE, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def stamped(template: bytes, index: int) -> bytes:
    """Return ``template`` with its last four bytes replaced by ``index``.

    soundfile writes PCM WAV with the data chunk last, so the change lands in the
    last two samples and gives each file its own SHA-256.
    """
    return template[:-4] + (index % 2**32).to_bytes(4, "little")


def write_tree(
    root: Path, count: int, *, first_day: datetime, days: int, template: bytes
) -> list[Path]:
    """Write ``count`` calls spread evenly over ``days`` days from ``first_day``."""
    step_s = days * 86400 / count
    paths = []
    made_folders: set[Path] = set()
    for index in range(count):
        path = call_path(root, first_day + timedelta(seconds=index * step_s), index)
        if path.parent not in made_folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            made_folders.add(path.parent)
        path.write_bytes(stamped(template, index))
        paths.append(path)
    return paths


def catalog_tree(catalog: Catalog, config: Config) -> float:
    """Catalog every file under the spool with the real one-shot ingest; seconds."""
    started = time.perf_counter()
    ingestor = Ingestor(catalog, config)
    try:
        ingestor.ingest_once([config.recorders[0].root])
    finally:
        ingestor.stop()
    return time.perf_counter() - started


def count_rows(catalog: Catalog, where: str = "TRUE") -> int:
    """Return the number of recordings rows matching ``where``."""
    return catalog.query(f"SELECT count(*) FROM recordings WHERE {where}")[0][0]


# -- reconcile --------------------------------------------------------------------


@dataclass
class ReconcileResult:
    """Fastest times of one reconciliation measurement, in seconds."""

    files: int
    scan_s: float
    full_s: float
    find_s: float
    find_stat_s: float
    open_s: float
    list_tree_s: float
    known_paths_s: float
    scan_tree_s: float
    known_files_s: float

    @property
    def ratio(self) -> float:
        return self.scan_s / self.find_s


def prepare_reconcile_tree(base: Path, count: int) -> Config:
    """Build, or reuse, a cataloged tree of ``count`` files under ``base``."""
    config = make_config(base)
    marker = base / "ready.json"
    if marker.is_file() and json.loads(marker.read_text())["files"] == count:
        print(f"reusing {count} cataloged files under {base}")
        return config

    shutil.rmtree(base, ignore_errors=True)
    config = make_config(base)
    root = config.recorders[0].root
    first_day = datetime.now(config.tz).replace(microsecond=0) - timedelta(
        days=RECONCILE_DAYS
    )
    started = time.perf_counter()
    write_tree(
        root,
        count,
        first_day=first_day,
        days=RECONCILE_DAYS,
        template=wav_bytes(0.5, seed=1),
    )
    print(f"wrote {count} files in {time.perf_counter() - started:.1f} s")

    with Catalog(config.catalog_path) as catalog:
        seconds = catalog_tree(catalog, config)
        rows = count_rows(catalog, "status = 'ok'")
    if rows != count:
        raise RuntimeError(
            f"ingest cataloged {rows} of {count} files under {root}; expected all"
        )
    print(f"cataloged {count} files in {seconds:.1f} s ({count / seconds:.0f}/s)")
    marker.write_text(json.dumps({"files": count}))
    return config


FIND_NAMES = "find {root} -type f | wc -l"
# The same walk with one lstat per file, which a reconciliation needs for sizes
# and modification times. So this is the floor of any scan that detects changes.
FIND_STAT = "find {root} -type f -printf '%s %T@\\n' | wc -l"


def time_find(root: Path, command: str = FIND_NAMES) -> tuple[float, int]:
    """Time a ``find`` pipeline on ``root``; return seconds and the count it printed."""
    started = time.perf_counter()
    output = subprocess.run(
        command.format(root=shlex.quote(str(root))),
        shell=True,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return time.perf_counter() - started, int(output)


def time_startup_scan(config: Config, *, names_only: bool) -> tuple[float, float]:
    """Open the catalog and reconcile with a fresh Ingestor; return (total, open) s.

    A starting service first compares names only (``names_only``), then runs the
    full reconciliation with sizes and times.
    """
    started = time.perf_counter()
    with Catalog(config.catalog_path) as catalog:
        opened = time.perf_counter()
        ingestor = Ingestor(catalog, config)
        found = ingestor.reconcile(reason="start", names_only=names_only)
        finished = time.perf_counter()
        queued = ingestor.health_dict()["pending"]
        # The ingestor has no public view of the paths it would mark missing.
        gone = len(ingestor._gone)
    if queued or gone:
        raise RuntimeError(
            f"reconcile of {found} known files queued {queued} file(s) and "
            f"{gone} missing path(s); expected no work on an unchanged tree"
        )
    return finished - started, opened - started


def time_scan_parts(config: Config) -> tuple[float, float, float, float]:
    """Time the halves of both reconciliations: the directory scans, the reads.

    Returns the seconds of ``list_tree``, ``known_paths``, ``scan_tree`` and
    ``known_files``.
    """
    root = config.recorders[0].root
    patterns = config["ingest.ignore_patterns"]
    prefix = str(root).rstrip("/") + "/"
    times = []
    with Catalog(config.catalog_path) as catalog:
        for step in (
            lambda: list_tree(root, patterns),
            lambda: known_paths(catalog.cursor(), prefix),
            lambda: scan_tree(root, patterns),
            lambda: known_files(catalog.cursor(), prefix),
        ):
            started = time.perf_counter()
            step()
            times.append(time.perf_counter() - started)
    return times[0], times[1], times[2], times[3]


def measure_reconcile(data_dir: Path, count: int, rounds: int) -> ReconcileResult:
    """Run the reconciliation measurement and print its table."""
    print(f"\n== reconcile: {count} files in YYYY/MM/DD folders ==")
    config = prepare_reconcile_tree(data_dir / "reconcile", count)
    root = config.recorders[0].root
    print_load("before reconcile")

    # One untimed run of each fills the page, dentry and inode caches.
    _, listed = time_find(root)
    if listed != count:
        raise RuntimeError(f"find listed {listed} files under {root}; expected {count}")
    time_find(root, FIND_STAT)
    time_startup_scan(config, names_only=True)
    time_startup_scan(config, names_only=False)

    best = dict.fromkeys(("scan", "full", "open", "find", "find_stat"), math.inf)
    best_parts = [math.inf] * 4
    for _ in range(rounds):
        scan_s, open_s = time_startup_scan(config, names_only=True)
        find_s, _ = time_find(root)
        full_s, _ = time_startup_scan(config, names_only=False)
        find_stat_s, _ = time_find(root, FIND_STAT)
        parts = time_scan_parts(config)
        best["scan"] = min(best["scan"], scan_s)
        best["full"] = min(best["full"], full_s)
        best["open"] = min(best["open"], open_s)
        best["find"] = min(best["find"], find_s)
        best["find_stat"] = min(best["find_stat"], find_stat_s)
        best_parts = [min(old, new) for old, new in zip(best_parts, parts, strict=True)]
    print_load("after reconcile")

    result = ReconcileResult(
        files=count,
        scan_s=best["scan"],
        full_s=best["full"],
        find_s=best["find"],
        find_stat_s=best["find_stat"],
        open_s=best["open"],
        list_tree_s=best_parts[0],
        known_paths_s=best_parts[1],
        scan_tree_s=best_parts[2],
        known_files_s=best_parts[3],
    )
    print(f"fastest of {rounds} alternating rounds, warm cache:")
    print(f"  startup scan, names (open + reconcile)   {result.scan_s:8.3f} s")
    print(f"    of which opening the catalog           {result.open_s:8.3f} s")
    print(f"  list_tree alone                          {result.list_tree_s:8.3f} s")
    print(f"  known_paths alone                        {result.known_paths_s:8.3f} s")
    print(f"  find ROOT -type f | wc -l                {result.find_s:8.3f} s")
    print(f"  then the full scan, sizes and times      {result.full_s:8.3f} s")
    print(f"  scan_tree alone                          {result.scan_tree_s:8.3f} s")
    print(f"  known_files alone                        {result.known_files_s:8.3f} s")
    print(f"  find ROOT -type f -printf '%s %T@\\n'     {result.find_stat_s:8.3f} s")
    print(
        f"ratios: reconcile/find={result.ratio:.2f} (target <= 3) "
        f"full/find_stat={result.full_s / result.find_stat_s:.2f} "
        f"find_stat/find={result.find_stat_s / result.find_s:.2f}"
    )
    return result


# -- latency ----------------------------------------------------------------------


@dataclass
class LatencyResult:
    """Close-to-visible latencies of one run, in seconds."""

    files: int
    latencies: list[float]
    analysis_s: float

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q))


class VisibilityWatcher:
    """Notes the monotonic time at which each new recordings row is first read."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-visibility")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        last_id = 0
        version = self.catalog.version
        while not self._stop.is_set():
            version = self.catalog.wait_for_change(version, 0.2)
            rows = self.catalog.query(
                "SELECT id, path FROM recordings WHERE id > ? ORDER BY id", [last_id]
            )
            now = time.monotonic()
            for recording_id, path in rows:
                self.seen.setdefault(path, now)
                last_id = max(last_id, recording_id)


def call_pool(count: int, seed: int) -> list[np.ndarray]:
    """Synthesise ``count`` calls of 10 to 120 s (log-uniform) as int16 samples."""
    rng = np.random.default_rng(seed)
    lengths = np.exp(rng.uniform(math.log(MIN_CALL_S), math.log(MAX_CALL_S), count))
    pool = []
    for length in lengths:
        call = synth.build_call(float(length), rng=rng)
        pool.append(np.round(call.samples * 32767).astype(np.int16))
    return pool


def write_call(path: Path, samples: np.ndarray, index: int) -> None:
    """Write one call in one-second blocks, as a recorder appends, then close it."""
    samples = samples.copy()
    samples[0] = index % 30000
    with sf.SoundFile(path, "w", RATE, 1, subtype="PCM_16", format="WAV") as handle:
        for first in range(0, len(samples), RATE):
            handle.write(samples[first : first + RATE])


def run_writer(
    root: Path,
    tz,
    pool: list[np.ndarray],
    *,
    rate: float,
    count: int,
    first_index: int,
    closed: dict[str, float],
) -> float:
    """Write ``count`` calls at ``rate`` per second; return the seconds behind plan."""
    started = time.monotonic()
    behind = 0.0
    for offset in range(count):
        due = started + offset / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            behind = max(behind, -delay)
        index = first_index + offset
        path = call_path(root, datetime.now(tz).replace(microsecond=0), index)
        write_call(path, pool[index % len(pool)], index)
        closed[str(path)] = time.monotonic()
    return behind


def wait_visible(watcher: VisibilityWatcher, paths, timeout_s: float) -> None:
    """Wait until every path has a visible row or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(path in watcher.seen for path in paths):
            return
        time.sleep(0.05)


def time_analysis(paths: list[str], config: Config) -> float:
    """Return the median seconds of ``run_job`` on ``paths`` in this process."""
    from pipeline.analysis import Job, audio_options

    options = audio_options(config)
    root = str(config.recorders[0].root)
    times = []
    for path in paths:
        job = Job(path=path, root=root, profile_name="freepbx", audio_options=options)
        started = time.perf_counter()
        run_job(job)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_latency(data_dir: Path, seconds: float, rate: float) -> LatencyResult:
    """Run the ingest latency measurement and print its table."""
    count = max(1, round(seconds * rate))
    print(f"\n== latency: {rate:g} calls/s for {seconds:g} s ({count} calls) ==")
    base = data_dir / "latency"
    shutil.rmtree(base, ignore_errors=True)
    config = make_config(base)
    root = config.recorders[0].root
    # The recorder's folder for today exists before the service starts, as it
    # would on a recorder that has been running.
    today = datetime.now(config.tz)
    (root / f"{today:%Y}" / f"{today:%m}" / f"{today:%d}").mkdir(parents=True)
    pool = call_pool(min(CALL_POOL_SIZE, count + WARM_UP_FILES), seed=7)

    closed: dict[str, float] = {}
    warm_closed: dict[str, float] = {}
    with Catalog(config.catalog_path) as catalog:
        ingestor = Ingestor(catalog, config)
        watcher = VisibilityWatcher(catalog)
        ingestor.start()
        watcher.start()
        try:
            # Workers start on first use; a running service has them warm.
            run_writer(
                root,
                config.tz,
                pool,
                rate=rate,
                count=WARM_UP_FILES,
                first_index=0,
                closed=warm_closed,
            )
            wait_visible(watcher, warm_closed, VISIBLE_TIMEOUT_S)
            print_load("before latency")
            behind = run_writer(
                root,
                config.tz,
                pool,
                rate=rate,
                count=count,
                first_index=WARM_UP_FILES,
                closed=closed,
            )
            wait_visible(watcher, closed, VISIBLE_TIMEOUT_S)
            print_load("after latency")
        finally:
            watcher.stop()
            ingestor.stop()

    missing = [path for path in closed if path not in watcher.seen]
    if missing:
        raise RuntimeError(
            f"{len(missing)} of {count} calls had no catalog row "
            f"{VISIBLE_TIMEOUT_S:.0f} s after the writer stopped"
        )
    latencies = sorted(watcher.seen[path] - closed[path] for path in closed)
    sample = sorted(closed)[:: max(1, len(closed) // 50)]
    result = LatencyResult(
        files=count, latencies=latencies, analysis_s=time_analysis(sample, config)
    )

    audio_s = sum(len(samples) for samples in pool) / RATE / len(pool)
    print(f"writer: at most {behind:.2f} s behind its plan; mean call {audio_s:.0f} s")
    print("close to row visible:")
    for label, value in (
        ("p50", result.percentile(50)),
        ("p95", result.percentile(95)),
        ("max", max(latencies)),
    ):
        print(f"  {label}  {value:6.3f} s")
    print(f"  run_job alone, median of {len(sample)} files  {result.analysis_s:.3f} s")
    p95 = result.percentile(95)
    print(
        f"ratios: latency_p95={p95:.2f}s p95/target={p95 / LATENCY_TARGET_S:.2f} "
        f"p95/run_job={p95 / result.analysis_s:.0f} (target p95 <= 1.5 s)"
    )
    return result


# -- purge ------------------------------------------------------------------------


@dataclass
class PurgeResult:
    """Times of one purge measurement and its baselines, in seconds."""

    files: int
    bytes: int
    purge_s: float
    unlink_s: float
    erase_s: float


def copy_files(paths: list[Path], target: Path) -> list[Path]:
    """Copy files into ``target`` as new inodes; return the copies."""
    target.mkdir(parents=True)
    copies = []
    for index, path in enumerate(paths):
        copy = target / f"{index:06d}-{path.name}"
        copy.write_bytes(path.read_bytes())
        copies.append(copy)
    return copies


def time_unlink(paths: list[Path]) -> float:
    """Time a plain ``os.unlink`` of every path."""
    started = time.perf_counter()
    for path in paths:
        os.unlink(path)
    return time.perf_counter() - started


def time_erase(paths: list[Path]) -> float:
    """Time overwrite, fsync and unlink of every path, with no catalog work."""
    started = time.perf_counter()
    for path in paths:
        erase.overwrite_and_unlink(str(path))
    erase.fsync_folders(str(path) for path in paths)
    return time.perf_counter() - started


def measure_purge(data_dir: Path, count: int, seconds: float) -> PurgeResult:
    """Run the purge measurement and print its table."""
    print(f"\n== purge: {count} expired calls of {seconds:g} s ==")
    base = data_dir / "purge"
    shutil.rmtree(base, ignore_errors=True)
    config = make_config(base)
    root = config.recorders[0].root
    now = datetime.now(UTC)
    oldest, newest = PURGE_AGE_DAYS
    first_day = now.astimezone(config.tz).replace(microsecond=0) - timedelta(
        days=newest
    )
    paths = write_tree(
        root,
        count,
        first_day=first_day,
        days=newest - oldest,
        template=wav_bytes(seconds, seed=2),
    )
    size = sum(path.stat().st_size for path in paths)

    unlink_s = time_unlink(copy_files(paths, base / "baseline-unlink"))
    erase_s = time_erase(copy_files(paths, base / "baseline-erase"))

    with Catalog(config.catalog_path) as catalog:
        ingest_s = catalog_tree(catalog, config)
        cataloged = count_rows(catalog, "status = 'ok'")
        if cataloged != count:
            raise RuntimeError(f"ingest cataloged {cataloged} of {count} calls")
        print(f"cataloged {count} calls in {ingest_s:.1f} s")

        print_load("before purge")
        started = time.perf_counter()
        summary = run_purge(catalog, config, apply=True, now=now, operator="system")
        purge_s = time.perf_counter() - started
        print_load("after purge")
        destroyed = catalog.query(
            "SELECT count(*), count(DISTINCT recording_id) FROM destruction_records"
            " WHERE status = 'destroyed'"
        )[0]
        deleted = count_rows(catalog, "status = 'deleted'")

    left = len(scan_tree(root, ()))
    checks = {
        "files left on disk": (left, 0),
        "recordings deleted": (deleted, count),
        "destroyed records": (destroyed[0], count),
        "recordings with a destroyed record": (destroyed[1], count),
        "purge summary deleted": (summary.deleted, count),
    }
    for label, (found, expected) in checks.items():
        if found != expected:
            raise RuntimeError(
                f"purge check failed: {label} = {found}, expected {expected}"
            )

    result = PurgeResult(
        files=count, bytes=size, purge_s=purge_s, unlink_s=unlink_s, erase_s=erase_s
    )
    print(f"{count} files, {size / 1e6:.1f} MB in total; all checks passed")
    print(f"  run_purge(apply=True)                    {purge_s:8.2f} s")
    print(f"  overwrite_and_unlink alone (copies)      {erase_s:8.2f} s")
    print(f"  os.unlink alone (copies)                 {unlink_s:8.2f} s")
    print(
        f"ratios: purge_s={purge_s:.1f}s purge/erase={purge_s / erase_s:.2f} "
        f"purge/unlink={purge_s / unlink_s:.0f} (target {PURGE_TARGET_S:.0f} s "
        "for 30,000 files)"
    )
    return result


def purge_label(count: int) -> str:
    """Return ``30k`` for 30,000 files, the plain number otherwise."""
    return f"{count // 1000}k" if count % 1000 == 0 else str(count)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "measurement", choices=("reconcile", "latency", "purge", "all"), default="all"
    )
    parser.add_argument(
        "--quick", action="store_true", help="use 20,000 / 20 s / 3,000 files"
    )
    parser.add_argument(
        "--files",
        type=positive_int,
        help=f"files in the reconciliation tree (default {FULL['files']:,}, "
        f"--quick {QUICK['files']:,})",
    )
    parser.add_argument(
        "--seconds",
        type=positive_float,
        help=f"seconds of arrivals in the latency run (default {FULL['seconds']:.0f},"
        f" --quick {QUICK['seconds']:.0f})",
    )
    parser.add_argument(
        "--rate",
        type=positive_float,
        default=20.0,
        help="arrivals per second (default 20)",
    )
    parser.add_argument(
        "--purge-files",
        type=positive_int,
        help=f"expired files to purge (default {FULL['purge_files']:,}, "
        f"--quick {QUICK['purge_files']:,})",
    )
    parser.add_argument(
        "--purge-call-s",
        type=positive_float,
        default=1.0,
        help="seconds of 8 kHz 16-bit audio per purged file, 16 KB each (default 1)",
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=3,
        help="timed rounds of reconcile and find",
    )
    parser.add_argument(
        "--data-dir",
        type=folder_path,
        default=DATA_DIR,
        help="folder for generated trees and catalogs (default benchmarks/scale-data)",
    )
    arguments = parser.parse_args(argv)
    sizes = QUICK if arguments.quick else FULL
    files = arguments.files or sizes["files"]
    seconds = arguments.seconds or sizes["seconds"]
    purge_files = arguments.purge_files or sizes["purge_files"]
    arguments.data_dir.mkdir(parents=True, exist_ok=True)

    print("machine:", json.dumps(machine()))
    chosen = arguments.measurement
    parts = []
    if chosen in ("reconcile", "all"):
        reconciled = measure_reconcile(arguments.data_dir, files, arguments.rounds)
        parts.append(f"reconcile/find={reconciled.ratio:.2f}")
    if chosen in ("latency", "all"):
        latency = measure_latency(arguments.data_dir, seconds, arguments.rate)
        parts.append(f"latency_p95={latency.percentile(95):.2f}s")
    if chosen in ("purge", "all"):
        purged = measure_purge(arguments.data_dir, purge_files, arguments.purge_call_s)
        parts.append(f"purge_{purge_label(purge_files)}={purged.purge_s:.1f}s")
    if chosen == "all":
        print(f"\nratios: {' '.join(parts)}")


if __name__ == "__main__":
    main()
