"""Browser tests of the login, roles, masking and access log of the dashboard.

One ``panel serve`` runs for this file, on a one-day demo spool plus a few calls
of its own, with the demo users (one per role, named after the role).
"""

from __future__ import annotations

import importlib.util
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import browser
import pytest
from conftest import wait_until
from playwright.sync_api import Browser, Page, expect

from pipeline.auth import PERMISSIONS
from pipeline.views import accesslog_page, users_page
from pipeline.views.i18n import code_label, label

# Importing the page modules adds their labels to the shared label table.
assert accesslog_page.ACCESS_LOG_LABELS
assert users_page.USERS_LABELS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def load_pages() -> dict:
    """Return the PAGES registry of dashboard.py, loaded from the repository root.

    The tests folder, not the root, is on sys.path. Loading the file outside a
    server logs one "served without the login" error and renders nothing.
    """
    spec = importlib.util.spec_from_file_location(
        "dashboard", browser.PROJECT_DIR / "dashboard.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PAGES


PAGES = load_pages()

SEOUL = ZoneInfo("Asia/Seoul")
RENDER_WAIT_MS = 30000
# Page key -> element that shows the page rendered its content.
READY = {
    "overview": ".overview-cards",
    "retention": ".overdue-table",
    "recordings": ".recordings-table",
    "requests": ".request-select",
    "pending": ".pending-title",
    "ledger": ".ledger-csv",
    "holds": ".holds-active",
    "lines": ".lines-table",
    "purge": ".purge-status-pane",
    "accesslog": ".access-log-table",
    "users": ".privileged-table",
    "own_copy": ".own-copy-page",
}
# Role -> pages it may open, written out so that a change to PERMISSIONS or
# PAGES that opens a page to another role fails this table.
ALLOWED_PAGES = {
    "viewer": {"overview"},
    "operator": {
        "overview",
        "retention",
        "recordings",
        "requests",
        "pending",
        "ledger",
        "holds",
        "lines",
        "purge",
        "own_copy",
    },
    "approver": {
        "overview",
        "retention",
        "recordings",
        "requests",
        "pending",
        "ledger",
        "holds",
        "lines",
        "accesslog",
        "own_copy",
    },
    "auditor": {
        "overview",
        "retention",
        "recordings",
        "requests",
        "pending",
        "ledger",
        "holds",
        "lines",
        "accesslog",
    },
    "admin": {"overview", "users"},
}
ERROR_NUMBER = "0212345678"
XSS_DEPARTMENT = "<img src=x onerror=window.__xss=1>민원과"
XSS_LINE = "<script>window.__xss=2</script>"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[browser.Server]:
    """Start the dashboard on a one-day demo spool with one unreadable call file."""
    folder = tmp_path_factory.mktemp("security")
    config = browser.write_config(folder, demo=True, demo_days=1)
    start = datetime.now(SEOUL).replace(microsecond=0) - timedelta(hours=1)
    # A file that is not audio gives an ingest error whose path has a number.
    name = browser.freepbx_name(start, line="2994", other_party=ERROR_NUMBER, uid=994)
    broken = folder / "spool" / f"{start:%Y/%m/%d}" / name
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(b"this is not a WAV file" * 100)
    # A call whose sidecar carries script in its department and line fields. The
    # file name's line wins over the sidecar's, so only the department is shown.
    hostile = browser.write_call(
        folder / "spool",
        start - timedelta(minutes=5),
        staging=folder / "staging",
        line="2995",
        uid=995,
        seed=995,
    )
    sidecar = {"department": XSS_DEPARTMENT, "line": XSS_LINE}
    hostile.with_suffix(".json").write_text(
        json.dumps(sidecar, ensure_ascii=False), encoding="utf-8"
    )
    server = browser.start_server(folder, config)
    try:
        wait_until(lambda: (server.spool / ".demo-complete").exists(), timeout_s=120)
        yield server
    finally:
        browser.stop_server(server)


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """Open a fresh 1400x900 page with no login."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    yield context.new_page()
    context.close()


def open_page(page: Page, server: browser.Server, key: str, **query: str) -> None:
    """Load dashboard page ``key`` and wait until the page or a notice shows."""
    arguments = "&".join(
        f"{name}={value}" for name, value in {"page": key, **query}.items()
    )
    page.goto(f"{server.url}?{arguments}")
    shown = page.locator(f"{READY.get(key, '.page-content')}, .access-denied")
    expect(shown.first).to_be_visible(timeout=RENDER_WAIT_MS)


# -- login ------------------------------------------------------------------------


def test_dashboard_redirects_to_login(server: browser.Server, page: Page):
    page.goto(f"{server.url}?page=recordings")
    expect(page.locator("form.login-form")).to_be_visible()
    assert urlparse_path(page.url) == "/login"
    assert page.locator(".recordings-table").count() == 0


def test_login_page_follows_requested_language(server: browser.Server, page: Page):
    page.goto(f"{server.url}?page=overview&lang=en")
    expect(page.locator("form.login-form button[type=submit]")).to_have_text("Log in")
    page.locator("#username").fill("operator")
    page.locator("#password").fill("wrong-password-1")
    page.locator("form.login-form button[type=submit]").click()
    expect(page.locator(".login-error")).to_contain_text("incorrect")


def test_wrong_password_is_rejected(server: browser.Server, page: Page):
    page.goto(f"{server.base_url}/login")
    page.locator("#username").fill("operator")
    page.locator("#password").fill("wrong-password-1")
    page.locator("form.login-form button[type=submit]").click()
    expect(page.locator(".login-error")).to_contain_text("올바르지 않습니다")
    page.goto(server.url)
    expect(page.locator("form.login-form")).to_be_visible()
    assert re.search(r"login failed: username=operator", server.log())


def test_login_opens_requested_page(server: browser.Server, page: Page):
    page.goto(f"{server.url}?page=recordings")
    page.locator("#username").fill("operator")
    page.locator("#password").fill(browser.DEMO_PASSWORDS["operator"])
    page.locator("form.login-form button[type=submit]").click()
    expect(page.locator(".recordings-table").first).to_be_visible(
        timeout=RENDER_WAIT_MS
    )
    expect(page.locator(".current-user")).to_contain_text("operator")


def test_logout_ends_session(server: browser.Server, page: Page):
    browser.login(page, server, "viewer")
    open_page(page, server, "overview")
    page.locator(".logout-link").click()
    expect(page.locator("form.login-form")).to_be_visible()
    page.goto(server.url)
    expect(page.locator("form.login-form")).to_be_visible()


def test_login_next_stays_on_server(server: browser.Server, page: Page):
    page.goto(f"{server.base_url}/login?next=//example.invalid/x")
    page.locator("#username").fill("viewer")
    page.locator("#password").fill(browser.DEMO_PASSWORDS["viewer"])
    page.locator("form.login-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.startswith(server.base_url)


# -- roles ------------------------------------------------------------------------


def test_matrix_covers_every_page():
    assert set(READY) == set(PAGES)
    for role, pages in ALLOWED_PAGES.items():
        expected = {
            key for key, (_, _, action) in PAGES.items() if action in PERMISSIONS[role]
        }
        assert pages == expected, f"allowed pages of {role}"


@pytest.mark.parametrize(
    "role", [pytest.param(role, id=role) for role in ALLOWED_PAGES]
)
def test_role_page_matrix(server: browser.Server, page: Page, role: str):
    browser.login(page, server, role)
    allowed = ALLOWED_PAGES[role]
    for key in PAGES:
        open_page(page, server, key)
        denied = page.locator(".access-denied")
        if key in allowed:
            expect(page.locator(READY[key]).first).to_be_visible()
            assert denied.count() == 0, f"{role} was denied page {key}"
        else:
            expect(denied.first).to_be_visible()
            assert page.locator(READY[key]).count() == 0, f"{role} saw page {key}"
            assert f"page denied: username={role} page={key}" in server.log()
            active = page.locator(".page-navigation button.bk-active")
            assert active.count() == 0, f"{role} has a page marked under {key}"
    navigation = page.locator(".page-navigation button").all_inner_texts()
    for key in PAGES:
        shown = label(f"page.{key}", "ko") in navigation
        assert shown == (key in allowed), f"navigation of {role} for page {key}"


def test_viewer_sees_no_recordings(server: browser.Server, page: Page):
    browser.login(page, server, "viewer")
    open_page(page, server, "overview")
    labels = page.locator(".page-navigation button").all_inner_texts()
    assert labels == ["현황"]
    assert page.locator(".tabulator-cell[tabulator-field='other_party']").count() == 0


# -- masking ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "admin", "operator"])
def test_ingest_error_number_masking(server: browser.Server, page: Page, role: str):
    # The overview is a health summary for every role, so even roles that may
    # read numbers elsewhere see them masked here.
    wait_until(lambda: "in-2994-" in server.log(), timeout_s=60)
    browser.login(page, server, role)
    open_page(page, server, "overview")
    table = page.locator(".ingest-errors-table")
    expect(table.locator(".tabulator-row").first).to_be_visible(timeout=RENDER_WAIT_MS)
    text = " ".join(table.locator(".tabulator-cell").all_inner_texts())
    assert ERROR_NUMBER not in text
    assert "02-****-5678" in text


# -- access log and privileged users ----------------------------------------------


def test_access_log_shows_denied_page(server: browser.Server, page: Page):
    browser.login(page, server, "viewer")
    open_page(page, server, "recordings")
    expect(page.locator(".access-denied").first).to_be_visible()
    browser.login(page, server, "auditor")
    open_page(page, server, "accesslog")
    page.locator(".al-action select").select_option(
        label=code_label("action", "view_page", "ko")
    )
    table = page.locator(".access-log-table")
    results = table.locator(".tabulator-cell[tabulator-field='result']")
    expect(results.first).to_have_text(code_label("result", "denied", "ko"))
    actors = table.locator(".tabulator-cell[tabulator-field='actor']")
    assert "viewer" in actors.all_inner_texts()
    objects = table.locator(".tabulator-cell[tabulator-field='object']")
    assert "화면 녹취파일 목록" in objects.all_inner_texts()


def test_access_log_records_logins(server: browser.Server, page: Page):
    browser.login(page, server, "approver")
    open_page(page, server, "accesslog")
    page.locator(".al-action select").select_option(
        label=code_label("action", "login", "ko")
    )
    actors = page.locator(".access-log-table .tabulator-cell[tabulator-field='actor']")
    expect(actors.first).to_be_visible()
    assert "approver" in actors.all_inner_texts()


def test_chain_check_reports_intact(server: browser.Server, page: Page):
    browser.login(page, server, "auditor")
    open_page(page, server, "accesslog")
    expect(page.locator(".chain-status")).to_contain_text("아직 검증하지")
    page.locator(".verify-chain button").click()
    expect(page.locator(".chain-intact")).to_be_visible(timeout=RENDER_WAIT_MS)


def test_privileged_users_within_maximum(server: browser.Server, page: Page):
    browser.login(page, server, "admin")
    open_page(page, server, "users")
    expect(page.locator(".privileged-within")).to_contain_text("4명")
    names = page.locator(
        ".privileged-table .tabulator-cell[tabulator-field='username']"
    ).all_inner_texts()
    assert sorted(names) == ["admin", "approver", "auditor", "operator"]


# -- routes -------------------------------------------------------------------------

# Routes that respond without a login because they serve only the login itself or
# library files, never recordings or catalog data.
PUBLIC_ROUTES = {"/login", "/logout", "/favicon.ico"}
STATIC_PREFIXES = ("/static/", "/dashboard/static/", "/components/")
XSS = "<img src=x onerror=window.__xss=1>"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Return redirects as responses instead of following them."""

    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str) -> tuple[int, str, bytes]:
    """Return status, Location header and body of a GET without cookies."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=30) as response:
            return (
                response.status,
                response.headers.get("Location", ""),
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", ""), error.read()


def server_routes(server: browser.Server) -> list[str]:
    """Return concrete paths for every route pattern that the server logs at start."""
    line = wait_until(lambda: re.search(r"server routes: (.*)", server.log()))
    paths = []
    for pattern in line.group(1).split():
        path = pattern.rstrip("$").replace("(.*)", "probe.js").replace("/?", "/")
        if path.endswith("/autoload.js"):
            # Without this argument Bokeh rejects the request before the login check.
            path += "?bokeh-autoload-element=probe"
        paths.append(path)
    return paths


def test_every_route_requires_login(server: browser.Server):
    paths = server_routes(server)
    assert "/dashboard/" in paths
    assert "/dashboard/ws" in paths
    assert "/dashboard/metadata" in paths
    for path in paths:
        status, location, _body = fetch(server.base_url + path)
        if path in PUBLIC_ROUTES:
            assert status in (200, 302), f"{path} answered {status}"
        elif path.startswith(STATIC_PREFIXES):
            assert status in (400, 403, 404), f"{path} served a file: {status}"
        else:
            assert status in (302, 401, 403), f"{path} answered {status} without login"
            if status == 302:
                # NOTE: Panel 1.9.4 sends a relative "./login", which from
                # /dashboard/ resolves to /dashboard/login rather than /login.
                assert "login" in location, f"{path} redirects to {location}"


def test_static_routes_serve_no_data(server: browser.Server):
    data_files = [
        server.folder / "data" / "catalog.duckdb",
        server.folder / "data" / "users.json",
        server.folder / "data" / "cookie_secret",
    ]
    spool_file = next(server.spool.rglob("*.wav"))
    probes = []
    for prefix in STATIC_PREFIXES:
        for target in [*data_files, spool_file]:
            relative = target.relative_to(server.folder)
            probes += [
                f"{prefix}../../{relative}",
                f"{prefix}%2e%2e/%2e%2e/{relative}",
                f"{prefix}..%2f..%2f{str(relative).replace('/', '%2f')}",
                f"{prefix}{target}",
            ]
    secret = (server.folder / "data" / "cookie_secret").read_bytes().strip()
    for probe in probes:
        status, _location, body = fetch(server.base_url + probe)
        # Panel's /components/ handler returns 500 for paths outside its modules.
        assert status in (400, 403, 404, 500), f"{probe} answered {status}"
        assert secret not in body
        assert not body.startswith(b"RIFF"), f"{probe} served audio"
        assert b"argon2" not in body, f"{probe} served the users file"


# -- hostile input ----------------------------------------------------------------


def test_login_form_input_is_inert(server: browser.Server, page: Page):
    page.goto(f"{server.base_url}/login?next=/dashboard%22%3E{XSS}")
    page.locator("#username").fill(XSS)
    page.locator("#password").fill(XSS)
    page.locator("form.login-form button[type=submit]").click()
    expect(page.locator(".login-error")).to_be_visible()
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("main img").count() == 0


def test_sql_in_search_is_harmless(server: browser.Server, page: Page):
    browser.login(page, server, "operator")
    open_page(page, server, "recordings")
    search = page.locator(".filter-text input").first
    search.fill("'; DROP TABLE recordings; --")
    search.press("Enter")
    expect(page.locator(".pager-status div").first).to_contain_text("해당 녹취파일이")
    search.fill("")
    search.press("Enter")
    expect(page.locator(".pager-status div").first).to_contain_text("총")
    rows = page.locator(".recordings-table .tabulator-row")
    expect(rows.first).to_be_visible()


def test_access_log_filter_input_is_inert(server: browser.Server, page: Page):
    browser.login(page, server, "auditor")
    open_page(page, server, "accesslog")
    for selector in (".al-recording input", ".al-request input"):
        field = page.locator(selector).first
        field.fill(XSS + "'; DROP TABLE access_log; --")
        field.press("Enter")
    page.wait_for_timeout(1000)
    assert page.evaluate("() => window.__xss") is None
    assert page.locator(".access-log-page img").count() == 0
    for selector in (".al-recording input", ".al-request input"):
        page.locator(selector).first.fill("")
        page.locator(selector).first.press("Enter")
    actors = page.locator(".access-log-table .tabulator-cell[tabulator-field='actor']")
    expect(actors.first).to_be_visible()


def urlparse_path(url: str) -> str:
    """Return the path part of ``url``."""
    return re.sub(r"^https?://[^/]+", "", url).split("?")[0]


def test_sidecar_markup_is_escaped(server: browser.Server, page: Page):
    wait_until(lambda: "in-2995-" in server.log(), timeout_s=60)
    browser.login(page, server, "operator")
    open_page(page, server, "recordings")
    search = page.locator(".filter-text input").first
    search.fill("2995")
    search.press("Enter")
    table = page.locator(".recordings-table")
    expect(table).to_contain_text(XSS_DEPARTMENT, timeout=RENDER_WAIT_MS)
    page.wait_for_timeout(1000)
    assert page.evaluate("() => window.__xss") is None
    assert table.locator("img").count() == 0
    assert table.locator("script").count() == 0


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("page=foo", id="unknown-page"),
        pytest.param("page=%3Cscript%3Ewindow.__xss%3D3%3C%2Fscript%3E", id="markup"),
        pytest.param("page=overview&page=purge", id="repeated"),
        pytest.param("page=overview&lang=xx", id="unknown-language"),
    ],
)
def test_bad_page_query_shows_overview(server: browser.Server, page: Page, query: str):
    browser.login(page, server, "viewer")
    page.goto(f"{server.url}?{query}")
    expect(page.locator(READY["overview"]).first).to_be_visible(timeout=RENDER_WAIT_MS)
    assert page.evaluate("window.__xss") is None
    # The page stays in the default language, and the menu works.
    navigation = page.locator(".page-navigation button")
    expect(navigation.first).to_have_text("현황")
    expect(navigation.first).to_be_enabled()
