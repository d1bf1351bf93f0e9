"""In-process tests of the request workflow, holds, purge and lines pages.

Each page runs against a real catalog under tmp_path with a real, unstarted
Service; callbacks are called as the page's buttons call them.
"""

from __future__ import annotations

import html
import io
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import pyzipper
from request_fixtures import (
    CALL_START,
    DEPARTMENT_HEAD,
    OPERATOR,
    SEOUL,
    STAFF,
    TEAM_LEADER,
    VIEWER,
    add_recording,
    approved_request,
    destroyed_notice,
    provide_by_viewing,
)

from pipeline import holds, requests, returns
from pipeline.auth import User
from pipeline.catalog import Catalog
from pipeline.errors import RecwatchError
from pipeline.purge_schedule import PurgeScheduler
from pipeline.service import Service
from pipeline.views.holds_page import HoldsPage
from pipeline.views.ledger_page import LedgerPage
from pipeline.views.lines_page import LinesPage
from pipeline.views.pending_page import PendingReturnsPage
from pipeline.views.purge_panel import PurgePage, purge_status_html
from pipeline.views.request_detail import REPEAT_CLICK_S
from pipeline.views.requests_page import RequestsPage

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=SEOUL)
# Made-up users for role combinations that request_fixtures does not cover.
ADMIN_WITH_RECORDINGS = User("seo.admin", "서관리", ("admin", "operator"), "정보통신과")


@pytest.fixture
def service(config, catalog: Catalog) -> Iterator[Service]:
    """Return an unstarted Service that owns the test's catalog."""
    owner = Service(config)
    owner.catalog = catalog
    yield owner


def page_for(service: Service, user, *, now: datetime = NOW) -> RequestsPage:
    return RequestsPage(service, user=user, clock=lambda: now)


def fill_form(page: RequestsPage, **changes: str) -> None:
    values = {
        "requester_name": "홍길동",
        "requester_birth": "1980-01-02",
        "requester_address": "경기도 가상시 중앙로 1",
        "requester_contact": "010-0000-1234",
        "recorded_at": CALL_START.strftime("%Y-%m-%d %H:%M"),
        "recorded_phone": "02-0000-1234",
        "purpose": "민원 처리 경위 확인",
        "relation": "통화 당사자",
        "reason": "민원 내용에 대한 사실 확인",
        "remarks": "",
        "requester_username": "",
    }
    values.update(changes)
    for name, value in values.items():
        page.form[name].value = value


def alert_text(page) -> str:
    """Return the text of a page's alert as the user reads it, or "" when hidden."""
    return html.unescape(page.alert.object) if page.alert.visible else ""


# --- requests page: Form 1 ------------------------------------------------------------


def test_submit_attaches_candidates_and_proof(service, tmp_path):
    near = add_recording(service.catalog, tmp_path / "calls", CALL_START, seed=1)
    far = add_recording(
        service.catalog, tmp_path / "calls", CALL_START + timedelta(hours=3), seed=2
    )
    page = page_for(service, OPERATOR)
    fill_form(page)

    page.find_candidates()
    assert list(page.candidates.options.values()) == [near]
    assert far not in page.candidates.options.values()

    page.candidates.value = [near]
    page.proof.filename = "court-order.pdf"
    page.proof.value = b"%PDF-1.4 made-up proof"
    record = page.submit()

    assert record is not None
    assert record.number == "2026-0001"
    assert record.recording_ids == (near,)
    assert record.proof_file_name == "court-order.pdf"
    assert record.requested_at == NOW
    assert page.alert.alert_type == "success"
    assert "2026-0001" in page.alert.object
    assert list(page.table.value["number"]) == ["2026-0001"]
    assert page.detail.record.id == record.id
    assert page.form["requester_name"].value == ""


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        pytest.param("a/b.pdf", b"%PDF", "파일 이름 'a/b.pdf'", id="bad-name"),
        pytest.param("../up.pdf", b"%PDF", "파일 이름 '../up.pdf'", id="parent"),
    ],
)
def test_rejected_proof_files_no_request(service, filename, data, expected):
    page = page_for(service, OPERATOR)
    fill_form(page)
    page.proof.filename = filename
    page.proof.value = data

    assert page.submit() is None

    assert expected in alert_text(page)
    assert requests.list_requests(service.catalog.cursor()) == []
    assert page.form["requester_name"].value == "홍길동"


def test_empty_form_names_every_field(service):
    page = page_for(service, OPERATOR)

    assert page.submit() is None

    text = alert_text(page)
    assert "다음 항목을 입력하십시오: 신청인 성명(기관명)" in text
    assert "녹취일시" in text
    assert "신청사유" in text
    assert "비고" not in text


def test_submit_button_click_stores_request(service):
    page = page_for(service, OPERATOR)
    fill_form(page)

    page.submit_button.clicks += 1

    stored = requests.list_requests(service.catalog.cursor())
    assert [record.requester_name for record in stored] == ["홍길동"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"purpose": ""}, "다음 항목을 입력하십시오: 신청목적", id="missing-field"
        ),
        pytest.param(
            {"recorded_at": "3월 2일"}, "읽을 수 없습니다", id="bad-recording-time"
        ),
    ],
)
def test_submit_invalid_form_shows_error(service, changes, expected):
    page = page_for(service, OPERATOR)
    fill_form(page, **changes)

    assert page.submit() is None

    assert page.alert.alert_type == "danger"
    assert expected in alert_text(page)
    assert requests.list_requests(service.catalog.cursor()) == []


def test_find_candidates_without_match_says_so(service):
    page = page_for(service, OPERATOR)
    fill_form(page, recorded_phone="02-0000-9999")

    page.find_candidates()

    assert page.candidates.options == {}
    assert "없습니다" in page._candidates_note.object


def test_viewer_cannot_submit(service):
    page = page_for(service, VIEWER)
    fill_form(page)

    assert page.submit() is None

    assert "권한이 없습니다 (manage_requests)" in alert_text(page)
    assert not page._form_column.visible


def test_list_masks_personal_data_for_viewer(service):
    requests.submit_request(
        service.catalog,
        OPERATOR,
        requests.RequestForm(
            requester_name="홍길동",
            requester_birth="1980-01-02",
            requester_address="경기도 가상시 중앙로 1",
            requester_contact="010-0000-1234",
            recorded_at=CALL_START,
            recorded_phone="02-0000-1234",
            purpose="확인",
            relation="통화 당사자",
            reason="사실 확인",
        ),
    )
    records = requests.list_requests(service.catalog.cursor())

    masked = page_for(service, VIEWER).list_rows(records)
    clear = page_for(service, OPERATOR).list_rows(records)

    assert masked.loc[0, "requester"] != "홍길동"
    assert "1234" in masked.loc[0, "recorded_phone"]
    assert masked.loc[0, "recorded_phone"] != "02-0000-1234"
    assert clear.loc[0, "requester"] == "홍길동"
    assert clear.loc[0, "recorded_phone"] == "02-0000-1234"


def test_status_filter_limits_list(service, tmp_path):
    approved_id, _ = approved_request(service.catalog, tmp_path / "calls")
    page = page_for(service, OPERATOR)
    fill_form(page)
    page.submit()

    page.status_filter.value = "approved"

    assert list(page.table.value["number"]) == [
        requests.get_request(service.catalog.cursor(), approved_id).number
    ]


# --- requests page: one request -------------------------------------------------------


def submitted_with_recording(service, tmp_path) -> tuple[int, int]:
    recording = add_recording(service.catalog, tmp_path / "calls", CALL_START, seed=3)
    page = page_for(service, OPERATOR)
    fill_form(page)
    page.candidates.options = {"call": recording}
    page.candidates.value = [recording]
    return page.submit().id, recording


def test_three_stages_approve_in_order(service, tmp_path):
    request_id, _ = submitted_with_recording(service, tmp_path)

    for stage, signer in (
        ("staff", STAFF),
        ("team_leader", TEAM_LEADER),
        ("department_head", DEPARTMENT_HEAD),
    ):
        page = page_for(service, signer)
        page.open_request(request_id)
        assert page.detail.record.next_stage == stage
        assert page.detail._approval_actions.visible
        assert page.detail.approve()

    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.status == "approved"
    assert [approval.username for approval in record.approvals] == [
        STAFF.username,
        TEAM_LEADER.username,
        DEPARTMENT_HEAD.username,
    ]
    assert "최과장" in page.detail._approvals.object
    events = [
        text
        for _, text in page.detail.timeline_events(record, service.catalog.cursor())
    ]
    assert events == [
        "신청 접수",
        "담당자 결재 (이담당)",
        "팀장 결재 (박팀장)",
        "과장 결재 (최과장)",
    ]
    assert "승인" in page.detail._heading.object


def test_double_click_signs_once_without_error(service, tmp_path):
    request_id, _ = submitted_with_recording(service, tmp_path)
    requests.approve(service.catalog, STAFF, request_id, "staff", now=NOW)
    page = page_for(service, TEAM_LEADER)
    page.open_request(request_id)

    assert page.detail.approve()
    # The second click of a double-click, queued while the first one ran.
    assert not page.detail.approve()

    assert alert_text(page.detail) == ""
    record = requests.get_request(service.catalog.cursor(), request_id)
    assert [a.stage for a in record.approvals] == ["staff", "team_leader"]
    assert service.catalog.query(
        "SELECT count(*) FROM access_log WHERE result = 'denied'"
    ) == [(0,)]

    # A deliberate click later is checked as usual: one person signs one stage.
    time.sleep(REPEAT_CLICK_S)
    assert not page.detail.approve()
    assert "한 단계만 결재할 수 있습니다" in alert_text(page.detail)


def test_creator_approval_shows_permission_error(service, tmp_path):
    request_id, _ = submitted_with_recording(service, tmp_path)
    page = page_for(service, OPERATOR)
    page.open_request(request_id)

    assert not page.detail.approve()

    assert "결재할 수 없습니다" in alert_text(page.detail)
    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.approvals == ()


def test_approval_without_recordings_shows_error(service):
    page = page_for(service, OPERATOR)
    fill_form(page)
    request_id = page.submit().id
    requests.approve(service.catalog, STAFF, request_id, "staff", now=NOW)
    requests.approve(service.catalog, TEAM_LEADER, request_id, "team_leader", now=NOW)
    page = page_for(service, DEPARTMENT_HEAD)
    page.open_request(request_id)

    assert not page.detail.approve()

    assert alert_text(page.detail) == (
        "<b>처리하지 못했습니다</b>: 신청서 2026-0001에 첨부한 녹취파일이 "
        "없어 승인할 수 없습니다. "
        "신청한 녹취파일을 첨부하거나, 없으면 반려하십시오."
    )
    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.status == "submitted"


def test_approver_sees_no_actions_before_staff_signs(service, tmp_path):
    request_id, _ = submitted_with_recording(service, tmp_path)
    page = page_for(service, TEAM_LEADER)
    page.open_request(request_id)

    # The staff stage needs manage_requests, which an approver lacks.
    assert not page.detail._approval_actions.visible
    assert not page.detail.approve()
    assert "manage_requests" in alert_text(page.detail)


def test_reject_needs_reason_then_ends_request(service, tmp_path):
    request_id, _ = submitted_with_recording(service, tmp_path)
    page = page_for(service, STAFF)
    page.open_request(request_id)

    assert not page.detail.reject()
    assert "반려 사유를 입력하십시오" in alert_text(page.detail)

    page.detail.reject_reason.value = "증빙서류 미비"
    assert page.detail.reject()

    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.status == "rejected"
    assert record.rejection_reason == "증빙서류 미비"
    assert not page.detail._approval_actions.visible
    assert "증빙서류 미비" in page.detail._timeline.object


def test_detail_attaches_more_recordings(service, tmp_path):
    request_id, first = submitted_with_recording(service, tmp_path)
    second = add_recording(
        service.catalog,
        tmp_path / "calls",
        CALL_START + timedelta(minutes=10),
        seed=4,
    )
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    assert set(page.detail.attach_candidates.options.values()) == {first, second}

    page.detail.attach_candidates.value = [first, second]
    assert page.detail.attach()

    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.recording_ids == (first, second)


def test_detail_proof_upload_is_recorded(service, tmp_path):
    request_id, _ = submitted_with_recording(service, tmp_path)
    page = page_for(service, OPERATOR)
    page.open_request(request_id)

    page.detail.proof.filename = "../escape.pdf"
    page.detail.proof.value = b"data"
    assert not page.detail.attach_proof()
    assert "'../escape.pdf'을(를) 쓸 수 없습니다" in alert_text(page.detail)

    page.detail.proof.filename = "warrant.pdf"
    page.detail.proof.value = b"%PDF made-up warrant"
    assert page.detail.attach_proof()

    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.proof_file_name == "warrant.pdf"
    assert "warrant.pdf" in page.detail.alert.object


def test_edit_fills_form_and_saves_changes(service, tmp_path):
    request_id, recording = submitted_with_recording(service, tmp_path)
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    assert page.detail.edit_button.visible

    page.detail.edit_button.clicks += 1

    assert page.editing.id == request_id
    assert page.form["requester_name"].value == "홍길동"
    assert page.form["recorded_at"].value == CALL_START.strftime("%Y-%m-%d %H:%M")
    assert page.form["purpose"].value == "민원 처리 경위 확인"
    assert page.access_kind.value == "provide"
    assert page.save_button.visible
    assert not page.submit_button.visible
    assert not page.candidates.visible
    assert "신청서 2026-0001 수정" in page._titles["wf.form1"].object

    page.form["purpose"].value = "소송 증거 제출"
    page.form["recorded_phone"].value = "02-0000-5678"
    page.save_button.clicks += 1

    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.purpose == "소송 증거 제출"
    assert record.recorded_phone == "02-0000-5678"
    assert record.recorded_at == CALL_START
    assert record.recording_ids == (recording,)
    assert page.alert.alert_type == "success"
    assert "녹취전화번호, 신청목적" in alert_text(page)
    assert page.editing is None
    assert page.submit_button.visible
    assert not page.save_button.visible
    assert page.form["purpose"].value == ""
    assert "소송 증거 제출" in page.detail._summary.object
    details = service.catalog.query(
        "SELECT detail::VARCHAR FROM access_log ORDER BY id DESC LIMIT 1"
    )
    assert '"fields":["recorded_phone","purpose"]' in details[0][0]


def test_edit_save_after_approval_shows_error(service, tmp_path):
    request_id, _ = submitted_with_recording(service, tmp_path)
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    assert page.detail.edit()
    page.form["purpose"].value = "다른 목적"

    requests.approve(service.catalog, STAFF, request_id, "staff", now=NOW)
    assert page.save_changes() is None

    assert page.alert.alert_type == "danger"
    assert "2026-0001 is submitted and was signed at stage staff" in alert_text(page)
    assert "reject it, then submit a new request" in alert_text(page)
    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.purpose == "민원 처리 경위 확인"
    assert not page.detail.edit_button.visible


def test_edit_hidden_after_first_approval(service, tmp_path):
    request_id, _ = submitted_with_recording(service, tmp_path)
    requests.approve(service.catalog, STAFF, request_id, "staff", now=NOW)
    page = page_for(service, OPERATOR)
    page.open_request(request_id)

    assert not page.detail.edit_button.visible
    assert not page.detail.edit()
    assert "fields are frozen" in alert_text(page.detail)
    assert page.editing is None


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        pytest.param(VIEWER, "view_recordings", id="viewer"),
        pytest.param(TEAM_LEADER, "manage_requests", id="approver"),
    ],
)
def test_edit_needs_manage_requests(service, tmp_path, user, expected):
    request_id, _ = submitted_with_recording(service, tmp_path)
    page = page_for(service, user)
    page.open_request(request_id)

    # A viewer sees no request at all, so the whole view is hidden.
    edit_shown = page.detail._body.visible and page.detail.edit_button.visible
    assert not edit_shown
    assert not page.detail.edit()
    assert expected in alert_text(page.detail)
    assert page.editing is None


def test_edit_invalid_field_shows_submit_message(service, tmp_path):
    request_id, _ = submitted_with_recording(service, tmp_path)
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    page.detail.edit()

    page.form["purpose"].value = " "
    assert page.save_changes() is None

    assert "다음 항목을 입력하십시오: 신청목적" in alert_text(page)
    assert page.editing.id == request_id
    assert page.save_button.visible
    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.purpose == "민원 처리 경위 확인"


def test_edit_without_changes_says_so(service, tmp_path):
    request_id, _ = submitted_with_recording(service, tmp_path)
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    page.detail.edit()

    assert page.save_changes() is not None

    assert "바뀐 항목이 없어" in alert_text(page)
    assert page.editing.id == request_id
    events = service.catalog.query(
        "SELECT json_extract_string(detail, '$.event') FROM access_log"
    )
    assert ("update",) not in events


def test_cancel_edit_empties_form(service, tmp_path):
    request_id, _ = submitted_with_recording(service, tmp_path)
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    page.detail.edit()
    page.language = "en"
    assert page.save_button.label == "Save changes"
    assert "Edit request 2026-0001" in page._titles["wf.form1"].object

    page.cancel_edit_button.clicks += 1

    assert page.editing is None
    assert page.form["requester_name"].value == ""
    assert page.submit_button.visible
    assert not page.cancel_edit_button.visible
    assert page.detail.edit_button.label == "Edit"


def test_copy_handover_shows_password_once(service, tmp_path):
    request_id, recording_ids = approved_request(service.catalog, tmp_path / "calls")
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    detail = page.detail
    assert detail._handover_section.visible
    assert detail.method.value == "copy"
    detail.handover_inputs["official_rank"].value = "주무관"

    result = detail.hand_over()

    assert result is not None
    assert result.password in detail.password.object
    assert detail.password.visible
    assert detail.copy_download.visible
    archive_path = detail._archive
    assert archive_path.parent == service.config.data_dir / "private" / "handovers"
    archive = detail._archive_bytes()
    with pyzipper.AESZipFile(io.BytesIO(archive)) as opened:
        opened.setpassword(result.password.encode())
        assert len(opened.namelist()) == len(recording_ids)
        assert opened.testzip() is None
    # The archive leaves the server with its one download.
    assert not archive_path.exists()
    assert detail._archive_bytes() == b""
    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.status == "provided"
    assert record.due_on == NOW.date() + timedelta(days=30)

    page.open_request(None)
    page.open_request(request_id)
    assert result.password not in detail.password.object
    assert not detail.password.visible
    assert not detail.copy_download.visible


def test_swept_copy_download_says_why(service, tmp_path):
    request_id, _ = approved_request(service.catalog, tmp_path / "calls")
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    detail = page.detail
    detail.handover_inputs["official_rank"].value = "주무관"
    assert detail.hand_over() is not None
    # The purge scheduler deleted the archive before anyone downloaded it.
    detail._archive.unlink()

    assert detail._archive_bytes() == b""

    minutes = service.config["security.copy_keep_minutes"]
    assert f"사본을 {minutes}분 안에 내려받지 않아" in alert_text(detail)
    assert not detail.copy_download.visible
    assert not detail.password.visible


def test_viewing_handover_needs_end_time(service, tmp_path):
    request_id, _ = approved_request(service.catalog, tmp_path / "calls")
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    detail = page.detail
    detail.method.value = "viewing"
    detail.handover_inputs["official_rank"].value = "주무관"
    detail.handover_inputs["viewing_until"].value = "today"

    assert detail.hand_over() is None
    assert "시각 'today'을(를) 읽을 수 없습니다" in alert_text(detail)

    detail.handover_inputs["viewing_until"].value = "2026-03-03 18:00"
    result = detail.hand_over()

    assert result.password is None
    assert result.handover.viewing_until == datetime(2026, 3, 3, 18, 0, tzinfo=SEOUL)
    assert not detail.copy_download.visible


def test_handover_missing_rank_shows_error(service, tmp_path):
    request_id, _ = approved_request(service.catalog, tmp_path / "calls")
    page = page_for(service, OPERATOR)
    page.open_request(request_id)

    assert page.detail.hand_over() is None

    assert "인계자 직급" in alert_text(page.detail)
    assert list((service.config.data_dir / "private" / "handovers").iterdir()) == []


def provided_request(service, tmp_path, provided_on: date) -> int:
    request_id, recording_ids = approved_request(service.catalog, tmp_path / "calls")
    provide_by_viewing(service.catalog, request_id, recording_ids, provided_on)
    return request_id


def fill_notice(detail, **changes) -> None:
    detail.use_result.value = changes.pop("use_result", "evidence")
    detail.destruction.value = changes.pop("destruction", "destroyed")
    values = {
        "destroyed_by_affiliation": "가상경찰서 수사과",
        "destroyed_by_name": "오수사",
        "confirmer_affiliation": "가상경찰서",
        "confirmer_rank": "경위",
        "confirmer_name": "오수사",
    }
    values.update(changes)
    for name, value in values.items():
        detail.notice_inputs[name].value = value


def test_notice_then_close(service, tmp_path):
    request_id = provided_request(service, tmp_path, date(2026, 3, 2))
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    detail = page.detail
    assert detail._notice_section.visible
    assert not detail.close_button.visible
    fill_notice(detail)

    assert detail.record_notice()

    assert detail.record.status == "returned"
    assert detail.close_button.visible
    assert not detail._notice_section.visible
    assert detail.close()
    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.status == "closed"
    assert "2026-0001" in detail.alert.object
    events = [
        text for _, text in detail.timeline_events(record, service.catalog.cursor())
    ]
    # The fixtures submit at the wall clock but hand over on a fixed day, so
    # only the presence of each step is checked here, not their order.
    assert "신청 접수" in events
    assert "종결" in events
    assert "통보서 접수 (파기)" in events
    assert not detail.close_button.visible


def test_extension_notice_moves_due_date(service, tmp_path):
    request_id = provided_request(service, tmp_path, date(2026, 3, 2))
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    detail = page.detail
    fill_notice(detail, destruction="extension", extension_period="30일")

    assert not detail.record_notice()
    assert "planned destruction date" in alert_text(detail)

    detail.planned_destruction_on.value = date(2026, 5, 1)
    assert detail.record_notice()

    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.status == "provided"
    assert record.due_on == date(2026, 5, 1)
    assert "2026-04-01 → 2026-05-01" in detail._timeline.object


def test_printable_forms_follow_status(service, tmp_path):
    request_id = provided_request(service, tmp_path, date(2026, 3, 2))
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    names = [button.filename for button in page.detail._prints.objects]
    assert "form1-2026-0001.html" in names
    assert "form2-2026-0001.html" in names
    assert not any(name.startswith("form3") for name in names)

    html = page.detail.form_html("form2")

    assert "인수·인계증" in html
    assert "가상경찰서" in html


def test_printed_forms_are_logged(service, tmp_path):
    request_id = provided_request(service, tmp_path, date(2026, 1, 10))
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    detail = page.detail
    record = detail.record

    data = detail.printout(record, "form2", "html", lambda: detail.form_html("form2"))
    pending = PendingReturnsPage(service, user=OPERATOR, clock=lambda: NOW)
    pending.letter_bytes(pending.pending[0])

    assert "인수·인계증" in data.decode("utf-8")
    entries = service.catalog.query(
        "SELECT actor, action, object_type, object_ids, detail->>'document', "
        "detail->>'format', detail->>'number' FROM access_log "
        "WHERE action = 'print_form' ORDER BY id"
    )
    assert entries == [
        (
            "kim.op",
            "print_form",
            "request",
            [str(request_id)],
            "form2",
            "html",
            "2026-0001",
        ),
        (
            "kim.op",
            "print_form",
            "request",
            [str(request_id)],
            "reminder",
            "html",
            "2026-0001",
        ),
    ]


def test_failed_printout_is_not_logged(service, tmp_path):
    request_id = provided_request(service, tmp_path, date(2026, 1, 10))
    page = page_for(service, OPERATOR)
    page.open_request(request_id)

    def broken() -> str:
        raise RecwatchError("the form could not be rendered")

    assert page.detail.printout(page.detail.record, "form1", "html", broken) == b""
    assert "could not be rendered" in alert_text(page.detail)
    assert service.catalog.query(
        "SELECT count(*) FROM access_log WHERE action = 'print_form'"
    ) == [(0,)]


def test_viewer_cannot_read_requests(service, tmp_path):
    request_id, _ = approved_request(service.catalog, tmp_path / "calls")
    page = page_for(service, VIEWER)

    page.open_request(request_id)

    assert page.table.value.empty
    assert page.detail.record is None
    assert "view_recordings" in alert_text(page.detail)


# --- pending returns page -------------------------------------------------------------


def test_pending_lists_overdue_first_in_red(service, tmp_path):
    old = provided_request(service, tmp_path / "a", date(2026, 1, 10))
    recent = provided_request(service, tmp_path / "b", date(2026, 3, 1))
    page = PendingReturnsPage(service, user=OPERATOR, clock=lambda: NOW)

    rows = page.table.value
    numbers = [
        requests.get_request(service.catalog.cursor(), i).number for i in (old, recent)
    ]
    assert list(rows["number"]) == numbers
    assert list(rows["overdue"]) == [True, False]
    assert list(rows["days_left"]) == [-22, 28]
    assert rows.loc[0, "state"] == "기한 경과"
    assert rows.loc[1, "state"] == "회신 대기"
    assert page._warning.visible
    assert "1건" in page._warning.object
    styles = page.table.style._compute().ctx
    assert "color" in dict(styles[(0, 0)])
    assert (1, 0) not in styles or "color" not in dict(styles[(1, 0)])


def test_pending_reminder_letter_per_row(service, tmp_path):
    request_id = provided_request(service, tmp_path, date(2026, 1, 10))
    page = PendingReturnsPage(service, user=OPERATOR, clock=lambda: NOW)
    number = requests.get_request(service.catalog.cursor(), request_id).number

    [button] = page.letters.objects
    letter = page.letter_bytes(page.pending[0]).decode("utf-8")

    assert button.filename == f"reminder-{number}.html"
    assert number in letter
    assert "22일 지났습니다" in letter


def test_pending_empties_after_notice(service, tmp_path):
    request_id = provided_request(service, tmp_path, date(2026, 3, 2))
    page = PendingReturnsPage(service, user=OPERATOR, clock=lambda: NOW)
    assert len(page.table.value) == 1

    returns.record_notice(
        service.catalog, OPERATOR, request_id, destroyed_notice(date(2026, 3, 3))
    )
    page.refresh()

    assert page.pending == []
    assert "없습니다" in page._empty.object
    assert not page._warning.visible


def test_pending_switches_language(service, tmp_path):
    provided_request(service, tmp_path, date(2026, 1, 10))
    page = PendingReturnsPage(service, user=OPERATOR, clock=lambda: NOW)

    page.language = "en"

    assert page.table.titles["due_on"] == "Due"
    assert page.table.value.loc[0, "state"] == "Overdue"
    assert page.letters.objects[0].label.startswith("Reminder letter")


def test_pages_without_user_show_login_message(service):
    requests_page = RequestsPage(service, user=None)
    pending_page = PendingReturnsPage(service, user=None)

    assert "로그인" in alert_text(requests_page)
    assert "로그인" in alert_text(pending_page)


def test_action_without_open_request(service):
    page = page_for(service, OPERATOR)

    assert not page.detail.close()
    assert "no request is selected" in alert_text(page.detail)


# --- ledger page ----------------------------------------------------------------------


def test_ledger_shows_three_approvals(service, tmp_path):
    approved_request(service.catalog, tmp_path / "calls")
    page = LedgerPage(service, user=OPERATOR, clock=lambda: NOW)

    row = page.table.value.iloc[0]

    assert row["관리번호"] == "2026-0001"
    assert row["성명(기관명)"] == "홍길동"
    assert row["담당자"].startswith("이담당")
    assert row["팀장"].startswith("박팀장")
    assert row["과장"].startswith("최과장")
    assert page._note.object == ""


def test_ledger_exports_read_back(service, tmp_path):
    approved_request(service.catalog, tmp_path / "calls")
    page = LedgerPage(service, user=OPERATOR, clock=lambda: NOW)

    csv_text = page.csv_bytes().decode("utf-8-sig")
    workbook = openpyxl.load_workbook(io.BytesIO(page.xlsx_bytes()))
    sheet = workbook.active
    html_text = page.html_bytes().decode("utf-8")

    assert csv_text.splitlines()[0].startswith("관리번호,신청일시,성명(기관명)")
    assert "홍길동" in csv_text
    assert sheet["A3"].value == "관리번호"
    assert sheet["A4"].value == "2026-0001"
    assert sheet["C4"].value == "홍길동"
    assert "관리대장" in html_text
    assert page.xlsx_download.filename == "ledger.xlsx"
    exports = service.catalog.query(
        "SELECT actor, object_type, detail->>'format' FROM access_log"
        " WHERE action = 'export' ORDER BY id"
    )
    assert exports == [
        (OPERATOR.username, "ledger", "csv"),
        (OPERATOR.username, "ledger", "xlsx"),
        (OPERATOR.username, "ledger", "html"),
    ]


def test_ledger_masked_for_viewer_role(service, tmp_path):
    approved_request(service.catalog, tmp_path / "calls")
    # A viewer lacks view_recordings, so the masked ledger is built directly.
    page = LedgerPage(service, user=VIEWER, clock=lambda: NOW)

    assert page.table.value.empty
    assert "view_recordings" in alert_text(page)
    assert page.csv_bytes() == b""
    assert page.mask_personal()


def test_ledger_masks_personal_columns(service, tmp_path):
    approved_request(service.catalog, tmp_path / "calls")
    page = LedgerPage(service, user=OPERATOR, clock=lambda: NOW)
    # Every role with view_recordings also has view_personal, so masking is
    # checked through the page's own switch.
    page.mask_personal = lambda: True

    rows = page.rows()

    assert rows.loc[0, "성명(기관명)"] != "홍길동"
    assert rows.loc[0, "녹취전화번호"] != "02-0000-1234"
    assert rows.loc[0, "관리번호"] == "2026-0001"


# --- holds page -----------------------------------------------------------------------


def test_place_and_release_hold(service, tmp_path):
    recording = add_recording(service.catalog, tmp_path / "calls", CALL_START)
    page = HoldsPage(service, user=OPERATOR, clock=lambda: NOW)
    page.recording_id.value = recording
    page.reason.value = "감사원 감사 증거"
    page.approver.value = "정보통신과장"
    page.ends_on.value = date(2026, 6, 30)

    hold_id = page.place()

    assert hold_id is not None
    assert list(page.table.value["id"]) == [hold_id]
    assert page.table.value.loc[0, "state"] == "유효"
    assert list(page.release_select.options.values()) == [hold_id]

    page.release_select.value = hold_id
    assert page.release() is None
    assert "사유를 입력하십시오" in alert_text(page)
    page.release_reason.value = "감사 종결"
    released = page.release()

    assert released.release_reason == "감사 종결"
    assert page.table.value.empty
    page.active_only.value = False
    assert page.table.value.loc[0, "state"] == "해제"


@pytest.mark.parametrize(
    ("recording_id", "ends_on", "expected"),
    [
        pytest.param(
            None,
            date(2026, 6, 30),
            "다음 항목을 입력하십시오: 녹취파일 번호",
            id="no-recording",
        ),
        pytest.param(999, date(2026, 6, 30), "녹취파일 999번이 없습니다", id="unknown"),
        pytest.param(1, None, "다음 항목을 입력하십시오: 종료일", id="no-end-date"),
        pytest.param(
            1,
            date(2026, 3, 3),
            "종료일 2026-03-03은(는) 오늘(2026-03-03)보다 뒤의 날짜여야",
            id="past-end",
        ),
    ],
)
def test_place_hold_errors_show(service, tmp_path, recording_id, ends_on, expected):
    add_recording(service.catalog, tmp_path / "calls", CALL_START)
    page = HoldsPage(service, user=OPERATOR, clock=lambda: NOW)
    page.recording_id.value = recording_id
    page.reason.value = "증거"
    page.approver.value = "과장"
    page.ends_on.value = ends_on

    assert page.place() is None

    assert expected in alert_text(page)


def test_place_hold_lists_every_empty_field(service, tmp_path):
    page = HoldsPage(service, user=OPERATOR, clock=lambda: NOW)

    assert page.place() is None

    assert "녹취파일 번호, 종료일, 사유, 승인자" in alert_text(page)


def test_hold_error_in_english(service, tmp_path):
    add_recording(service.catalog, tmp_path / "calls", CALL_START)
    page = HoldsPage(service, user=OPERATOR, clock=lambda: NOW, language="en")
    page.recording_id.value = 999
    page.reason.value = "evidence"
    page.approver.value = "head"
    page.ends_on.value = date(2026, 6, 30)

    assert page.place() is None

    assert "Recording 999 not found" in alert_text(page)


def test_approver_cannot_place_hold(service, tmp_path):
    recording = add_recording(service.catalog, tmp_path / "calls", CALL_START)
    page = HoldsPage(service, user=TEAM_LEADER, clock=lambda: NOW)
    page.recording_id.value = recording
    page.reason.value = "증거"
    page.approver.value = "과장"
    page.ends_on.value = date(2026, 6, 30)

    assert not page._place_section.visible
    assert page.place() is None
    assert "place_hold" in alert_text(page)


def test_expired_hold_listed_as_expired(service, tmp_path):
    recording = add_recording(service.catalog, tmp_path / "calls", CALL_START)
    service.catalog.write(
        lambda con: holds.place_hold(
            con,
            recording,
            reason="증거",
            approver="과장",
            ends_on=date(2026, 3, 10),
            actor=OPERATOR.username,
            now=NOW,
        )
    )
    later = datetime(2026, 3, 20, tzinfo=SEOUL)
    page = HoldsPage(service, user=OPERATOR, clock=lambda: later)

    assert page.table.value.empty
    page.active_only.value = False
    assert page.table.value.loc[0, "state"] == "만료"
    assert page.release_select.options == {}


# --- lines page -----------------------------------------------------------------------

LINES_CSV = (
    "회선번호,부서,녹취방식,승인문서번호,승인자,유효시작,유효종료\n"
    "2101,민원과,전수,정보-2026-001,정보통신과장,2026-01-01,2026-12-31\n"
    "2102,세무과,선택,,,,\n"
)


def full_recording(service, folder: Path, line: str, seed: int) -> int:
    recording = add_recording(service.catalog, folder, CALL_START, line=line, seed=seed)
    service.catalog.write(
        lambda con: con.execute(
            "UPDATE recordings SET mode = 'full' WHERE id = ?", [recording]
        )
    )
    return recording


def test_lines_import_and_unapproved_flags(service, tmp_path):
    full_recording(service, tmp_path / "calls", "2101", seed=1)
    unapproved = full_recording(service, tmp_path / "calls", "2102", seed=2)
    unknown = full_recording(service, tmp_path / "calls", "2999", seed=3)
    page = LinesPage(service, user=ADMIN_WITH_RECORDINGS, clock=lambda: NOW)
    assert page.table.value.empty
    assert len(page.unapproved.value) == 3

    page.upload.filename = "lines.csv"
    page.upload.value = LINES_CSV.encode("utf-8")
    assert page.import_csv() == 2

    assert list(page.table.value["number"]) == ["2101", "2102"]
    assert list(page.table.value["mode"]) == ["전수", "선택"]
    assert page.table.value.loc[0, "valid_from"] == "2026-01-01"
    rows = page.unapproved.value
    assert list(rows["id"]) == [unapproved, unknown]
    assert list(rows["problem"]) == ["선택 녹취로 등록된 회선", "회선 대장에 없는 회선"]
    assert page._warning.visible
    assert "2건" in page._warning.object
    styles = page.unapproved.style._compute().ctx
    assert "color" in dict(styles[(0, 0)])


def test_lines_import_invalid_csv_changes_nothing(service):
    page = LinesPage(service, user=ADMIN_WITH_RECORDINGS, clock=lambda: NOW)
    page.upload.filename = "lines.csv"
    page.upload.value = "회선번호,녹취방식\n2101,가끔\n".encode()

    assert page.import_csv() is None

    assert "invalid recording mode '가끔'" in alert_text(page)
    assert page.table.value.empty


def test_lines_import_needs_settings_right(service):
    page = LinesPage(service, user=OPERATOR, clock=lambda: NOW)
    page.upload.filename = "lines.csv"
    page.upload.value = LINES_CSV.encode("utf-8")

    assert not page._import_row.visible
    assert page.import_csv() is None
    assert "change_settings" in alert_text(page)


# --- purge status and purge page ------------------------------------------------------


def expired_recording(service, seed: int) -> int:
    spool = service.config.recorders[0].root
    start = NOW - timedelta(days=40)
    return add_recording(service.catalog, spool / "old", start, seed=seed)


def test_purge_status_counts_overdue(service):
    expired_recording(service, seed=1)
    service.purge_scheduler = PurgeScheduler(service.catalog, service.config)
    service.purge_scheduler.next_run = datetime(2026, 3, 4, 2, 30, tzinfo=SEOUL)

    status_html = purge_status_html(service, "ko", now=NOW)

    assert 'data-overdue="1"' in status_html
    assert "2026-03-04 02:30" in status_html
    assert "없음" in status_html
    assert "?page=retention" in status_html


def test_purge_dry_run_then_confirmed_apply(service):
    recording = expired_recording(service, seed=1)
    [(stored_path,)] = service.catalog.query(
        "SELECT path FROM recordings WHERE id = ?", [recording]
    )
    path = Path(stored_path)
    page = PurgePage(service, user=OPERATOR, clock=lambda: NOW)
    assert page.apply_button.disabled

    summary = page.dry_run()

    assert summary.would_delete == 1
    assert path.exists()
    assert page.table.value.loc[0, "outcome"] == "삭제 대상"
    assert page.apply_button.disabled
    assert page.apply() is None
    assert path.exists()

    page.confirm.value = True
    assert not page.apply_button.disabled
    applied = page.apply()

    assert applied.apply
    assert applied.deleted == 1
    assert not path.exists()
    assert page.table.value.loc[0, "outcome"] == "삭제"
    assert page.apply_button.disabled
    assert "삭제 1건" in page._totals.object
    assert page.table.value.loc[0, "reason"] == "보존기간 경과"
    status_html = purge_status_html(service, "ko", now=NOW)
    assert 'data-overdue="0"' in status_html
    # The run measured expiry at NOW, months before it finished.
    assert "(2026-03-03 09:00 기준)" in status_html


def test_purge_page_keeps_held_recording(service):
    recording = expired_recording(service, seed=2)
    service.catalog.write(
        lambda con: holds.place_hold(
            con,
            recording,
            reason="증거",
            approver="과장",
            ends_on=date(2026, 6, 30),
            actor=OPERATOR.username,
            now=NOW,
        )
    )
    page = PurgePage(service, user=OPERATOR, clock=lambda: NOW)

    summary = page.dry_run()

    assert summary.held == 1
    assert page.table.value.loc[0, "outcome"] == "보존 조치"


def test_purge_refused_for_approver(service):
    expired_recording(service, seed=3)
    page = PurgePage(service, user=TEAM_LEADER, clock=lambda: NOW)

    assert not page._actions.visible
    assert page.dry_run() is None
    assert "(purge)" in alert_text(page)


def test_chosen_flag_keeps_its_chip_in_english(service):
    from pipeline.views.recordings import RecordingsPage

    page = RecordingsPage(service, user=OPERATOR)
    page._flag_codes = ["empty", "truncated"]
    page._label_flags()
    page.flags.value = ["empty"]
    model = page.flags.get_root()
    assert model.value == ["빈 파일"]

    page.language = "en"

    assert model.value == ["empty file"]
    assert page.flags.value == ["empty"]
