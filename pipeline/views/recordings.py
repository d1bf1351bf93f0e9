"""The recordings page (녹취파일 목록): filters over a table paged in DuckDB."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

import panel as pn
import param

from pipeline import queries, retention
from pipeline.auth import User, can_see_personal
from pipeline.service import Service
from pipeline.views import data
from pipeline.views.heading import heading
from pipeline.views.i18n import code_label, label, state_label
from pipeline.views.session import PersonalViewLog, record_access
from pipeline.views.table import RecordingTable

logger = logging.getLogger(__name__)

# Sort choice (its label key) -> (column to sort by, descending)
SORT_CHOICES = {
    "newest_first": ("start_time", True),
    "oldest_first": ("start_time", False),
    "longest_first": ("duration_s", True),
    "most_silent_first": ("silence_ratio", True),
}


class RecordingsPage(pn.viewable.Viewer):
    """Every recording, filtered by date, line, state, flags and file name."""

    language = param.Selector(default="ko", objects=["ko", "en"])

    def __init__(self, service: Service, *, user: User | None = None, **params):
        super().__init__(**params)
        self._service = service
        self._user = user
        self._flag_codes: list[str] = []
        personal = user is not None and can_see_personal(user)
        self._personal_log = PersonalViewLog(service, user) if personal else None
        self.dates = pn.widgets.DateRangePicker(
            value=None, width=260, css_classes=["filter-dates"]
        )
        self.line = pn.widgets.Select(
            options={}, width=160, css_classes=["filter-line"]
        )
        self.states = pn.widgets.MultiChoice(
            options={}, width=280, css_classes=["filter-states"]
        )
        self.flags = pn.widgets.MultiChoice(
            options=[], width=260, css_classes=["filter-flags"]
        )
        self.text = pn.widgets.TextInput(width=220, css_classes=["filter-text"])
        self.sort = pn.widgets.Select(options={}, width=180, css_classes=["sort-by"])

        self.table = RecordingTable(
            service.catalog,
            service.config,
            css_class="recordings-table",
            mask_personal=not personal,
            on_rows=self._log_rows,
            # _apply_filters() below reads the first page, once.
            read=False,
            language=self.language,
        )
        self._filters_title = heading()

        self._update_options()
        self._relabel()
        for widget in (self.dates, self.line, self.states, self.flags, self.sort):
            widget.param.watch(self._apply_filters, "value")
        # value_input follows each key stroke, so the list narrows while typing.
        self.text.param.watch(self._apply_filters, "value_input")
        # The search is logged once it is submitted (Enter or leaving the box), not
        # for every key stroke.
        self.text.param.watch(self._log_search, "value")

        self._layout = pn.Column(
            self._filters_title,
            pn.FlexBox(
                self.dates,
                self.line,
                self.states,
                self.flags,
                self.text,
                self.sort,
                sizing_mode="stretch_width",
            ),
            self.table,
            sizing_mode="stretch_width",
        )
        self._apply_filters()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def current_filter(self) -> queries.RecordingFilter:
        """Build the catalog filter from the widgets' values."""
        start_from = start_to = None
        if self.dates.value:
            first, last = self.dates.value
            tz = self._service.config.tz
            # The picker gives local calendar days; the range ends after `last`.
            start_from = datetime.combine(first, time.min, tz)
            start_to = datetime.combine(last + timedelta(days=1), time.min, tz)
        return queries.RecordingFilter(
            start_from=start_from,
            start_to=start_to,
            line=self.line.value or None,
            states=tuple(self.states.value),
            flags=tuple(self.flags.value),
            text=(self.text.value_input or "").strip() or None,
        )

    def _apply_filters(self, *_events) -> None:
        order_by, descending = SORT_CHOICES[self.sort.value or "newest_first"]
        self.table.set_query(
            self.current_filter(), order_by=order_by, descending=descending
        )

    def _log_rows(self, count: int) -> None:
        if self._personal_log is not None:
            self._personal_log.record("recordings", count)

    def _log_search(self, event) -> None:
        """Write a search_personal entry for a file-name search that was submitted."""
        if self._user is None or not (event.new or "").strip():
            return
        # The search text may contain a phone number, so only the field is logged.
        record_access(
            self._service,
            self._user,
            "search_personal",
            object_type="page",
            object_ids=("recordings",),
            detail={"page": "recordings", "field": "file_name"},
        )

    def _update_options(self) -> None:
        cursor = self._service.catalog.cursor()
        language = self.language
        lines = data.line_numbers(cursor)
        self.line.options = {
            label("all", language): "",
            **{line: line for line in lines},
        }
        self._flag_codes = data.flag_names(cursor)
        self._label_flags()

    def _label_flags(self) -> None:
        # Keep chosen flags even when no recording carries them any more.
        codes = sorted(set(self._flag_codes) | set(self.flags.value))
        self.flags.options = {
            code_label("flag", code, self.language): code for code in codes
        }
        if self.flags.value:
            # The browser shows chosen flags by their names, and keeps the old
            # names until the value is sent again.
            self.flags.param.trigger("value")

    @param.depends("language", watch=True)
    def _relabel(self) -> None:
        language = self.language
        self._filters_title.object = f"### {label('filters', language)}"
        self.dates.name = label("date_range", language)
        self.line.name = label("col.line", language)
        self.line.options = {
            label("all", language): "",
            **{key: value for key, value in self.line.options.items() if value},
        }
        self.states.name = label("col.state", language)
        self.states.options = {
            state_label(state, language): state for state in retention.STATES
        }
        self.flags.name = label("flags", language)
        self._label_flags()
        self.text.name = label("search_file", language)
        self.text.placeholder = "in-2101-…"
        self.sort.name = label("sort_by", language)
        self.sort.options = {label(key, language): key for key in SORT_CHOICES}
        if self.sort.value is None:
            self.sort.value = "newest_first"
        self.table.language = language

    def refresh(self) -> None:
        """Read filter choices and the current page from the catalog again."""
        self._update_options()
        self.table.refresh()
