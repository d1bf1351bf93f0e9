"""Smoke test of benchmarks/dashboard_scale.py at a tiny size.

It runs the script's generator and every measurement on 2,000 recordings and
2,000 access-log entries, with two pages in Chromium, so the script keeps working
as the dashboard changes. It checks what was measured, never how fast.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline import accesslog
from pipeline.catalog import DUCKDB_CONFIG

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "dashboard_scale.py"
ROWS = 2000


def load_script():
    """Import the benchmark script as a module."""
    spec = importlib.util.spec_from_file_location("dashboard_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_scale_benchmark_tiny_run(tmp_path: Path, chromium, capsys):
    script = load_script()
    arguments = script.parse_arguments(
        [
            "--rows",
            str(ROWS),
            "--pages",
            "recordings,accesslog",
            "--rounds",
            "1",
            "--repeats",
            "1",
            "--data-dir",
            str(tmp_path),
        ]
    )

    result = script.run(arguments, chromium=chromium)

    cached = script.cached_catalog(tmp_path, ROWS, ROWS)
    con = duckdb.connect(str(cached), read_only=True, config=DUCKDB_CONFIG)
    try:
        assert con.execute("SELECT count(*) FROM recordings").fetchall()[0][0] == ROWS
        states = dict(
            con.execute(
                "SELECT status, count(*) FROM recordings GROUP BY ALL"
            ).fetchall()
        )
        assert states.get("deleted", 0) > 0
        assert states.get("error", 0) > 0
        assert con.execute("SELECT count(*) FROM holds").fetchall()[0][0] > 0
        verified = accesslog.verify(con)
    finally:
        con.close()
    assert verified.entries == ROWS
    assert verified.intact, verified.problem

    case_names = {case.name for case in script.filter_cases(script.datetime.now(), 1)}
    assert set(result["ours"]) == case_names
    assert set(result["naive"]["filter_s"]) == case_names
    assert set(result["browser"]["render_s"]) == {"recordings", "accesslog"}
    assert set(result["browser"]["browser_filter_s"]) >= {
        "rec: next page",
        "log: actor user17",
    }
    assert result["browser"]["memory_after"]["hwm"] > 0

    output = capsys.readouterr().out
    assert "\nratios: render_max=" in output
    assert " rss=" in output
    assert [
        path.name for path in tmp_path.iterdir() if path.name.startswith("run-")
    ] == []
