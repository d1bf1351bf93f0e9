"""Bad command-line values stop each benchmark script with a usage error.

A script that accepted them used to start generating data and end in a
traceback, or print ratios over zero rounds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run_script(name: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--rows", "-5"], "--rows: invalid count '-5'", id="rows-neg"),
        pytest.param(["--rows", "0"], "--rows: invalid count '0'", id="rows-zero"),
        pytest.param(["--log-rows", "x"], "--log-rows: invalid count 'x'", id="log"),
        pytest.param(["--rounds", "0"], "--rounds: invalid count '0'", id="rounds"),
        pytest.param(["--repeats", "0"], "--repeats: invalid count '0'", id="repeats"),
        pytest.param(["--pages", ","], "--pages ',' names no page", id="no-page"),
        pytest.param(["--pages", "nope"], "unknown page key(s) ['nope']", id="page"),
    ],
)
def test_dashboard_scale_bad_value(tmp_path, arguments, message):
    completed = run_script(
        "dashboard_scale.py", *arguments, "--data-dir", str(tmp_path)
    )

    assert completed.returncode == 2
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("script", ["dashboard_scale.py", "scale.py"])
def test_data_dir_file_rejected(tmp_path, script):
    target = tmp_path / "file"
    target.write_text("x")
    arguments = ["reconcile"] if script == "scale.py" else []

    completed = run_script(script, *arguments, "--data-dir", str(target))

    assert completed.returncode == 2
    assert f"--data-dir: invalid folder '{target}': it is a file" in completed.stderr
    assert target.read_text() == "x"


def test_audio_zero_rounds_rejected():
    completed = run_script("audio.py", "--rounds", "0")

    assert completed.returncode == 2
    assert "--rounds: invalid count '0'" in completed.stderr
