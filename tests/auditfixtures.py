"""A generated catalog with known rule violations, for the auditor notebook tests.

:func:`build_audit_catalog` writes a catalog with at least one violation of each
kind the notebooks report, and :data:`EXPECTED_VIOLATIONS` lists how many of each
every notebook must find. The snapshot is taken at :data:`TAKEN_AT`, and the
notebooks judge retention and due dates at that instant, so the counts do not
depend on the day the tests run. Every name and phone number here is made up.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline import accesslog, handover, holds, purge, requests, returns, snapshots
from pipeline.catalog import Catalog
from pipeline.config import Config, build_config

SEOUL = ZoneInfo("Asia/Seoul")
# Tuesday 2026-03-31 10:00 in Seoul.
TAKEN_AT = datetime(2026, 3, 31, 1, 0, tzinfo=UTC)

EXPECTED_VIOLATIONS: dict[str, dict[str, int]] = {
    "retention_audit": {
        "kept_past_retention": 1,
        "deleted_late": 1,
        "deleted_early": 1,
        "deleted_without_record": 1,
        "missing_without_purge": 1,
        "hold_without_reason": 1,
    },
    "access_audit": {
        "access_log_chain_broken": 1,
        "access_without_request": 1,
        "after_hours_access": 2,
        "unreviewed_month": 1,
    },
    "requests_audit": {
        "overdue_notice": 1,
        "late_notice": 1,
        "ledger_incomplete": 1,
        "approval_out_of_order": 1,
    },
    "quality_audit": {
        "silent_call": 1,
        "one_way_audio": 1,
        "missing_notice": 1,
        "full_mode_without_approval": 1,
    },
}

# The access-log review table that the access notebook reads when it exists.


def make_config(base: Path) -> Config:
    """Return a configuration whose data folder and spool are under ``base``."""
    (base / "spool").mkdir(parents=True, exist_ok=True)
    return build_config(
        {
            "data_dir": str(base / "data"),
            "recorders": [{"root": str(base / "spool")}],
            "ingest": {"stable_s": 0.3, "reconcile_interval_s": 600.0, "workers": 1},
        },
        base=base,
        source=base / "recwatch.toml",
    )


def seoul(year: int, month: int, day: int, hour: int = 10, minute: int = 0):
    """Return an aware datetime for a local time in Asia/Seoul."""
    return datetime(year, month, day, hour, minute, tzinfo=SEOUL)


def _stats(**values) -> str:
    return json.dumps(values)


# id, start (Seoul), line, department, mode, status, deleted_at, missing_since,
# silence_ratio, stats
_RECORDINGS = [
    (1, seoul(2026, 3, 25), "2103", "민원과", "full", "ok", None, None, 0.2,
     _stats(verdict="ok", one_way=False, notice=True)),
    (2, seoul(2026, 2, 10), "2101", "민원과", "selective", "ok", None, None, 0.3,
     _stats(verdict="ok", one_way=False, notice=None)),
    (3, seoul(2026, 2, 11), "2101", "민원과", "selective", "ok", None, None, 0.3,
     _stats(verdict="ok")),
    (4, seoul(2026, 2, 12), "2101", "민원과", "selective", "ok", None, None, 0.3,
     _stats(verdict="ok")),
    (5, seoul(2026, 1, 10), "2101", "민원과", "selective", "deleted",
     seoul(2026, 2, 9, 22), None, 0.3, _stats(verdict="ok")),
    (6, seoul(2026, 1, 5), "2101", "민원과", "selective", "deleted",
     seoul(2026, 2, 20, 3), None, 0.3, _stats(verdict="ok")),
    (7, seoul(2026, 1, 12), "2101", "민원과", "selective", "deleted",
     seoul(2026, 2, 12, 3), None, 0.3, _stats(verdict="ok")),
    (8, seoul(2026, 3, 20), "2101", "민원과", "selective", "ok", None,
     seoul(2026, 3, 22), 0.3, _stats(verdict="ok")),
    (9, seoul(2026, 3, 26), "2102", "세무과", "selective", "ok", None, None, 1.0,
     _stats(verdict="all_silent", one_way=False, notice=None)),
    (10, seoul(2026, 3, 27), "2102", "세무과", "selective", "ok", None, None, 0.4,
     _stats(verdict="one_way", one_way=True, notice=None,
            channels_stats=[{"talk_ratio": 0.99}, {"talk_ratio": 0.01}])),
    (11, seoul(2026, 3, 27), "2103", "민원과", "full", "ok", None, None, 0.3,
     _stats(verdict="ok", one_way=False, notice=False)),
    (12, seoul(2026, 3, 28), "2103", "민원과", "full", "ok", None, None, 0.3,
     _stats(verdict="ok", one_way=False, notice=None)),
    (13, seoul(2026, 3, 15), "2104", "세무과", "full", "ok", None, None, 0.3,
     _stats(verdict="ok", one_way=False, notice={"found": True, "score": 0.9})),
    (14, seoul(2026, 3, 1), "2101", "민원과", "selective", "deleted",
     seoul(2026, 3, 10, 3), None, 0.3, _stats(verdict="ok")),
]  # fmt: skip


def _insert_recordings(con) -> None:
    for (
        recording_id,
        start,
        line,
        department,
        mode,
        status,
        deleted_at,
        missing_since,
        silence_ratio,
        stats,
    ) in _RECORDINGS:
        path = f"/spool/{start:%Y/%m/%d}/in-{line}-0200001234-{start:%Y%m%d-%H%M%S}.wav"
        con.execute(
            "INSERT INTO recordings (id, root, path, file_name, file_name_nfc,"
            " sha256, start_time, line, other_party, direction, mode, department,"
            " channels, duration_s, silence_ratio, stats, status, first_seen,"
            " last_seen, deleted_at, missing_since)"
            " VALUES (?, '/spool', ?, ?, ?, ?, ?, ?, '0200001234', 'in', ?, ?, ?,"
            " 60.0, ?, ?, ?, ?, ?, ?, ?)",
            [
                recording_id,
                path,
                Path(path).name,
                Path(path).name,
                f"{recording_id:064x}",
                start,
                line,
                mode,
                department,
                2 if recording_id == 10 else 1,
                silence_ratio,
                stats,
                status,
                start,
                start,
                deleted_at,
                missing_since,
            ],
        )
    # Sequence values must pass the explicit ids above for later inserts.
    con.execute("SELECT setval('recording_id_seq', 100)")
    con.execute(
        "INSERT INTO lines VALUES"
        " ('2101', '민원과', 'selective', NULL, NULL, NULL, NULL),"
        " ('2102', '세무과', 'selective', NULL, NULL, NULL, NULL),"
        " ('2103', '민원과', 'full', '정보통신과-0001', '가상과장',"
        "  DATE '2026-01-01', DATE '2026-12-31'),"
        " ('2104', '세무과', 'full', '정보통신과-0002', '가상과장',"
        "  DATE '2025-03-01', DATE '2026-02-28')"
    )


def _insert_holds_and_destruction(con) -> None:
    for statement in [*holds.SCHEMA_SQL, *purge.SCHEMA_SQL]:
        con.execute(statement)
    for recording_id, reason in ((3, "소송 증거 보전 요청(가상)"), (4, "  ")):
        con.execute(
            "INSERT INTO holds (recording_id, reason, approver, placed_by, placed_at,"
            " ends_on, ends_at) VALUES (?, ?, 'park.tl', 'kim.op', ?, ?, ?)",
            [
                recording_id,
                reason,
                seoul(2026, 3, 5),
                date(2026, 4, 30),
                seoul(2026, 5, 1, 0),
            ],
        )
    con.execute(
        "INSERT INTO purge_runs (job, started_at, finished_at, mode, operator,"
        " now_used, deleted, status) VALUES ('daily', ?, ?, 'apply', 'scheduler',"
        " ?, 2, 'completed')",
        [seoul(2026, 2, 9, 2, 30), seoul(2026, 2, 9, 2, 31), seoul(2026, 2, 9, 2, 30)],
    )
    for recording_id in (5, 6, 14):
        con.execute(
            "INSERT INTO destruction_records (recording_id, run_id, path, sha256,"
            " size_bytes, planned_at, destroyed_at, operator, reason, method, status)"
            " VALUES (?, 1, ?, ?, 1000, ?, ?, 'scheduler', 'retention expired',"
            " 'overwrite+unlink', 'destroyed')",
            [
                recording_id,
                f"/spool/{recording_id}.wav",
                f"{recording_id:064x}",
                seoul(2026, 2, 9, 2, 30),
                seoul(2026, 2, 9, 2, 31),
            ],
        )


def _insert_request(
    con,
    request_id: int,
    *,
    status: str,
    requested_at: datetime,
    approvals: list[tuple[str, str, datetime]],
    recordings: list[int],
    provided_on: date | None = None,
    proof: bool = True,
    with_handover: bool = True,
    notice_on: date | None = None,
) -> None:
    due_on = requests.due_date(provided_on) if provided_on else None
    con.execute(
        "INSERT INTO requests (id, number, status, access_kind, requested_at,"
        " created_by, requester_name, requester_birth, requester_address,"
        " requester_contact, recorded_at, recorded_phone, purpose, relation, reason,"
        " proof_file_name, proof_sha256, provided_on, due_on, updated_at)"
        " VALUES (?, ?, ?, 'provide', ?, 'kim.op', '가상민원인', '1990-01-01',"
        " '가상시 중앙로 1', '010-0000-1234', ?, '02-0000-1234', '민원 확인',"
        " '통화 당사자', '통화 내용 확인', ?, ?, ?, ?, ?)",
        [
            request_id,
            f"2026-{request_id:04d}",
            status,
            requested_at,
            requested_at - timedelta(days=1),
            "proof.pdf" if proof else None,
            "ab" * 32 if proof else None,
            provided_on,
            due_on,
            requested_at,
        ],
    )
    for recording_id in recordings:
        con.execute(
            "INSERT INTO request_recordings VALUES (?, ?, 'kim.op', ?)",
            [request_id, recording_id, requested_at],
        )
    for stage, username, decided_at in approvals:
        con.execute(
            "INSERT INTO request_approvals VALUES (?, ?, 'approved', ?, ?, ?, NULL)",
            [request_id, stage, username, username, decided_at],
        )
    if provided_on and with_handover:
        rows = con.execute(
            "INSERT INTO handovers (request_id, method, file_count, received_on,"
            " recipient_address, recipient_name, official_affiliation,"
            " official_rank, official_name, handed_over_by, handed_over_at)"
            " VALUES (?, 'copy', ?, ?, '가상시 중앙로 1', '가상경찰서', '정보통신과',"
            " '주무관', '김담당', 'kim.op', ?) RETURNING id",
            [request_id, len(recordings), provided_on, requested_at],
        ).fetchall()
        for recording_id in recordings:
            con.execute(
                "INSERT INTO handover_recordings VALUES (?, ?, 'call.wav', NULL)",
                [rows[0][0], recording_id],
            )
    if notice_on:
        con.execute(
            "INSERT INTO request_notices (request_id, notified_on, use_result,"
            " destruction, destroyed_by_affiliation, destroyed_by_name,"
            " confirmer_affiliation, confirmer_rank, confirmer_name, recorded_by,"
            " recorded_at) VALUES (?, ?, 'destroyed', 'destroyed', '가상경찰서',"
            " '가상수사관', '정보통신과', '주무관', '김담당', 'kim.op', ?)",
            [request_id, notice_on, requested_at],
        )


def _signed(day: datetime) -> list[tuple[str, str, datetime]]:
    return [
        ("staff", "lee.op", day),
        ("team_leader", "park.tl", day + timedelta(hours=1)),
        ("department_head", "choi.dh", day + timedelta(hours=2)),
    ]


def _insert_requests(con) -> None:
    requests.create_schema(con)
    handover.create_schema(con)
    returns.create_schema(con)
    # 2026-0001: in order, provided, notice not yet due.
    _insert_request(
        con,
        1,
        status="provided",
        requested_at=seoul(2026, 3, 25, 9),
        approvals=_signed(seoul(2026, 3, 26, 9)),
        recordings=[1],
        provided_on=date(2026, 3, 26),
    )
    # 2026-0002: provided on 2026-02-10, notice due 2026-03-12 and still missing.
    _insert_request(
        con,
        2,
        status="provided",
        requested_at=seoul(2026, 2, 9, 9),
        approvals=_signed(seoul(2026, 2, 9, 10)),
        recordings=[2],
        provided_on=date(2026, 2, 10),
    )
    # 2026-0003: the team leader signed before the staff in charge.
    _insert_request(
        con,
        3,
        status="approved",
        requested_at=seoul(2026, 3, 20, 9),
        approvals=[
            ("staff", "lee.op", seoul(2026, 3, 21, 11)),
            ("team_leader", "park.tl", seoul(2026, 3, 21, 10)),
            ("department_head", "choi.dh", seoul(2026, 3, 21, 12)),
        ],
        recordings=[4],
    )
    # 2026-0004: returned with a late notice, no proof document and no handover.
    _insert_request(
        con,
        4,
        status="returned",
        requested_at=seoul(2026, 2, 12, 9),
        approvals=_signed(seoul(2026, 2, 12, 10)),
        recordings=[3],
        provided_on=date(2026, 2, 13),
        proof=False,
        with_handover=False,
        notice_on=date(2026, 3, 20),
    )


def _append_access_log(con) -> None:
    entries = [
        # January: one entry, and no review of January exists.
        ("park.tl", "hold_change", "recording", [3], seoul(2026, 1, 20, 10), None),
        ("kim.op", "play", "recording", [2], seoul(2026, 2, 10, 11), None),
        ("kim.op", "play", "recording", [1], seoul(2026, 3, 26, 11), {"request_id": 1}),
        # Covered by request 2026-0001, but at 21:30.
        ("kim.op", "download", "recording", [1], seoul(2026, 3, 26, 21, 30), None),
        # No request covers recording 9.
        ("kim.op", "play", "recording", [9], seoul(2026, 3, 27, 10), None),
        # A party's own protected copy needs no request; but 2026-03-28 is a Saturday.
        ("jung.view", "export", "recording", [10], seoul(2026, 3, 28, 14),
         {"kind": "own_copy"}),
        ("auditor1", "verify_log", None, [], seoul(2026, 3, 30, 15), None),
    ]  # fmt: skip
    for actor, action, object_type, object_ids, at, detail in entries:
        accesslog.append(
            con,
            actor=actor,
            role="operator",
            action=action,
            object_type=object_type,
            object_ids=object_ids,
            detail=detail,
            at=at,
        )
    # The catalog's own review table: one row per reviewed month, keyed by the
    # month's first day. January stays unreviewed.
    con.execute(
        "INSERT INTO access_log_reviews VALUES (DATE '2026-02-01', 'park.tl', ?, '')",
        [seoul(2026, 3, 3)],
    )


def _break_access_log_chain(con) -> None:
    """Change one middle entry, as someone editing the log by hand would."""
    con.execute("UPDATE access_log SET actor = 'someone.else' WHERE id = 2")


def build_audit_catalog(base: Path) -> tuple[Config, Path]:
    """Write the catalog with every violation kind and publish its snapshot."""
    config = make_config(base)
    with Catalog(config.catalog_path) as catalog:
        catalog.write(_insert_recordings)
        catalog.write(_insert_holds_and_destruction)
        catalog.write(_insert_requests)
        catalog.write(_append_access_log)
        catalog.write(_break_access_log_chain)
        path = snapshots.publish_snapshot(catalog, config, now=TAKEN_AT)
    return config, path


# Tables of the hold, purge and request workflow, dropped to imitate a catalog
# written before that workflow existed.
OPTIONAL_TABLES = (
    "holds",
    "purge_runs",
    "destruction_records",
    "request_number_counters",
    "requests",
    "request_recordings",
    "request_approvals",
    "handovers",
    "handover_recordings",
    "request_notices",
    "request_due_date_changes",
    "access_log_reviews",
)


def _drop_optional_tables(con) -> None:
    for table in OPTIONAL_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def build_minimal_catalog(base: Path) -> tuple[Config, Path]:
    """Write a catalog without the optional tables and publish its snapshot."""
    config = make_config(base)
    with Catalog(config.catalog_path) as catalog:
        catalog.write(_drop_optional_tables)
        catalog.write(_insert_recordings)
        path = snapshots.publish_snapshot(catalog, config, now=TAKEN_AT)
    return config, path


# --- a server-like process ----------------------------------------------------------


def run_server(base: str, stop_file: str) -> None:
    """Own the catalog of ``base``: ingest, purge and publish snapshots.

    Runs in a subprocess until ``stop_file`` exists. A snapshot is published every
    second, so that a reader in another process always finds a recent one, and
    the expired test calls are purged as soon as they are cataloged.
    """
    from pipeline.ingest import Ingestor
    from pipeline.purge import run_purge

    config = make_config(Path(base))
    with Catalog(config.catalog_path) as catalog:
        ingestor = Ingestor(catalog, config)
        ingestor.start()
        # Enough kept that no snapshot is pruned while a test still reads it.
        publisher = snapshots.SnapshotPublisher(
            catalog, config, interval_s=1, keep=1000
        )
        publisher.start()
        try:
            while not Path(stop_file).exists():
                run_purge(catalog, config, apply=True, operator="test")
                time.sleep(0.2)
        finally:
            publisher.stop()
            ingestor.stop()


if __name__ == "__main__":
    run_server(sys.argv[1], sys.argv[2])
