"""The retention page (보존 현황): expiry by day, by line and department, due lists."""

from __future__ import annotations

import logging

import hvplot.pandas  # noqa: F401 - registers DataFrame.hvplot
import pandas as pd
import panel as pn
import param

from pipeline import queries
from pipeline.auth import User, can_see_personal
from pipeline.service import Service
from pipeline.views import data
from pipeline.views.i18n import LABELS, STATE_COLORS, label, state_label
from pipeline.views.session import PersonalViewLog
from pipeline.views.table import RecordingTable

logger = logging.getLogger(__name__)

# Bars per line or department chart. A large city has thousands of lines, and a
# chart with a bar per line took seconds to draw, so the smaller groups share
# one "other" bar.
CHART_GROUPS_MAX = 20

LABELS.update(
    {"chart_other": {"ko": "기타 {count}개", "en": "{count} others"}},
)


def _state_colors(language: str) -> dict[str, str]:
    return {state_label(state, language): STATE_COLORS[state] for state in STATE_COLORS}


def _largest_groups(frame: pd.DataFrame, group: str, language: str) -> pd.DataFrame:
    """Merge all but the largest groups of ``frame`` into one "other" group."""
    totals = frame.groupby(group, sort=False)["recordings"].sum()
    if len(totals) <= CHART_GROUPS_MAX:
        return frame
    largest = totals.nlargest(CHART_GROUPS_MAX - 1).index
    other = label("chart_other", language, count=len(totals) - len(largest))
    merged = frame.copy()
    merged[group] = merged[group].where(merged[group].isin(largest), other)
    merged = merged.groupby([group, "state"], as_index=False, sort=False)[
        "recordings"
    ].sum()
    # Largest groups first, the merged group last.
    order = {name: rank for rank, name in enumerate(largest)}
    merged["rank"] = merged[group].map(order).fillna(len(largest))
    return merged.sort_values(["rank", "state"]).drop(columns="rank")


def _label_states(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    frame = frame.copy()
    frame["state"] = [state_label(state, language) for state in frame["state"]]
    return frame


class RetentionPage(pn.viewable.Viewer):
    """Page of recordings against the retention period, with due and overdue lists."""

    language = param.Selector(default="ko", objects=["ko", "en"])

    def __init__(self, service: Service, *, user: User | None = None, **params):
        super().__init__(**params)
        self._service = service
        self._user = user
        catalog, config = service.catalog, service.config
        personal = user is not None and can_see_personal(user)
        personal_log = PersonalViewLog(service, user) if personal else None

        def log_rows(count: int) -> None:
            if personal_log is not None:
                personal_log.record("retention", count)

        self._warning = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["overdue-warning"]
        )
        self._expiry_chart = pn.pane.HoloViews(
            None, sizing_mode="stretch_width", height=320
        )
        self._line_chart = pn.pane.HoloViews(None, sizing_mode="stretch_width")
        self._department_chart = pn.pane.HoloViews(None, sizing_mode="stretch_width")

        self._due = RecordingTable(
            catalog,
            config,
            filters=queries.RecordingFilter(states=("due",)),
            order_by="start_time",
            descending=False,
            css_class="due-table",
            mask_personal=not personal,
            on_rows=log_rows,
            language=self.language,
        )
        self._overdue = RecordingTable(
            catalog,
            config,
            filters=queries.RecordingFilter(states=("overdue",)),
            order_by="start_time",
            descending=False,
            css_class="overdue-table",
            mask_personal=not personal,
            on_rows=log_rows,
            language=self.language,
        )

        self._titles = {
            key: pn.pane.Markdown("", margin=(10, 10, 0, 10))
            for key in (
                "by_expiry_day",
                "by_line",
                "by_department",
                "overdue_list",
                "due_list",
            )
        }

        self._layout = pn.Column(
            self._warning,
            self._titles["by_expiry_day"],
            self._expiry_chart,
            pn.Row(
                pn.Column(
                    self._titles["by_line"],
                    self._line_chart,
                    sizing_mode="stretch_width",
                ),
                pn.Column(
                    self._titles["by_department"],
                    self._department_chart,
                    sizing_mode="stretch_width",
                ),
                sizing_mode="stretch_width",
            ),
            self._titles["overdue_list"],
            self._overdue,
            self._titles["due_list"],
            self._due,
            sizing_mode="stretch_width",
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @param.depends("language", watch=True)
    def refresh(self) -> None:
        """Read the charts and both lists from the catalog again."""
        language = self.language
        config = self._service.config
        cursor = self._service.catalog.cursor()
        for key, pane in self._titles.items():
            pane.object = f"### {label(key, language)}"

        overdue = queries.state_counts(cursor, config)["overdue"]
        self._warning.object = label("overdue_warning", language, count=overdue)
        self._warning.visible = overdue > 0

        self._expiry_chart.object = self._expiry(cursor, language)
        self._line_chart.object = self._grouped(cursor, "line", language)
        self._department_chart.object = self._grouped(cursor, "department", language)
        for table in (self._overdue, self._due):
            if table.language == language:
                table.refresh()
            else:
                # A language change makes the table refresh itself.
                table.language = language

    def _expiry(self, cursor, language: str):
        frame = _label_states(
            data.expiry_by_day(cursor, self._service.config), language
        )
        frame["day"] = pd.to_datetime(frame["day"]).dt.strftime("%m-%d")
        return frame.hvplot.bar(
            x="day",
            y="recordings",
            by="state",
            stacked=True,
            cmap=_state_colors(language),
            xlabel=label("expiry_day", language),
            ylabel=label("recordings_count", language),
            legend="right",
            rot=90,
            responsive=True,
            height=300,
        ).opts(toolbar=None)

    def _grouped(self, cursor, group: str, language: str):
        frame = _label_states(
            data.counts_by(cursor, self._service.config, group), language
        )
        frame[group] = frame[group].replace("", label("unassigned", language))
        frame = _largest_groups(frame, group, language)
        groups = frame[group].nunique()
        return frame.hvplot.barh(
            x=group,
            y="recordings",
            by="state",
            stacked=True,
            cmap=_state_colors(language),
            xlabel=label(f"col.{group}", language),
            ylabel=label("recordings_count", language),
            legend="top",
            responsive=True,
            height=max(200, 28 * groups + 80),
        ).opts(toolbar=None)
