"""recwatch dashboard: retention, ingest health and the recordings catalog.

Serve with ``scripts/serve``, which runs ``panel serve dashboard.py --setup
pipeline/server_setup.py`` so the watcher starts with the server. Panel runs
this file once per browser session; the background services are shared by all
sessions and started once per process by ``start_service()``.

Query parameters: ``?page=overview|retention|recordings`` and ``?lang=ko|en``.
"""

import logging
from datetime import UTC, datetime

import panel as pn

from pipeline.service import current, start_service
from pipeline.views.formatting import format_time
from pipeline.views.health import health_html
from pipeline.views.i18n import LANGUAGES, label
from pipeline.views.overview import OverviewPage
from pipeline.views.recordings import RecordingsPage
from pipeline.views.retention import RetentionPage

logger = logging.getLogger(__name__)

pn.extension("tabulator", sizing_mode="stretch_width")

# -- background services ------------------------------------------------------

if current() is None:
    logger.warning(
        "recwatch services were not started by the server; starting them now for "
        "the first session. Serve with scripts/serve (panel serve --setup "
        "pipeline/server_setup.py) so that ingest runs before any browser opens"
    )
service = start_service()
config = service.config
catalog = service.catalog

# -- widgets ------------------------------------------------------------------

PAGE_KEYS = ("overview", "retention", "recordings")


def _query_value(name: str, allowed, default: str) -> str:
    """Return a query parameter of the session's URL if it is one of ``allowed``."""
    values = pn.state.session_args.get(name) if pn.state.session_args else None
    value = values[0].decode("utf-8", "replace") if values else default
    return value if value in allowed else default


initial_language = _query_value(
    "lang", LANGUAGES.values(), config["dashboard.language"]
)
language = pn.widgets.RadioButtonGroup(
    options=LANGUAGES,
    value=initial_language,
    button_type="primary",
    button_style="outline",
    css_classes=["language-switch"],
)
navigation = pn.widgets.RadioButtonGroup(
    options={label(f"page.{key}", initial_language): key for key in PAGE_KEYS},
    value=_query_value("page", PAGE_KEYS, "overview"),
    orientation="vertical",
    button_type="primary",
    button_style="outline",
    css_classes=["page-navigation"],
)
status = pn.pane.HTML("", css_classes=["sidebar-status"])
headings = {
    key: pn.pane.Markdown("", margin=(5, 10, 0, 10))
    for key in ("language", "pages", "ingest")
}

pages = {
    "overview": OverviewPage(service, language=initial_language),
    "retention": RetentionPage(service, language=initial_language),
    "recordings": RecordingsPage(service, language=initial_language),
}

# -- functions ----------------------------------------------------------------

# Pages not on screen are refreshed when they are shown again, not on every tick.
stale_pages: set[str] = set()
last_refresh = {
    "version": catalog.version,
    "minute": -1,
    "updated_at": datetime.now(UTC),
}


def show_page(key: str):
    """Return the page for ``key``, first reading it again if data changed."""
    if key in stale_pages:
        stale_pages.discard(key)
        pages[key].refresh()
    return pages[key]


def render_status() -> None:
    """Show the last update time and the ingest counters in the sidebar."""
    lang = language.value
    ingestor = service.ingestor
    updated = format_time(last_refresh["updated_at"], config.tz)
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


def refresh() -> None:
    """Re-read the visible page when the catalog changed or a minute passed.

    Retention states depend on the clock as well as on the catalog, so a page
    is read again at least once a minute even with no new writes.
    """
    version = catalog.version
    minute = int(datetime.now(UTC).timestamp() // 60)
    if version != last_refresh["version"] or minute != last_refresh["minute"]:
        last_refresh.update(
            version=version, minute=minute, updated_at=datetime.now(UTC)
        )
        visible = navigation.value
        pages[visible].refresh()
        stale_pages.update(key for key in PAGE_KEYS if key != visible)
    pages["overview"].update_health()
    render_status()


def relabel(lang: str) -> None:
    """Switch every label of the session to ``lang``."""
    template.title = label("title", lang)
    navigation.options = {label(f"page.{key}", lang): key for key in PAGE_KEYS}
    for key, pane in headings.items():
        pane.object = f"#### {label(key, lang)}"
    for page in pages.values():
        page.language = lang
    render_status()


# -- layout ---------------------------------------------------------------------

# BootstrapTemplate serves all its assets from Panel's bundle. The Fast
# templates link Open Sans from Google Fonts, but nothing may load from the
# internet.
template = pn.template.BootstrapTemplate(
    title=label("title", initial_language),
    sidebar=[
        headings["language"],
        language,
        headings["pages"],
        navigation,
        headings["ingest"],
        status,
    ],
    main=[pn.panel(pn.bind(show_page, navigation), sizing_mode="stretch_width")],
    sidebar_width=300,
    header_background="#1f4e79",
)
language.param.watch(lambda event: relabel(event.new), "value")
relabel(initial_language)

if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
    pn.state.location.sync(navigation, {"value": "page"})
    pn.state.location.sync(language, {"value": "lang"})
    # One callback per session, stopped when the session is destroyed.
    callback = pn.state.add_periodic_callback(
        refresh, period=config["dashboard.refresh_ms"]
    )
    # A default argument binds the callback now, because Bokeh clears this
    # script's globals before the session-destroyed hooks run.
    pn.state.on_session_destroyed(lambda _context, periodic=callback: periodic.stop())

template.servable()
