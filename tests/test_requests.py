"""Tests for Form 1 requests, numbering, approvals, Form 3 notices and returns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from request_fixtures import (
    CALL_START,
    DEPARTMENT_HEAD,
    OPERATOR,
    SEOUL,
    SIGNERS,
    STAFF,
    TEAM_LEADER,
    VIEWER,
    add_recording,
    approve_all,
    approved_request,
    attach_new_recording,
    destroyed_notice,
    open_catalog,
    provide_by_viewing,
    sample_form,
)
from typer.testing import CliRunner

from pipeline import accesslog, proofs, requests, returns
from pipeline.auth import User
from pipeline.catalog import Catalog
from pipeline.errors import PermissionDenied, RecwatchError
from pipeline.requests_cli import requests_app

PROVIDED_ON = date(2026, 3, 5)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    with open_catalog(tmp_path / "c.duckdb") as opened:
        yield opened


def access_log_events(catalog: Catalog) -> list[tuple[str, str | None]]:
    """Return (action, detail event) of every access-log entry, in order."""
    rows = catalog.query(
        "SELECT action, json_extract_string(detail, '$.event') FROM access_log "
        "ORDER BY id"
    )
    return [(action, event) for action, event in rows]


def denied_entries(catalog: Catalog) -> list[tuple]:
    """Return (actor, request id, event, stage, error code) of denied entries."""
    return catalog.query(
        "SELECT actor, object_ids[1], detail->>'event', detail->>'stage', "
        "detail->>'error_code' FROM access_log WHERE result = 'denied' ORDER BY id"
    )


def record_approvals(catalog: Catalog, request_id: int) -> list[tuple]:
    return catalog.query(
        "SELECT stage FROM request_approvals WHERE request_id = ?", [request_id]
    )


# --- submitting and numbering ---------------------------------------------------------


def test_submit_stores_every_form_field(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form(remarks="급함"))

    assert record.status == "submitted"
    assert record.requester_name == "홍길동"
    assert record.requester_birth == "1980-01-02"
    assert record.requester_address == "경기도 가상시 중앙로 1"
    assert record.requester_contact == "010-0000-1234"
    assert record.recorded_at == CALL_START
    assert record.recorded_phone == "02-0000-1234"
    assert record.purpose == "민원 처리 경위 확인"
    assert record.relation == "통화 당사자"
    assert record.reason == "민원 내용에 대한 사실 확인"
    assert record.remarks == "급함"
    assert record.access_kind == "provide"
    assert record.created_by == OPERATOR.username


def test_numbers_are_sequential_per_year(catalog):
    now = datetime(2026, 4, 1, 9, 0, tzinfo=SEOUL)
    numbers = [
        requests.submit_request(catalog, OPERATOR, sample_form(), now=now).number
        for _ in range(3)
    ]
    assert numbers == ["2026-0001", "2026-0002", "2026-0003"]


def test_rejected_number_is_never_reused(catalog):
    now = datetime(2026, 4, 1, 9, 0, tzinfo=SEOUL)
    first = requests.submit_request(catalog, OPERATOR, sample_form(), now=now)
    requests.reject(catalog, STAFF, first.id, "staff", "증빙 서류 없음")
    catalog.write(lambda con: con.execute("DELETE FROM requests"))

    second = requests.submit_request(catalog, OPERATOR, sample_form(), now=now)

    assert first.number == "2026-0001"
    assert second.number == "2026-0002"


def test_numbering_restarts_each_year(catalog):
    # 2026-12-31 23:30 in Seoul is still 2026 there, although UTC is earlier.
    late_2026 = datetime(2026, 12, 31, 23, 30, tzinfo=SEOUL)
    early_2027 = datetime(2027, 1, 1, 0, 10, tzinfo=SEOUL)
    numbers = [
        requests.submit_request(catalog, OPERATOR, sample_form(), now=late_2026).number,
        requests.submit_request(catalog, OPERATOR, sample_form(), now=late_2026).number,
        requests.submit_request(
            catalog, OPERATOR, sample_form(), now=early_2027
        ).number,
        requests.submit_request(catalog, OPERATOR, sample_form(), now=late_2026).number,
    ]
    assert numbers == ["2026-0001", "2026-0002", "2027-0001", "2026-0003"]


# Form 1 changes that submit_request and update_request both reject.
INVALID_FORMS = [
    pytest.param({"requester_name": " "}, "missing requester_name", id="no-name"),
    pytest.param({"purpose": ""}, "missing purpose", id="no-purpose"),
    pytest.param({"access_kind": "copy"}, "access kind 'copy'", id="bad-kind"),
    pytest.param(
        {"recorded_at": datetime(2026, 3, 2, 10, 15)}, "no time zone", id="naive"
    ),
    pytest.param({"reason": "가" * 2001}, "more than the limit", id="too-long"),
]


@pytest.mark.parametrize(("changes", "message"), INVALID_FORMS)
def test_submit_rejects_invalid_form(catalog, changes, message):
    with pytest.raises(RecwatchError, match=message):
        requests.submit_request(catalog, OPERATOR, sample_form(**changes))


def test_submit_needs_manage_requests(catalog):
    with pytest.raises(PermissionDenied, match="manage_requests"):
        requests.submit_request(catalog, VIEWER, sample_form())


# --- correcting a request before the first approval ----------------------------------


def test_update_changes_form_fields(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    later = CALL_START + timedelta(minutes=20)

    updated = requests.update_request(
        catalog,
        OPERATOR,
        record.id,
        sample_form(
            purpose=" 소송 증거 제출 ",
            recorded_at=later,
            access_kind="view",
            requester_username=TEAM_LEADER.username,
        ),
    )

    assert updated.id == record.id
    assert updated.number == record.number
    assert updated.status == "submitted"
    assert updated.purpose == "소송 증거 제출"
    assert updated.recorded_at == later
    assert updated.access_kind == "view"
    assert updated.requester_username == TEAM_LEADER.username
    assert updated.requester_name == record.requester_name
    assert updated.created_by == OPERATOR.username
    assert requests.get_request(catalog.cursor(), record.id) == updated


def test_update_frozen_after_first_approval(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    signed_at = datetime(2026, 3, 3, 9, 0, tzinfo=SEOUL)
    requests.approve(catalog, STAFF, record.id, "staff", now=signed_at)

    with pytest.raises(
        RecwatchError,
        match=r"request 2026-0001 is submitted and was signed at stage staff by "
        r"'lee\.op' on 2026-03-03 09:00, so its Form 1 fields are frozen\. .*"
        r"stage team_leader to reject it, then submit a new request",
    ):
        requests.update_request(
            catalog, OPERATOR, record.id, sample_form(purpose="다른 목적")
        )

    stored = requests.get_request(catalog.cursor(), record.id)
    assert stored.purpose == record.purpose
    assert not stored.editable


def test_update_rejected_request_fails(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    requests.reject(catalog, STAFF, record.id, "staff", "증빙 서류 없음")

    with pytest.raises(
        RecwatchError, match="request 2026-0001 is rejected, so its Form 1 fields"
    ):
        requests.update_request(
            catalog, OPERATOR, record.id, sample_form(purpose="다른 목적")
        )


@pytest.mark.parametrize(
    "user",
    [
        pytest.param(VIEWER, id="viewer"),
        pytest.param(TEAM_LEADER, id="approver"),
    ],
)
def test_update_needs_manage_requests(catalog, user):
    record = requests.submit_request(catalog, OPERATOR, sample_form())

    with pytest.raises(PermissionDenied, match="may not perform 'manage_requests'"):
        requests.update_request(
            catalog, user, record.id, sample_form(purpose="다른 목적")
        )

    assert requests.get_request(catalog.cursor(), record.id).purpose == record.purpose
    assert access_log_events(catalog) == [("request_change", "submit")]


@pytest.mark.parametrize(("changes", "message"), INVALID_FORMS)
def test_update_rejects_invalid_form_as_submit(catalog, changes, message):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    with pytest.raises(RecwatchError, match=message) as on_submit:
        requests.submit_request(catalog, OPERATOR, sample_form(**changes))

    with pytest.raises(RecwatchError, match=message) as on_update:
        requests.update_request(catalog, OPERATOR, record.id, sample_form(**changes))

    assert str(on_update.value) == str(on_submit.value)
    assert requests.get_request(catalog.cursor(), record.id) == record


def test_update_logs_changed_field_names(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    changed_at = datetime(2026, 3, 3, 11, 0, tzinfo=SEOUL)

    requests.update_request(
        catalog,
        OPERATOR,
        record.id,
        sample_form(reason="법원 제출용 사실 확인", recorded_phone="02-0000-5678"),
        now=changed_at,
    )

    assert access_log_events(catalog) == [
        ("request_change", "submit"),
        ("request_change", "update"),
    ]
    rows = catalog.query(
        'SELECT actor, object_type, object_ids, detail::VARCHAR, "at" '
        "FROM access_log ORDER BY id DESC LIMIT 1"
    )
    actor, object_type, object_ids, detail, at = rows[0]
    assert actor == OPERATOR.username
    assert object_type == "request"
    assert object_ids == [str(record.id)]
    assert at == changed_at
    assert json.loads(detail) == {
        "event": "update",
        "number": record.number,
        "fields": ["recorded_phone", "reason"],
    }
    assert "5678" not in detail
    assert "법원" not in detail
    result = accesslog.verify(catalog.cursor())
    assert result.intact, result.problem
    assert result.entries == 2


def test_update_without_changes_writes_nothing(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())

    # Leading and trailing spaces are stripped as on submit, so nothing changes.
    same = requests.update_request(
        catalog, OPERATOR, record.id, sample_form(purpose=f" {record.purpose} ")
    )

    assert same == record
    assert access_log_events(catalog) == [("request_change", "submit")]


def test_changed_fields_names_differences(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    form = sample_form(remarks="급함", access_kind="view")
    assert requests.changed_fields(record, form) == ["access_kind", "remarks"]
    assert requests.changed_fields(record, sample_form()) == []


# --- matching recordings --------------------------------------------------------------


def test_candidates_match_time_and_number(catalog, tmp_path):
    folder = tmp_path / "spool"
    near = add_recording(catalog, folder, CALL_START + timedelta(minutes=3), seed=1)
    nearer = add_recording(catalog, folder, CALL_START - timedelta(minutes=1), seed=2)
    add_recording(catalog, folder, CALL_START + timedelta(minutes=45), seed=3)
    add_recording(catalog, folder, CALL_START, other_party="0310005678", seed=4)
    by_line = add_recording(
        catalog, folder, CALL_START, line="0200001234", other_party="9999", seed=5
    )
    add_recording(catalog, folder, CALL_START, seed=6, status="deleted")

    found = requests.find_candidates(catalog.cursor(), CALL_START, "02-0000-1234")

    assert [candidate.recording_id for candidate in found] == [by_line, nearer, near]
    assert found[1].minutes_apart == pytest.approx(1.0)


def test_candidates_accept_international_format(catalog, tmp_path):
    recording = add_recording(catalog, tmp_path / "spool", CALL_START)
    found = requests.find_candidates(catalog.cursor(), CALL_START, "+82 2 0000 1234")
    assert [candidate.recording_id for candidate in found] == [recording]


def test_candidates_reject_naive_time(catalog):
    with pytest.raises(RecwatchError, match="no time zone"):
        requests.find_candidates(
            catalog.cursor(), datetime(2026, 3, 2, 10, 15), "0200001234"
        )


def test_attach_rejects_unknown_and_purged(catalog, tmp_path):
    purged = add_recording(catalog, tmp_path / "s", CALL_START, status="deleted")
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    with pytest.raises(RecwatchError, match=r"recordings \[999\] were not found"):
        requests.attach_recordings(catalog, OPERATOR, record.id, [999])
    with pytest.raises(RecwatchError, match="were purged"):
        requests.attach_recordings(catalog, OPERATOR, record.id, [purged])


def test_attach_only_while_submitted(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "s")
    with pytest.raises(RecwatchError, match="is approved, so its recordings"):
        requests.attach_recordings(catalog, OPERATOR, request_id, recording_ids)


# --- proof documents ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("../../etc/passwd", id="parent-traversal"),
        pytest.param("/etc/passwd", id="absolute"),
        pytest.param("..\\windows\\win.ini", id="backslash"),
        pytest.param("..", id="dot-dot"),
        pytest.param("a\x00.pdf", id="nul"),
        pytest.param("", id="empty"),
    ],
)
def test_proof_rejects_unsafe_names(config, name):
    with pytest.raises(RecwatchError, match="proof file name .* is invalid"):
        proofs.store_proof(config, 1, name, b"%PDF-1.4")
    assert not proofs.proofs_dir(config).exists() or not any(
        proofs.proofs_dir(config).iterdir()
    )


def test_proof_stored_under_generated_name(catalog, config):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    proof = proofs.store_proof(config, record.id, "법원 영장.PDF", b"%PDF-1.4 test")

    assert proof.path.parent == config.data_dir / "private" / "proofs"
    assert proof.stored_name.startswith(f"{record.id}-")
    assert proof.stored_name.endswith(".pdf")
    assert "영장" not in proof.stored_name
    assert proof.path.read_bytes() == b"%PDF-1.4 test"
    assert proof.path.stat().st_mode & 0o777 == 0o600

    stored = proofs.attach_proof(catalog, OPERATOR, record.id, proof)
    assert stored.proof_file_name == "법원 영장.PDF"
    assert stored.proof_sha256 == proof.sha256
    assert stored.proof_size_bytes == len(b"%PDF-1.4 test")


def test_proof_rejects_empty_and_oversized(config):
    with pytest.raises(RecwatchError, match="is empty"):
        proofs.store_proof(config, 1, "a.pdf", b"")
    with pytest.raises(RecwatchError, match="more than the limit of 4"):
        proofs.store_proof(config, 1, "a.pdf", b"12345", max_bytes=4)


# --- approvals ------------------------------------------------------------------------


def test_three_stages_approve_in_order(catalog, tmp_path):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    attach_new_recording(catalog, tmp_path, record.id)
    for stage, signer in SIGNERS[:-1]:
        record = requests.approve(catalog, signer, record.id, stage)
        assert record.status == "submitted"
    record = requests.approve(catalog, DEPARTMENT_HEAD, record.id, "department_head")

    assert record.status == "approved"
    assert [a.stage for a in record.approvals] == list(requests.STAGES)
    assert [a.username for a in record.approvals] == [
        signer.username for _, signer in SIGNERS
    ]
    assert all(a.decision == "approved" for a in record.approvals)


def test_stages_out_of_order_fail(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    with pytest.raises(RecwatchError, match="the next one is staff"):
        requests.approve(catalog, TEAM_LEADER, record.id, "team_leader")


def test_entries_carry_client_address(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    token = accesslog.CLIENT_ADDRESS.set("127.0.0.9")
    try:
        requests.approve(catalog, STAFF, record.id, "staff")
        with pytest.raises(PermissionDenied):
            requests.approve(catalog, OPERATOR, record.id, "team_leader")
    finally:
        accesslog.CLIENT_ADDRESS.reset(token)
    requests.reject(catalog, TEAM_LEADER, record.id, "team_leader", "불필요")

    rows = catalog.query(
        "SELECT detail->>'event', result, client_addr FROM access_log ORDER BY id"
    )
    assert rows == [
        ("submit", "ok", None),
        ("approve", "ok", "127.0.0.9"),
        ("approve", "denied", "127.0.0.9"),
        ("reject", "ok", None),
    ]


def test_creator_cannot_approve(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    with pytest.raises(PermissionDenied, match="may not approve it at any stage"):
        requests.approve(catalog, OPERATOR, record.id, "staff")
    assert record_approvals(catalog, record.id) == []
    assert denied_entries(catalog) == [
        (OPERATOR.username, str(record.id), "approve", "staff", "own_request_signed")
    ]


def test_requesting_official_cannot_approve(catalog):
    form = sample_form(requester_username=TEAM_LEADER.username)
    record = requests.submit_request(catalog, OPERATOR, form)
    requests.approve(catalog, STAFF, record.id, "staff")
    with pytest.raises(PermissionDenied, match="entered or asked for"):
        requests.approve(catalog, TEAM_LEADER, record.id, "team_leader")


def test_one_person_signs_one_stage(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    requests.approve(catalog, STAFF, record.id, "staff")
    requests.approve(catalog, TEAM_LEADER, record.id, "team_leader")
    with pytest.raises(PermissionDenied, match="already signed .* stage team_leader"):
        requests.approve(catalog, TEAM_LEADER, record.id, "department_head")
    with pytest.raises(PermissionDenied, match="already signed .* stage team_leader"):
        requests.reject(catalog, TEAM_LEADER, record.id, "department_head", "불필요")
    assert denied_entries(catalog) == [
        (TEAM_LEADER.username, str(record.id), event, "department_head", "signed_twice")
        for event in ("approve", "reject")
    ]
    assert requests.get_request(catalog.cursor(), record.id).status == "submitted"


def test_stage_needs_its_permission(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    requests.approve(catalog, STAFF, record.id, "staff")
    other_operator = User("seo.op", "서담당", ("operator",), "정보통신과")
    with pytest.raises(PermissionDenied, match="approve_request"):
        requests.approve(catalog, other_operator, record.id, "team_leader")


def test_unknown_stage_fails(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    with pytest.raises(RecwatchError, match="stage 'chief' is unknown"):
        requests.approve(catalog, STAFF, record.id, "chief")


@pytest.mark.parametrize("stage_index", [0, 1, 2], ids=requests.STAGES)
def test_reject_at_any_stage(catalog, stage_index):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    for stage, signer in SIGNERS[:stage_index]:
        requests.approve(catalog, signer, record.id, stage)
    stage, signer = SIGNERS[stage_index]

    record = requests.reject(catalog, signer, record.id, stage, "목적 불명확")

    assert record.status == "rejected"
    assert record.rejection_stage == stage
    assert record.rejection_reason == "목적 불명확"
    assert record.approval(stage).decision == "rejected"


def test_final_approval_needs_recordings(catalog, tmp_path):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    for stage, signer in SIGNERS[:-1]:
        requests.approve(catalog, signer, record.id, stage)

    with pytest.raises(RecwatchError, match="has no recordings attached") as caught:
        requests.approve(catalog, DEPARTMENT_HEAD, record.id, "department_head")
    assert caught.value.code == "no_recordings_attached"
    assert requests.get_request(catalog.cursor(), record.id).status == "submitted"

    attach_new_recording(catalog, tmp_path, record.id)
    record = requests.approve(catalog, DEPARTMENT_HEAD, record.id, "department_head")
    assert record.status == "approved"


def test_reject_needs_reason(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    with pytest.raises(RecwatchError, match="has no reason"):
        requests.reject(catalog, STAFF, record.id, "staff", "  ")


# --- invalid transitions --------------------------------------------------------------


def test_rejected_request_is_final(catalog, tmp_path):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    requests.reject(catalog, STAFF, record.id, "staff", "증빙 서류 없음")
    with pytest.raises(RecwatchError, match="rejected is final"):
        requests.approve(catalog, TEAM_LEADER, record.id, "team_leader")
    with pytest.raises(RecwatchError, match="rejected is final"):
        provide_by_viewing(catalog, record.id, [1], PROVIDED_ON)
    with pytest.raises(RecwatchError, match="rejected is final"):
        requests.close_request(catalog, OPERATOR, record.id)


def test_submitted_cannot_be_provided(catalog, tmp_path):
    recording = add_recording(catalog, tmp_path / "s", CALL_START)
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    requests.attach_recordings(catalog, OPERATOR, record.id, [recording])
    with pytest.raises(
        RecwatchError,
        match=r"is submitted and cannot become provided; allowed next steps: "
        r"approved, rejected",
    ):
        provide_by_viewing(catalog, record.id, [recording], PROVIDED_ON)


def test_approved_cannot_return_or_close(catalog, tmp_path):
    request_id, _ = approved_request(catalog, tmp_path / "s")
    with pytest.raises(RecwatchError, match="allowed next steps: provided"):
        returns.record_notice(
            catalog, OPERATOR, request_id, destroyed_notice(PROVIDED_ON)
        )
    with pytest.raises(RecwatchError, match="allowed next steps: provided"):
        requests.close_request(catalog, OPERATOR, request_id)
    with pytest.raises(RecwatchError, match="is approved and cannot become rejected"):
        requests.reject(catalog, STAFF, request_id, "staff", "늦은 반려")


def test_provided_cannot_close_or_provide_again(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "s")
    provide_by_viewing(catalog, request_id, recording_ids, PROVIDED_ON)
    with pytest.raises(RecwatchError, match="allowed next steps: returned"):
        requests.close_request(catalog, OPERATOR, request_id)
    with pytest.raises(RecwatchError, match="cannot become provided"):
        provide_by_viewing(catalog, request_id, recording_ids, PROVIDED_ON)


def test_closed_request_is_final(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "s")
    provide_by_viewing(catalog, request_id, recording_ids, PROVIDED_ON)
    returns.record_notice(catalog, OPERATOR, request_id, destroyed_notice(PROVIDED_ON))
    requests.close_request(catalog, OPERATOR, request_id)
    with pytest.raises(RecwatchError, match="closed is final"):
        requests.close_request(catalog, OPERATOR, request_id)
    with pytest.raises(RecwatchError, match="closed and cannot become returned"):
        returns.record_notice(
            catalog, OPERATOR, request_id, destroyed_notice(PROVIDED_ON)
        )


# --- Form 3 notices, extensions and pending returns -----------------------------------


def test_notice_returns_then_closes(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "s")
    provide_by_viewing(catalog, request_id, recording_ids, PROVIDED_ON)
    record = requests.get_request(catalog.cursor(), request_id)
    assert record.provided_on == PROVIDED_ON
    assert record.due_on == PROVIDED_ON + timedelta(days=30)

    returns.record_notice(
        catalog, OPERATOR, request_id, destroyed_notice(date(2026, 3, 20))
    )
    assert requests.get_request(catalog.cursor(), request_id).status == "returned"

    closed = requests.close_request(catalog, OPERATOR, request_id)
    assert closed.status == "closed"
    assert closed.closed_at is not None
    stored = returns.notices(catalog.cursor(), request_id)
    assert [n.notice for n in stored] == [destroyed_notice(date(2026, 3, 20))]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"use_result": "lost"}, "result of use 'lost'", id="bad-result"),
        pytest.param({"use_result": "other"}, "its text is empty", id="other-empty"),
        pytest.param(
            {"destroyed_by_name": ""}, "person who destroyed", id="no-destroyer"
        ),
        pytest.param(
            {"destruction": "not_destroyed"}, "with reason ''", id="no-reason"
        ),
        pytest.param(
            {"destruction": "extension"}, "period or the planned", id="no-period"
        ),
        pytest.param({"confirmer_rank": ""}, "confirming person", id="no-confirmer"),
    ],
)
def test_notice_rejects_incomplete_form(catalog, changes, message):
    notice = destroyed_notice(PROVIDED_ON)
    notice = returns.DestructionNotice(**{**notice.__dict__, **changes})
    with pytest.raises(RecwatchError, match=message):
        returns.record_notice(catalog, OPERATOR, 1, notice)


def test_notice_before_provided_day_fails(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "s")
    provide_by_viewing(catalog, request_id, recording_ids, PROVIDED_ON)
    with pytest.raises(RecwatchError, match="before the day it was provided"):
        returns.record_notice(
            catalog, OPERATOR, request_id, destroyed_notice(date(2026, 3, 1))
        )


def test_extension_notice_moves_due_date(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "s")
    provide_by_viewing(catalog, request_id, recording_ids, PROVIDED_ON)
    notice = returns.DestructionNotice(
        notified_on=date(2026, 4, 1),
        use_result="evidence",
        destruction="extension",
        extension_period="30일",
        planned_destruction_on=date(2026, 5, 4),
        confirmer_affiliation="가상경찰서",
        confirmer_rank="경위",
        confirmer_name="오수사",
    )

    returns.record_notice(catalog, OPERATOR, request_id, notice)

    record = requests.get_request(catalog.cursor(), request_id)
    assert record.status == "provided"
    assert record.due_on == date(2026, 5, 4)
    history = returns.due_date_changes(catalog.cursor(), request_id)
    assert len(history) == 1
    assert history[0].previous_due_on == date(2026, 4, 4)
    assert history[0].new_due_on == date(2026, 5, 4)
    assert history[0].notice_id is not None
    pending = returns.pending_returns(catalog.cursor(), date(2026, 4, 10))
    assert [(p.number, p.days_left, p.extended) for p in pending] == [
        (record.number, 24, True)
    ]


def test_extension_must_move_later(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "s")
    provide_by_viewing(catalog, request_id, recording_ids, PROVIDED_ON)
    with pytest.raises(RecwatchError, match="is not after the current due date"):
        returns.extend_due_date(
            catalog, OPERATOR, request_id, date(2026, 4, 4), "서면 요청"
        )
    with pytest.raises(RecwatchError, match="has no reason"):
        returns.extend_due_date(catalog, OPERATOR, request_id, date(2026, 5, 1), "")

    record = returns.extend_due_date(
        catalog, OPERATOR, request_id, date(2026, 4, 20), "서면 요청"
    )
    assert record.due_on == date(2026, 4, 20)
    assert returns.due_date_changes(catalog.cursor(), request_id)[0].reason == (
        "서면 요청"
    )


def test_pending_returns_sorted_by_urgency(catalog, tmp_path):
    provided = {}
    for index, provided_on in enumerate(
        [date(2026, 3, 10), date(2026, 2, 1), date(2026, 3, 1)]
    ):
        request_id, recording_ids = approved_request(catalog, tmp_path / f"s{index}")
        provide_by_viewing(catalog, request_id, recording_ids, provided_on)
        provided[provided_on] = request_id
    returned_id, returned_recordings = approved_request(catalog, tmp_path / "r")
    provide_by_viewing(catalog, returned_id, returned_recordings, date(2026, 1, 5))
    returns.record_notice(
        catalog, OPERATOR, returned_id, destroyed_notice(date(2026, 1, 6))
    )
    submitted = requests.submit_request(catalog, OPERATOR, sample_form())

    pending = returns.pending_returns(catalog.cursor(), date(2026, 3, 5))

    assert [p.request_id for p in pending] == [
        provided[date(2026, 2, 1)],
        provided[date(2026, 3, 1)],
        provided[date(2026, 3, 10)],
    ]
    assert [p.days_left for p in pending] == [-2, 26, 35]
    assert [p.overdue for p in pending] == [True, False, False]
    assert pending[0].due_on == date(2026, 3, 3)
    assert pending[0].recipient_name == "가상경찰서"
    assert submitted.id not in [p.request_id for p in pending]


def test_pending_returns_empty(catalog):
    assert returns.pending_returns(catalog.cursor(), date(2026, 3, 5)) == []


# --- access log -----------------------------------------------------------------------


def test_every_change_is_logged_and_chained(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "s")
    provide_by_viewing(catalog, request_id, recording_ids, PROVIDED_ON)
    returns.extend_due_date(catalog, OPERATOR, request_id, date(2026, 4, 20), "요청")
    returns.record_notice(catalog, OPERATOR, request_id, destroyed_notice(PROVIDED_ON))
    requests.close_request(catalog, OPERATOR, request_id)

    assert access_log_events(catalog) == [
        ("request_change", "submit"),
        ("request_change", "attach_recordings"),
        ("request_change", "approve"),
        ("request_change", "approve"),
        ("request_change", "approve"),
        ("handover", "handover"),
        ("request_change", "extend_due_date"),
        ("request_change", "notice"),
        ("request_change", "close"),
    ]
    result = accesslog.verify(catalog.cursor())
    assert result.intact, result.problem
    assert result.entries == 9


def test_log_detail_has_no_personal_data(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "s")
    provide_by_viewing(catalog, request_id, recording_ids, PROVIDED_ON)
    details = " ".join(
        detail for (detail,) in catalog.query("SELECT detail::VARCHAR FROM access_log")
    )
    for personal in ("홍길동", "1980-01-02", "0000-1234", "가상경찰서", "중앙로"):
        assert personal not in details


def test_failed_change_leaves_no_log_entry(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    with pytest.raises(RecwatchError):
        requests.approve(catalog, TEAM_LEADER, record.id, "team_leader")
    assert access_log_events(catalog) == [("request_change", "submit")]


def test_list_requests_filters_status(catalog, tmp_path):
    first = requests.submit_request(catalog, OPERATOR, sample_form())
    second = requests.submit_request(catalog, OPERATOR, sample_form())
    attach_new_recording(catalog, tmp_path, second.id)
    approve_all(catalog, second.id)

    approved = requests.list_requests(catalog.cursor(), ["approved"])
    everything = requests.list_requests(catalog.cursor())

    assert [r.id for r in approved] == [second.id]
    assert {r.id for r in everything} == {first.id, second.id}
    with pytest.raises(RecwatchError, match="status 'done' is unknown"):
        requests.list_requests(catalog.cursor(), ["done"])


def test_get_request_by_number(catalog):
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    assert requests.get_request(catalog.cursor(), record.number).id == record.id
    with pytest.raises(RecwatchError, match="'2026-9999' was not found"):
        requests.get_request(catalog.cursor(), "2026-9999")


def test_requested_at_is_stored_aware(catalog):
    now = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)
    record = requests.submit_request(catalog, OPERATOR, sample_form(), now=now)
    assert record.requested_at == now


# --- recwatch requests list -----------------------------------------------------------


def write_config(tmp_path: Path) -> Path:
    """Write a configuration whose data folder lives under ``tmp_path``."""
    (tmp_path / "spool").mkdir(exist_ok=True)
    path = tmp_path / "recwatch.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        f'[[recorders]]\nroot = "{tmp_path / "spool"}"\n',
        encoding="utf-8",
    )
    return path


def run_list(tmp_path: Path, *arguments: str):
    return CliRunner().invoke(
        requests_app,
        [
            "list",
            "--db",
            str(tmp_path / "c.duckdb"),
            "--config",
            str(write_config(tmp_path)),
            *arguments,
        ],
    )


def test_cli_list_json_is_masked(catalog, tmp_path):
    now = datetime(2026, 4, 1, 9, 0, tzinfo=SEOUL)
    first = requests.submit_request(catalog, OPERATOR, sample_form(), now=now)
    attach_new_recording(catalog, tmp_path / "spool", first.id)
    approve_all(catalog, first.id)
    later = now + timedelta(hours=1)
    requests.submit_request(catalog, OPERATOR, sample_form(), now=later)
    catalog.close()

    result = run_list(tmp_path, "--format", "json")

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["number"] for row in rows] == ["2026-0002", "2026-0001"]
    assert rows[1]["requested_at"] == "2026-04-01T09:00:00+09:00"
    assert rows[1]["status"] == "approved"
    assert rows[1]["approvals"] == "3/3"
    assert rows[1]["requester_name"] == "홍*동"
    assert rows[1]["recorded_phone"] == "02-****-1234"
    assert "홍길동" not in result.stdout


def test_cli_list_filters_status_as_csv(catalog, tmp_path):
    first = requests.submit_request(catalog, OPERATOR, sample_form())
    requests.reject(catalog, STAFF, first.id, "staff", "증빙 없음")
    requests.submit_request(catalog, OPERATOR, sample_form())
    catalog.close()

    result = run_list(tmp_path, "--format", "csv", "--status", "rejected")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("number,status,status_ko")
    assert len(lines) == 2
    assert lines[1].startswith(f"{first.number},rejected,반려")


def test_cli_list_table(catalog, tmp_path):
    requests.submit_request(catalog, OPERATOR, sample_form())
    catalog.close()
    result = run_list(tmp_path)
    assert result.exit_code == 0, result.output
    assert "관리번호" in result.stdout
    assert "홍*동" in result.stdout


@pytest.mark.parametrize(
    ("arguments", "message", "code"),
    [
        pytest.param(("--format", "xml"), "format 'xml' is invalid", 2, id="format"),
        pytest.param(("--status", "done"), "status 'done' is unknown", 1, id="status"),
    ],
)
def test_cli_list_rejects_bad_options(catalog, tmp_path, arguments, message, code):
    catalog.close()
    result = run_list(tmp_path, *arguments)
    assert result.exit_code == code
    assert message in result.output


def test_cli_list_without_request_tables(tmp_path):
    # A DuckDB file that is not a recwatch catalog: every catalog has the
    # request tables since they joined the migrations.
    duckdb.connect(str(tmp_path / "c.duckdb")).close()
    result = run_list(tmp_path)
    assert result.exit_code == 1
    assert "has no requests table" in result.output
