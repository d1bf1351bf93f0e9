"""Snapshot publishing, the snapshot publisher thread and verified read-only opening."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipeline import accesslog, auditdata, snapshots
from pipeline.catalog import DUCKDB_CONFIG, SCHEMA_VERSION, Catalog
from pipeline.config import Config, build_config
from pipeline.errors import RecwatchError
from pipeline.snapshots import SnapshotError

TAKEN_AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    data_dir = tmp_path / "data"
    return build_config(
        {"data_dir": str(data_dir), "recorders": [{"root": str(tmp_path / "spool")}]},
        base=tmp_path,
        source=tmp_path / "recwatch.toml",
    )


def _fill(con, rows: int = 20, log_entries: int = 5, first: int = 0) -> None:
    con.execute(
        "INSERT INTO recordings (root, path, file_name, file_name_nfc, status,"
        " first_seen, last_seen, start_time, other_party, line)"
        " SELECT '/spool', '/spool/call-' || i || '.wav', 'call.wav', 'call.wav',"
        " 'ok', now(), now(), now(), '0200001234', '2101' FROM range(?, ?) t(i)",
        [first, first + rows],
    )
    for index in range(log_entries):
        accesslog.append(
            con,
            actor="kim.op",
            role="operator",
            action="play",
            object_type="recording",
            object_ids=[index + 1],
        )


@pytest.fixture
def catalog(config: Config):
    with Catalog(config.catalog_path) as catalog:
        catalog.write(_fill)
        yield catalog


@pytest.fixture
def published(catalog: Catalog, config: Config) -> Path:
    return snapshots.publish_snapshot(catalog, config, now=TAKEN_AT)


def _manifest(path: Path) -> dict:
    return json.loads(snapshots.manifest_path(path).read_text(encoding="utf-8"))


def _rewrite_manifest_sha(path: Path) -> None:
    """Make the manifest's SHA-256 match the file again, as a forger would."""
    document = _manifest(path)
    document["sha256"] = snapshots.file_sha256(path)
    snapshots.manifest_path(path).write_text(json.dumps(document), encoding="utf-8")


def _edit_with_duckdb(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path), config=DUCKDB_CONFIG)
    for statement in statements:
        con.execute(statement)
    con.execute("CHECKPOINT")
    con.close()


# --- publishing ---------------------------------------------------------------------


def test_publish_names_file_by_utc_time(published: Path, config: Config):
    assert published.name == "catalog-20260302T013000Z.duckdb"
    assert published.parent == config.data_dir / "snapshots"
    assert snapshots.manifest_path(published).is_file()


def test_publish_leaves_no_temporary_files(published: Path):
    names = sorted(path.name for path in published.parent.iterdir())
    assert names == [
        "catalog-20260302T013000Z.duckdb",
        "catalog-20260302T013000Z.manifest.json",
    ]


def test_manifest_records_counts_head_and_hash(published: Path, catalog: Catalog):
    document = _manifest(published)
    head = accesslog.head(catalog.cursor())
    assert document["taken_at"] == "2026-03-02T01:30:00+00:00"
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["row_counts"]["recordings"] == 20
    assert document["row_counts"]["access_log"] == 5
    assert document["access_log_head"] == {"id": head.id, "hash": head.hash}
    assert document["sha256"] == snapshots.file_sha256(published)
    assert document["reason"] == "scheduled"
    assert document["masking"] == "none"


def test_publish_appends_head_to_head_file(published: Path, config: Config):
    lines = Path(config["security.access_log_head_file"]).read_text().splitlines()
    head = _manifest(published)["access_log_head"]
    assert len(lines) == 1
    assert lines[0].split()[:2] == [str(head["id"]), head["hash"]]


def test_publish_same_second_gets_suffix(catalog: Catalog, config: Config):
    first = snapshots.publish_snapshot(catalog, config, now=TAKEN_AT)
    second = snapshots.publish_snapshot(catalog, config, now=TAKEN_AT)
    assert first.name == "catalog-20260302T013000Z.duckdb"
    assert second.name == "catalog-20260302T013000Z-2.duckdb"
    assert snapshots.list_snapshots(first.parent) == [first, second]


def test_auditor_snapshot_keeps_phone_numbers(published: Path):
    with auditdata.open_snapshot(published) as snapshot:
        numbers = snapshot.sql("SELECT DISTINCT other_party FROM recordings")
    assert numbers["other_party"].tolist() == ["0200001234"]


def test_viewer_snapshot_masks_phone_numbers(catalog: Catalog, config: Config):
    path = snapshots.publish_snapshot(catalog, config, role="viewer")
    with auditdata.open_snapshot(path) as snapshot:
        numbers = snapshot.sql("SELECT DISTINCT other_party FROM recordings")
        masking = snapshot.manifest.masking
    assert masking.startswith("masked: ")
    assert "recordings.other_party" in masking
    assert numbers["other_party"].tolist() == ["02-****-1234"]


def test_viewer_snapshot_masks_requester(catalog: Catalog, config: Config):
    def add_request(con) -> None:
        con.execute(
            "INSERT INTO requests (id, number, status, access_kind, requested_at,"
            " created_by, requester_name, requester_birth, requester_address,"
            " requester_contact, recorded_at, recorded_phone, purpose, relation,"
            " reason, updated_at) VALUES (1, '2026-0001', 'submitted', 'view',"
            " now(), 'kim.op', '홍길동', '1990-01-02', '가상시 중앙로 1',"
            " '010-0000-1234', now(), '0200001234', '확인', '당사자', '확인', now())"
        )

    catalog.write(add_request)
    path = snapshots.publish_snapshot(catalog, config, role="viewer")
    with auditdata.open_snapshot(path) as snapshot:
        row = snapshot.sql(
            "SELECT requester_name, requester_birth, requester_contact,"
            " recorded_phone FROM requests"
        ).iloc[0]
    assert row["requester_name"] == "홍*동"
    assert row["requester_birth"] == "1990-**-**"
    assert row["requester_contact"] == "010-****-1234"
    assert row["recorded_phone"] == "02-****-1234"


def test_publish_unknown_role_raises(catalog: Catalog, config: Config):
    with pytest.raises(RecwatchError, match="snapshot role 'guest' is unknown"):
        snapshots.publish_snapshot(catalog, config, role="guest")


def test_snapshot_consistent_during_writes(catalog: Catalog, config: Config):
    stop = threading.Event()

    def keep_appending() -> None:
        while not stop.is_set():
            catalog.write(
                lambda con: accesslog.append(
                    con, actor="kim.op", action="play", object_ids=[1]
                )
            )

    writer = threading.Thread(target=keep_appending)
    writer.start()
    try:
        paths = [snapshots.publish_snapshot(catalog, config) for _ in range(3)]
    finally:
        stop.set()
        writer.join()
    for path in paths:
        with auditdata.open_snapshot(path) as snapshot:
            result = accesslog.verify(snapshot.con)
            assert result.intact, result.problem


def test_prune_keeps_newest(catalog: Catalog, config: Config):
    made = [
        snapshots.publish_snapshot(catalog, config, now=TAKEN_AT + timedelta(hours=i))
        for i in range(4)
    ]
    removed = snapshots.prune_snapshots(snapshots.snapshot_dir(config), keep=2)
    assert removed == made[:2]
    assert snapshots.list_snapshots(snapshots.snapshot_dir(config)) == made[2:]
    assert not snapshots.manifest_path(made[0]).exists()


def test_prune_keep_zero_raises(config: Config):
    with pytest.raises(RecwatchError, match="snapshots to keep is 0"):
        snapshots.prune_snapshots(snapshots.snapshot_dir(config), keep=0)


# --- publisher thread ---------------------------------------------------------------


def test_publisher_publishes_on_request(catalog: Catalog, config: Config):
    publisher = snapshots.SnapshotPublisher(catalog, config, interval_s=3600, keep=2)
    publisher.start()
    try:
        paths = [publisher.request("audit").result(timeout=60) for _ in range(3)]
    finally:
        publisher.stop()
    assert _manifest(paths[-1])["reason"] == "audit"
    remaining = snapshots.list_snapshots(snapshots.snapshot_dir(config))
    assert len(remaining) == 2
    assert remaining[-1] == paths[-1]


def test_publisher_rejects_zero_interval(catalog: Catalog, config: Config):
    with pytest.raises(RecwatchError, match="snapshot interval is 0 s"):
        snapshots.SnapshotPublisher(catalog, config, interval_s=0)


# --- opening ------------------------------------------------------------------------


def test_open_newest_by_data_dir(catalog: Catalog, config: Config):
    snapshots.publish_snapshot(catalog, config, now=TAKEN_AT)
    newest = snapshots.publish_snapshot(
        catalog, config, now=TAKEN_AT + timedelta(hours=1)
    )
    with auditdata.open_snapshot(data_dir=config.data_dir) as snapshot:
        assert snapshot.path == newest


def test_open_describes_time_in_seoul(published: Path):
    with auditdata.open_snapshot(published) as snapshot:
        assert snapshot.taken_at == TAKEN_AT
        assert "2026-03-02 10:30:00 (Asia/Seoul)" in snapshot.describe()
        assert "스냅샷" in snapshot.describe()


def test_open_has_table(published: Path):
    with auditdata.open_snapshot(published) as snapshot:
        assert snapshot.has_table("recordings")
        assert not snapshot.has_table("no_such_table")


def test_open_is_read_only(published: Path):
    with (
        auditdata.open_snapshot(published) as snapshot,
        pytest.raises(duckdb.InvalidInputException, match="read-only"),
    ):
        snapshot.con.execute("DELETE FROM recordings")


def test_open_from_environment(published: Path, monkeypatch):
    monkeypatch.setenv(auditdata.SNAPSHOT_ENV_VAR, str(published))
    with auditdata.open_from_environment() as snapshot:
        assert snapshot.path == published


def test_open_while_catalog_is_owned(published: Path, catalog: Catalog):
    catalog.write(lambda con: _fill(con, rows=1, log_entries=1, first=100))
    with auditdata.open_snapshot(published) as snapshot:
        counts = snapshot.sql("SELECT count(*) AS n FROM recordings")
    assert counts["n"].tolist() == [20]


# --- tampering ----------------------------------------------------------------------


def test_no_snapshot_raises(config: Config):
    with pytest.raises(SnapshotError, match="no snapshot found in"):
        auditdata.open_snapshot(data_dir=config.data_dir)


def test_manifest_missing_raises(published: Path):
    snapshots.manifest_path(published).unlink()
    with pytest.raises(SnapshotError, match="manifest missing for snapshot"):
        auditdata.open_snapshot(published)


def test_manifest_invalid_raises(published: Path):
    snapshots.manifest_path(published).write_text("{not json", encoding="utf-8")
    with pytest.raises(SnapshotError, match="manifest .* is invalid"):
        auditdata.open_snapshot(published)


def test_edited_byte_fails_sha256(published: Path):
    data = bytearray(published.read_bytes())
    data[len(data) // 2] ^= 0xFF
    published.write_bytes(bytes(data))
    expected = _manifest(published)["sha256"]
    with pytest.raises(
        SnapshotError, match=f"SHA-256 mismatch .*manifest says {expected}"
    ):
        auditdata.open_snapshot(published)


def test_changed_row_fails_sha256(published: Path):
    _edit_with_duckdb(published, "UPDATE recordings SET line = '9999' WHERE id = 1")
    with pytest.raises(SnapshotError, match="SHA-256 mismatch"):
        auditdata.open_snapshot(published)


def test_deleted_row_fails_row_count(published: Path):
    _edit_with_duckdb(published, "DELETE FROM recordings WHERE id = 3")
    _rewrite_manifest_sha(published)
    with pytest.raises(
        SnapshotError, match="row count of recordings .*manifest 20, snapshot 19"
    ):
        auditdata.open_snapshot(published)


def test_dropped_table_fails_row_count(published: Path):
    _edit_with_duckdb(published, "DROP TABLE ingest_errors")
    _rewrite_manifest_sha(published)
    with pytest.raises(
        SnapshotError, match="row count of ingest_errors .*snapshot no such table"
    ):
        auditdata.open_snapshot(published)


def test_rewritten_head_fails_chain_head(published: Path):
    _edit_with_duckdb(
        published, "UPDATE access_log SET hash = repeat('a', 64) WHERE id = 5"
    )
    _rewrite_manifest_sha(published)
    with pytest.raises(
        SnapshotError, match="access-log chain head .*manifest records entry 5"
    ):
        auditdata.open_snapshot(published)


def test_changed_schema_version_fails(published: Path):
    _edit_with_duckdb(
        published,
        f"UPDATE schema_migrations SET version = 99 WHERE version = {SCHEMA_VERSION}",
    )
    _rewrite_manifest_sha(published)
    with pytest.raises(
        SnapshotError, match=f"schema version mismatch .*manifest {SCHEMA_VERSION}"
    ):
        auditdata.open_snapshot(published)


def test_forged_manifest_fails_head_file(published: Path, config: Config):
    document = _manifest(published)
    document["access_log_head"] = {"id": 5, "hash": "b" * 64}
    snapshots.manifest_path(published).write_text(
        json.dumps(document), encoding="utf-8"
    )
    _edit_with_duckdb(
        published, "UPDATE access_log SET hash = repeat('b', 64) WHERE id = 5"
    )
    _rewrite_manifest_sha(published)
    head_file = config["security.access_log_head_file"]
    with pytest.raises(SnapshotError, match="is not recorded in head file"):
        auditdata.open_snapshot(published, head_file=head_file)


def test_head_file_accepts_genuine_snapshot(published: Path, config: Config):
    head_file = config["security.access_log_head_file"]
    with auditdata.open_snapshot(published, head_file=head_file) as snapshot:
        assert snapshot.manifest.access_log_head.id == 5
