"""Measure the speed, memory and cold-start cost of recwatch's audio analysis.

Run from the repository root::

    .venv/bin/python benchmarks/audio.py            # 5.2 h corpus
    .venv/bin/python benchmarks/audio.py --quick    # 20 min corpus

The corpus of made-up calls (``pipeline.synth``, recorded speech) is written once
under benchmarks/corpus/ and reused. The script prints the real-time factor (audio
seconds per wall second) of:

(a) recwatch's per-file work: read, SHA-256, decode, all stats and the catalog
    insert, through ``pipeline.analysis.run_job`` and
    ``pipeline.recordings.store_results`` on a catalog in a temporary folder;
(b) the physical limit: read the bytes, SHA-256, NumPy decode, framed RMS;
(c) ``librosa.load(path)`` with its defaults plus ``librosa.effects.split``;
(d) ``ffmpeg -af silencedetect``.

(a) to (d) are compared on the 8 kHz 16-bit PCM files. (a) is also given per codec,
and with one and two worker processes. The last line is
``ratios: a/b=... a/c=... a/d=... scale2=...``. The script also measures peak
memory on one-hour files and the import, warm-up, first-file and later-file cost
of a fresh worker process, each in a subprocess of its own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline import analysis, audio, notice, synth  # noqa: E402
from pipeline.catalog import Catalog  # noqa: E402
from pipeline.ingest import MAX_BATCH_ROWS  # noqa: E402
from pipeline.recordings import store_results  # noqa: E402

CORPUS = REPO / "benchmarks" / "corpus"
NOTICE_CLIP = synth.PROMPT_DIR / synth.NOTICE_PROMPT
RATE = synth.PROMPT_RATE

# (codec, stereo, durations in seconds). The full corpus has 18,600 s (5.17 h).
FULL_SPEC = [
    ("pcm_16", False, [30, 60, 120, 300, 600, 1200] * 4),
    ("mulaw", False, [30, 120, 600, 1200]),
    ("alaw", False, [30, 120, 600, 1200]),
    ("gsm", False, [30, 120, 600, 1200]),
    ("mp3", False, [30, 120, 600, 1200]),
    ("pcm_16", True, [60, 300, 1200]),
]
QUICK_SPEC = [
    ("pcm_16", False, [30, 60, 120, 300]),
    ("mulaw", False, [30, 120]),
    ("alaw", False, [30, 120]),
    ("gsm", False, [30, 120]),
    ("mp3", False, [30, 120]),
    ("pcm_16", True, [60]),
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


def build_corpus(folder: Path, spec: list) -> list[CorpusFile]:
    """Write the calls that are missing and return every file of the spec."""
    root = folder / "spool"
    root.mkdir(parents=True, exist_ok=True)
    files = []
    index = 0
    for codec, stereo, durations in spec:
        for duration in durations:
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
    return files


def _audio_seconds(files: list[CorpusFile]) -> float:
    return sum(file.duration_s for file in files)


# -- (a) recwatch ----------------------------------------------------------------------


def _job(file: CorpusFile) -> analysis.Job:
    return analysis.Job(
        path=str(file.path), root=str(file.path.parent), profile_name="freepbx"
    )


class _BatchWriter:
    """Store results in batches on the catalog's writer thread, as ingest does."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.pending: list[analysis.JobResult] = []
        self.futures = []

    def add(self, result: analysis.JobResult) -> None:
        if result.error:
            raise RuntimeError(f"analysis failed on {result.path}: {result.error}")
        self.pending.append(result)
        if len(self.pending) >= MAX_BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if batch:
            self.futures.append(
                self.catalog.submit(lambda con: store_results(con, batch))
            )

    def wait(self) -> None:
        self.flush()
        for future in self.futures:
            future.result()


def time_recwatch(files: list[CorpusFile], catalog_dir: Path) -> float:
    """Run run_job and store_results in this process; return wall seconds."""
    with Catalog(catalog_dir / "catalog.duckdb") as catalog:
        writer = _BatchWriter(catalog)
        start = time.perf_counter()
        for file in files:
            writer.add(analysis.run_job(_job(file)))
        writer.wait()
        return time.perf_counter() - start


def time_pool(files: list[CorpusFile], catalog_dir: Path, workers: int) -> float:
    """Run the jobs on a warmed-up spawn pool of ``workers``; return wall seconds."""
    context = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(
            workers, mp_context=context, initializer=audio.warm_up
        ) as pool,
        Catalog(catalog_dir / f"pool{workers}.duckdb") as catalog,
    ):
        # Start and warm every worker before timing, so process start-up is not counted.
        list(pool.map(time.sleep, [0.5] * workers))
        # Longest files first, so no worker is left with a long file at the end.
        ordered = sorted(files, key=lambda file: -file.duration_s)
        writer = _BatchWriter(catalog)
        start = time.perf_counter()
        for result in pool.map(analysis.run_job, [_job(file) for file in ordered]):
            writer.add(result)
        writer.wait()
        return time.perf_counter() - start


# -- (b) physical limit ----------------------------------------------------------------


def time_physical(files: list[CorpusFile], frame_ms: int = 20) -> float:
    """Read, hash, decode 16-bit PCM with NumPy and compute framed RMS."""
    start = time.perf_counter()
    for file in files:
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
    return time.perf_counter() - start


# -- (c) librosa and (d) ffmpeg ------------------------------------------------------


def time_librosa(files: list[CorpusFile]) -> float:
    import librosa

    start = time.perf_counter()
    for file in files:
        samples, rate = librosa.load(file.path)
        librosa.effects.split(samples)
    return time.perf_counter() - start


def time_ffmpeg(files: list[CorpusFile]) -> float:
    start = time.perf_counter()
    for file in files:
        subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-i", str(file.path)]
            + ["-af", "silencedetect=noise=-45dB:d=0.5", "-f", "null", "-"],
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - start


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
# the catalog modules, DuckDB and pandas.
from pipeline import audio, ingest
audio.warm_up({clip!r})
before = high_water_kib()
result = audio.analyze_file({path!r}, notice_clip={clip!r})
after = high_water_kib()
print(json.dumps({{"before_kib": before, "after_kib": after,
                  "duration_s": result["duration_s"]}}))
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
    """Return peak RSS in MiB of a fresh process analysing one-hour files."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="use a 20 min corpus instead of 5.2 h"
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
    audio.warm_up()

    with tempfile.TemporaryDirectory() as temp:
        temp_dir = Path(temp)
        print("\nreal-time factor of (a) recwatch per file group, one process:")
        for group in sorted({file.group for file in files}):
            members = [file for file in files if file.group == group]
            seconds = time_recwatch(members, temp_dir / group)
            rtf = _audio_seconds(members) / seconds
            print(f"  {group:<15} {_audio_seconds(members):8.0f} s audio  {rtf:8.0f} x")

        a_time = time_recwatch(pcm, temp_dir / "a")
        b_time = time_physical(pcm)
        c_time = time_librosa(pcm)
        d_time = time_ffmpeg(pcm)
        one_time = time_pool(pcm, temp_dir, 1)
        two_time = time_pool(pcm, temp_dir, 2)

    rtf = {
        name: pcm_seconds / seconds
        for name, seconds in (
            ("a", a_time),
            ("b", b_time),
            ("c", c_time),
            ("d", d_time),
        )
    }
    print(f"\nreal-time factor on 8 kHz pcm_16 mono ({pcm_seconds / 3600:.2f} h):")
    print(f"  (a) recwatch run_job + store_results   {rtf['a']:8.0f} x")
    print(f"  (b) read + SHA-256 + NumPy + RMS       {rtf['b']:8.0f} x")
    print(f"  (c) librosa.load + effects.split       {rtf['c']:8.0f} x")
    print(f"  (d) ffmpeg silencedetect               {rtf['d']:8.0f} x")
    print(f"  pool of 1 worker                       {pcm_seconds / one_time:8.0f} x")
    print(f"  pool of 2 workers                      {pcm_seconds / two_time:8.0f} x")
    print(
        f"notice detection on the first 15 s: {time_notice(pcm) * 1000:.1f} ms a file"
    )

    print("\npeak RSS of a fresh worker process (MiB):")
    for label, usage in measure_memory(corpus_dir).items():
        print(f"  {label}: {json.dumps(usage)}")
    print("cold start of a fresh worker process (s):")
    for label, times in measure_cold_start(files).items():
        print(f"  {label}: {json.dumps(times)}")
    print("load average after the run:", os.getloadavg())
    print(
        f"ratios: a/b={rtf['a'] / rtf['b']:.2f} a/c={rtf['a'] / rtf['c']:.1f} "
        f"a/d={rtf['a'] / rtf['d']:.1f} scale2={one_time / two_time:.2f}"
    )


if __name__ == "__main__":
    main()
