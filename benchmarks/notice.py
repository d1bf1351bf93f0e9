"""Measure precision and recall of recording-notice detection per codec and SNR.

Run from the repository root::

    .venv/bin/python benchmarks/notice.py            # 40 calls per cell, 800 calls
    .venv/bin/python benchmarks/notice.py --quick    # 10 calls per cell

Each cell (codec x SNR) has equal numbers of calls with the notice
(conf-now-recording.wav at a random offset within the first 15 s) and without it.
Calls without it are built from other prompts of the same voice, half of them
conf-* and vm-* prompts that share words with the notice. Gains cycle through
-10, 0 and +10 dB. Calls are written in each codec and read back from the file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline import notice, synth  # noqa: E402

CLIP = synth.PROMPT_DIR / synth.NOTICE_PROMPT
SNRS = (None, 30.0, 20.0, 10.0)
GAINS = (-10.0, 0.0, 10.0)


def run_cell(
    folder: Path, codec: str, snr_db: float | None, calls: int, seed: int
) -> dict:
    """Detect the notice in ``calls`` calls, half with it; return the counts."""
    rng = np.random.default_rng(seed)
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    positive_scores, negative_scores, offset_errors = [], [], []
    for index in range(calls):
        positive = index % 2 == 0
        call = synth.build_notice_call(
            rng=rng,
            notice=positive,
            snr_db=snr_db,
            gain_db=GAINS[(index // 2) % len(GAINS)],
        )
        path = folder / f"call.{codec}"
        synth.write_audio(path, call.samples, call.sample_rate, codec)
        result = notice.detect_notice_in_file(path, CLIP)
        if positive:
            positive_scores.append(result["score"])
            counts["tp" if result["found"] else "fn"] += 1
            if result["found"]:
                offset_errors.append(abs(result["offset_s"] - call.notice_interval[0]))
        else:
            negative_scores.append(result["score"])
            counts["fp" if result["found"] else "tn"] += 1
    return {
        **counts,
        "min_positive": min(positive_scores),
        "max_negative": max(negative_scores),
        "max_offset_error_s": max(offset_errors, default=float("nan")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="10 calls per cell instead of 40"
    )
    arguments = parser.parse_args()
    calls = 10 if arguments.quick else 40

    print(f"threshold {notice.DEFAULT_THRESHOLD}, window {notice.DEFAULT_WINDOW_S} s")
    print(
        "codec    SNR dB  calls  precision  recall  min score (notice)  "
        "max score (none)  max offset error s"
    )
    totals: dict[str, dict[str, int]] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as temp:
        for snr_index, snr_db in enumerate(SNRS):
            for codec_index, codec in enumerate(synth.CODECS):
                seed = 100 * snr_index + codec_index
                cell = run_cell(Path(temp), codec, snr_db, calls, seed)
                predicted = cell["tp"] + cell["fp"]
                precision = cell["tp"] / predicted if predicted else 1.0
                recall = cell["tp"] / (cell["tp"] + cell["fn"])
                label = "clean" if snr_db is None else f"{snr_db:.0f}"
                print(
                    f"{codec:<8} {label:>6}  {calls:5d}  {precision:9.3f}  "
                    f"{recall:6.3f}  {cell['min_positive']:18.3f}  "
                    f"{cell['max_negative']:16.3f}  {cell['max_offset_error_s']:18.3f}"
                )
                total = totals.setdefault(label, {"tp": 0, "fp": 0, "fn": 0})
                for key in total:
                    total[key] += cell[key]
    for label, total in totals.items():
        predicted = total["tp"] + total["fp"]
        precision = total["tp"] / predicted if predicted else 1.0
        recall = total["tp"] / (total["tp"] + total["fn"])
        print(f"all codecs at {label}: precision {precision:.3f} recall {recall:.3f}")
    print(f"elapsed {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
