"""Auditor notebooks executed with nbclient against generated snapshots, and reports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

import auditfixtures
import nbformat
import pytest
import request_fixtures
from nbformat.v4 import new_code_cell, new_notebook, new_output
from typer.testing import CliRunner

from pipeline import report_cli, requests, snapshots
from pipeline.catalog import Catalog
from pipeline.errors import RecwatchError

TESTS_DIR = Path(__file__).resolve().parent
NOTEBOOK_NAMES = list(auditfixtures.EXPECTED_VIOLATIONS)
SUMMARY = re.compile(r"^violations: (.*)$", re.MULTILINE)
VIOLATION = re.compile(r"^violation (\S+) (\S+): (.*)$", re.MULTILINE)
CELL_TIMEOUT_S = 180


def _run(name: str, snapshot: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(report_cli.NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    failure = report_cli.execute_notebook(notebook, snapshot, timeout_s=CELL_TIMEOUT_S)
    assert failure is None, f"{name} failed: {failure}"
    return notebook


def _stdout(notebook: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.get("name") == "stdout"
    )


def _summary(text: str) -> dict[str, str]:
    lines = SUMMARY.findall(text)
    assert len(lines) == 1, f"expected one summary line, found {lines}"
    return dict(part.split("=", 1) for part in lines[0].split())


def _objects(text: str, kind: str) -> list[str]:
    return [obj for found, obj, _ in VIOLATION.findall(text) if found == kind]


@pytest.fixture(scope="module")
def audit_outputs(tmp_path_factory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("audit")
    _, snapshot = auditfixtures.build_audit_catalog(base)
    return {name: _stdout(_run(name, snapshot)) for name in NOTEBOOK_NAMES}


@pytest.fixture(scope="module")
def minimal_outputs(tmp_path_factory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("minimal")
    _, snapshot = auditfixtures.build_minimal_catalog(base)
    return {name: _stdout(_run(name, snapshot)) for name in NOTEBOOK_NAMES}


# --- violations found -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "count"),
    [
        pytest.param(name, kind, count, id=f"{name}-{kind}")
        for name, kinds in auditfixtures.EXPECTED_VIOLATIONS.items()
        for kind, count in kinds.items()
    ],
)
def test_notebook_reports_violation(audit_outputs, name: str, kind: str, count: int):
    summary = _summary(audit_outputs[name])
    assert summary[kind] == str(count)
    assert len(_objects(audit_outputs[name], kind)) == count


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_summary_lists_only_known_kinds(audit_outputs, name: str):
    summary = _summary(audit_outputs[name])
    assert set(summary) == set(auditfixtures.EXPECTED_VIOLATIONS[name])


@pytest.mark.parametrize(
    ("name", "kind", "objects"),
    [
        pytest.param("retention_audit", "kept_past_retention", ["2"], id="kept"),
        pytest.param("retention_audit", "deleted_late", ["6"], id="late"),
        pytest.param("retention_audit", "deleted_early", ["14"], id="early"),
        pytest.param("retention_audit", "deleted_without_record", ["7"], id="record"),
        pytest.param("retention_audit", "missing_without_purge", ["8"], id="missing"),
        pytest.param("retention_audit", "hold_without_reason", ["2"], id="hold"),
        pytest.param("access_audit", "access_log_chain_broken", ["2"], id="chain"),
        pytest.param("access_audit", "access_without_request", ["5"], id="request"),
        pytest.param("access_audit", "after_hours_access", ["4", "6"], id="hours"),
        pytest.param("access_audit", "unreviewed_month", ["2026-01"], id="review"),
        pytest.param("requests_audit", "overdue_notice", ["2026-0002"], id="due"),
        pytest.param("requests_audit", "late_notice", ["2026-0004"], id="notice"),
        pytest.param("requests_audit", "ledger_incomplete", ["2026-0004"], id="ledger"),
        pytest.param(
            "requests_audit", "approval_out_of_order", ["2026-0003"], id="order"
        ),
        pytest.param("quality_audit", "silent_call", ["9"], id="silent"),
        pytest.param("quality_audit", "one_way_audio", ["10"], id="one-way"),
        pytest.param("quality_audit", "missing_notice", ["11"], id="notice-audio"),
        pytest.param("quality_audit", "full_mode_without_approval", ["13"], id="line"),
    ],
)
def test_violation_names_object(audit_outputs, name: str, kind: str, objects):
    assert _objects(audit_outputs[name], kind) == objects


def test_held_overdue_recording_not_reported(audit_outputs):
    assert "3" not in _objects(audit_outputs["retention_audit"], "kept_past_retention")


def test_own_copy_export_needs_no_request(audit_outputs):
    # Entry 6 is the party's own copy of recording 10.
    assert "6" not in _objects(audit_outputs["access_audit"], "access_without_request")


def test_chain_problem_names_entry(audit_outputs):
    assert "ACCESS LOG BROKEN at entry 2" in audit_outputs["access_audit"]


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_states_snapshot_time(audit_outputs, name: str):
    assert "2026-03-31 10:00:00 (Asia/Seoul)" in audit_outputs[name]


# --- optional tables absent -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        pytest.param("retention_audit", "hold_without_reason", id="holds"),
        pytest.param("retention_audit", "deleted_without_record", id="destruction"),
        pytest.param("access_audit", "unreviewed_month", id="reviews"),
        pytest.param("requests_audit", "overdue_notice", id="requests"),
        pytest.param("requests_audit", "approval_out_of_order", id="approvals"),
    ],
)
def test_absent_table_not_checked(minimal_outputs, name: str, kind: str):
    assert _summary(minimal_outputs[name])[kind] == "not_checked"


def test_absent_tables_still_check_rest(minimal_outputs):
    retention = _summary(minimal_outputs["retention_audit"])
    quality = _summary(minimal_outputs["quality_audit"])
    assert retention["kept_past_retention"] == "3"
    assert retention["deleted_late"] == "1"
    assert quality["silent_call"] == "1"


def test_absent_tables_are_stated(minimal_outputs):
    assert "holds table absent" in minimal_outputs["retention_audit"]
    assert "request tables absent" in minimal_outputs["requests_audit"]
    assert "access_log_reviews table absent" in minimal_outputs["access_audit"]


# --- a fresh system: no requests, the daily purge still to come -----------------------

# Retention is 30 days. The first call expired 2 hours before the snapshot, after
# the last daily purge, and the second one expired 3 days before it.
FRESH_CALL_AGES = {
    "expired_2_hours_ago": timedelta(days=30, hours=2),
    "expired_3_days_ago": timedelta(days=33),
}


def _build_fresh_catalog(base: Path, *, submitted_request: bool) -> dict:
    """Write a catalog with the two calls above and publish its snapshot."""
    config = auditfixtures.make_config(base)
    with Catalog(config.catalog_path) as catalog:
        ids = {
            name: request_fixtures.add_recording(
                catalog, base / "calls", auditfixtures.TAKEN_AT - age, seed=seed
            )
            for seed, (name, age) in enumerate(FRESH_CALL_AGES.items())
        }
        if submitted_request:
            # Submitted only, so its due_on is NULL.
            requests.submit_request(
                catalog,
                request_fixtures.OPERATOR,
                request_fixtures.sample_form(),
                now=auditfixtures.TAKEN_AT - timedelta(days=1),
            )
        path = snapshots.publish_snapshot(catalog, config, now=auditfixtures.TAKEN_AT)
    return {"config": config, "snapshot": path, "ids": ids}


@pytest.fixture(scope="module")
def fresh_system(tmp_path_factory) -> dict:
    return _build_fresh_catalog(
        tmp_path_factory.mktemp("fresh"), submitted_request=False
    )


def test_fresh_snapshot_has_no_requests(fresh_system):
    manifest = json.loads(snapshots.manifest_path(fresh_system["snapshot"]).read_text())
    assert manifest["row_counts"]["requests"] == 0
    assert manifest["row_counts"]["recordings"] == 2


def test_requests_audit_without_requests(fresh_system):
    text = _stdout(_run("requests_audit", fresh_system["snapshot"]))
    assert "requests: 0" in text
    assert set(_summary(text).values()) == {"0"}


def test_requests_audit_request_not_provided(tmp_path: Path):
    fresh = _build_fresh_catalog(tmp_path, submitted_request=True)
    text = _stdout(_run("requests_audit", fresh["snapshot"]))
    assert "requests: 1" in text
    assert set(_summary(text).values()) == {"0"}


def test_report_command_without_requests(fresh_system, tmp_path: Path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        report_cli.report_app,
        [
            "report",
            "requests_audit",
            "--snapshot",
            str(fresh_system["snapshot"]),
            "--out",
            str(out),
        ],
        env={"RECWATCH_CONFIG": ""},
    )
    assert result.exit_code == 0, result.output
    assert "overdue_notice=0" in out.read_text(encoding="utf-8")


def test_kept_past_retention_grace(fresh_system):
    text = _stdout(_run("retention_audit", fresh_system["snapshot"]))
    ids = fresh_system["ids"]
    assert _summary(text)["kept_past_retention"] == "1"
    assert _objects(text, "kept_past_retention") == [str(ids["expired_3_days_ago"])]
    assert "awaiting the next daily purge: 1" in text


def test_retention_grace_in_caveats():
    notebook = nbformat.read(
        report_cli.NOTEBOOK_DIR / "retention_audit.ipynb", as_version=4
    )
    caveats = " ".join(notebook.cells[0].source.split())
    assert "still on disk up to one day after expiry" in caveats


# --- kernel and reports ---------------------------------------------------------------


def test_kernel_runs_this_interpreter(tmp_path: Path):
    notebook = new_notebook(
        cells=[new_code_cell("import sys, os\nprint(sys.executable)")]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    failure = report_cli.execute_notebook(notebook, tmp_path / "x", timeout_s=60)
    assert failure is None
    printed = notebook.cells[0].outputs[0]["text"].strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve()


def test_build_matches_committed_notebooks():
    sys.path.insert(0, str(report_cli.NOTEBOOK_DIR))
    try:
        import build
    finally:
        sys.path.remove(str(report_cli.NOTEBOOK_DIR))
    for name in build.NOTEBOOKS:
        committed = nbformat.read(
            report_cli.NOTEBOOK_DIR / f"{name}.ipynb", as_version=4
        )
        generated = build.build(name)
        assert [cell.source for cell in committed.cells] == [
            cell.source for cell in generated.cells
        ], f"{name}.ipynb is stale: run notebooks/build.py"


@pytest.fixture(scope="module")
def audit_snapshot(tmp_path_factory) -> tuple:
    base = tmp_path_factory.mktemp("report")
    return auditfixtures.build_audit_catalog(base)


def test_report_writes_html(audit_snapshot, tmp_path: Path):
    config, snapshot = audit_snapshot
    out = report_cli.write_report(
        "quality_audit", tmp_path / "quality.html", snapshot=snapshot, config=config
    )
    page = out.read_text(encoding="utf-8")
    assert "violations: silent_call=1" in page
    assert "녹음 품질 감사" in page
    # BokehJS is inline, so the plots render without network access.
    assert "Bokeh.set_log_level" in page or "bokeh-3" in page
    assert "<script" in page


def test_report_without_kernel_or_export_warnings(
    audit_snapshot, tmp_path: Path, capfd
):
    config, snapshot = audit_snapshot
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report_cli.write_report(
            "retention_audit", tmp_path / "r.html", snapshot=snapshot, config=config
        )
    messages = [str(warning.message) for warning in caught]
    assert not [message for message in messages if "mimetype" in message]
    # The kernel subprocess writes its own warnings to the inherited stderr.
    assert "without encryption" not in capfd.readouterr().err


def test_html_drops_only_empty_outputs():
    cell = new_code_cell("plot")
    cell.outputs = [
        new_output("display_data", data={}),
        new_output("display_data", data={"text/html": "<div>plot</div>"}),
        new_output("stream", name="stdout", text="printed\n"),
    ]
    notebook = new_notebook(cells=[cell])
    page = report_cli.notebook_to_html(notebook, title="t")
    assert "<div>plot</div>" in page
    assert "printed" in page
    # The executed notebook itself stays as it was.
    assert len(notebook.cells[0].outputs) == 3


def test_report_rejects_tampered_snapshot(audit_snapshot, tmp_path: Path):
    config, snapshot = audit_snapshot
    copy = tmp_path / snapshot.name
    data = bytearray(snapshot.read_bytes())
    data[-100] ^= 0xFF
    copy.write_bytes(bytes(data))
    snapshots.manifest_path(copy).write_bytes(
        snapshots.manifest_path(snapshot).read_bytes()
    )
    out = tmp_path / "report.html"
    with pytest.raises(RecwatchError, match="SHA-256 mismatch"):
        report_cli.write_report("quality_audit", out, snapshot=copy, config=config)
    assert not out.exists()


def test_report_command_unknown_name(tmp_path: Path):
    result = CliRunner().invoke(
        report_cli.report_app, ["report", "nope", "--out", str(tmp_path / "x.html")]
    )
    assert result.exit_code == 2
    assert "report 'nope' is unknown" in result.output


def test_report_command_writes_file(audit_snapshot, tmp_path: Path):
    _, snapshot = audit_snapshot
    out = tmp_path / "access.html"
    result = CliRunner().invoke(
        report_cli.report_app,
        [
            "report",
            "access_audit",
            "--snapshot",
            str(snapshot),
            "--out",
            str(out),
        ],
        env={"RECWATCH_CONFIG": ""},
    )
    assert result.exit_code == 0, result.output
    assert "access_log_chain_broken=1" in out.read_text(encoding="utf-8")


def _write_config(base: Path) -> Path:
    path = base / "recwatch.toml"
    path.write_text(
        f'data_dir = "{base / "data"}"\n[[recorders]]\nroot = "{base / "spool"}"\n',
        encoding="utf-8",
    )
    (base / "spool").mkdir(exist_ok=True)
    return path


def test_snapshot_command_publishes(tmp_path: Path):
    config_path = _write_config(tmp_path)
    # The command snapshots an existing catalog and never creates one.
    Catalog(tmp_path / "data" / "catalog.duckdb").close()
    result = CliRunner().invoke(
        report_cli.report_app,
        ["snapshot", "--config", str(config_path)],
        env={"RECWATCH_CONFIG": ""},
    )
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip().splitlines()[-1])
    assert path.parent == tmp_path / "data" / "snapshots"
    assert json.loads(snapshots.manifest_path(path).read_text())["reason"] == "manual"


def test_snapshot_command_without_catalog(tmp_path: Path):
    config_path = _write_config(tmp_path)
    result = CliRunner().invoke(
        report_cli.report_app,
        ["snapshot", "--config", str(config_path)],
        env={"RECWATCH_CONFIG": ""},
    )
    assert result.exit_code == 1
    assert "was not found" in result.output
    assert not (tmp_path / "data" / "catalog.duckdb").exists()


def test_snapshot_command_locked_catalog(tmp_path: Path):
    config_path = _write_config(tmp_path)
    script = (
        "import sys, time\n"
        "from pipeline.catalog import Catalog\n"
        "catalog = Catalog(sys.argv[1])\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "data" / "catalog.duckdb")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout.readline().strip() == "ready"
        result = CliRunner().invoke(
            report_cli.report_app,
            ["snapshot", "--config", str(config_path)],
            env={"RECWATCH_CONFIG": ""},
        )
    finally:
        owner.kill()
        owner.wait()
    assert result.exit_code == 1
    assert "publishes snapshots on its schedule" in result.output


# --- reading while a server ingests ---------------------------------------------------


def _write_calls(spool: Path, first: int, count: int) -> None:
    import conftest

    for index in range(first, first + count):
        conftest.write_call(
            spool,
            auditfixtures.seoul(2026, 3, 2, 10, index),
            unique=f"1764812345.{index}",
            seed=index,
            seconds=1.0,
        )


def _newest_recording_count(folder: Path) -> int:
    found = snapshots.list_snapshots(folder)
    if not found:
        return 0
    manifest = snapshots.manifest_path(found[-1])
    try:
        return json.loads(manifest.read_text())["row_counts"]["recordings"]
    except (OSError, ValueError, KeyError):
        return 0


def _wait_for(predicate, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(0.2)


@pytest.mark.slow
def test_notebook_runs_while_server_ingests_and_purges(tmp_path: Path):
    stop_file = tmp_path / "stop"
    spool = tmp_path / "spool"
    snapshot_folder = tmp_path / "data" / "snapshots"
    spool.mkdir()
    server = subprocess.Popen(
        [
            sys.executable,
            str(TESTS_DIR / "auditfixtures.py"),
            str(tmp_path),
            str(stop_file),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(TESTS_DIR.parent)},
    )
    try:
        _write_calls(spool, 0, 3)
        _wait_for(lambda: _newest_recording_count(snapshot_folder) >= 3)
        reading = snapshots.list_snapshots(snapshot_folder)[-1]
        _write_calls(spool, 3, 3)
        notebook = _run("quality_audit", reading)
        _wait_for(lambda: _newest_recording_count(snapshot_folder) >= 6)
    finally:
        stop_file.touch()
        _, stderr = server.communicate(timeout=120)
    assert server.returncode == 0, stderr
    assert "lock" not in stderr.lower()
    assert "Traceback" not in stderr
    assert "analysed calls: " in _stdout(notebook)
    with Catalog(tmp_path / "data" / "catalog.duckdb") as catalog:
        assert catalog.query("SELECT count(*) FROM recordings")[0][0] == 6
        # The calls are long expired, so the server purged them while the
        # notebook read its snapshot.
        assert (
            catalog.query("SELECT count(*) FROM recordings WHERE status = 'deleted'")[
                0
            ][0]
            >= 3
        )
