"""End-to-end browser test of one request, from Form 1 to closing.

A real ``panel serve`` with the login runs on a spool with one call. Four users
act in their own browser contexts: the demo operator enters the request and
hands it over, a second operator signs as staff in charge, the demo approver
as team leader and a second approver as department head. The test also reads
the ledger page, the pending-returns page before and after the notice, and the
exported XLSX file. Every name and number is made up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import browser
import openpyxl
import pytest
from conftest import wait_until
from playwright.sync_api import Browser, Page, expect

from pipeline.auth import UserStore
from pipeline.views.i18n import code_label

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEOUL = ZoneInfo("Asia/Seoul")
RENDER_WAIT_MS = 30000
# Users beyond the demo ones, so that three different people can sign.
EXTRA_USERS = {
    "staff2": ("operator", "이담당", "staff2-password-2026"),
    "head": ("approver", "최과장", "head-password-2026"),
}
CALL_LINE = "2991"
CALL_OTHER_PARTY = "0200001234"


@pytest.fixture(scope="module")
def call_start() -> datetime:
    """Start of the one recorded call, two hours ago in Seoul, to the minute."""
    return (datetime.now(SEOUL) - timedelta(hours=2)).replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, call_start: datetime
) -> Iterator[browser.Server]:
    """Serve the dashboard on a spool with one call and the extra users."""
    folder = tmp_path_factory.mktemp("workflow")
    config = browser.write_config(folder, demo=False)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    store = UserStore(folder / "data" / "users.json")
    for username, (role, display_name, password) in EXTRA_USERS.items():
        store.add_user(username, password, (role,), display_name, "정보통신과")
    browser.write_call(
        folder / "spool",
        call_start,
        staging=folder / "staging",
        line=CALL_LINE,
        other_party=CALL_OTHER_PARTY,
        uid=91,
        seed=91,
    )
    server = browser.start_server(folder, config)
    try:
        wait_until(lambda: " cataloged " in server.log(), timeout_s=120)
        yield server
    finally:
        browser.stop_server(server)


def open_as(chromium: Browser, server: browser.Server, username: str) -> Page:
    """Return a page in a new browser context, logged in as ``username``."""
    context = chromium.new_context(
        viewport={"width": 1400, "height": 1000}, accept_downloads=True
    )
    page = context.new_page()
    password = EXTRA_USERS[username][2] if username in EXTRA_USERS else None
    browser.login(page, server, username, password)
    return page


def goto(page: Page, server: browser.Server, name: str, ready: str) -> None:
    page.goto(f"{server.url}?page={name}")
    expect(page.locator(ready).first).to_be_visible(timeout=RENDER_WAIT_MS)


def fill(page: Page, css_class: str, value: str) -> None:
    page.locator(f".{css_class} input, .{css_class} textarea").first.fill(value)
    # Panel reads a text input on change, which a blur fires.
    page.locator(f".{css_class} input, .{css_class} textarea").first.press("Tab")


def click(page: Page, css_class: str) -> None:
    page.locator(f".{css_class} button").first.click()


def open_request(page: Page, server: browser.Server, number: str) -> None:
    goto(page, server, "requests", ".request-select select")
    page.locator(".request-select select").select_option(label=number)
    expect(page.locator(".request-detail").first).to_contain_text(
        number, timeout=RENDER_WAIT_MS
    )


def expect_status(page: Page, status: str) -> None:
    expect(page.locator(".request-detail").first).to_contain_text(
        f"· {status}", timeout=RENDER_WAIT_MS
    )


def pending_numbers(page: Page, server: browser.Server) -> list[str]:
    """Return the management numbers on the pending-returns page."""
    goto(page, server, "pending", ".pending-title")
    # An empty list renders no table, so there is no row to wait for.
    page.wait_for_timeout(1500)
    rows = page.locator(".pending-table .tabulator-row").all_inner_texts()
    return re.findall(r"\d{4}-\d{4}", " ".join(rows))


def test_request_from_form_to_closing(chromium, server, call_start, tmp_path):
    operator = open_as(chromium, server, "operator")

    # Form 1 with the candidate recording and a proof document.
    goto(operator, server, "requests", ".request-form")
    form = {
        "form-requester_name": "홍길동",
        "form-requester_birth": "1980-01-02",
        "form-requester_address": "경기도 가상시 중앙로 1",
        "form-requester_contact": "010-0000-1234",
        "form-recorded_at": call_start.strftime("%Y-%m-%d %H:%M"),
        "form-recorded_phone": "02-0000-1234",
        "form-purpose": "민원 처리 경위 확인",
        "form-relation": "통화 당사자",
        "form-reason": "민원 내용에 대한 사실 확인",
    }
    for css_class, value in form.items():
        fill(operator, css_class, value)
    click(operator, "find-candidates")
    candidate = operator.locator(".form-candidates input[type=checkbox]").first
    expect(candidate).to_be_visible(timeout=RENDER_WAIT_MS)
    candidate.check()
    proof = tmp_path / "court-order.pdf"
    proof.write_bytes(b"%PDF-1.4 made-up proof")
    operator.locator(".form-proof input[type=file]").set_input_files(proof)
    operator.wait_for_timeout(1000)
    click(operator, "submit-request")
    # The catalog is new, so this is the first request of the year.
    number = f"{datetime.now(SEOUL).year}-0001"
    expect(operator.locator(".workflow-alert").first).to_contain_text(
        f"신청서 {number}을(를) 등록했습니다", timeout=RENDER_WAIT_MS
    )
    expect_status(operator, "신청")
    expect(operator.locator(".request-fields")).to_contain_text("court-order.pdf")

    # Three approvals by three different officials.
    for username in ("staff2", "approver", "head"):
        signer = open_as(chromium, server, username)
        open_request(signer, server, number)
        click(signer, "approve-request")
        expect(signer.locator(".request-approvals")).to_contain_text(
            EXTRA_USERS[username][1] if username in EXTRA_USERS else "데모 팀장",
            timeout=RENDER_WAIT_MS,
        )
        signer.context.close()

    # Handover as a protected copy: the password shows once, the zip downloads.
    open_request(operator, server, number)
    expect_status(operator, "승인")
    fill(operator, "handover-official_rank", "주무관")
    click(operator, "hand-over")
    password = operator.locator(".one-time-password")
    expect(password).to_contain_text("일회용 암호", timeout=RENDER_WAIT_MS)
    with operator.expect_download() as copy:
        click(operator, "download-copy")
    assert copy.value.suggested_filename == f"recordings-{number}.zip"
    expect_status(operator, "제공")

    # The pending-returns page lists the request until its notice arrives.
    assert number in pending_numbers(operator, server)

    open_request(operator, server, number)
    expect(operator.locator(".one-time-password")).to_be_hidden()
    for css_class, value in {
        "notice-destroyed_by_affiliation": "가상경찰서 수사과",
        "notice-destroyed_by_name": "오수사",
        "notice-confirmer_affiliation": "가상경찰서",
        "notice-confirmer_rank": "경위",
        "notice-confirmer_name": "오수사",
    }.items():
        fill(operator, css_class, value)
    click(operator, "record-notice")
    expect_status(operator, "회신")
    assert number not in pending_numbers(operator, server)

    open_request(operator, server, number)
    click(operator, "close-request")
    expect_status(operator, "종결")

    # The ledger shows the row with three approvals, and its XLSX reads back.
    goto(operator, server, "ledger", ".ledger-table .tabulator-row")
    # inner_text of a Panel widget's host element is empty, so read the rows.
    ledger_text = " ".join(
        operator.locator(".ledger-table .tabulator-row").all_inner_texts()
    )
    assert number in ledger_text
    assert "최과장" in ledger_text
    with operator.expect_download() as export:
        click(operator, "ledger-xlsx")
    assert export.value.suggested_filename == "ledger.xlsx"
    # openpyxl reads a workbook only under an .xlsx name.
    path = tmp_path / "ledger.xlsx"
    export.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    headers = [cell.value for cell in sheet[3]]
    assert headers[:3] == ["관리번호", "신청일시", "성명(기관명)"]
    assert headers[-3:] == ["담당자", "팀장", "과장"]
    row = [cell.value for cell in sheet[4]]
    assert row[0] == number
    assert row[2] == "홍길동"
    assert row[-3].startswith("이담당")
    assert row[-2].startswith("데모 팀장")
    assert row[-1].startswith("최과장")
    operator.context.close()

    # Every step of the request reached the access log with the browser's address.
    auditor = open_as(chromium, server, "auditor")
    goto(auditor, server, "accesslog", ".access-log-table .tabulator-row")
    auditor.locator(".al-action select").select_option(
        label=code_label("action", "request_change", "ko")
    )
    table = auditor.locator(".access-log-table")
    objects = table.locator(".tabulator-cell[tabulator-field='object']")
    expect(objects.first).to_contain_text("신청서", timeout=RENDER_WAIT_MS)
    addresses = table.locator(
        ".tabulator-cell[tabulator-field='client_addr']"
    ).all_inner_texts()
    assert len(addresses) >= 8
    assert set(addresses) == {"127.0.0.1"}
    auditor.context.close()
