"""Measure the speed, memory and cold-start cost of recwatch's audio analysis.

Run from the repository root::

    .venv/bin/python benchmarks/audio.py            # 6.3 h corpus
    .venv/bin/python benchmarks/audio.py --quick    # about 1 h

The corpus of made-up calls (``pipeline.synth``, recorded speech) is written once
under benchmarks/corpus/ and reused. Call lengths are log-uniform from 30 s to
20 min, so most calls are short, as on a real recorder. The script prints the
real-time factor (RTF, audio seconds per wall second) of:

(a) recwatch's per-file work: read, SHA-256, decode, all stats and the catalog
    insert, through ``pipeline.analysis.run_job`` and
    ``pipeline.recordings.store_results`` on a catalog in a temporary folder;
(b) the physical limit: read the bytes, SHA-256, NumPy decode, framed RMS;
(c) ``librosa.load(path)`` with its defaults, then ``librosa.effects.split(y)``;
(d) one ``ffmpeg -af silencedetect`` process per file, timed as a whole.

(a) to (d) are compared on the 8 kHz 16-bit PCM mono files. The four run file by
file in turn, in ``--rounds`` rounds, and each file counts with its fastest time
per method, so that load from other processes slows all four alike. (a) is also
given per codec, and with a pool of one and of two worker processes. The last line
is ``ratios: a/b=... a/c=... a/d=... scale2=...``. The script also measures peak
memory on one-hour files and the import, warm-up, first-file and later-file cost
of a fresh worker process, each in a subprocess of its own.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from arguments import positive_int  # noqa: E402

from pipeline import analysis, audio, codecs, notice, synth  # noqa: E402
from pipeline.catalog import Catalog  # noqa: E402
from pipeline.ingest import MAX_BATCH_ROWS  # noqa: E402
from pipeline.recordings import store_results  # noqa: E402

CORPUS = REPO / "benchmarks" / "corpus"
NOTICE_CLIP = synth.PROMPT_DIR / synth.NOTICE_PROMPT
RATE = synth.PROMPT_RATE
SHORTEST_S = 30
LONGEST_S = 1200
IDLE_LOAD = 0.5
"""Load average above which the two-worker figure cannot show scaling on 2 cores."""

# (codec, stereo, hours of audio). Each group gets log-uniform call lengths from
# SHORTEST_S to LONGEST_S until it reaches its hours.
FULL_SPEC = [
    ("pcm_16", False, 3.0),
    ("mulaw", False, 0.5),
    ("alaw", False, 0.5),
    ("gsm", False, 0.5),
    ("mp3", False, 0.5),
    ("pcm_16", True, 0.5),
]
QUICK_SPEC = [
    ("pcm_16", False, 0.25),
    ("mulaw", False, 0.05),
    ("alaw", False, 0.05),
    ("gsm", False, 0.05),
    ("mp3", False, 0.05),
    ("pcm_16", True, 0.05),
]


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    codec: str
    stereo: bool
    duration_s: float

    @property
    def group(self) -> str:
        return f"{self.codec}-stereo" if self.stereo else self.codec


def call_lengths(hours: float, rng: np.random.Generator) -> list[int]:
    """Draw log-uniform call lengths in seconds until they add up to ``hours``."""
    lengths: list[int] = []
    while sum(lengths) < hours * 3600:
        exponent = rng.uniform(np.log(SHORTEST_S), np.log(LONGEST_S))
        lengths.append(round(float(np.exp(exponent))))
    return lengths


def build_corpus(folder: Path, spec: list) -> list[CorpusFile]:
    """Write the calls that are missing, delete stale ones, return the spec's files."""
    root = folder / "spool"
    root.mkdir(parents=True, exist_ok=True)
    files = []
    index = 0
    for group_number, (codec, stereo, hours) in enumerate(spec):
        lengths = call_lengths(hours, np.random.default_rng(500 + group_number))
        for duration in lengths:
            index += 1
            channels = "st" if stereo else "mo"
            extension = "mp3" if codec == "mp3" else "wav"
            # FreePBX MixMonitor names, so run_job reads metadata as in production.
            name = (
                f"in-2101-020000{index:04d}-20260101-09{index % 60:02d}00-"
                f"{1767225600 + index}.{codec}{channels}{duration}.{extension}"
            )
            path = root / name
            if not path.exists():
                rng = np.random.default_rng(1000 + index)
                call = synth.build_call(float(duration), rng=rng, stereo=stereo)
                partial = path.with_name(path.name + ".part")
                synth.write_audio(partial, call.samples, RATE, codec)
                partial.rename(path)
            files.append(CorpusFile(path, codec, stereo, float(duration)))
    wanted = {file.path for file in files}
    for stale in root.iterdir():
        if stale not in wanted:
            stale.unlink()
    return files


def _audio_seconds(files: list[CorpusFile]) -> float:
    return sum(file.duration_s for file in files)


def _read_into_page_cache(files: list[CorpusFile]) -> None:
    # Every method then reads from the page cache, none from disk.
    for file in files:
        file.path.read_bytes()


# -- (a) recwatch ----------------------------------------------------------------------


def _job(file: CorpusFile) -> analysis.Job:
    return analysis.Job(
        path=str(file.path), root=str(file.path.parent), profile_name="freepbx"
    )


def _check(result: analysis.JobResult) -> analysis.JobResult:
    if result.error:
        raise RuntimeError(f"analysis failed on {result.path}: {result.error}")
    return result


def store_in_batches(catalog: Catalog, results: list[analysis.JobResult]) -> None:
    """Store results in batches on the catalog's writer thread, as ingest does."""
    futures = []
    for first in range(0, len(results), MAX_BATCH_ROWS):
        batch = results[first : first + MAX_BATCH_ROWS]
        futures.append(
            catalog.submit(lambda con, batch=batch: store_results(con, batch))
        )
    for future in futures:
        future.result()


def time_recwatch(
    files: list[CorpusFile], catalog_dir: Path
) -> tuple[float, dict[Path, float]]:
    """Run run_job and store_results in this process.

    Returns the wall seconds of the whole group and the seconds of each file's
    run_job.
    """
    catalog_dir.mkdir(parents=True, exist_ok=True)
    with Catalog(catalog_dir / "catalog.duckdb") as catalog:
        costs = {}
        results = []
        start = time.perf_counter()
        for file in files:
            file_start = time.perf_counter()
            results.append(_check(analysis.run_job(_job(file))))
            costs[file.path] = time.perf_counter() - file_start
        store_in_batches(catalog, results)
        return time.perf_counter() - start, costs


def _warm_worker() -> None:
    # Unpickling run_job imports pipeline.analysis and the naming profiles, which
    # would otherwise happen inside the timed part of each worker's first job.
    importlib.import_module("pipeline.analysis")
    audio.warm_up()


def time_pool(
    files: list[CorpusFile],
    catalog_path: Path,
    workers: int,
    costs: dict[Path, float],
) -> float:
    """Run the jobs on a warmed-up spawn pool of ``workers``; return wall seconds.

    ``costs`` gives each file's seconds in one process. The files are queued
    costliest first, so that no worker is left alone with a long job at the end.
    """
    context = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(
            workers, mp_context=context, initializer=_warm_worker
        ) as pool,
        Catalog(catalog_path) as catalog,
    ):
        # Start and warm every worker before timing, so process start-up is not counted.
        list(pool.map(time.sleep, [0.5] * workers))
        # A GSM file costs about 20 times a PCM file of the same length, so the
        # measured cost orders the queue, not the call length.
        ordered = sorted(files, key=lambda file: -costs[file.path])
        start = time.perf_counter()
        results = [
            _check(result)
            for result in pool.map(analysis.run_job, [_job(file) for file in ordered])
        ]
        store_in_batches(catalog, results)
        return time.perf_counter() - start


# -- (b) physical limit, (c) librosa and (d) ffmpeg, one file each ---------------------


def physical_limit(file: CorpusFile, frame_ms: int = 20) -> None:
    """Read, hash, decode 16-bit PCM with NumPy and compute framed RMS."""
    data = file.path.read_bytes()
    hashlib.sha256(data).hexdigest()
    # soundfile writes a 44-byte canonical header for PCM WAV.
    channels = 2 if file.stereo else 1
    samples = np.frombuffer(data, dtype="<i2", offset=44).reshape(-1, channels)
    scaled = samples.astype(np.float32) / 32768.0
    frame = RATE * frame_ms // 1000
    whole = len(scaled) - len(scaled) % frame
    frames = scaled[:whole].reshape(-1, frame, channels)
    np.sqrt(np.einsum("ijk,ijk->ik", frames, frames) / frame)


def librosa_split(file: CorpusFile) -> None:
    """Load at librosa's default 22,050 Hz mono and split at its default 60 dB."""
    import librosa

    samples, _ = librosa.load(file.path)
    librosa.effects.split(samples)


def ffmpeg_silencedetect(file: CorpusFile) -> None:
    """Run the ffmpeg command that the IT team would run on each file."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(file.path)]
        + ["-af", "silencedetect=noise=-45dB:d=0.5", "-f", "null", "-"],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )


def _cpu_seconds() -> float:
    """Return CPU seconds of this process and of its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def compare_methods(
    files: list[CorpusFile], catalog_dir: Path, rounds: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Time (a) to (d) file by file in turn; return wall and CPU seconds per method.

    Each file counts with its fastest time per method over ``rounds`` rounds. (a)
    adds the fastest batched catalog insert of its rounds. CPU seconds include the
    ffmpeg processes of (d), and any threads that librosa's resampler starts.
    """
    methods: dict[str, Callable[[CorpusFile], object]] = {
        "a": lambda file: _check(analysis.run_job(_job(file))),
        "b": physical_limit,
        "c": librosa_split,
    }
    if codecs.ffmpeg_available():
        methods["d"] = ffmpeg_silencedetect
    names = list(methods)
    # One untimed call each, so that imports and librosa's first-call set-up are
    # not counted.
    shortest = min(files, key=lambda file: file.duration_s)
    for method in methods.values():
        method(shortest)
    wall = {name: [float("inf")] * len(files) for name in names}
    cpu = {name: [float("inf")] * len(files) for name in names}
    store_wall = store_cpu = float("inf")
    for round_number in range(rounds):
        results = []
        for position, file in enumerate(files):
            # Rotate the order, so that no method always runs first on a file.
            shift = (position + round_number) % len(names)
            for name in names[shift:] + names[:shift]:
                cpu_start = _cpu_seconds()
                start = time.perf_counter()
                outcome = methods[name](file)
                elapsed = time.perf_counter() - start
                cpu_used = _cpu_seconds() - cpu_start
                wall[name][position] = min(wall[name][position], elapsed)
                cpu[name][position] = min(cpu[name][position], cpu_used)
                if name == "a":
                    results.append(outcome)
        catalog_path = catalog_dir / f"compare-{round_number}.duckdb"
        with Catalog(catalog_path) as catalog:
            cpu_start = _cpu_seconds()
            start = time.perf_counter()
            store_in_batches(catalog, results)
            store_wall = min(store_wall, time.perf_counter() - start)
            store_cpu = min(store_cpu, _cpu_seconds() - cpu_start)
    wall_seconds = {name: sum(times) for name, times in wall.items()}
    cpu_seconds = {name: sum(times) for name, times in cpu.items()}
    wall_seconds["a"] += store_wall
    cpu_seconds["a"] += store_cpu
    return wall_seconds, cpu_seconds


def stage_breakdown(file: CorpusFile, repeats: int = 7) -> dict[str, float]:
    """Return milliseconds per 20 min of audio of each stage of (a) on one file.

    Each stage counts with its fastest of ``repeats`` runs. The VAD cost is the
    difference between the analysis with 20 ms frames and the same analysis with
    25 ms frames, for which webrtcvad is not used.
    """
    content = file.path.read_bytes()
    header = codecs.read_wav_header(io.BytesIO(content), str(file.path), len(content))

    def decode() -> None:
        decoded = audio._decode_pcm16(str(file.path), header, content)
        for _ in decoded.blocks:
            pass

    stages = {
        "read": lambda: file.path.read_bytes(),
        "sha256": lambda: hashlib.sha256(content).hexdigest(),
        "numpy decode": decode,
        "analysis without VAD": lambda: audio.analyze_file(
            file.path, content=content, frame_ms=25
        ),
        "analysis": lambda: audio.analyze_file(file.path, content=content),
        "run_job": lambda: analysis.run_job(_job(file)),
    }
    per_20_min = 1200 / file.duration_s
    result = {}
    for name, stage in stages.items():
        fastest = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            stage()
            fastest = min(fastest, time.perf_counter() - start)
        result[name] = round(fastest * 1000 * per_20_min, 1)
    result["VAD"] = round(result["analysis"] - result["analysis without VAD"], 1)
    return result


# -- memory and cold start, each in a fresh interpreter ------------------------------

# VmHWM, not getrusage's ru_maxrss, because Linux carries ru_maxrss over exec from
# the parent, which here keeps a one-hour call in memory.
_MEMORY_SCRIPT = """
import json, sys
sys.path.insert(0, {repo!r})

def high_water_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

# A pool worker imports pipeline.ingest to run its initializer, and through it
# the catalog modules, DuckDB and pandas. run_job reads a new file of up to
# analysis.IN_MEMORY_MAX_BYTES into memory, so the peak includes those bytes.
from pathlib import Path
from pipeline import analysis, audio, ingest
audio.warm_up({clip!r})
before = high_water_kib()
job = analysis.Job(
    path={path!r},
    root=str(Path({path!r}).parent),
    profile_name="freepbx",
    audio_options={{"notice_clip": {clip!r}}},
)
result = analysis.run_job(job)
after = high_water_kib()
print(json.dumps({{"before_kib": before, "after_kib": after,
                  "duration_s": result.stats["duration_s"]}}))
"""

_COLD_SCRIPT = """
import json, sys, time
sys.path.insert(0, {repo!r})
times = {{}}
start = time.perf_counter()
from pipeline import audio
times["import_pipeline_audio_s"] = time.perf_counter() - start
if {warm!r}:
    start = time.perf_counter()
    audio.warm_up({clip!r})
    times["warm_up_s"] = time.perf_counter() - start
for label, path in (("first_file_s", {first!r}), ("second_file_s", {second!r})):
    start = time.perf_counter()
    audio.analyze_file(path, notice_clip={clip!r})
    times[label] = time.perf_counter() - start
print(json.dumps(times))
"""


def _run_script(source: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def measure_memory(folder: Path) -> dict:
    """Return peak RSS in MiB of a fresh process running run_job on one-hour files."""
    results = {}
    for label, stereo in (("1 h mono pcm_16", False), ("1 h stereo pcm_16", True)):
        path = folder / f"memory-{'stereo' if stereo else 'mono'}-1h.wav"
        if not path.exists():
            call = synth.build_call(3600.0, rng=np.random.default_rng(7), stereo=stereo)
            synth.write_audio(path, call.samples, RATE, "pcm_16")
            del call
        source = _MEMORY_SCRIPT.format(
            repo=str(REPO), clip=str(NOTICE_CLIP), path=str(path)
        )
        usage = _run_script(source)
        results[label] = {
            "after_warm_up_mib": usage["before_kib"] / 1024,
            "peak_mib": usage["after_kib"] / 1024,
        }
    return results


def measure_cold_start(files: list[CorpusFile]) -> dict:
    """Return import, warm-up, first-file and second-file times of fresh workers."""
    short = [file for file in files if file.codec == "pcm_16" and not file.stereo]
    first, second = (str(file.path) for file in short[:2])
    results = {}
    for warm in (False, True):
        source = _COLD_SCRIPT.format(
            repo=str(REPO), clip=str(NOTICE_CLIP), first=first, second=second, warm=warm
        )
        results["with warm_up" if warm else "without warm_up"] = _run_script(source)
    results["files"] = {
        "first": f"{short[0].duration_s:.0f} s pcm_16",
        "second": f"{short[1].duration_s:.0f} s pcm_16",
    }
    return results


def time_notice(files: list[CorpusFile]) -> float:
    """Return mean seconds of notice detection on the first 15 s of a file."""
    audio.warm_up(NOTICE_CLIP)
    heads = []
    for file in files[:10]:
        samples, rate = sf.read(file.path, frames=15 * RATE, dtype="float32")
        heads.append((samples, rate))
    start = time.perf_counter()
    for samples, rate in heads:
        notice.detect_notice(samples, rate, NOTICE_CLIP)
    return (time.perf_counter() - start) / len(heads)


def machine() -> dict:
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
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(memory_kib / 1024**2, 1),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def _ratios(rtf: dict[str, float]) -> str:
    d_ratio = f"{rtf['a'] / rtf['d']:.1f}" if "d" in rtf else "n/a"
    return f"a/b={rtf['a'] / rtf['b']:.2f} a/c={rtf['a'] / rtf['c']:.1f} a/d={d_ratio}"


def print_load(label: str) -> tuple[float, float, float]:
    load = os.getloadavg()
    print(f"load average {label}: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return load


def measure_scaling(
    files: list[CorpusFile],
    catalog_dir: Path,
    rounds: int,
    costs: dict[Path, float],
) -> tuple[float, float]:
    """Return the fastest wall seconds of a pool of one and of two workers.

    The two pool sizes alternate, so that a change of load hits both.
    """
    best = {1: float("inf"), 2: float("inf")}
    for round_number in range(rounds):
        for workers in (1, 2):
            path = catalog_dir / f"pool{workers}-{round_number}.duckdb"
            seconds = time_pool(files, path, workers, costs)
            best[workers] = min(best[workers], seconds)
    return best[1], best[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="use a corpus of about 1 h instead of 6.3 h",
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=3,
        help="rounds of (a) to (d) and of each pool size; the fastest counts",
    )
    arguments = parser.parse_args()
    spec = QUICK_SPEC if arguments.quick else FULL_SPEC
    corpus_dir = CORPUS / ("quick" if arguments.quick else "full")

    print("machine:", json.dumps(machine()))
    start = time.perf_counter()
    files = build_corpus(corpus_dir, spec)
    print(
        f"corpus: {len(files)} files, {_audio_seconds(files) / 3600:.2f} h of audio "
        f"in {corpus_dir} (ready in {time.perf_counter() - start:.1f} s)"
    )
    pcm = [file for file in files if file.codec == "pcm_16" and not file.stereo]
    pcm_seconds = _audio_seconds(pcm)
    lengths = sorted(file.duration_s for file in pcm)
    print(
        f"8 kHz pcm_16 mono: {len(pcm)} files, {pcm_seconds / 3600:.2f} h, median "
        f"{lengths[len(lengths) // 2]:.0f} s, {lengths[0]:.0f} s to {lengths[-1]:.0f} s"
    )
    _read_into_page_cache(files)
    audio.warm_up()

    with tempfile.TemporaryDirectory() as temp:
        temp_dir = Path(temp)
        print("\nreal-time factor of (a) recwatch per file group, one process:")
        costs: dict[Path, float] = {}
        for group in sorted({file.group for file in files}):
            members = [file for file in files if file.group == group]
            seconds, group_costs = time_recwatch(members, temp_dir / group)
            costs.update(group_costs)
            rtf = _audio_seconds(members) / seconds
            print(f"  {group:<15} {_audio_seconds(members):8.0f} s audio  {rtf:8.0f} x")

        load = print_load("before (a) to (d)")
        seconds, cpu_seconds = compare_methods(pcm, temp_dir, arguments.rounds)
        print_load("after (a) to (d)")
        rtf = {name: pcm_seconds / value for name, value in seconds.items()}
        cpu_rtf = {name: pcm_seconds / value for name, value in cpu_seconds.items()}
        print(
            f"\nreal-time factor on 8 kHz pcm_16 mono ({pcm_seconds / 3600:.2f} h), "
            f"fastest of {arguments.rounds} rounds per file:"
        )
        labels = {
            "a": "(a) recwatch run_job + store_results",
            "b": "(b) read + SHA-256 + NumPy + RMS",
            "c": "(c) librosa.load + effects.split",
            "d": "(d) ffmpeg silencedetect per file",
        }
        print(f"  {'':<38} {'wall':>8}   {'CPU':>8}")
        for name, label in labels.items():
            if name in rtf:
                print(f"  {label:<38} {rtf[name]:8.0f} x {cpu_rtf[name]:8.0f} x")
        if "d" not in rtf:
            print("  (d) skipped: ffmpeg is not installed")
        # Under load, a method that takes longer per file is more often preempted,
        # so CPU-time ratios estimate the idle-machine ratios better than wall ones.
        print(f"cpu ratios: {_ratios(cpu_rtf)}")

        longest = max(pcm, key=lambda file: file.duration_s)
        print(
            f"stages of (a) on the longest pcm_16 file ({longest.duration_s:.0f} s), "
            "ms per 20 min of audio:"
        )
        print(f"  {json.dumps(stage_breakdown(longest))}")

        load = print_load("before the pools")
        if load[0] > IDLE_LOAD:
            print(
                f"WARNING: load average {load[0]:.2f} > {IDLE_LOAD} before the pools: "
                "other processes use the cores, so the two-worker figure shows the "
                "free CPU time and not how analysis scales"
            )
        one_time, two_time = measure_scaling(files, temp_dir, arguments.rounds, costs)
        print_load("after the pools")
    corpus_seconds = _audio_seconds(files)
    print(f"whole corpus ({corpus_seconds / 3600:.2f} h), fastest of each pool size:")
    print(
        f"  pool of 1 worker                       {corpus_seconds / one_time:8.0f} x"
    )
    print(
        f"  pool of 2 workers                      {corpus_seconds / two_time:8.0f} x"
    )
    print(
        f"notice detection on the first 15 s: {time_notice(pcm) * 1000:.1f} ms a file"
    )

    print("\npeak RSS of a fresh worker process (MiB):")
    for label, usage in measure_memory(corpus_dir).items():
        print(f"  {label}: {json.dumps(usage)}")
    print("cold start of a fresh worker process (s):")
    for label, times in measure_cold_start(files).items():
        print(f"  {label}: {json.dumps(times)}")
    print_load("at the end")
    print(f"ratios: {_ratios(rtf)} scale2={one_time / two_time:.2f}")


if __name__ == "__main__":
    main()
