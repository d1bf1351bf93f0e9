"""Browser tests of playback inside an approved request and of the own-copy page.

The server first catalogs one call and stops. The test then submits, attaches
and approves a request for that call, and assigns the call's line to the demo
operator, directly in the catalog, and starts the server again. Driving the
request through the pages is covered by the workflow browser test.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import browser
import pytest
from conftest import wait_until
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from request_fixtures import ADMIN, OPERATOR, approve_all, sample_form

from pipeline import protected_copy, requests
from pipeline.catalog import Catalog
from pipeline.views.i18n import code_label

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEOUL = ZoneInfo("Asia/Seoul")
RENDER_WAIT_MS = 30000
CALL_LINE = "2981"
REASON = "민원 경위 확인을 위한 청취"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[browser.Server]:
    """Serve one cataloged call with an approved request and the operator's line."""
    folder = tmp_path_factory.mktemp("playback")
    config = browser.write_config(folder, demo=False)
    start = (datetime.now(SEOUL) - timedelta(hours=2)).replace(microsecond=0)
    browser.write_call(
        folder / "spool", start, staging=folder / "staging", line=CALL_LINE, uid=81
    )
    first = browser.start_server(folder, config)
    try:
        wait_until(lambda: " cataloged " in first.log(), timeout_s=120)
    finally:
        browser.stop_server(first)

    with Catalog(folder / "data" / "catalog.duckdb") as catalog:
        recording_id = catalog.query("SELECT id FROM recordings")[0][0]
        form = sample_form(recorded_at=start, recorded_phone=CALL_LINE)
        record = requests.submit_request(catalog, OPERATOR, form)
        requests.attach_recordings(catalog, OPERATOR, record.id, [recording_id])
        approve_all(catalog, record.id)
        protected_copy.assign_line(catalog, ADMIN, "operator", CALL_LINE)

    server = browser.start_server(folder, config)
    try:
        yield server
    finally:
        browser.stop_server(server)


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def open_request(page: Page, server: browser.Server, number: str) -> None:
    page.goto(f"{server.url}?page=requests")
    select = page.locator(".request-select select")
    expect(select.first).to_be_visible(timeout=RENDER_WAIT_MS)
    select.select_option(label=number)
    expect(page.locator(".request-detail").first).to_contain_text(
        number, timeout=RENDER_WAIT_MS
    )


def request_number() -> str:
    return f"{datetime.now(SEOUL).year}-0001"


def test_operator_plays_with_reason(server: browser.Server, page: Page):
    browser.login(page, server, "operator")
    open_request(page, server, request_number())
    section = page.locator(".playback-section")
    expect(section.first).to_be_visible(timeout=RENDER_WAIT_MS)

    page.locator(".play-recording button").first.click()
    # The requests page and the request detail each have an alert.
    alert = page.locator(".workflow-alert", has_text="no reason")
    expect(alert.first).to_be_visible(timeout=RENDER_WAIT_MS)
    assert not page.locator(".playback-audio").first.is_visible()

    reason = page.locator(".playback-reason input").first
    reason.fill(REASON)
    reason.press("Tab")
    page.locator(".play-recording button").first.click()
    audio = page.locator(".playback-audio audio")
    expect(audio.first).to_be_visible(timeout=RENDER_WAIT_MS)
    expect(audio.first).to_have_attribute(
        "src", re.compile(r"^data:audio/wav;base64,\S+"), timeout=RENDER_WAIT_MS
    )

    browser.login(page, server, "auditor")
    page.goto(f"{server.url}?page=accesslog")
    expect(page.locator(".access-log-table").first).to_be_visible(
        timeout=RENDER_WAIT_MS
    )
    page.locator(".al-action select").select_option(
        label=code_label("action", "play", "ko")
    )
    table = page.locator(".access-log-table")
    # Newest first: the play with a reason, then the attempt without one.
    results = table.locator(".tabulator-cell[tabulator-field='result']")
    expect(results).to_have_text(
        [code_label("result", "ok", "ko"), code_label("result", "denied", "ko")],
        timeout=RENDER_WAIT_MS,
    )
    actors = table.locator(".tabulator-cell[tabulator-field='actor']")
    expect(actors).to_have_text(["operator", "operator"])


@pytest.mark.parametrize(
    "role",
    [pytest.param("auditor", id="auditor"), pytest.param("approver", id="approver")],
)
def test_role_without_play_sees_no_control(
    server: browser.Server, page: Page, role: str
):
    browser.login(page, server, role)
    open_request(page, server, request_number())
    expect(page.locator(".request-approvals").first).to_be_visible()
    assert not page.locator(".playback-section").first.is_visible()
    assert page.locator(".play-recording button:visible").count() == 0
    assert page.locator(".download-recording:visible").count() == 0


def test_request_chosen_during_load_opens(server: browser.Server, page: Page):
    """Check that a request chosen while the page loads opens once it has loaded.

    Panel drops layout changes made before the page is ready, so the page and
    the menu are offered only after the load.
    """
    browser.login(page, server, "auditor")
    ready = browser.HeldPageReady(page)
    page.goto(f"{server.url}?page=requests")
    for _ in range(300):
        if ready.held_frames:
            break
        page.wait_for_timeout(100)
    assert ready.held_frames, "the browser never reported the page ready"
    select = page.locator(".request-select select")
    # A page that is still loading offers no list, so this may time out.
    with contextlib.suppress(PlaywrightTimeoutError):
        select.select_option(label=request_number(), timeout=2000)
    # The server handles the choice well before the browser reports the page ready.
    page.wait_for_timeout(500)
    expect(page.locator(".page-loading").first).to_be_visible()
    expect(page.locator(".page-navigation button").first).to_be_disabled()

    ready.release()
    expect(select.first).to_be_visible(timeout=RENDER_WAIT_MS)
    # Before a choice the box shows "—", not a blank.
    assert select.first.evaluate("box => box.selectedOptions[0]?.text") == "—"
    select.select_option(label=request_number())
    expect(page.locator(".request-approvals").first).to_be_visible(
        timeout=RENDER_WAIT_MS
    )
    expect(page.locator(".page-loading")).to_have_count(0)
    expect(page.locator(".page-navigation button").first).to_be_enabled()


def test_own_copy_lists_operator_line(server: browser.Server, page: Page):
    browser.login(page, server, "operator")
    page.goto(f"{server.url}?page=own_copy")
    expect(page.locator(".own-copy-lines").first).to_contain_text(
        CALL_LINE, timeout=RENDER_WAIT_MS
    )
    rows = page.locator(".own-copy-table .tabulator-row")
    expect(rows.first).to_be_visible(timeout=RENDER_WAIT_MS)
    assert rows.count() == 1


def test_own_copy_without_line(server: browser.Server, page: Page):
    browser.login(page, server, "approver")
    page.goto(f"{server.url}?page=own_copy")
    expect(page.locator(".own-copy-no-lines").first).to_be_visible(
        timeout=RENDER_WAIT_MS
    )
