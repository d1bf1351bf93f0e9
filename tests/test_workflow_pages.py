"""In-process tests of the request workflow, holds, purge and lines pages.

Each page runs against a real catalog under tmp_path with a real, unstarted
Service; callbacks are called as the page's buttons call them.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta

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

from pipeline import requests, returns
from pipeline.catalog import Catalog
from pipeline.service import Service
from pipeline.views.pending_page import PendingReturnsPage
from pipeline.views.requests_page import RequestsPage

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=SEOUL)


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


def test_submit_button_click_stores_request(service):
    page = page_for(service, OPERATOR)
    fill_form(page)

    page.submit_button.clicks += 1

    stored = requests.list_requests(service.catalog.cursor())
    assert [record.requester_name for record in stored] == ["홍길동"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"purpose": ""}, "missing purpose", id="missing-field"),
        pytest.param(
            {"recorded_at": "3월 2일"}, "not a valid time", id="bad-recording-time"
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

    assert "may not perform 'manage_requests'" in alert_text(page)
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


def test_creator_approval_shows_permission_error(service, tmp_path):
    request_id, _ = submitted_with_recording(service, tmp_path)
    page = page_for(service, OPERATOR)
    page.open_request(request_id)

    assert not page.detail.approve()

    assert "may not approve" in alert_text(page.detail)
    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.approvals == ()


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
    assert "has no reason" in alert_text(page.detail)

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
    assert "path separator" in alert_text(page.detail)

    page.detail.proof.filename = "warrant.pdf"
    page.detail.proof.value = b"%PDF made-up warrant"
    assert page.detail.attach_proof()

    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.proof_file_name == "warrant.pdf"
    assert "warrant.pdf" in page.detail.alert.object


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
    archive = detail._archive_bytes()
    with pyzipper.AESZipFile(io.BytesIO(archive)) as opened:
        opened.setpassword(result.password.encode())
        assert len(opened.namelist()) == len(recording_ids)
        assert opened.testzip() is None
    assert detail._archive.parent == service.config.data_dir / "private" / "handovers"
    record = requests.get_request(service.catalog.cursor(), request_id)
    assert record.status == "provided"
    assert record.due_on == NOW.date() + timedelta(days=30)

    page.open_request(None)
    page.open_request(request_id)
    assert result.password not in detail.password.object
    assert not detail.password.visible
    assert not detail.copy_download.visible


def test_viewing_handover_needs_end_time(service, tmp_path):
    request_id, _ = approved_request(service.catalog, tmp_path / "calls")
    page = page_for(service, OPERATOR)
    page.open_request(request_id)
    detail = page.detail
    detail.method.value = "viewing"
    detail.handover_inputs["official_rank"].value = "주무관"
    detail.handover_inputs["viewing_until"].value = "today"

    assert detail.hand_over() is None
    assert "viewing end 'today' is not a valid time" in alert_text(detail)

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

    assert "official rank" in alert_text(page.detail)
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
