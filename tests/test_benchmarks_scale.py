"""Smoke tests of benchmarks/scale.py at tiny sizes, so the script keeps working.

Each test runs one measurement as a subprocess, exactly as a developer would, on
data under tmp_path. The script checks its own results (every file cataloged,
every expired file destroyed with a record) and exits non-zero when a check
fails. No figure is compared with its target here: speed belongs to the
benchmark run, not to CI.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "scale.py"


def run_scale(tmp_path: Path, *arguments: str) -> str:
    """Run the benchmark script with ``arguments``; return its standard output."""
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), *arguments, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def ratio_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("ratios: ")]
    assert lines, output
    return lines[-1]


def test_reconcile_small_tree(tmp_path):
    output = run_scale(tmp_path, "reconcile", "--files", "300", "--rounds", "1")
    assert "cataloged 300 files" in output
    assert re.search(r"reconcile/find=\d+\.\d\d", ratio_line(output))
    assert "load average before reconcile" in output
    assert "load average after reconcile" in output


def test_reconcile_reuses_cataloged_tree(tmp_path):
    run_scale(tmp_path, "reconcile", "--files", "120", "--rounds", "1")
    output = run_scale(tmp_path, "reconcile", "--files", "120", "--rounds", "1")
    assert "reusing 120 cataloged files" in output
    assert "cataloged 120 files" not in output


def test_latency_two_seconds(tmp_path):
    output = run_scale(tmp_path, "latency", "--seconds", "2", "--rate", "20")
    assert "(40 calls)" in output
    assert re.search(r"p95 +\d+\.\d{3} s", output)
    assert re.search(r"latency_p95=\d+\.\d\ds", ratio_line(output))


def test_purge_two_hundred_files(tmp_path):
    output = run_scale(tmp_path, "purge", "--purge-files", "200")
    assert "all checks passed" in output
    assert re.search(r"purge_s=\d+\.\ds", ratio_line(output))
    assert list((tmp_path / "purge" / "spool").rglob("*.wav")) == []


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(["--files", "0"], id="empty-tree"),
        pytest.param(["--purge-files", "-5"], id="negative-purge"),
    ],
)
def test_invalid_size_is_rejected(tmp_path, arguments):
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "all", *arguments, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "expected a whole number of at least 1" in completed.stderr


def test_all_prints_final_ratios(tmp_path):
    output = run_scale(
        tmp_path,
        "all",
        "--files",
        "200",
        "--seconds",
        "1",
        "--purge-files",
        "100",
        "--rounds",
        "1",
    )
    final = ratio_line(output)
    assert re.fullmatch(
        r"ratios: reconcile/find=\S+ latency_p95=\S+s purge_100=\S+s", final
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            ["latency", "--rate", "0"], "--rate: invalid value '0'", id="rate"
        ),
        pytest.param(
            ["latency", "--seconds", "-1"], "--seconds: invalid value '-1'", id="secs"
        ),
        pytest.param(
            ["purge", "--purge-call-s", "0"], "--purge-call-s: invalid", id="call"
        ),
        pytest.param(["reconcile", "--files", "0"], "--files: invalid count", id="n"),
    ],
)
def test_bad_arguments_are_rejected(tmp_path, arguments, message):
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), *arguments, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr
