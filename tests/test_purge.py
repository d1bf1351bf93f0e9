"""Purge on real files and a real catalog: deletion, holds, safety and crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import wait_until, write_call
from retention_fixtures import (
    catalog_files,
    create_retention_schema,
    local,
    one_line,
    run_cli,
    write_config_file,
)

from pipeline import accesslog, erase, holds, purge
from pipeline.catalog import Catalog
from pipeline.config import load_config
from pipeline.errors import RecwatchError

NOW = local(2026, 12, 4, 2, 30)
EXPIRED = datetime(2026, 10, 25, 9, 0)  # 40 days before NOW, Seoul local
FRESH = datetime(2026, 11, 30, 9, 0)  # 4 days before NOW


@pytest.fixture
def spool(config) -> Path:
    return config.recorders[0].root


@pytest.fixture
def schema(catalog):
    catalog.write(create_retention_schema)
    return catalog


def write_calls(spool: Path, start: datetime, count: int, seconds=1.0) -> list[Path]:
    return [
        write_call(
            spool,
            start + timedelta(minutes=index),
            unique=f"{index}.{index}",
            seconds=seconds,
            seed=index,
        )
        for index in range(count)
    ]


def recording(catalog, recording_id) -> dict:
    columns = (
        "status, deleted_at, other_party, metadata, sha256, line, missing_since, flags"
    )
    row = catalog.query(
        f"SELECT {columns} FROM recordings WHERE id = ?", [recording_id]
    )[0]
    return dict(zip(columns.split(", "), row, strict=True))


def records(catalog, recording_id=None) -> list[tuple]:
    sql = "SELECT recording_id, status, method, sha256 FROM destruction_records"
    if recording_id is None:
        return catalog.query(sql + " ORDER BY recording_id")
    return catalog.query(sql + " WHERE recording_id = ?", [recording_id])


def purge_log(catalog) -> list[tuple]:
    return catalog.query(
        "SELECT detail->>'change', object_ids, result FROM access_log"
        " WHERE action = 'purge' ORDER BY id"
    )


def test_dry_run_touches_nothing(schema, config, spool):
    path = write_calls(spool, EXPIRED, 1)[0]
    recording_id = catalog_files(schema, config, [path])[path]
    summary = purge.run_purge(schema, config, now=NOW)
    assert path.exists()
    assert summary.totals_line() == "purge: would_delete=1 held=0 skipped=0 errors=0"
    assert [line.outcome for line in summary.lines] == ["would_delete"]
    assert summary.lines[0].recording_id == recording_id
    assert recording(schema, recording_id)["status"] == "ok"
    assert records(schema) == []
    runs = schema.query("SELECT mode, status, deleted FROM purge_runs")
    assert runs == [("dry_run", "completed", 0)]


def test_dry_run_logged_as_preview(schema, config, spool):
    paths = write_calls(spool, EXPIRED, 2)
    catalog_files(schema, config, paths)

    purge.run_purge(schema, config, now=NOW)

    logged = schema.query(
        "SELECT action, detail->>'would_delete', detail->>'deleted' FROM access_log"
        " WHERE detail->>'change' = 'run_finished'"
    )
    assert logged == [("purge_preview", "2", None)]
    assert purge_log(schema) == []


def test_apply_at_future_time_rejected(schema, config, spool):
    path = write_calls(spool, FRESH, 1)[0]
    catalog_files(schema, config, [path])
    future = datetime.now(NOW.tzinfo) + timedelta(days=3650)

    with pytest.raises(RecwatchError, match="later than the current time"):
        purge.run_purge(schema, config, apply=True, now=future)

    assert path.exists()
    assert schema.query("SELECT count(*) FROM purge_runs") == [(0,)]
    assert purge.run_purge(schema, config, now=future).would_delete == 1


def test_purge_command_future_now_rejected(catalog, config, tmp_path):
    catalog.write(create_retention_schema)
    path = write_calls(config.recorders[0].root, FRESH, 1)[0]
    catalog_files(catalog, config, [path])
    catalog.close()

    result = run_cli(tmp_path, config, "purge", "--apply", "--now", "2099-01-01T00:00")

    assert result.exit_code == 1
    assert "purge rejected" in one_line(result.stderr)
    assert path.exists()


def test_apply_mixed_cases(schema, config, spool, tmp_path):
    expired, held, missing = write_calls(spool, EXPIRED, 3)
    fresh = write_calls(spool, FRESH, 1)[0]
    outside = write_call(tmp_path / "outside", EXPIRED + timedelta(hours=1))
    link = spool / "2026" / "10" / "25" / ("in-2101-0200001234-20261025-100000-9.9.wav")
    link.symlink_to(outside)
    ids = catalog_files(schema, config, [expired, held, missing, fresh, link])
    outside_bytes = outside.read_bytes()
    schema.write(
        lambda con: holds.place_hold(
            con,
            ids[held],
            reason="감사 증거",
            approver="정보통신과장",
            ends_on=date(2026, 12, 31),
            actor="admin",
            now=NOW - timedelta(days=1),
        )
    )
    missing.unlink()

    summary = purge.run_purge(schema, config, apply=True, now=NOW, operator="ops")

    assert summary.totals_line() == "purge: deleted=1 held=1 skipped=2 errors=0"
    outcomes = {line.recording_id: line for line in summary.lines}
    assert outcomes[ids[expired]].outcome == "deleted"
    assert outcomes[ids[held]].outcome == "held"
    assert outcomes[ids[missing]].outcome == "skipped"
    assert outcomes[ids[missing]].reason == purge.REASON_MISSING
    assert outcomes[ids[link]].outcome == "skipped"
    assert outcomes[ids[link]].reason == purge.REASON_OUTSIDE_ROOTS
    assert ids[fresh] not in outcomes

    assert not expired.exists()
    assert held.exists()
    assert fresh.exists()
    assert link.is_symlink()
    assert outside.read_bytes() == outside_bytes

    tombstone = recording(schema, ids[expired])
    assert tombstone["status"] == "deleted"
    assert tombstone["deleted_at"] == NOW
    assert tombstone["other_party"] is None
    assert tombstone["metadata"] is None
    assert tombstone["sha256"] is not None
    assert tombstone["line"] == "2101"
    assert recording(schema, ids[held])["status"] == "ok"
    assert recording(schema, ids[missing])["missing_since"] is not None
    # Ingest never follows a link, so its row is an error row that names it.
    assert recording(schema, ids[link])["status"] == "error"
    assert "symlink" in recording(schema, ids[link])["flags"]

    assert records(schema) == [
        (ids[expired], "destroyed", "overwrite+unlink", tombstone["sha256"])
    ]
    operator = schema.query("SELECT operator FROM destruction_records")
    assert operator == [("ops",)]


def test_purge_writes_access_log(schema, config, spool):
    paths = write_calls(spool, EXPIRED, 2)
    ids = catalog_files(schema, config, paths)
    purge.run_purge(schema, config, apply=True, now=NOW)
    entries = purge_log(schema)
    expected_ids = sorted(str(ids[path]) for path in paths)
    assert [entry[0] for entry in entries] == ["planned", "destroyed", "run_finished"]
    assert sorted(entries[0][1]) == expected_ids
    assert sorted(entries[1][1]) == expected_ids
    finished = schema.query(
        "SELECT detail->>'deleted', detail->>'mode' FROM access_log"
        " WHERE detail->>'change' = 'run_finished'"
    )
    assert finished == [("2", "apply")]
    assert accesslog.verify(schema.cursor()).intact


def test_hard_link_shows_overwrite(schema, config, spool, tmp_path):
    path = write_calls(spool, EXPIRED, 1)[0]
    catalog_files(schema, config, [path])
    size = path.stat().st_size
    second_link = tmp_path / "second-link.wav"
    os.link(path, second_link)
    assert any(second_link.read_bytes())

    purge.run_purge(schema, config, apply=True, now=NOW)

    assert not path.exists()
    content = second_link.read_bytes()
    assert len(content) == size
    assert content == bytes(size)


def test_expired_hold_stops_protecting(schema, config, spool):
    path = write_calls(spool, EXPIRED, 1)[0]
    recording_id = catalog_files(schema, config, [path])[path]
    # Past times only, because an applied purge may not look ahead of the clock.
    placed = NOW - timedelta(days=3)
    schema.write(
        lambda con: holds.place_hold(
            con,
            recording_id,
            reason="증거",
            approver="과장",
            ends_on=(placed + timedelta(days=1)).date(),
            actor="admin",
            now=placed,
        )
    )
    held = purge.run_purge(schema, config, apply=True, now=placed)
    assert (held.deleted, held.held) == (0, 1)
    assert path.exists()

    summary = purge.run_purge(schema, config, apply=True, now=NOW)
    assert (summary.deleted, summary.held) == (1, 0)
    assert not path.exists()


def test_released_hold_stops_protecting(schema, config, spool):
    path = write_calls(spool, EXPIRED, 1)[0]
    recording_id = catalog_files(schema, config, [path])[path]

    def place_and_release(con):
        hold_id = holds.place_hold(
            con,
            recording_id,
            reason="증거",
            approver="과장",
            ends_on=date(2027, 1, 5),
            actor="admin",
            now=NOW,
        )
        holds.release_hold(con, hold_id, actor="admin", reason="종결", now=NOW)

    schema.write(place_and_release)
    summary = purge.run_purge(schema, config, apply=True, now=NOW)
    assert summary.deleted == 1
    assert not path.exists()


def test_second_run_deletes_nothing(schema, config, spool):
    paths = write_calls(spool, EXPIRED, 3)
    catalog_files(schema, config, paths)
    first = purge.run_purge(schema, config, apply=True, now=NOW)
    second = purge.run_purge(schema, config, apply=True, now=NOW)
    assert first.deleted == 3
    assert second.totals_line() == "purge: deleted=0 held=0 skipped=0 errors=0"
    assert len(records(schema)) == 3


def test_expiry_boundary(schema, config, spool):
    path = write_calls(spool, EXPIRED, 1)[0]
    catalog_files(schema, config, [path])
    expiry = local(2026, 11, 24, 9, 0)
    before = purge.run_purge(
        schema, config, apply=True, now=expiry - timedelta(seconds=1)
    )
    assert before.deleted == 0
    assert path.exists()
    at_expiry = purge.run_purge(schema, config, apply=True, now=expiry)
    assert at_expiry.deleted == 1


def test_changed_file_is_skipped(schema, config, spool):
    path = write_calls(spool, EXPIRED, 1)[0]
    catalog_files(schema, config, [path])
    with open(path, "ab") as stream:
        stream.write(b"\0" * 16)
    summary = purge.run_purge(schema, config, apply=True, now=NOW)
    assert summary.skipped == 1
    assert summary.lines[0].reason == purge.REASON_CHANGED
    assert path.exists()


def test_symlink_inside_roots_is_skipped(schema, config, spool):
    target = write_calls(spool, FRESH, 1)[0]
    link = spool / "2026" / "10" / "25" / "in-2101-0200001234-20261025-090000-7.7.wav"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    ids = catalog_files(schema, config, [link])
    summary = purge.run_purge(schema, config, apply=True, now=NOW)
    assert [(line.recording_id, line.reason) for line in summary.lines] == [
        (ids[link], purge.REASON_SYMLINK)
    ]
    assert link.is_symlink()
    assert target.exists()


def test_resume_finishes_planned_records(schema, config, spool):
    """A crash after planning leaves planned records: the next run finishes them."""
    present, gone = write_calls(spool, EXPIRED, 2)
    ids = catalog_files(schema, config, [present, gone])
    crashed_run_state(schema, ids)
    # The crash happened halfway through overwriting one file, after the other
    # file was unlinked.
    with open(present, "r+b") as stream:
        stream.write(bytes(100))
    gone.unlink()

    dry = purge.run_purge(schema, config, now=NOW)
    assert [line.reason for line in dry.lines] == [purge.REASON_RESUMED] * 2
    summary = purge.run_purge(schema, config, apply=True, now=NOW)

    assert summary.deleted == 2
    assert not present.exists()
    assert [row[:2] for row in records(schema)] == [
        (ids[present], "destroyed"),
        (ids[gone], "destroyed"),
    ]
    assert recording(schema, ids[present])["status"] == "deleted"
    statuses = schema.query("SELECT status FROM purge_runs ORDER BY id")
    assert statuses == [("interrupted",), ("completed",), ("completed",)]
    assert accesslog.verify(schema.cursor()).intact


def crashed_run_state(catalog, planned: dict[Path, int]) -> None:
    """Write the rows a run leaves when it is killed after planning ``planned``."""

    def write(con):
        run_id = con.execute(
            "INSERT INTO purge_runs (job, started_at, mode, operator, now_used,"
            " status) VALUES ('purge-crashed', ?, 'apply', 'system', ?, 'running')"
            " RETURNING id",
            [NOW, NOW],
        ).fetchall()[0][0]
        for path, recording_id in planned.items():
            con.execute(
                "INSERT INTO destruction_records (recording_id, run_id, path,"
                " planned_at, operator, reason, method, status) VALUES"
                " (?, ?, ?, ?, 'system', 'expired', 'overwrite+unlink', 'planned')",
                [recording_id, run_id, str(path), NOW],
            )

    catalog.write(write)


def test_failed_record_is_reused(schema, config, spool):
    path = write_calls(spool, EXPIRED, 1)[0]
    recording_id = catalog_files(schema, config, [path])[path]
    crashed_run_state(schema, {path: recording_id})
    schema.write(
        lambda con: con.execute(
            "UPDATE destruction_records SET status = 'failed',"
            " error = 'overwrite or unlink failed: Read-only file system'"
        )
    )
    summary = purge.run_purge(schema, config, apply=True, now=NOW)
    assert summary.deleted == 1
    rows = schema.query("SELECT status, error FROM destruction_records")
    assert rows == [("destroyed", None)]


def test_overwrite_refuses_symlink(tmp_path):
    target = tmp_path / "target.bin"
    target.write_bytes(b"keep")
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    with pytest.raises(OSError):
        erase.overwrite_and_unlink(str(link))
    assert target.read_bytes() == b"keep"
    assert link.is_symlink()


def test_naive_now_rejected(schema, config):
    with pytest.raises(ValueError, match="has no time zone"):
        purge.run_purge(schema, config, now=datetime(2026, 12, 4, 2, 30))


DRIVER = textwrap.dedent(
    """
    import sys
    from datetime import datetime
    from pipeline import purge
    from pipeline.catalog import Catalog
    from pipeline.config import load_config

    config = load_config(sys.argv[1])
    # Small batches let the kill land between batches as well as inside one.
    purge.BATCH_FILES = int(sys.argv[3])
    with Catalog(config.catalog_path) as catalog:
        summary = purge.run_purge(
            catalog, config, apply=True, now=datetime.fromisoformat(sys.argv[2])
        )
    print(summary.totals_line())
    """
)


def start_driver(config_file: Path, batch: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(config_file), NOW.isoformat(), str(batch)],
        cwd=Path(purge.__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_sigkill_midway_stays_consistent(config, tmp_path):
    spool_root = config.recorders[0].root
    paths = write_calls(spool_root, EXPIRED, 300, seconds=8.0)
    with Catalog(config.catalog_path) as catalog:
        catalog.write(create_retention_schema)
        ids = catalog_files(catalog, config, paths)
    config_file = write_config_file(tmp_path, config)
    assert load_config(config_file).catalog_path == config.catalog_path

    driver = start_driver(config_file, batch=40)
    wait_until(
        lambda: sum(path.exists() for path in paths) < 300 or driver.poll() is not None,
        interval_s=0.002,
    )
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    remaining_after_kill = sum(path.exists() for path in paths)
    assert driver.returncode == -signal.SIGKILL, driver.stderr.read().decode()
    assert 0 < remaining_after_kill < 300

    rerun = start_driver(config_file, batch=40)
    stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr.decode()
    assert stdout.decode().strip().endswith("errors=0")

    assert not any(path.exists() for path in paths)
    with Catalog(config.catalog_path) as catalog:
        per_recording = catalog.query(
            "SELECT recording_id, count(*), min(status) FROM destruction_records"
            " GROUP BY recording_id ORDER BY recording_id"
        )
        statuses = catalog.query(
            "SELECT DISTINCT status FROM recordings WHERE list_contains(?, id)",
            [sorted(ids.values())],
        )
        runs = catalog.query("SELECT status FROM purge_runs ORDER BY id")
        intact = accesslog.verify(catalog.cursor()).intact
    assert per_recording == [(rid, 1, "destroyed") for rid in sorted(ids.values())]
    assert statuses == [("deleted",)]
    assert runs == [("interrupted",), ("completed",)]
    assert intact


def test_resume_respects_new_hold(schema, config, spool):
    path = write_calls(spool, EXPIRED, 1)[0]
    recording_id = catalog_files(schema, config, [path])[path]
    crashed_run_state(schema, {path: recording_id})
    schema.write(
        lambda con: holds.place_hold(
            con,
            recording_id,
            reason="증거",
            approver="과장",
            ends_on=date(2027, 1, 5),
            actor="admin",
            now=NOW,
        )
    )
    summary = purge.run_purge(schema, config, apply=True, now=NOW)
    assert summary.totals_line() == "purge: deleted=0 held=1 skipped=0 errors=0"
    assert summary.lines[0].reason == purge.REASON_HELD_WHILE_PLANNED
    assert path.exists()
    assert records(schema, recording_id)[0][1] == "failed"
    assert recording(schema, recording_id)["status"] == "ok"


def test_purge_command_masks_numbers(catalog, config, tmp_path):
    catalog.write(create_retention_schema)
    path = write_calls(config.recorders[0].root, EXPIRED, 1)[0]
    recording_id = catalog_files(catalog, config, [path])[path]
    catalog.close()

    dry = run_cli(tmp_path, config, "purge", "--now", "2026-12-04T02:30:00")
    assert dry.exit_code == 0, dry.output
    output_lines = dry.stdout.splitlines()
    assert output_lines[-1] == "purge: would_delete=1 held=0 skipped=0 errors=0"
    fields = output_lines[0].split("\t")
    assert fields[0] == str(recording_id)
    assert fields[1] == "2026-10-25 09:00:00"
    assert "0200001234" not in fields[2]
    assert "0***1234" in fields[2]
    assert fields[3] == "would_delete"
    assert path.exists()

    applied = run_cli(tmp_path, config, "purge", "--apply", "--now", NOW.isoformat())
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.splitlines()[0].split("\t")[3] == "deleted"
    assert not path.exists()


def test_purge_command_rejects_bad_now(catalog, config, tmp_path):
    catalog.close()
    result = run_cli(tmp_path, config, "purge", "--now", "yesterday")
    assert result.exit_code == 2
    assert "invalid --now 'yesterday'" in one_line(result.stderr)
