"""A recordings table paged in DuckDB, shared by the retention and recordings pages.

Panel's ``Tabulator(pagination="remote")`` pages a DataFrame that is already in
server memory, which for a large catalog means loading every matching row into
pandas. This table instead reads one page (``LIMIT``/``OFFSET``) and the total
count from DuckDB, shows that page in a Tabulator and draws its own
previous/next controls. DuckDB also sorts, and header sorting is off, so the
browser never sorts or filters a partial page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd
import panel as pn
import param

from pipeline import queries
from pipeline.catalog import Catalog
from pipeline.config import Config
from pipeline.views import data
from pipeline.views.formatting import (
    HIDDEN_COLUMNS,
    column_titles,
    recording_rows,
)
from pipeline.views.i18n import STATE_COLORS, label

logger = logging.getLogger(__name__)

TABLE_CSS = """
.tabulator .tabulator-cell, .tabulator .tabulator-col-title { font-size: 13px; }
.tabulator .tabulator-cell { padding: 4px 6px; }
"""

# Tabulator's fit_data layouts measure every cell of a column without a set
# width, and Panel redraws a table after each resize while the page settles,
# which took about 0.5 s per 50-row table in headless Chromium
# (benchmarks/dashboard_scale.py). Set widths need no measuring, and a fixed
# height lets Tabulator's virtual renderer draw only the rows in view, which
# about halved that time.
LIST_HEIGHT_PX = 560
# Height of a list with no rows: the header alone, so that the pager's "no
# recordings" text sits right under it instead of a blank 560 px area.
EMPTY_LIST_HEIGHT_PX = 60


def list_layout(height: int = LIST_HEIGHT_PX, *, tooltips: bool = True) -> dict:
    """Return the Tabulator options of a list table that renders fast.

    Columns share the table's width unless the table gets ``widths``. The
    ``tooltips`` option can only be given to the constructor, so leave it out
    when the options update an existing table.
    """
    options: dict = {"layout": "fit_columns", "height": height}
    if tooltips:
        # A cut-off cell shows its whole text on hover.
        options["configuration"] = {"columnDefaults": {"tooltip": True}}
    return options


# Column widths in pixels that fit a bold local time, a Korean header and a
# FreePBX file name at 13 px. A table wider than the page scrolls sideways.
RECORDING_WIDTHS = {
    "start_time": 140,
    "line": 60,
    "department": 130,
    "direction": 85,
    "other_party": 120,
    "duration": 80,
    "codec": 80,
    "silence": 80,
    "state": 85,
    "expires": 140,
    "flags": 140,
    "error": 140,
    "file_name": 330,
}


def _row_style(row: pd.Series) -> list[str]:
    # An overdue row breaks the retention rule, so the whole row is red. Other
    # states colour only their state cell.
    state = row.get("state_code")
    color = STATE_COLORS.get(state, "")
    styles = []
    for column in row.index:
        if state == "overdue":
            styles.append("color: #c62828; font-weight: 600")
        elif column == "state" and color:
            styles.append(f"color: {color}; font-weight: 600")
        else:
            styles.append("")
    return styles


class RecordingTable(pn.viewable.Viewer):
    """One page of recordings that match a filter, with previous/next controls."""

    language = param.Selector(default="ko", objects=["ko", "en"])
    page = param.Integer(default=1, bounds=(1, None))

    def __init__(
        self,
        catalog: Catalog,
        config: Config,
        *,
        filters: queries.RecordingFilter | None = None,
        order_by: str = "start_time",
        descending: bool = True,
        css_class: str = "recordings-table",
        mask_personal: bool = True,
        on_rows: Callable[[int], object] | None = None,
        read: bool = True,
        **params,
    ):
        """``mask_personal`` masks phone numbers, and ``on_rows(count)`` runs after
        each read that shows rows, for the view_personal access-log entry. With
        ``read=False`` the table stays empty until :meth:`refresh` or
        :meth:`set_query`, so a page that reads its data itself reads it once."""
        super().__init__(**params)
        self._mask_personal = mask_personal
        self._on_rows = on_rows
        self._catalog = catalog
        self._config = config
        self._page_size = int(config["dashboard.page_size"])
        self._filters = filters or queries.RecordingFilter()
        self._order_by = order_by
        self._descending = descending
        self._total = 0

        self._table = pn.widgets.Tabulator(
            value=pd.DataFrame(),
            show_index=False,
            disabled=True,
            sortable=False,
            selectable=False,
            pagination=None,
            hidden_columns=list(HIDDEN_COLUMNS),
            widths=dict(RECORDING_WIDTHS),
            sizing_mode="stretch_width",
            css_classes=[css_class],
            stylesheets=[TABLE_CSS],
            **{**list_layout(), "layout": "fit_data_stretch"},
        )
        self._table.style.apply(_row_style, axis=1)

        self._previous = pn.widgets.Button(
            name="◀", width=70, css_classes=["pager-prev"]
        )
        self._next = pn.widgets.Button(name="▶", width=70, css_classes=["pager-next"])
        self._status = pn.pane.HTML(
            "", css_classes=["pager-status"], margin=(12, 10), sizing_mode=None
        )
        self._previous.on_click(lambda _event: self._turn(-1))
        self._next.on_click(lambda _event: self._turn(+1))

        self._layout = pn.Column(
            self._table,
            pn.Row(self._previous, self._status, self._next, sizing_mode=None),
            sizing_mode="stretch_width",
        )
        if read:
            self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @property
    def loading(self) -> bool:
        """Whether the table shows a loading spinner over its rows."""
        return self._table.loading

    @loading.setter
    def loading(self, value: bool) -> None:
        self._table.loading = value

    @property
    def total(self) -> int:
        """Number of recordings that match the current filter."""
        return self._total

    @property
    def page_count(self) -> int:
        """Number of pages for the current filter (at least 1)."""
        return max(1, -(-self._total // self._page_size))

    def set_query(
        self,
        filters: queries.RecordingFilter,
        *,
        order_by: str | None = None,
        descending: bool | None = None,
    ) -> None:
        """Show the first page of recordings that match ``filters``."""
        self._filters = filters
        if order_by is not None:
            self._order_by = order_by
        if descending is not None:
            self._descending = descending
        self.page = 1
        self.refresh()

    def _turn(self, step: int) -> None:
        self.page = min(max(1, self.page + step), self.page_count)
        self.refresh()

    @param.depends("language", watch=True)
    def refresh(self) -> None:
        """Read the current page from the catalog and show it."""
        cursor = self._catalog.cursor()
        self._total = queries.count_recordings(
            cursor, self._config, filters=self._filters
        )
        # The page may have shrunk since the last read, e.g. after a purge.
        if self.page > self.page_count:
            self.page = self.page_count
        frame = queries.list_recordings(
            cursor,
            self._config,
            filters=self._filters,
            limit=self._page_size,
            offset=(self.page - 1) * self._page_size,
            order_by=self._order_by,
            descending=self._descending,
        )
        rows = recording_rows(
            frame,
            language=self.language,
            tz=self._config.tz,
            departments=data.line_departments(cursor),
            mask_personal=self._mask_personal,
        )
        self._table.titles = column_titles(self.language)
        self._table.value = rows
        self._update_pager(row_count=len(rows))
        if self._on_rows is not None and len(rows):
            self._on_rows(len(rows))

    def _update_pager(self, *, row_count: int) -> None:
        if self._total == 0:
            text = label("no_rows", self.language)
        else:
            first = (self.page - 1) * self._page_size + 1
            text = label(
                "rows_of",
                self.language,
                first=first,
                last=first + row_count - 1,
                total=self._total,
            )
            text += " · " + label(
                "page_of", self.language, page=self.page, pages=self.page_count
            )
        self._status.object = text
        height = EMPTY_LIST_HEIGHT_PX if self._total == 0 else LIST_HEIGHT_PX
        if self._table.height != height:
            self._table.height = height
        self._previous.disabled = self.page <= 1
        self._next.disabled = self.page >= self.page_count
