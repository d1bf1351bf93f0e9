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
from pipeline.views.heading import heading
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
        # Each chart is a stacked bar chart of a few hundred Bokeh models, which
        # took the browser seconds to lay out before the lists showed. So the
        # charts share tabs that render on demand. The first one is drawn after
        # the page is shown and shows a loading spinner until then.
        self._charts = self._new_charts()
        # Charts whose data changed since they were drawn. The visible one is
        # drawn again at once, and the others when their tab is opened.
        self._stale_charts = set(self._charts)
        # False until the page is shown, because only the overdue list is read
        # before that.
        self._secondary_shown = False
        self._chart_tabs = pn.Tabs(
            *self._chart_tab_items(),
            dynamic=True,
            sizing_mode="stretch_width",
            css_classes=["retention-charts"],
        )
        self._chart_tabs.param.watch(self._on_tab, "active")

        # refresh() below reads the overdue list, and _show_secondary() reads the
        # due list, which starts below the first screen, once the page is shown.
        self._due = RecordingTable(
            catalog,
            config,
            filters=queries.RecordingFilter(states=("due",)),
            order_by="start_time",
            descending=False,
            css_class="due-table",
            mask_personal=not personal,
            on_rows=log_rows,
            read=False,
            language=self.language,
        )
        self._due.loading = True
        self._overdue = RecordingTable(
            catalog,
            config,
            filters=queries.RecordingFilter(states=("overdue",)),
            order_by="start_time",
            descending=False,
            css_class="overdue-table",
            mask_personal=not personal,
            on_rows=log_rows,
            read=False,
            language=self.language,
        )

        self._titles = {key: heading() for key in ("overdue_list", "due_list")}

        self._layout = pn.Column(
            self._warning,
            self._chart_tabs,
            self._titles["overdue_list"],
            self._overdue,
            self._titles["due_list"],
            self._due,
            sizing_mode="stretch_width",
        )
        self.refresh()
        pn.state.onload(self._show_secondary)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @staticmethod
    def _new_charts() -> dict[str, pn.pane.HoloViews]:
        """Return one empty chart pane per tab, each showing a loading spinner."""
        return {
            key: pn.pane.HoloViews(
                None,
                sizing_mode="stretch_width",
                loading=True,
                css_classes=[f"chart-{key.replace('_', '-')}"],
                **({"height": 320} if key == "by_expiry_day" else {"min_height": 200}),
            )
            for key in ("by_expiry_day", "by_line", "by_department")
        }

    def _chart_tab_items(self) -> list[tuple[str, pn.pane.HoloViews]]:
        return [(label(key, self.language), pane) for key, pane in self._charts.items()]

    def refresh(self) -> None:
        """Read the warning, both lists and the visible chart from the catalog."""
        language = self.language
        config = self._service.config
        cursor = self._service.catalog.cursor()
        for key, pane in self._titles.items():
            pane.object = f"### {label(key, language)}"

        overdue = queries.state_counts(cursor, config)["overdue"]
        self._warning.object = label("overdue_warning", language, count=overdue)
        self._warning.visible = overdue > 0

        tables = (
            [self._overdue, self._due] if self._secondary_shown else [self._overdue]
        )
        for table in tables:
            if table.language == language:
                table.refresh()
            else:
                # A language change makes the table refresh itself.
                table.language = language
        self._stale_charts = set(self._charts)
        if self._secondary_shown:
            self._draw_active_chart()

    @param.depends("language", watch=True)
    def _on_language(self) -> None:
        # Tabs given back the panes they already hold kept their old titles and
        # dropped the drawn chart, so the charts start again in new panes.
        active = self._chart_tabs.active
        self._charts = self._new_charts()
        self._chart_tabs[:] = self._chart_tab_items()
        self._chart_tabs.active = active
        self.refresh()

    def _show_secondary(self) -> None:
        """Read the due list and draw the visible chart for the first time."""
        self._secondary_shown = True
        self._due.language = self.language
        self._due.refresh()
        self._due.loading = False
        self._draw_active_chart()

    def _on_tab(self, _event) -> None:
        if self._secondary_shown:
            self._draw_active_chart()

    def _draw_active_chart(self) -> None:
        key = list(self._charts)[self._chart_tabs.active]
        if key not in self._stale_charts:
            return
        cursor = self._service.catalog.cursor()
        pane = self._charts[key]
        if key == "by_expiry_day":
            pane.object = self._expiry(cursor, self.language)
        else:
            group = "line" if key == "by_line" else "department"
            pane.object = self._grouped(cursor, group, self.language)
        pane.loading = False
        self._stale_charts.discard(key)

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
