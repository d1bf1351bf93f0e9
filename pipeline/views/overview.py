"""The overview page (현황): retention state cards, storage, calls per day, ingest."""

from __future__ import annotations

import logging
from pathlib import PurePath

import hvplot.pandas  # noqa: F401 - registers DataFrame.hvplot
import pandas as pd
import panel as pn
import param

from pipeline import queries
from pipeline.auth import User
from pipeline.service import Service
from pipeline.views import data
from pipeline.views.formatting import format_bytes, format_times, mask_phone_numbers
from pipeline.views.heading import heading
from pipeline.views.health import health_html
from pipeline.views.i18n import (
    STATE_COLORS,
    code_label,
    code_labels,
    label,
    state_label,
)
from pipeline.views.purge_panel import PurgeStatus
from pipeline.views.table import TABLE_CSS

logger = logging.getLogger(__name__)

CHART_DAYS = 40
RECENT_ERRORS = 10
# Pixel widths of the recent-errors columns. The message column takes the rest.
ERROR_WIDTHS = {"occurred_at": 130, "file_name": 320, "stage": 80, "kind": 150}


def card_html(title: str, value: str, color: str, note: str = "") -> str:
    """Return one coloured count card (``title`` and ``note`` must be trusted text)."""
    note_html = f'<div style="font-size:12px;opacity:.85">{note}</div>' if note else ""
    return (
        f'<div class="count-card" style="border-left:6px solid {color};'
        'padding:8px 14px;background:#fafafa;border-radius:6px;flex:1 1 120px">'
        f'<div style="font-size:13px;color:#444">{title}</div>'
        f'<div class="count-value" style="font-size:26px;font-weight:700;'
        f'white-space:nowrap;color:{color}">{value}</div>{note_html}</div>'
    )


class OverviewPage(pn.viewable.Viewer):
    """Counts per retention state, storage used, calls per day and ingest health."""

    language = param.Selector(default="ko", objects=["ko", "en"])

    def __init__(self, service: Service, *, user: User | None = None, **params):
        super().__init__(**params)
        self._service = service
        self._user = user
        self._cards = pn.pane.HTML("", sizing_mode="stretch_width")
        self._chart = pn.pane.HoloViews(None, sizing_mode="stretch_width", height=320)
        self._health = pn.pane.HTML("", css_classes=["overview-health"])
        self._errors = pn.widgets.Tabulator(
            value=pd.DataFrame(),
            show_index=False,
            disabled=True,
            sortable=False,
            selectable=False,
            sizing_mode="stretch_width",
            layout="fit_columns",
            widths=ERROR_WIDTHS,
            # A cut-off message shows its whole text on hover.
            configuration={"columnDefaults": {"tooltip": True}},
            css_classes=["ingest-errors-table"],
            stylesheets=[TABLE_CSS],
        )

        self._no_errors = pn.pane.HTML("")
        self._titles = {
            key: heading() for key in ("calls_per_day", "ingest", "recent_errors")
        }

        self._purge = PurgeStatus(service, language=self.language)
        self._layout = pn.Column(
            self._cards,
            self._purge,
            self._titles["calls_per_day"],
            self._chart,
            self._titles["ingest"],
            self._health,
            # Below the counters rather than beside them, so that the error
            # messages get the page's width.
            self._titles["recent_errors"],
            self._no_errors,
            self._errors,
            sizing_mode="stretch_width",
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @param.depends("language", watch=True)
    def refresh(self) -> None:
        """Read every figure on the page from the catalog again."""
        config = self._service.config
        cursor = self._service.catalog.cursor()
        language = self.language
        for key, pane in self._titles.items():
            pane.object = f"### {label(key, language)}"

        counts = queries.state_counts(cursor, config)
        stored_bytes, stored_files = data.storage_used(cursor)
        cards = [
            card_html(
                label("recordings_total", language),
                f"{sum(counts.values()):,}",
                "#1f4e79",
                label("retention_days", language, days=config["retention.days"]),
            )
        ]
        for state in ("overdue", "due", "active", "missing", "deleted"):
            cards.append(
                card_html(
                    state_label(state, language),
                    f"{counts[state]:,}",
                    STATE_COLORS[state],
                )
            )
        cards.append(
            card_html(
                label("storage_used", language),
                format_bytes(stored_bytes),
                "#455a64",
                f"{stored_files:,} {label('files_on_disk', language)}",
            )
        )
        self._cards.object = (
            '<div class="overview-cards" style="display:flex;gap:12px;'
            f'flex-wrap:wrap">{"".join(cards)}</div>'
        )

        self._chart.object = self._calls_chart(cursor, language)
        self._update_errors(cursor, language)
        self._purge.language = language
        self._purge.refresh()
        self.update_health()

    def _calls_chart(self, cursor, language: str):
        frame = data.calls_per_day(cursor, self._service.config, days=CHART_DAYS)
        # Bars on a categorical axis need text labels; MM-DD keeps them short.
        frame["day"] = pd.to_datetime(frame["day"]).dt.strftime("%m-%d")
        return frame.hvplot.bar(
            x="day",
            y="calls",
            xlabel=label("day", language),
            ylabel=label("calls", language),
            color="#1f77b4",
            rot=90,
            responsive=True,
            height=300,
        ).opts(toolbar=None, default_tools=["hover"])

    def _update_errors(self, cursor, language: str) -> None:
        frame = data.recent_ingest_errors(cursor, limit=RECENT_ERRORS)
        self._no_errors.object = label("no_errors", language) if frame.empty else ""
        self._errors.visible = not frame.empty
        names = [
            PurePath(path).name if isinstance(path, str) else ""
            for path in frame["path"]
        ]
        messages = [str(message) for message in frame["message"]]
        # Paths and messages contain the other party's number. The overview is a
        # health summary open to every role, so the numbers are masked for all
        # roles and the page is no view of personal data.
        names = [mask_phone_numbers(name) for name in names]
        messages = [mask_phone_numbers(message) for message in messages]
        rows = pd.DataFrame(
            {
                "occurred_at": format_times(
                    frame["occurred_at"], self._service.config.tz
                ),
                "file_name": pd.Series(names, index=frame.index, dtype=object),
                "stage": [
                    code_label("stage", stage, language) for stage in frame["stage"]
                ],
                "kind": [
                    code_labels("flag", flags, language) for flags in frame["flags"]
                ],
                "message": pd.Series(messages, index=frame.index, dtype=object),
            },
            index=frame.index,
        )
        self._errors.titles = {
            "occurred_at": label("occurred_at", language),
            "file_name": label("col.file_name", language),
            "stage": label("stage", language),
            "kind": label("error_kind", language),
            "message": label("message", language),
        }
        self._errors.value = rows

    def update_health(self) -> None:
        """Show the ingest counters again; they change without catalog writes."""
        ingestor = self._service.ingestor
        self._health.object = health_html(
            ingestor.health_dict(),
            ingestor.watcher_alive(),
            self.language,
            self._service.config.tz,
        )
