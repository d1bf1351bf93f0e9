"""Ingest health as HTML: watcher state, last event, queue and counters.

The values come from the ingest thread's in-memory counters, not from the
catalog, so they are cheap to read on every refresh tick.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pipeline.views.formatting import escape, format_time
from pipeline.views.i18n import STATE_COLORS, label


def _value(health: dict, key: str, language: str, tz: ZoneInfo) -> str:
    value = health.get(key)
    if key == "last_event_at":
        return format_time(value, tz) if value else label("never", language)
    return str(value if value is not None else 0)


def health_html(
    health: dict,
    watcher_alive: bool,
    language: str,
    tz: ZoneInfo,
    *,
    compact: bool = False,
) -> str:
    """Return an HTML block with the ingest counters in ``health``.

    ``health`` is ``Ingestor.health_dict()``. ``compact`` keeps only the watcher
    state, the last event and the queue length, for the sidebar. Folder paths are
    escaped because a recorder root can be any path.
    """
    alive_key = "watcher.alive" if watcher_alive else "watcher.stopped"
    alive_color = STATE_COLORS["active"] if watcher_alive else STATE_COLORS["overdue"]
    rows = [
        (
            label("watcher", language),
            f'<span class="watcher-state" style="color:{alive_color};'
            f'font-weight:600">● {label(alive_key, language)}</span>',
        ),
        (label("last_event", language), _value(health, "last_event_at", language, tz)),
        (label("queue", language), _value(health, "pending", language, tz)),
        (label("in_flight", language), _value(health, "in_flight", language, tz)),
        (label("files_stored", language), _value(health, "files_stored", language, tz)),
        (label("errors", language), _value(health, "errors", language, tz)),
        (label("events_lost", language), _value(health, "events_lost", language, tz)),
    ]
    if compact:
        rows = rows[:3]
    unavailable = health.get("unavailable_roots") or []
    if unavailable and not compact:
        rows.append(
            (
                label("unavailable_roots", language),
                "<br>".join(escape(root) for root in unavailable),
            )
        )
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:12px;font-weight:500'>"
        f"{name}</th><td>{value}</td></tr>"
        for name, value in rows
    )
    return f'<table class="ingest-health">{body}</table>'
