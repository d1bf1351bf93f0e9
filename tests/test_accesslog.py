"""Tests for the hash-chained access log and its verify command."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline import accesslog
from pipeline.errors import RecwatchError
from pipeline.logcli import log_app

DUCKDB_CONFIG = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
ENTRY_COUNT = 10
START = datetime(2026, 3, 2, 0, 0, 0, 123456, tzinfo=UTC)


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=read_only, config=DUCKDB_CONFIG)


def append_sample(con, index: int) -> accesslog.LogEntry:
    """Append sample entry ``index``, whose content varies with the index."""
    return accesslog.append(
        con,
        actor=f"user{index % 3}",
        action=("login", "play", "download", "export")[index % 4],
        role="operator",
        client_addr=f"127.0.0.{index}",
        object_type="recording",
        object_ids=[index, index + 100],
        detail={"request": f"2026-{index:04d}", "reason_code": "evidence"},
        at=START + timedelta(minutes=index),
    )


@pytest.fixture(scope="module")
def sample_log(tmp_path_factory) -> tuple[Path, Path]:
    """Build a catalog with ENTRY_COUNT entries and a head file recorded at the end."""
    folder = tmp_path_factory.mktemp("sample_log")
    db = folder / "catalog.duckdb"
    head_file = folder / "heads.txt"
    con = connect(db)
    accesslog.create_schema(con)
    for index in range(1, ENTRY_COUNT + 1):
        append_sample(con, index)
    accesslog.record_head(con, head_file)
    con.close()
    return db, head_file


@pytest.fixture
def log_copy(sample_log, tmp_path) -> tuple[Path, Path]:
    """Copy the sample catalog and head file, so each test can tamper with its own."""
    db, head_file = sample_log
    db_copy = tmp_path / "catalog.duckdb"
    head_copy = tmp_path / "heads.txt"
    shutil.copy(db, db_copy)
    shutil.copy(head_file, head_copy)
    return db_copy, head_copy


def rewrite_table(con, select_sql: str) -> None:
    """Replace every row with the rows of ``select_sql`` over the old rows ``old``."""
    con.execute("CREATE TEMP TABLE old AS SELECT * FROM access_log")
    con.execute("DELETE FROM access_log")
    con.execute(f"INSERT INTO access_log {select_sql}")
    con.execute("DROP TABLE old")


def rehash_from(con, first_id: int, last_id: int = ENTRY_COUNT) -> None:
    """Recompute the hashes of entries first_id..last_id as a forger would."""
    rows = con.execute(
        'SELECT id, "at", actor, role, client_addr, action, object_type, object_ids, '
        "result, detail FROM access_log WHERE id BETWEEN ? AND ? ORDER BY id",
        [first_id, last_id],
    ).fetchall()
    prev_hash = con.execute(
        "SELECT hash FROM access_log WHERE id = ?", [first_id - 1]
    ).fetchall()[0][0]
    for row in rows:
        digest = accesslog.entry_hash(
            prev_hash,
            id=row[0],
            at=row[1],
            actor=row[2],
            role=row[3],
            client_addr=row[4],
            action=row[5],
            object_type=row[6],
            object_ids=row[7],
            result=row[8],
            detail=json.loads(row[9]),
        )
        con.execute(
            "UPDATE access_log SET prev_hash = ?, hash = ? WHERE id = ?",
            [prev_hash, digest, row[0]],
        )
        prev_hash = digest


# --- append and record_head -------------------------------------------------------


def test_append_chains_from_genesis(tmp_path):
    con = connect(tmp_path / "catalog.duckdb")
    accesslog.create_schema(con)
    first = append_sample(con, 1)
    second = append_sample(con, 2)
    assert first.id == 1
    assert second.id == 2
    assert first.prev_hash == accesslog.GENESIS_HASH
    assert second.prev_hash == first.hash
    assert len(first.hash) == 64
    assert accesslog.head(con) == accesslog.LogHead(2, second.hash)


def test_append_hash_matches_documented_form(tmp_path):
    con = connect(tmp_path / "catalog.duckdb")
    accesslog.create_schema(con)
    seoul_time = datetime(2026, 3, 2, 9, 30, 0, 5, tzinfo=ZoneInfo("Asia/Seoul"))
    entry = accesslog.append(
        con,
        actor="auditor",
        action="view_personal",
        object_ids=["r1"],
        detail={"page": "목록", "b": 1, "a": [1.5, None]},
        at=seoul_time,
    )
    content = (
        '{"action":"view_personal","actor":"auditor",'
        '"at":"2026-03-02T00:30:00.000005+00:00","client_addr":null,'
        '"detail":{"a":[1.5,null],"b":1,"page":"목록"},"id":1,'
        '"object_ids":["r1"],"object_type":null,"result":"ok","role":null}'
    )
    expected = hashlib.sha256(
        (accesslog.GENESIS_HASH + content).encode("utf-8")
    ).hexdigest()
    assert entry.hash == expected
    assert entry.at == seoul_time


def test_append_stored_row_round_trips(tmp_path):
    con = connect(tmp_path / "catalog.duckdb")
    accesslog.create_schema(con)
    entry = append_sample(con, 7)
    row = con.execute(
        'SELECT "at", object_ids, detail, prev_hash, hash FROM access_log'
    ).fetchall()[0]
    assert row[0] == entry.at
    assert row[1] == ["7", "107"]
    assert json.loads(row[2]) == entry.detail
    assert row[3] == accesslog.GENESIS_HASH
    assert row[4] == entry.hash


def test_append_rolls_back_with_caller(tmp_path):
    con = connect(tmp_path / "catalog.duckdb")
    accesslog.create_schema(con)
    con.execute("BEGIN TRANSACTION")
    append_sample(con, 1)
    con.execute("ROLLBACK")
    assert accesslog.head(con) == accesslog.LogHead(0, accesslog.GENESIS_HASH)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            {"detail": {"caller": "02-0000-1234"}},
            "contains a phone number",
            id="phone-in-detail",
        ),
        pytest.param(
            {"detail": {"numbers": ["0100001234"]}},
            "contains a phone number",
            id="mobile-in-detail-list",
        ),
        pytest.param({"result": "maybe"}, "result 'maybe' is invalid", id="bad-result"),
        pytest.param(
            {"at": datetime(2026, 3, 2, 9, 0)}, "has no time zone", id="naive-time"
        ),
        pytest.param({"actor": ""}, "empty actor", id="empty-actor"),
    ],
)
def test_append_rejects_invalid_entry(tmp_path, arguments, message):
    con = connect(tmp_path / "catalog.duckdb")
    accesslog.create_schema(con)
    fields = {"actor": "operator", "action": "play", **arguments}
    with pytest.raises(RecwatchError, match=message):
        accesslog.append(con, **fields)
    assert accesslog.head(con).id == 0


def test_append_allows_ids_and_hashes_in_detail(tmp_path):
    con = connect(tmp_path / "catalog.duckdb")
    accesslog.create_schema(con)
    digest = "0" + "1234567890" * 6 + "abc"
    entry = accesslog.append(
        con,
        actor="operator",
        action="purge",
        detail={"sha256": digest, "request": "2026-0001", "count": 20260302},
    )
    assert entry.detail["sha256"] == digest


def test_record_head_appends_lines(sample_log, tmp_path):
    db, _ = sample_log
    head_file = tmp_path / "heads.txt"
    con = connect(db, read_only=True)
    accesslog.record_head(con, head_file)
    accesslog.record_head(con, head_file)
    last = accesslog.head(con)
    con.close()
    lines = head_file.read_text().splitlines()
    assert len(lines) == 2
    entry_id, digest, recorded_at = lines[-1].split(" ")
    assert int(entry_id) == ENTRY_COUNT
    assert digest == last.hash
    assert datetime.fromisoformat(recorded_at).utcoffset() == timedelta(0)


# --- verify: intact logs ----------------------------------------------------------


def test_verify_intact_log(log_copy):
    db, head_file = log_copy
    con = connect(db)
    result = accesslog.verify(con, head_file=head_file)
    assert result == accesslog.VerifyResult(ENTRY_COUNT, True, None, None)


def test_verify_intact_log_in_small_chunks(log_copy):
    db, head_file = log_copy
    con = connect(db)
    result = accesslog.verify(con, head_file=head_file, chunk_rows=3)
    assert result.intact


def test_verify_empty_log(tmp_path):
    con = connect(tmp_path / "catalog.duckdb")
    accesslog.create_schema(con)
    head_file = tmp_path / "heads.txt"
    accesslog.record_head(con, head_file)
    assert head_file.read_text().startswith(f"0 {accesslog.GENESIS_HASH} ")
    result = accesslog.verify(con, head_file=head_file)
    assert result == accesslog.VerifyResult(0, True, None, None)


def test_verify_accepts_entries_after_head(log_copy):
    db, head_file = log_copy
    con = connect(db)
    append_sample(con, 11)
    result = accesslog.verify(con, head_file=head_file)
    assert result.intact
    assert result.entries == ENTRY_COUNT + 1


# --- verify: tampering ------------------------------------------------------------


@pytest.mark.parametrize(
    "update_sql",
    [
        pytest.param("UPDATE access_log SET actor = 'user9' WHERE id = 4", id="actor"),
        pytest.param(
            'UPDATE access_log SET "at" = "at" + INTERVAL 1 MICROSECOND WHERE id = 4',
            id="time",
        ),
        pytest.param(
            "UPDATE access_log SET object_ids = ['999'] WHERE id = 4", id="object-ids"
        ),
        pytest.param(
            'UPDATE access_log SET detail = \'{"reason_code":"other"}\' WHERE id = 4',
            id="detail",
        ),
        pytest.param(
            "UPDATE access_log SET action = 'purge' WHERE id = 4",
            id="action",
        ),
    ],
)
def test_verify_detects_edited_row(log_copy, update_sql):
    db, head_file = log_copy
    con = connect(db)
    con.execute(update_sql)
    result = accesslog.verify(con, head_file=head_file)
    assert not result.intact
    assert result.first_bad == 4
    assert "entry 4 was changed" in result.problem


def test_verify_detects_edited_row_with_new_hash(log_copy):
    db, head_file = log_copy
    con = connect(db)
    con.execute("UPDATE access_log SET actor = 'user9' WHERE id = 4")
    rehash_from(con, 4, last_id=4)
    result = accesslog.verify(con, head_file=head_file)
    assert result.first_bad == 5
    assert "entry 5 does not link to entry 4" in result.problem


def test_verify_detects_deleted_row(log_copy):
    db, head_file = log_copy
    con = connect(db)
    con.execute("DELETE FROM access_log WHERE id = 5")
    result = accesslog.verify(con, head_file=head_file)
    assert not result.intact
    assert result.entries == ENTRY_COUNT - 1
    assert result.first_bad == 5
    assert result.problem == "entry 5 is missing: entry 6 follows entry 4"


def test_verify_detects_deleted_first_row(log_copy):
    db, _ = log_copy
    con = connect(db)
    con.execute("DELETE FROM access_log WHERE id = 1")
    result = accesslog.verify(con)
    assert result.first_bad == 1


def test_verify_detects_deleted_rows_renumbered(log_copy):
    db, head_file = log_copy
    con = connect(db)
    rewrite_table(
        con,
        "SELECT * REPLACE (CASE WHEN id > 5 THEN id - 1 ELSE id END AS id) "
        "FROM old WHERE id <> 5",
    )
    result = accesslog.verify(con, head_file=head_file)
    assert result.first_bad == 5
    assert "entry 5 was changed" in result.problem


def test_verify_detects_deleted_row_at_chunk_edge(log_copy):
    db, _ = log_copy
    con = connect(db)
    con.execute("DELETE FROM access_log WHERE id = 4")
    result = accesslog.verify(con, chunk_rows=3)
    assert result.first_bad == 4


@pytest.mark.parametrize(
    ("forge_hash", "first_bad"),
    [
        # Without the hash scheme the inserted row itself fails.
        pytest.param(False, 6, id="unhashed"),
        # A forger who computes a valid hash for the inserted row still breaks the
        # next row, whose id (part of its hash) had to change to make room.
        pytest.param(True, 7, id="hashed"),
    ],
)
def test_verify_detects_inserted_row(log_copy, forge_hash, first_bad):
    db, head_file = log_copy
    con = connect(db)
    rewrite_table(
        con,
        "SELECT * REPLACE (CASE WHEN id >= 6 THEN id + 1 ELSE id END AS id) FROM old",
    )

    prev_hash = con.execute("SELECT hash FROM access_log WHERE id = 5").fetchall()[0][0]
    at = START + timedelta(minutes=5, seconds=30)
    fields = {
        "id": 6,
        "at": at,
        "actor": "user1",
        "role": "operator",
        "client_addr": "127.0.0.1",
        "action": "login",
        "object_type": None,
        "object_ids": [],
        "result": "ok",
        "detail": None,
    }
    digest = accesslog.entry_hash(prev_hash, **fields) if forge_hash else "e" * 64

    con.execute(
        "INSERT INTO access_log VALUES (6, ?, 'user1', 'operator', '127.0.0.1', "
        "'login', NULL, [], 'ok', NULL, ?, ?)",
        [at, prev_hash, digest],
    )

    result = accesslog.verify(con, head_file=head_file)
    assert not result.intact
    assert result.entries == ENTRY_COUNT + 1
    assert result.first_bad == first_bad


def test_verify_detects_swapped_rows(log_copy):
    db, head_file = log_copy
    con = connect(db)
    rewrite_table(
        con,
        "SELECT * REPLACE (CASE id WHEN 3 THEN 4 WHEN 4 THEN 3 ELSE id END AS id) "
        "FROM old",
    )
    result = accesslog.verify(con, head_file=head_file)
    assert not result.intact
    assert result.first_bad == 3


def test_verify_detects_duplicate_id(log_copy):
    db, _ = log_copy
    con = connect(db)
    # A forger can recreate the table without its primary key.
    con.execute("CREATE TABLE copy AS SELECT * FROM access_log")
    con.execute("DROP TABLE access_log")
    con.execute("ALTER TABLE copy RENAME TO access_log")
    con.execute("INSERT INTO access_log SELECT * FROM access_log WHERE id = 7")
    result = accesslog.verify(con)
    assert result.first_bad == 7
    assert "more than once" in result.problem


def test_verify_detects_cut_tail(log_copy):
    db, head_file = log_copy
    con = connect(db)
    con.execute("DELETE FROM access_log WHERE id >= 8")
    result = accesslog.verify(con, head_file=head_file)
    assert not result.intact
    assert result.entries == 7
    assert result.first_bad == 8
    assert "recorded entry 10" in result.problem
    assert "tail was cut off" in result.problem


def test_verify_misses_cut_tail_without_head_file(log_copy):
    db, _ = log_copy
    con = connect(db)
    con.execute("DELETE FROM access_log WHERE id >= 8")
    assert accesslog.verify(con).intact


def test_verify_detects_emptied_log(log_copy):
    db, head_file = log_copy
    con = connect(db)
    con.execute("DELETE FROM access_log")
    result = accesslog.verify(con, head_file=head_file)
    assert result.entries == 0
    assert result.first_bad == 1


def test_verify_detects_rewritten_chain(log_copy):
    db, head_file = log_copy
    con = connect(db)
    con.execute("UPDATE access_log SET actor = 'user9' WHERE id = 4")
    rehash_from(con, 4)
    assert accesslog.verify(con).intact
    result = accesslog.verify(con, head_file=head_file)
    assert not result.intact
    assert result.first_bad == ENTRY_COUNT
    assert "rewritten after entry 0 and at or before entry 10" in result.problem


def test_verify_rewritten_chain_narrowed_by_heads(log_copy):
    db, head_file = log_copy
    con = connect(db)
    original = head_file.read_text()
    lines = [
        f"3 {con.execute('SELECT hash FROM access_log WHERE id = 3').fetchall()[0][0]} "
        "2026-03-02T00:03:30.000000+00:00",
        f"6 {con.execute('SELECT hash FROM access_log WHERE id = 6').fetchall()[0][0]} "
        "2026-03-02T00:06:30.000000+00:00",
    ]
    head_file.write_text("\n".join(lines) + "\n" + original)
    con.execute("UPDATE access_log SET actor = 'user9' WHERE id = 4")
    rehash_from(con, 4)
    result = accesslog.verify(con, head_file=head_file)
    assert result.first_bad == 6
    assert "after entry 3 and at or before entry 6" in result.problem


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("10 abc 2026-03-02\n", "line 1 is invalid", id="short-hash"),
        pytest.param("x\n", "line 1 is invalid", id="one-field"),
        pytest.param(f"0 {'1' * 64} 2026-03-02\n", "expected the genesis", id="zero"),
    ],
)
def test_verify_rejects_invalid_head_file(log_copy, content, message):
    db, head_file = log_copy
    head_file.write_text(content)
    con = connect(db)
    with pytest.raises(RecwatchError, match=message):
        accesslog.verify(con, head_file=head_file)


def test_verify_rejects_missing_head_file(log_copy, tmp_path):
    db, _ = log_copy
    con = connect(db)
    with pytest.raises(RecwatchError, match="head file .* was not found"):
        accesslog.verify(con, head_file=tmp_path / "absent.txt")


# --- recwatch log verify ----------------------------------------------------------


def run_verify(*arguments: str):
    return CliRunner().invoke(log_app, ["verify", *arguments])


def test_cli_verify_intact(log_copy):
    db, head_file = log_copy
    outcome = run_verify("--db", str(db), "--head-file", str(head_file))
    assert outcome.exit_code == 0, outcome.output
    last_line = outcome.output.splitlines()[-1]
    assert last_line == f"log: entries={ENTRY_COUNT} intact=yes first_bad=-"


def test_cli_verify_without_head_file_notes_limit(log_copy):
    db, _ = log_copy
    outcome = run_verify("--db", str(db))
    assert outcome.exit_code == 0, outcome.output
    assert "cut-off tail cannot be detected" in outcome.output


def test_cli_verify_broken(log_copy):
    db, head_file = log_copy
    con = connect(db)
    con.execute("DELETE FROM access_log WHERE id = 5")
    con.close()
    outcome = run_verify("--db", str(db), "--head-file", str(head_file))
    assert outcome.exit_code == 1, outcome.output
    assert "problem: entry 5 is missing" in outcome.output
    last_line = outcome.output.splitlines()[-1]
    assert last_line == f"log: entries={ENTRY_COUNT - 1} intact=no first_bad=5"


def test_cli_verify_missing_db(tmp_path):
    outcome = run_verify("--db", str(tmp_path / "absent.duckdb"))
    assert outcome.exit_code == 2
    assert "was not found" in outcome.output


def test_cli_verify_catalog_without_log(tmp_path):
    db = tmp_path / "other.duckdb"
    connect(db).close()
    outcome = run_verify("--db", str(db))
    assert outcome.exit_code == 2
    assert "has no access_log table" in outcome.output


def test_cli_verify_locked_catalog(log_copy):
    db, _ = log_copy
    holder_code = (
        "import sys, duckdb\n"
        "con = duckdb.connect(sys.argv[1], config={"
        "'autoinstall_known_extensions': False, 'autoload_known_extensions': False})\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_code, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        outcome = run_verify("--db", str(db))
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert outcome.exit_code == 2, outcome.output
    assert "locked by another process" in outcome.output
    assert "stop the server" in outcome.output
