"""Ingest with a real watchdog observer on a temporary spool and real WAV files."""

from __future__ import annotations

import ctypes
import errno
import fnmatch
import os
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import RATE, make_config, speechlike, wait_until, write_call

from pipeline.analysis import Job, run_job
from pipeline.catalog import Catalog
from pipeline.ingest import Ingestor
from pipeline.scan import (
    ignore_matcher,
    list_tree,
    scan_tree,
    wav_header_incomplete,
)

START = datetime(2026, 12, 3, 14, 15, 0)


def rows(catalog: Catalog) -> list[tuple]:
    return catalog.query(
        "SELECT path, duration_s, status, missing_since IS NOT NULL, analysis_count"
        " FROM recordings ORDER BY path"
    )


def stored(catalog: Catalog, path: Path) -> tuple | None:
    found = catalog.query(
        "SELECT duration_s, status, analysis_count, missing_since IS NOT NULL"
        " FROM recordings WHERE path = ?",
        [str(path)],
    )
    return found[0] if found else None


@pytest.fixture
def running(config, catalog, executor):
    ingestor = Ingestor(catalog, config, executor=executor)
    ingestor.start()
    yield ingestor
    ingestor.stop()


def spool(config) -> Path:
    return config.recorders[0].root


def test_file_dropped_twice_keeps_one_row(running, catalog, config, tmp_path):
    source = write_call(tmp_path / "outside", START)
    target = spool(config) / "2026/12/03"
    target.mkdir(parents=True)
    shutil.copy(source, target / source.name)
    wait_until(lambda: stored(catalog, target / source.name))
    shutil.copy(source, target / source.name)
    running.request_reconcile("test")
    time.sleep(1.5)
    assert len(rows(catalog)) == 1
    assert stored(catalog, target / source.name)[2] == 1


def test_touched_file_is_not_analysed_again(running, catalog, config):
    path = write_call(spool(config), START)
    wait_until(lambda: stored(catalog, path))
    later = time.time() + 60
    os.utime(path, (later, later))
    running.request_reconcile("test")
    wait_until(
        lambda: (
            catalog.query(
                "SELECT mtime_ns FROM recordings WHERE path = ?", [str(path)]
            )[0][0]
            == os.stat(path).st_mtime_ns
        )
    )
    assert len(rows(catalog)) == 1
    assert stored(catalog, path)[2] == 1


def test_changed_content_is_analysed_again(running, catalog, config):
    path = write_call(spool(config), START, seconds=2.0)
    wait_until(lambda: stored(catalog, path))
    sf.write(path, speechlike(4.0), RATE, subtype="PCM_16")
    wait_until(lambda: stored(catalog, path)[2] == 2)
    duration, status, count, missing = stored(catalog, path)
    assert duration == pytest.approx(4.0)
    assert len(rows(catalog)) == 1


def test_rename_from_part_gives_one_row(running, catalog, config):
    folder = spool(config) / "2026/12/03"
    folder.mkdir(parents=True)
    final = write_call(spool(config), START)
    partial = final.with_name(final.name + ".part")
    os.rename(final, partial)
    time.sleep(1.0)
    assert stored(catalog, final) is None
    assert not any(".part" in row[0] for row in rows(catalog))
    os.rename(partial, final)
    wait_until(lambda: stored(catalog, final))
    assert len(rows(catalog)) == 1


def test_slow_writer_is_taken_when_complete(running, catalog, config):
    # A recorder writing for 10 s, one chunk per 0.4 s, keeps the file open:
    # nothing may be cataloged before the last chunk, and then one full row.
    samples = (speechlike(10.0) * 32767).astype("<i2")
    folder = spool(config) / "2026/12/03"
    folder.mkdir(parents=True)
    path = folder / "in-2101-0200001234-20261203-141500-1764812345.9.wav"
    chunks = np.array_split(samples, 25)
    with sf.SoundFile(path, "w", RATE, 1, subtype="PCM_16", format="WAV") as handle:
        for chunk in chunks:
            handle.write(chunk)
            handle.flush()
            time.sleep(0.4)
            assert stored(catalog, path) is None
    wait_until(lambda: stored(catalog, path))
    time.sleep(1.0)
    assert stored(catalog, path)[0] == pytest.approx(10.0)
    assert len(rows(catalog)) == 1


def test_restart_catalogs_files_added_while_stopped(config, catalog, executor):
    first = write_call(spool(config), START, unique="1.1")
    ingestor = Ingestor(catalog, config, executor=executor)
    ingestor.start()
    wait_until(lambda: stored(catalog, first))
    ingestor.stop()

    second = write_call(spool(config), START.replace(minute=20), unique="1.2", seed=1)
    first.unlink()
    ingestor = Ingestor(catalog, config, executor=executor)
    ingestor.start()
    try:
        wait_until(lambda: stored(catalog, second))
        wait_until(lambda: stored(catalog, first)[3])
    finally:
        ingestor.stop()
    assert len(rows(catalog)) == 2
    assert stored(catalog, first)[2] == 1


def test_restart_with_no_changes_adds_nothing(config, catalog, executor):
    paths = [
        write_call(spool(config), START, unique=f"2.{i}", seed=i) for i in range(3)
    ]
    for _ in range(2):
        ingestor = Ingestor(catalog, config, executor=executor)
        ingestor.start()
        wait_until(lambda: all(stored(catalog, path) for path in paths))
        ingestor.stop()
    assert len(rows(catalog)) == 3
    assert {row[4] for row in rows(catalog)} == {1}


def test_deleted_file_is_marked_missing_not_dropped(running, catalog, config):
    path = write_call(spool(config), START)
    wait_until(lambda: stored(catalog, path))
    path.unlink()
    wait_until(lambda: stored(catalog, path)[3])
    assert len(rows(catalog)) == 1


def test_moved_file_keeps_its_row(running, catalog, config):
    path = write_call(spool(config), START)
    wait_until(lambda: stored(catalog, path))
    (first_id,) = catalog.query("SELECT id FROM recordings")[0]
    target = spool(config) / "archive" / path.name
    target.parent.mkdir()
    os.rename(path, target)
    wait_until(lambda: stored(catalog, target))
    assert catalog.query("SELECT id, missing_since FROM recordings") == [
        (first_id, None)
    ]


def test_folder_created_with_files_inside(running, catalog, config, tmp_path):
    staging = tmp_path / "staging"
    paths = [write_call(staging, START, unique=f"3.{i}", seed=i) for i in range(5)]
    day_folder = paths[0].parent
    os.rename(staging / "2026", spool(config) / "2026")
    expected = spool(config) / "2026/12/03"
    wait_until(lambda: len(rows(catalog)) == 5)
    assert {Path(row[0]).parent for row in rows(catalog)} == {expected}
    assert day_folder != expected


def test_unmounted_root_marks_nothing_missing(config, catalog, executor, tmp_path):
    paths = [
        write_call(spool(config), START, unique=f"4.{i}", seed=i) for i in range(3)
    ]
    ingestor = Ingestor(catalog, config, executor=executor)
    ingestor.ingest_once([spool(config)])
    ingestor.stop()
    hidden = tmp_path / "hidden"
    os.rename(spool(config), hidden)
    spool(config).mkdir()
    ingestor = Ingestor(catalog, config, executor=executor)
    try:
        ingestor.reconcile(reason="test")
        ingestor._flush(force=True)
        assert ingestor.health.unavailable_roots == [str(spool(config))]
    finally:
        ingestor.stop()
    assert all(not stored(catalog, path)[3] for path in paths)
    errors = catalog.query("SELECT stage, message FROM ingest_errors")
    assert errors[0][0] == "reconcile"
    assert "is missing or empty" in errors[0][1]


@pytest.mark.slow
def test_twenty_thousand_files_at_once(tmp_path, executor):
    config = make_config(tmp_path, ingest__stable_s=0.5)
    staging = tmp_path / "staging" / "2026" / "12" / "03"
    staging.mkdir(parents=True)
    template = staging / "template.wav"
    sf.write(template, speechlike(0.2), RATE, subtype="PCM_16")
    data = template.read_bytes()
    template.unlink()
    count = 20_000
    for index in range(count):
        name = f"in-2101-0200001234-20261203-141500-{index}.wav"
        # Each file differs in one byte of audio so each has its own SHA-256.
        body = bytearray(data)
        body[-2:] = index.to_bytes(2, "little", signed=False)
        (staging / name).write_bytes(bytes(body))
    with Catalog(config.catalog_path) as catalog:
        ingestor = Ingestor(catalog, config, executor=executor)
        ingestor.start()
        try:
            os.rename(tmp_path / "staging" / "2026", spool(config) / "2026")
            wait_until(
                lambda: catalog.query("SELECT count(*) FROM recordings")[0][0] == count,
                timeout_s=240,
                interval_s=1.0,
            )
        finally:
            ingestor.stop()
        assert catalog.query(
            "SELECT count(DISTINCT path), count(*) FILTER (status = 'ok')"
            " FROM recordings"
        ) == [(count, count)]


def test_scan_tree_skips_ignored_names(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("call.wav", "call.wav.part", ".hidden.wav", "call.json", "x.mp3"):
        (tmp_path / "a" / name).write_bytes(b"x")
    found = scan_tree(tmp_path, [".*", "*.part", "*.json"])
    assert sorted(Path(path).name for path in found) == ["call.wav", "x.mp3"]


def test_wav_header_incomplete_detects_short_file(tmp_path):
    path = tmp_path / "call.wav"
    sf.write(path, speechlike(1.0), RATE, subtype="PCM_16")
    size = path.stat().st_size
    assert not wav_header_incomplete(str(path), size)
    with open(path, "r+b") as handle:
        handle.truncate(size - 1000)
    assert wav_header_incomplete(str(path), size - 1000)


def test_new_file_at_purged_path_gets_new_row(config, catalog, executor):
    path = write_call(spool(config), START, seed=1)
    ingestor = Ingestor(catalog, config, executor=executor)
    ingestor.ingest_once([spool(config)])
    (old_id,) = catalog.query("SELECT id FROM recordings")[0]
    catalog.write(
        lambda con: con.execute(
            "UPDATE recordings SET status = 'deleted', deleted_at = now() WHERE id = ?",
            [old_id],
        )
    )
    path.unlink()
    write_call(spool(config), START, seed=2)
    ingestor.ingest_once([spool(config)])
    ingestor.stop()
    found = catalog.query("SELECT id, path, status FROM recordings ORDER BY id")
    assert found[0] == (old_id, f"{path}#purged-{old_id}", "deleted")
    assert found[1][1:] == (str(path), "ok")
    assert len(found) == 2


def _exhaust_inotify_instances() -> list[int]:
    """Open inotify instances until the kernel refuses; return their descriptors."""
    libc = ctypes.CDLL(None, use_errno=True)
    descriptors = []
    while len(descriptors) < 4096:
        descriptor = libc.inotify_init1(os.O_CLOEXEC)
        if descriptor < 0:
            assert ctypes.get_errno() == errno.EMFILE
            return descriptors
        descriptors.append(descriptor)
    pytest.fail("inotify_init1 never failed; cannot reach the instance limit")


@pytest.mark.skipif(
    not Path("/proc/sys/fs/inotify/max_user_instances").exists(),
    reason="needs Linux inotify",
)
def test_inotify_limit_falls_back_to_polling(config, catalog, executor):
    # Uses up the user's inotify instances (fs.inotify.max_user_instances) for
    # a few seconds, as a server full of watchers would, then releases them.
    descriptors = _exhaust_inotify_instances()
    try:
        ingestor = Ingestor(catalog, config, executor=executor)
        ingestor.start()
    finally:
        for descriptor in descriptors:
            os.close(descriptor)
    try:
        assert ingestor.health.polling_roots == [str(spool(config))]
        assert ingestor.watcher_alive()
        path = write_call(spool(config), START)
        wait_until(lambda: stored(catalog, path), timeout_s=30)
    finally:
        ingestor.stop()
    errors = catalog.query("SELECT stage, message FROM ingest_errors")
    assert errors[0][0] == "watch"
    assert "falls back to polling" in errors[0][1]


def test_purge_under_watcher_leaves_no_phantom_rows(running, catalog, config):
    from pipeline.purge import run_purge

    old = datetime.now() - timedelta(days=40)
    paths = [
        write_call(spool(config), old, unique=f"5.{i}", seed=i, seconds=2.0)
        for i in range(20)
    ]
    wait_until(lambda: all(stored(catalog, path) for path in paths))
    summary = run_purge(catalog, config, apply=True)
    assert summary.deleted == len(paths)
    # The purge's overwrites and unlinks reach the watcher as events; let
    # ingest handle them all before looking.
    time.sleep(3)
    running.request_reconcile("test")
    time.sleep(1)
    rows_after = catalog.query(
        "SELECT status, count(*) FROM recordings GROUP BY status ORDER BY status"
    )
    assert rows_after == [("deleted", len(paths))]
    assert catalog.query("SELECT count(*) FROM ingest_errors") == [(0,)]


def test_result_for_file_being_destroyed_is_dropped(catalog, config):
    from pipeline.analysis import JobResult
    from pipeline.recordings import store_results

    path = write_call(spool(config), START, seed=3)
    result = run_job(Job(str(path), str(spool(config)), "freepbx"))
    catalog.write(lambda con: store_results(con, [result]))
    (recording_id,) = catalog.query("SELECT id FROM recordings")[0]
    catalog.write(
        lambda con: con.execute(
            "INSERT INTO destruction_records (recording_id, run_id, path, planned_at,"
            " operator, reason, method, status)"
            " VALUES (?, 1, ?, now(), 'test', 'expired', 'overwrite+unlink',"
            " 'planned')",
            [recording_id, str(path)],
        )
    )
    # What a worker reports after the purge overwrote the file with zeros.
    zeroed = JobResult(
        path=str(path),
        root=str(spool(config)),
        outcome="analysed",
        size_bytes=10,
        sha256="0" * 64,
        error="not audio: zeros",
        flags=["not_audio"],
    )
    stored_count = catalog.write(lambda con: store_results(con, [zeroed]))
    assert stored_count == 0
    assert catalog.query("SELECT status, sha256 FROM recordings") == [
        ("ok", result.sha256)
    ]


def test_symlink_in_spool_is_not_followed(running, catalog, config, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    folder = spool(config) / "2026/12/03"
    folder.mkdir(parents=True)
    link = folder / "in-2101-0200001234-20261203-141500-1764812345.7.wav"
    link.symlink_to(secret)
    wait_until(lambda: stored(catalog, link))
    status, flags, error, size = catalog.query(
        "SELECT status, flags, error, size_bytes FROM recordings"
    )[0]
    assert status == "error"
    assert flags == ["symlink"]
    assert "does not follow links" in error
    assert "root:x" not in error
    assert size == 0


def test_scan_lists_symlinks_without_following(tmp_path):
    target = tmp_path / "outside.wav"
    target.write_bytes(b"x" * 100)
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link.wav").symlink_to(target)
    found = scan_tree(tmp_path / "root", [])
    assert list(found) == [str(tmp_path / "root" / "link.wav")]
    assert found[str(tmp_path / "root" / "link.wav")][0] != 100


def test_dangling_symlink_gets_symlink_row(config, tmp_path):
    folder = spool(config) / "2026/12/03"
    folder.mkdir(parents=True)
    link = folder / "in-2101-0200001234-20261203-141500-1764812345.8.wav"
    link.symlink_to(tmp_path / "nowhere.wav")
    result = run_job(Job(str(link), str(spool(config)), "freepbx"))
    assert result.outcome == "analysed"
    assert result.flags == ["symlink"]
    assert result.metadata["line"] == "2101"
    assert result.sha256 is None


@pytest.mark.parametrize(
    "patterns",
    [
        pytest.param((".*", "*.part", "*.json", "*.tmp"), id="suffix-and-prefix"),
        pytest.param(("rec[0-9]*.wav", "a?c", "x*y"), id="glob-only"),
        pytest.param(("*", "[*", "*[", ""), id="edge-patterns"),
        pytest.param((), id="none"),
    ],
)
def test_ignore_matcher_equals_fnmatchcase(patterns):
    names = [
        "call.wav",
        "call.wav.part",
        ".hidden",
        "call.json",
        "rec5.wav",
        "recx.wav",
        "abc",
        "xzy",
        "[x",
        "x[",
        "",
        "통화.wav",
    ]
    matches = ignore_matcher(patterns)
    for name in names:
        expected = any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
        assert matches(name) == expected, (patterns, name)


def test_scan_tree_root_with_trailing_slash(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "call.wav").write_bytes(b"x" * 10)
    found = scan_tree(Path(str(tmp_path) + "/"), [])
    assert list(found) == [str(tmp_path / "a" / "call.wav")]
    assert found[str(tmp_path / "a" / "call.wav")][0] == 10


def test_restart_reanalyses_file_changed_while_stopped(config, catalog, executor):
    path = write_call(spool(config), START, seconds=2.0)
    ingestor = Ingestor(catalog, config, executor=executor)
    ingestor.ingest_once([spool(config)])
    assert stored(catalog, path)[0] == pytest.approx(2.0)

    write_call(spool(config), START, seconds=3.0)
    ingestor = Ingestor(catalog, config, executor=executor)
    ingestor.start()
    try:
        wait_until(lambda: stored(catalog, path)[0] == pytest.approx(3.0))
    finally:
        ingestor.stop()
    assert len(rows(catalog)) == 1
    assert stored(catalog, path)[2] == 2


def test_list_tree_matches_scan_tree_names(tmp_path):
    root = tmp_path / "root"
    (root / "2026" / "12" / "03").mkdir(parents=True)
    for name in ("a.wav", "b.mp3", "c.wav.part", ".hidden.wav"):
        (root / "2026" / "12" / "03" / name).write_bytes(b"x")
    (root / "top.wav").write_bytes(b"x")
    (tmp_path / "outside.wav").write_bytes(b"x")
    (root / "link.wav").symlink_to(tmp_path / "outside.wav")
    patterns = [".*", "*.part"]

    listed = list_tree(root, patterns)

    assert listed == set(scan_tree(root, patterns))
    assert sorted(Path(path).name for path in listed) == [
        "a.wav",
        "b.mp3",
        "link.wav",
        "top.wav",
    ]


def test_names_only_reconcile_leaves_rewrites(config, catalog, executor):
    rewritten = write_call(spool(config), START, seconds=2.0)
    removed = write_call(spool(config), START.replace(minute=30), unique="9.1")
    Ingestor(catalog, config, executor=executor).ingest_once([spool(config)])
    write_call(spool(config), START, seconds=3.0)
    removed.unlink()
    added = write_call(spool(config), START.replace(minute=40), unique="9.2", seed=2)
    ingestor = Ingestor(catalog, config, executor=executor)

    found = ingestor.reconcile(reason="test", names_only=True)

    assert found == 2
    assert ingestor.health_dict()["pending"] == 1
    ingestor.ingest_once([])
    assert stored(catalog, added)
    assert stored(catalog, removed)[3]
    assert stored(catalog, rewritten)[0] == pytest.approx(2.0)

    ingestor.reconcile(reason="test")
    ingestor.ingest_once([])
    assert stored(catalog, rewritten)[0] == pytest.approx(3.0)
