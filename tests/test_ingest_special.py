"""Ingest of FIFOs, dangling links and other entries that are not regular files.

Opening a FIFO for reading waits until a writer opens it, so every test that
puts a FIFO in the spool runs under a timeout: a regression shows as a timed
out test instead of a hung run.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from datetime import datetime
from pathlib import Path

import pytest
from conftest import freepbx_name, wait_until, write_call

from pipeline.analysis import FLAG_NOT_REGULAR, Job, open_regular, redact, run_job
from pipeline.catalog import Catalog
from pipeline.ingest import Ingestor, IngestSummary
from pipeline.scan import list_tree, scan_tree, wav_header_incomplete

START = datetime(2026, 12, 3, 14, 15, 0)
TIMEOUT_S = 120


def day_folder(config) -> Path:
    folder = config.recorders[0].root / "2026/12/03"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def make_fifo(config, unique: str = "1764812399.1") -> Path:
    path = day_folder(config) / freepbx_name(START, unique=unique)
    os.mkfifo(path)
    return path


def make_dangling_link(config, tmp_path: Path, unique: str = "1764812398.1") -> Path:
    path = day_folder(config) / freepbx_name(START, unique=unique)
    path.symlink_to(tmp_path / "nowhere.wav")
    return path


def row(catalog: Catalog, path: Path) -> tuple | None:
    found = catalog.query(
        "SELECT status, flags, error, size_bytes, line, missing_since IS NOT NULL"
        " FROM recordings WHERE path = ?",
        [str(path)],
    )
    return found[0] if found else None


def write_calls(config, count: int) -> list[Path]:
    return [
        write_call(
            config.recorders[0].root,
            START.replace(minute=index),
            unique=f"176481230{index}.1",
            seed=index,
        )
        for index in range(count)
    ]


def ingest_spool(catalog, config, executor) -> IngestSummary:
    ingestor = Ingestor(catalog, config, executor=executor)
    try:
        ingestor.ingest_once([config.recorders[0].root])
    finally:
        ingestor.stop()
    return ingestor.last_summary


# -- run_job and the scan, without a pool ---------------------------------------


@pytest.mark.timeout(TIMEOUT_S)
def test_run_job_fifo_gets_error_row(config):
    fifo = make_fifo(config)
    result = run_job(Job(str(fifo), str(config.recorders[0].root), "freepbx"))
    assert result.outcome == "analysed"
    assert result.flags == [FLAG_NOT_REGULAR]
    assert "FIFO" in result.error
    assert result.sha256 is None
    assert result.size_bytes == 0
    assert result.mtime_ns == os.lstat(fifo).st_mtime_ns
    assert result.metadata["line"] == "2101"


@pytest.mark.timeout(TIMEOUT_S)
def test_run_job_socket_gets_error_row(config):
    # A short name, because a socket path is limited to 107 bytes on Linux.
    path = day_folder(config) / "call.wav"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        result = run_job(Job(str(path), str(config.recorders[0].root), "freepbx"))
    finally:
        server.close()
    assert FLAG_NOT_REGULAR in result.flags
    assert "is a socket" in result.error


@pytest.mark.timeout(TIMEOUT_S)
def test_scan_lists_fifo_with_size_zero(config, tmp_path):
    fifo = make_fifo(config)
    link = make_dangling_link(config, tmp_path)
    (call,) = write_calls(config, 1)
    root = config.recorders[0].root
    found = scan_tree(root, [])
    assert set(found) == {str(fifo), str(link), str(call)}
    assert found[str(fifo)][0] == 0
    assert found[str(link)][0] == 0
    assert found[str(call)][0] == call.stat().st_size
    assert list_tree(root, []) == set(found)


@pytest.mark.timeout(TIMEOUT_S)
def test_scan_skips_ignored_fifo(config):
    fifo = make_fifo(config)
    ignored = fifo.with_name(fifo.name + ".part")
    os.rename(fifo, ignored)
    assert scan_tree(config.recorders[0].root, ["*.part"]) == {}


@pytest.mark.timeout(TIMEOUT_S)
def test_header_check_does_not_open_fifo(config):
    fifo = make_fifo(config)
    assert not wav_header_incomplete(str(fifo), 0)


@pytest.mark.timeout(TIMEOUT_S)
def test_open_regular_rejects_link(config, tmp_path):
    (call,) = write_calls(config, 1)
    link = day_folder(config) / "link.wav"
    link.symlink_to(call)
    with pytest.raises(OSError) as raised:
        open_regular(link)
    assert raised.value.errno == errno.ELOOP


# -- ingest --once ----------------------------------------------------------------


@pytest.mark.timeout(TIMEOUT_S)
def test_once_catalogs_fifo_and_dangling_link(
    catalog, config, executor, tmp_path, caplog
):
    calls = write_calls(config, 3)
    fifo = make_fifo(config)
    link = make_dangling_link(config, tmp_path)
    caplog.set_level(logging.INFO, logger="pipeline")

    summary = ingest_spool(catalog, config, executor)

    assert summary == IngestSummary(
        files=5, analysed=5, unchanged=0, skipped=0, errors=2, rows_in_error=2
    )
    assert summary.files == summary.analysed + summary.unchanged + summary.skipped
    status, flags, error, size, line, missing = row(catalog, fifo)
    assert status == "error"
    assert flags == [FLAG_NOT_REGULAR]
    assert "is a FIFO (named pipe)" in error
    assert size == 0
    assert line == "2101"
    assert not missing
    status, flags, error, size, line, missing = row(catalog, link)
    assert status == "error"
    assert flags == ["symlink"]
    assert size == 0
    assert not missing
    for call in calls:
        assert row(catalog, call)[0] == "ok"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(redact(str(fifo)) in m for m in warnings)
    assert any(redact(str(link)) in m for m in warnings)


@pytest.mark.timeout(TIMEOUT_S)
def test_once_logs_masked_phone_numbers(catalog, config, executor, caplog):
    make_fifo(config)
    caplog.set_level(logging.INFO, logger="pipeline")
    ingest_spool(catalog, config, executor)
    assert caplog.records
    for record in caplog.records:
        assert "0200001234" not in record.getMessage()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("0***1234" in m and "FIFO" in m for m in warnings)


@pytest.mark.timeout(TIMEOUT_S)
def test_once_rerun_reports_rows_in_error(catalog, config, executor, tmp_path):
    write_calls(config, 2)
    make_fifo(config)
    make_dangling_link(config, tmp_path)
    first = ingest_spool(catalog, config, executor)
    analysis_counts = catalog.query(
        "SELECT path, analysis_count FROM recordings ORDER BY path"
    )

    second = ingest_spool(catalog, config, executor)

    assert first.errors == 2
    assert second == IngestSummary(
        files=4, analysed=0, unchanged=4, skipped=0, errors=0, rows_in_error=2
    )
    assert second.totals_line() == (
        "ingest: files=4 analysed=0 unchanged=4 skipped=0"
        " errors_this_run=0 rows_in_error=2"
    )
    # The size stored for links and FIFOs is the one the scan reports, so a
    # rerun queues neither of them again.
    assert (
        catalog.query("SELECT path, analysis_count FROM recordings ORDER BY path")
        == analysis_counts
    )


@pytest.mark.timeout(TIMEOUT_S)
def test_once_fifo_given_by_name(catalog, config, executor):
    fifo = make_fifo(config)
    ingestor = Ingestor(catalog, config, executor=executor)
    try:
        found = ingestor.ingest_once([fifo])
    finally:
        ingestor.stop()
    assert found == 1
    assert ingestor.last_summary.rows_in_error == 1
    assert row(catalog, fifo)[1] == [FLAG_NOT_REGULAR]
    # A FIFO given by name is one file, not a recorder root that looks missing.
    stages = catalog.query("SELECT DISTINCT stage FROM ingest_errors")
    assert stages == [("analysis",)]


@pytest.mark.timeout(TIMEOUT_S)
def test_once_missing_file_is_skipped(catalog, config, executor, caplog):
    missing = day_folder(config) / freepbx_name(START, unique="1764812396.1")
    ingestor = Ingestor(catalog, config, executor=executor)
    caplog.set_level(logging.INFO, logger="pipeline")
    try:
        found = ingestor.ingest_once([missing])
    finally:
        ingestor.stop()
    assert found == 1
    assert ingestor.last_summary == IngestSummary(files=1, skipped=1)
    assert row(catalog, missing) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(m.startswith(f"skipped {redact(str(missing))}") for m in warnings)


# -- the watcher --------------------------------------------------------------------


@pytest.mark.timeout(TIMEOUT_S)
def test_watcher_fifo_does_not_block_ingest(catalog, config, executor, tmp_path):
    ingestor = Ingestor(catalog, config, executor=executor)
    ingestor.start()
    try:
        wait_until(lambda: ingestor.health.last_reconcile_at is not None)
        fifo = make_fifo(config)
        link = make_dangling_link(config, tmp_path)
        wait_until(lambda: row(catalog, fifo))
        wait_until(lambda: row(catalog, link))
        # Files written after the FIFO are still cataloged, so neither the
        # ingest loop nor a worker waits on the FIFO.
        calls = write_calls(config, 2 * config["ingest.workers"])
        for call in calls:
            wait_until(lambda call=call: row(catalog, call))
    finally:
        ingestor.stop()
    assert row(catalog, fifo)[:2] == ("error", [FLAG_NOT_REGULAR])
    assert row(catalog, link)[:2] == ("error", ["symlink"])
    assert all(row(catalog, call)[0] == "ok" for call in calls)
    assert ingestor.health.file_errors == 2
