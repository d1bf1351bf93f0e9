"""recwatch dashboard: retention, ingest health and the recordings catalog.

Serve with ``scripts/serve``, which runs ``panel serve dashboard.py --setup
pipeline/server_setup.py --auth-module pipeline/webauth.py`` with the cookie
secret, so that the watcher starts with the server and every route needs a login.
Panel runs this file once per browser session; the background services are
shared by all sessions and started once per process by ``start_service()``.
Served without the auth module, the dashboard shows only a "login required"
notice.

Query parameters: ``?page=<key of PAGES>`` and ``?lang=ko|en``.
"""

import logging
from datetime import UTC, datetime

import panel as pn
from panel.io.callbacks import PeriodicCallback

from pipeline.auth import allowed
from pipeline.service import current, start_service
from pipeline.views.accesslog_page import AccessLogPage
from pipeline.views.formatting import escape, format_time
from pipeline.views.heading import PageTitle, heading
from pipeline.views.health import health_html
from pipeline.views.holds_page import HoldsPage
from pipeline.views.i18n import LANGUAGES, code_labels, label
from pipeline.views.ledger_page import LedgerPage
from pipeline.views.lines_page import LinesPage
from pipeline.views.overview import OverviewPage
from pipeline.views.own_copy_page import OwnCopyPage
from pipeline.views.pending_page import PendingReturnsPage
from pipeline.views.purge_panel import PurgePage
from pipeline.views.recordings import RecordingsPage
from pipeline.views.requests_page import RequestsPage
from pipeline.views.retention import RetentionPage
from pipeline.views.session import current_user, record_access, session_alive
from pipeline.views.users_page import UsersPage
from pipeline.websessions import auth_active

logger = logging.getLogger(__name__)

pn.extension("tabulator", sizing_mode="stretch_width")

# -- pages ----------------------------------------------------------------------

# Every page of the dashboard: key (the ?page= value) -> (label key in
# pipeline/views/i18n.py, page class, action from pipeline.auth.ACTIONS that a
# user needs to see it). Navigation lists only the pages the user's roles allow,
# and a ?page= URL for any other page shows "access denied" and is logged.
# A page class is a pn.viewable.Viewer built as
# ``PageClass(service, user=user, language="ko")``, with a ``language`` parameter
# and a ``refresh()`` method that reads its data again.
PAGES = {
    "overview": ("page.overview", OverviewPage, "view_counts"),
    "retention": ("page.retention", RetentionPage, "view_recordings"),
    "recordings": ("page.recordings", RecordingsPage, "view_recordings"),
    "requests": ("page.requests", RequestsPage, "view_recordings"),
    "pending": ("page.pending", PendingReturnsPage, "view_recordings"),
    "ledger": ("page.ledger", LedgerPage, "view_recordings"),
    "holds": ("page.holds", HoldsPage, "view_recordings"),
    "lines": ("page.lines", LinesPage, "view_recordings"),
    "purge": ("page.purge", PurgePage, "purge"),
    "accesslog": ("page.accesslog", AccessLogPage, "view_access_log"),
    "users": ("page.users", UsersPage, "manage_users"),
    "own_copy": ("page.own_copy", OwnCopyPage, "export_own"),
}
DEFAULT_PAGE = "overview"

# BootstrapTemplate serves all its assets from Panel's bundle. The Fast
# templates link Open Sans from Google Fonts, but nothing may load from the
# internet.
TEMPLATE_STYLE = {"sidebar_width": 300, "header_background": "#1f4e79"}


def _query_value(name: str, default: str) -> str:
    """Return a query parameter of the session's URL, or ``default`` without one."""
    values = pn.state.session_args.get(name) if pn.state.session_args else None
    return values[0].decode("utf-8", "replace") if values else default


def _language() -> str:
    language = _query_value("lang", "ko")
    return language if language in LANGUAGES.values() else "ko"


def browser_connected() -> bool:
    """Return whether a browser is connected to this session (True outside one)."""
    context = pn.state.curdoc.session_context if pn.state.curdoc else None
    session = getattr(context, "session", None)
    return session is None or session.connection_count > 0


def login_required_notice() -> None:
    """Serve a page that shows only that a login is needed, in both languages."""
    template = pn.template.BootstrapTemplate(
        title=label("title", _language()), **TEMPLATE_STYLE
    )
    template.main.append(
        pn.pane.Alert(
            f"{label('login_required', 'ko')}<br>{label('login_required', 'en')}",
            alert_type="warning",
            css_classes=["login-required"],
        )
    )
    template.servable()


def build_dashboard(service, user) -> None:
    """Build the dashboard of ``user``'s session and mark it servable."""
    config = service.config
    catalog = service.catalog
    initial_language = _query_value("lang", config["dashboard.language"])
    if initial_language not in LANGUAGES.values():
        initial_language = config["dashboard.language"]

    page_keys = [key for key, (_, _, action) in PAGES.items() if allowed(user, action)]
    requested = _query_value("page", DEFAULT_PAGE)
    if requested not in PAGES:
        requested = DEFAULT_PAGE
    denied_page = requested if requested not in page_keys else None
    if denied_page is not None:
        record_access(
            service,
            user,
            "view_page",
            object_type="page",
            object_ids=(denied_page,),
            result="denied",
            detail={"page": denied_page, "required": PAGES[denied_page][2]},
        )
        logger.warning("page denied: username=%s page=%s", user.username, denied_page)

    language = pn.widgets.RadioButtonGroup(
        options=LANGUAGES,
        value=initial_language,
        button_type="primary",
        button_style="outline",
        css_classes=["language-switch"],
    )
    navigation = pn.widgets.RadioButtonGroup(
        options={label(PAGES[key][0], initial_language): key for key in page_keys},
        # No button is selected under the denied notice, so any click opens a page.
        value=requested if denied_page is None else None,
        orientation="vertical",
        button_type="primary",
        button_style="outline",
        css_classes=["page-navigation"],
    )
    if denied_page is not None:
        # The widget selects its first option when built with None, which would
        # mark 현황 as the page shown under the access-denied notice.
        navigation.value = None
    status = pn.pane.HTML("", css_classes=["sidebar-status"])
    page_title = PageTitle(text=label("title", initial_language))
    account = pn.pane.HTML("", css_classes=["sidebar-account"])
    headings = {
        key: heading(margin=(5, 10, 0, 10)) for key in ("language", "pages", "ingest")
    }
    pages: dict[str, object] = {}
    # Pages not on screen are refreshed when they are shown again, not on every tick.
    stale_pages: set[str] = set()
    # The page is built from data as of now, so the first tick re-reads it only
    # when the catalog changes or the minute turns, not unconditionally.
    last_refresh = {
        "version": catalog.version,
        "minute": int(datetime.now(UTC).timestamp() // 60),
        "updated_at": datetime.now(UTC),
    }
    main = pn.Column(sizing_mode="stretch_width")
    # Key of the page in ``main``, or None while a notice is shown there.
    visible_page: dict[str, str | None] = {"key": None}

    def page(key: str):
        """Return the page for ``key``, building it on first use."""
        if key not in pages:
            page_class = PAGES[key][1]
            pages[key] = page_class(service, user=user, language=language.value)
        elif key in stale_pages:
            stale_pages.discard(key)
            pages[key].refresh()
        return pages[key]

    def denied_notice(key: str):
        lang = language.value
        return pn.pane.Alert(
            label("access_denied", lang, page=label(PAGES[key][0], lang)),
            alert_type="danger",
            css_classes=["access-denied"],
        )

    def show(key: str) -> None:
        main.objects = [page(key)]
        visible_page["key"] = key

    def render_status() -> None:
        """Show the user, the last update time and the ingest counters."""
        lang = language.value
        ingestor = service.ingestor
        updated = format_time(last_refresh["updated_at"], config.tz)
        account.object = (
            f'<div class="current-user"><b>{escape(user.display_name)}</b> '
            f"({escape(user.username)}, "
            f"{escape(code_labels('role', user.roles, lang))})</div>"
            f'<a class="logout-link" href="/logout">{label("logout", lang)}</a>'
        )
        status.object = (
            f'<div class="last-updated"><b>{label("last_updated", lang)}</b>: '
            f"{updated}</div>"
            + health_html(
                ingestor.health_dict(),
                ingestor.watcher_alive(),
                lang,
                config.tz,
                compact=True,
            )
        )

    def expire() -> None:
        """Replace the whole dashboard with the session-expired notice."""
        lang = language.value
        template.sidebar[:] = []
        main.objects = [
            pn.pane.Alert(
                f"{label('session_expired', lang)} "
                f'<a href="/login">{label("login", lang)}</a>',
                alert_type="warning",
                css_classes=["session-expired"],
            )
        ]
        pages.clear()
        visible_page["key"] = None
        if callback is not None:
            callback.stop()

    def refresh() -> None:
        """Re-read the visible page when the catalog changed or a minute passed.

        Retention states depend on the clock as well as on the catalog, so a page
        is read again at least once a minute even with no new writes. A session
        whose login ended (logout or idle timeout) is closed instead.
        """
        if not pn.state.loaded:
            # Changes made before the page has loaded would not reach the browser.
            return
        if not session_alive():
            expire()
            return
        if not browser_connected():
            # A closed tab's session lives on until Bokeh discards it, and its
            # re-reads would only delay the pages of connected browsers.
            return
        version = catalog.version
        minute = int(datetime.now(UTC).timestamp() // 60)
        if version != last_refresh["version"] or minute != last_refresh["minute"]:
            last_refresh.update(
                version=version, minute=minute, updated_at=datetime.now(UTC)
            )
            visible = visible_page["key"]
            if visible is not None:
                pages[visible].refresh()
            stale_pages.update(key for key in pages if key != visible)
        if "overview" in pages:
            pages["overview"].update_health()
        render_status()

    def relabel(lang: str) -> None:
        """Switch every label of the session to ``lang``."""
        template.title = label("title", lang)
        page_title.text = label("title", lang)
        navigation.options = {label(PAGES[key][0], lang): key for key in page_keys}
        for key, pane in headings.items():
            pane.object = f"#### {label(key, lang)}"
        for built in pages.values():
            built.language = lang
        if (
            denied_page is not None
            and main.objects
            and "access-denied" in (main.objects[0].css_classes or [])
        ):
            main.objects = [denied_notice(denied_page)]
        render_status()

    def on_navigation(event) -> None:
        # A click counts as activity, so it keeps the login session alive.
        if not session_alive(touch=True):
            expire()
            return
        show(event.new)

    template = pn.template.BootstrapTemplate(
        title=label("title", initial_language),
        sidebar=[
            page_title,
            account,
            headings["language"],
            language,
            headings["pages"],
            navigation,
            headings["ingest"],
            status,
        ],
        main=[main],
        **TEMPLATE_STYLE,
    )

    def show_first_page() -> None:
        if denied_page is None:
            show(requested)
        else:
            main.objects = [denied_notice(denied_page)]
        navigation.disabled = language.disabled = False

    navigation.param.watch(on_navigation, "value")

    def on_language(event) -> None:
        if event.new not in LANGUAGES.values():
            # An unknown ?lang= still in the browser's address bar comes back
            # through the URL sync. The session keeps a language it can show.
            valid = event.old in LANGUAGES.values()
            language.value = event.old if valid else initial_language
            logger.info(
                "unknown language %r from the address bar reset to %s for %s",
                event.new,
                language.value,
                user.username,
            )
            return
        relabel(event.new)

    language.param.watch(on_language, "value")
    relabel(initial_language)

    callback = None
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        # The URL is corrected first: location.sync copies its query into the
        # widgets, and an unknown ?page= or ?lang= value would break them.
        pn.state.location.update_query(page=requested, lang=initial_language)
        if denied_page is None:
            pn.state.location.sync(navigation, {"value": "page"})
        pn.state.location.sync(language, {"value": "lang"})
        # One callback per session, stopped when the session is destroyed. It
        # runs in the background: marked as busy, every tick spun the header's
        # busy indicator, so the page looked as if it never finished loading.
        callback = PeriodicCallback(
            callback=refresh, period=config["dashboard.refresh_ms"], background=True
        )
        callback.start()
        # Before the browser reports the page ready, Panel drops layout changes
        # (see _drain_unconnected_events in panel/io/document.py), so a request
        # chosen then stayed hidden. The page is built after the load instead,
        # on the next tick, so its deferred parts arrive in the same update.
        main.objects = [
            pn.pane.HTML(
                label("loading", initial_language), css_classes=["page-loading"]
            )
        ]
        navigation.disabled = language.disabled = True
        pn.state.onload(lambda: pn.state.execute(show_first_page, schedule=True))
        # A default argument binds the callback now, because Bokeh clears this
        # script's globals before the session-destroyed hooks run.
        pn.state.on_session_destroyed(
            lambda _context, periodic=callback: periodic.stop()
        )
    else:
        show_first_page()
    template.servable()


# -- session entry point ----------------------------------------------------------

if not auth_active():
    # Without the login every visitor would see recordings, so nothing else renders.
    logger.error(
        "dashboard served without the login: serve with scripts/serve "
        "(panel serve --auth-module pipeline/webauth.py)"
    )
    login_required_notice()
else:
    if current() is None:
        logger.warning(
            "recwatch services were not started by the server; starting them now for "
            "the first session. Serve with scripts/serve (panel serve --setup "
            "pipeline/server_setup.py) so that ingest runs before any browser opens"
        )
    session_service = start_service()
    session_user = current_user(session_service)
    if session_user is None:
        login_required_notice()
    else:
        build_dashboard(session_service, session_user)
