"""Browser tests of the dashboard: a real ``panel serve`` driven by headless Chromium.

One server runs for the whole test session, on a catalog and spool under a
temporary folder: the demo spool (5 days) plus three calls per retention state on lines
that the demo does not use (2901 overdue, 2902 due, 2903 active). Tests that
drop new files use lines 2990 and up, so they do not disturb the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import browser
import psutil
import pytest
from conftest import wait_until
from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEOUL = ZoneInfo("Asia/Seoul")
PAGE_SIZE = 20
SEEDED = {
    # line -> (age of the calls in days, expected retention state). The demo's
    # history purge runs as of 4 days ago, so overdue calls must have expired
    # less than 4 days ago to stay on disk.
    "2901": (32.0, "overdue"),
    "2902": (28.5, "due"),
    "2903": (1.0, "active"),
}
# A page is ready when this element is visible.
READY = {
    "overview": ".overview-cards",
    "retention": ".overdue-table .tabulator-row",
    "recordings": ".recordings-table .tabulator-row",
}
LIVE_WAIT_MS = 5000
RENDER_WAIT_MS = 30000


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[browser.Server]:
    """Start the dashboard server on a seeded spool; stop it after the session."""
    folder = tmp_path_factory.mktemp("dashboard")
    config = browser.write_config(folder, demo=True, demo_days=5, page_size=PAGE_SIZE)
    now = datetime.now(SEOUL).replace(microsecond=0)
    uid = 0
    for line, (age_days, _state) in SEEDED.items():
        for index in range(3):
            uid += 1
            browser.write_call(
                folder / "spool",
                now - timedelta(days=age_days, minutes=7 * index),
                staging=folder / "staging",
                line=line,
                uid=uid,
                seed=uid,
            )
    server = browser.start_server(folder, config)
    try:
        # The demo spool is written by the server at start; wait for its marker
        # so that no test races the demo's burst of files.
        wait_until(lambda: (server.spool / ".demo-complete").exists(), timeout_s=120)
        yield server
    finally:
        browser.stop_server(server)


@pytest.fixture
def console_errors() -> list[str]:
    """Collect browser console errors and uncaught page errors of one test."""
    return []


@pytest.fixture
def page(
    server: browser.Server, chromium: Browser, console_errors: list[str]
) -> Iterator[Page]:
    """Open a fresh 1400x900 page, logged in as operator, that records console errors.

    The operator role may open every page of this file.
    """
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    new_page = context.new_page()
    browser.login(new_page, server, "operator")
    new_page.on(
        "console",
        lambda message: (
            console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    new_page.on("pageerror", lambda error: console_errors.append(str(error)))
    yield new_page
    context.close()


def open_page(page: Page, server: browser.Server, name: str, **query: str) -> None:
    """Load dashboard page ``name`` and wait until its content is visible."""
    arguments = "&".join(
        f"{key}={value}" for key, value in {"page": name, **query}.items()
    )
    page.goto(f"{server.url}?{arguments}")
    expect(page.locator(READY[name]).first).to_be_visible(timeout=RENDER_WAIT_MS)


def column_texts(page: Page, table: str, field: str) -> list[str]:
    """Return the text of every visible cell of ``field`` in ``table``."""
    return page.locator(
        f"{table} .tabulator-row .tabulator-cell[tabulator-field='{field}']"
    ).all_inner_texts()


def app_tracebacks(server: browser.Server) -> list[str]:
    """Return traceback lines in the server log that point into dashboard code."""
    return re.findall(
        r'File "[^"]*(?:/dashboard\.py|/pipeline/views/[^"]*)", line \d+.*',
        server.log(),
    )


def choose_state(page: Page, state_label: str) -> None:
    """Pick a retention state in the state filter (a Choices.js multi-select)."""
    page.locator(".filter-states input").first.click()
    page.keyboard.type(state_label)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


def search_file(page: Page, text: str) -> None:
    """Type ``text`` into the file name search box."""
    page.locator(".filter-text input").first.fill(text)


# -- rendering -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("overview", id="overview"),
        pytest.param("retention", id="retention"),
        pytest.param("recordings", id="recordings"),
    ],
)
def test_page_renders_without_errors(
    server: browser.Server, page: Page, console_errors: list[str], name: str
):
    open_page(page, server, name)
    page.wait_for_timeout(1000)  # lets late model updates report their errors
    assert console_errors == []
    assert app_tracebacks(server) == []


def test_overview_counts_seeded_states(server: browser.Server, page: Page):
    open_page(page, server, "overview")
    cards = page.locator(".count-card")
    expect(cards.first).to_be_visible()
    texts = cards.all_inner_texts()
    overdue = next(text for text in texts if text.startswith("기한 경과"))
    due = next(text for text in texts if text.startswith("만료 임박"))
    assert int(overdue.split()[-1].replace(",", "")) >= 3
    assert int(due.split()[-1].replace(",", "")) >= 3
    assert any(text.startswith("사용 용량") for text in texts)


def test_retention_lists_overdue_calls(server: browser.Server, page: Page):
    open_page(page, server, "retention")
    lines = column_texts(page, ".overdue-table", "line")
    states = column_texts(page, ".overdue-table", "state")
    assert lines.count("2901") == 3
    assert set(states) == {"기한 경과"}
    expect(page.locator(".overdue-warning div").first).to_contain_text("보존기간")


def test_retention_loads_due_list_after_render(server: browser.Server, page: Page):
    open_page(page, server, "retention")
    due_rows = page.locator(".due-table .tabulator-row")
    expect(due_rows.first).to_be_visible(timeout=RENDER_WAIT_MS)
    assert "2902" in column_texts(page, ".due-table", "line")
    assert set(column_texts(page, ".due-table", "state")) == {"만료 임박"}


def test_retention_chart_tabs_draw_on_open(server: browser.Server, page: Page):
    open_page(page, server, "retention")
    charts = page.locator(".retention-charts")
    tabs = charts.locator(".bk-tab")
    expect(tabs).to_have_count(3)
    expect(tabs.nth(0)).to_have_text("만료일별 녹취파일")
    first_chart = page.locator(".chart-by-expiry-day")
    expect(first_chart.locator("canvas").first).to_be_visible(timeout=RENDER_WAIT_MS)
    tabs.nth(2).click()
    expect(tabs.nth(2)).to_have_class(re.compile(r"\bbk-active\b"))
    chart = page.locator(".chart-by-department")
    expect(chart.locator("canvas").first).to_be_visible(timeout=RENDER_WAIT_MS)
    assert app_tracebacks(server) == []


def test_retention_charts_follow_language(server: browser.Server, page: Page):
    open_page(page, server, "retention")
    first_chart = page.locator(".chart-by-expiry-day")
    expect(first_chart.locator("canvas").first).to_be_visible(timeout=RENDER_WAIT_MS)

    page.locator(".language-switch button", has_text="English").click()

    tabs = page.locator(".retention-charts .bk-tab")
    expect(tabs.nth(0)).to_have_text("Recordings by expiry day")
    expect(tabs.nth(2)).to_have_text("Recordings by department")
    chart = page.locator(".chart-by-expiry-day canvas").first
    expect(chart).to_be_visible(timeout=RENDER_WAIT_MS)
    page.locator(".language-switch button", has_text="한국어").click()
    expect(tabs.nth(0)).to_have_text("만료일별 녹취파일")
    expect(chart).to_be_visible(timeout=RENDER_WAIT_MS)
    assert app_tracebacks(server) == []


# -- filters -----------------------------------------------------------------------


def test_state_filter_shows_only_overdue(server: browser.Server, page: Page):
    open_page(page, server, "recordings")
    choose_state(page, "기한 경과")
    states = page.locator(".recordings-table .tabulator-cell[tabulator-field='state']")
    expect(states.first).to_have_text("기한 경과")
    expect(page.locator(".pager-status div").first).to_contain_text("총 3건")
    assert set(column_texts(page, ".recordings-table", "state")) == {"기한 경과"}
    assert column_texts(page, ".recordings-table", "line") == ["2901"] * 3


def test_line_filter_shows_only_that_line(server: browser.Server, page: Page):
    open_page(page, server, "recordings")
    page.locator(".filter-line select").select_option(label="2902")
    expect(page.locator(".pager-status div").first).to_contain_text("총 3건")
    assert column_texts(page, ".recordings-table", "line") == ["2902"] * 3
    assert set(column_texts(page, ".recordings-table", "state")) == {"만료 임박"}


def test_file_search_matches_part_of_name(server: browser.Server, page: Page):
    open_page(page, server, "recordings")
    search_file(page, "in-2903-")
    expect(page.locator(".pager-status div").first).to_contain_text("총 3건")
    names = column_texts(page, ".recordings-table", "file_name")
    assert all(name.startswith("in-2903-") for name in names)


def test_pager_turns_to_next_page(server: browser.Server, page: Page):
    open_page(page, server, "recordings")
    expect(page.locator(".pager-status div").first).to_contain_text("1 / ")
    first_page = column_texts(page, ".recordings-table", "file_name")
    page.locator(".pager-next button").first.click()
    expect(page.locator(".pager-status div").first).to_contain_text(f"{PAGE_SIZE + 1}–")
    second_page = column_texts(page, ".recordings-table", "file_name")
    assert len(first_page) == PAGE_SIZE
    assert not set(first_page) & set(second_page)


# -- language ------------------------------------------------------------------------


def test_language_switch_changes_labels(server: browser.Server, page: Page):
    open_page(page, server, "recordings")
    navigation = page.locator(".page-navigation button")
    expect(navigation.nth(2)).to_have_text("녹취파일 목록")
    page.locator(".language-switch button", has_text="English").click()
    expect(navigation.nth(2)).to_have_text("Recordings")
    titles = page.locator(".recordings-table .tabulator-col-title")
    expect(titles.filter(has_text="Start")).to_have_count(1)
    assert "녹취일시" not in titles.all_inner_texts()
    assert "Active" in column_texts(page, ".recordings-table", "state")


def test_english_from_query_parameter(server: browser.Server, page: Page):
    open_page(page, server, "overview", lang="en")
    expect(page.locator(".page-navigation button").first).to_have_text("Overview")


HEADING_SIZES_JS = """() => {
  const sizes = [];
  const walk = (root) => root.querySelectorAll("*").forEach((element) => {
    if (element.tagName === "H3" || element.tagName === "H4") {
      sizes.push(element.tagName + " " + getComputedStyle(element).fontSize);
    }
    if (element.shadowRoot) walk(element.shadowRoot);
  });
  walk(document);
  return sizes;
}"""


def test_language_switch_keeps_headings(server: browser.Server, page: Page):
    open_page(page, server, "overview")
    expect(page.locator("a.title")).to_contain_text("녹취시스템 대시보드")
    korean_sizes = page.evaluate(HEADING_SIZES_JS)

    page.locator(".language-switch button", has_text="English").click()

    expect(page.locator(".page-navigation button").first).to_have_text("Overview")
    expect(page.locator("a.title")).to_contain_text("Call recording dashboard")
    expect(page).to_have_title("Call recording dashboard")
    assert page.evaluate(HEADING_SIZES_JS) == korean_sizes
    assert "H3 17px" in korean_sizes


BUSY_CLASSES_JS = """() => {
  let loader = null;
  const walk = (root) => root.querySelectorAll("*").forEach((element) => {
    if (element.classList && element.classList.contains("loader")) loader = element;
    if (element.shadowRoot) walk(element.shadowRoot);
  });
  walk(document);
  window.__busyClasses = [loader.className];
  new MutationObserver(() => window.__busyClasses.push(loader.className)).observe(
    loader, {attributes: true}
  );
}"""


def test_refresh_leaves_busy_indicator_idle(server: browser.Server, page: Page):
    open_page(page, server, "overview")
    page.wait_for_timeout(1500)
    page.evaluate(BUSY_CLASSES_JS)

    # Three refresh ticks of 2 s each.
    page.wait_for_timeout(6500)

    classes = page.evaluate("() => window.__busyClasses")
    assert not [name for name in classes if "spin" in name.split()]


# -- live updates and ingest ---------------------------------------------------------


def test_dropped_file_appears_without_reload(
    server: browser.Server, page: Page, tmp_path
):
    open_page(page, server, "recordings")
    search_file(page, "in-2990-")
    expect(page.locator(".pager-status div").first).to_contain_text("해당 녹취파일이")
    start = datetime.now(SEOUL).replace(microsecond=0)
    dropped = browser.write_call(
        server.spool, start, staging=tmp_path, line="2990", uid=990, seed=990
    )
    cell = page.locator(
        ".recordings-table .tabulator-cell[tabulator-field='file_name']",
        has_text=dropped.name,
    )
    expect(cell).to_be_visible(timeout=LIVE_WAIT_MS)
    assert column_texts(page, ".recordings-table", "start_time") == [
        start.strftime("%Y-%m-%d %H:%M")
    ]


def test_ingest_runs_with_no_session_open(server: browser.Server, tmp_path):
    start = datetime.now(SEOUL).replace(microsecond=0) - timedelta(hours=1)
    dropped = browser.write_call(
        server.spool, start, staging=tmp_path, line="2991", uid=991, seed=991
    )
    # The server logs one line per cataloged file, with the phone number masked
    # but the kind and line kept.
    pattern = re.compile(r"cataloged \S*/in-2991-")
    wait_until(lambda: pattern.search(server.log()), timeout_s=30)
    assert dropped.exists()


def test_ingested_file_shows_on_new_page(server: browser.Server, page: Page, tmp_path):
    start = datetime.now(SEOUL).replace(microsecond=0) - timedelta(hours=2)
    dropped = browser.write_call(
        server.spool, start, staging=tmp_path, line="2992", uid=992, seed=992
    )
    wait_until(lambda: "in-2992-" in server.log(), timeout_s=30)
    open_page(page, server, "recordings")
    search_file(page, "in-2992-")
    expect(page.locator(".pager-status div").first).to_contain_text("총 1건")
    assert column_texts(page, ".recordings-table", "file_name") == [dropped.name]


def test_file_name_html_is_escaped(server: browser.Server, page: Page, tmp_path):
    start = datetime.now(SEOUL).replace(microsecond=0) - timedelta(hours=3)
    markup = "<img src=x onerror=window.__injected=1>"
    dropped = browser.write_call(
        server.spool, start, staging=tmp_path, line="2993", other_party=markup, uid=993
    )
    wait_until(lambda: "in-2993-" in server.log(), timeout_s=30)
    open_page(page, server, "recordings")
    search_file(page, "in-2993-")
    cell = page.locator(
        ".recordings-table .tabulator-cell[tabulator-field='file_name']"
    ).first
    expect(cell).to_have_text(dropped.name)
    assert page.evaluate("() => window.__injected") is None
    assert page.locator(".recordings-table .tabulator-cell img").count() == 0


def test_ingest_error_named_in_korean(server: browser.Server, page: Page):
    start = datetime.now(SEOUL).replace(microsecond=0) - timedelta(hours=4)
    name = browser.freepbx_name(start, line="2995", other_party="0200001234", uid=995)
    folder = server.spool / f"{start:%Y/%m/%d}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"")
    wait_until(lambda: "in-2995-" in server.log(), timeout_s=30)

    open_page(page, server, "overview")

    # The overview masks the number in the file name for every role.
    row = page.locator(".ingest-errors-table .tabulator-row", has_text="in-2995-")
    expect(row).to_have_count(1, timeout=LIVE_WAIT_MS)
    assert "0200001234" not in row.inner_text()
    stage = row.locator(".tabulator-cell[tabulator-field='stage']")
    kind = row.locator(".tabulator-cell[tabulator-field='kind']")
    expect(stage).to_have_text("분석")
    expect(kind).to_contain_text("빈 파일")
    titles = page.locator(".ingest-errors-table .tabulator-col-title")
    assert [text for text in titles.all_inner_texts() if text.strip()] == [
        "발생 일시",
        "파일명",
        "단계",
        "구분",
        "세부 내용",
    ]


# -- one watcher per server ----------------------------------------------------------


def test_sessions_start_no_second_watcher(server: browser.Server, chromium: Browser):
    process = psutil.Process(server.pid)
    watches_before = browser.inotify_watches(server.pid)
    children_before = sorted(child.pid for child in process.children())
    for _ in range(20):
        context = chromium.new_context()
        session_page = context.new_page()
        browser.login(session_page, server, "viewer")
        open_page(session_page, server, "overview")
        context.close()
    assert watches_before == 1
    assert browser.inotify_watches(server.pid) == watches_before
    assert sorted(child.pid for child in process.children()) == children_before
