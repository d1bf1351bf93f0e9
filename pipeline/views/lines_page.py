"""The lines registry page (회선 대장): lines, CSV import and unapproved full calls.

Full recording of a line needs a current approval. The page lists the registry,
imports a CSV file in the format of ``recwatch lines import``, and flags in red
every full-mode recording whose line had no approval on the day of the call.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd
import panel as pn
import param

from pipeline import lines
from pipeline.errors import RecwatchError
from pipeline.views.formatting import format_times
from pipeline.views.heading import heading
from pipeline.views.i18n import LABELS
from pipeline.views.table import list_layout
from pipeline.views.workflow_base import WorkflowPage, plain_table

logger = logging.getLogger(__name__)

UNAPPROVED_COLOR = "#c62828"
# Changing the registry changes which calls count as approved, so it is a
# setting of the deployment, as for the other settings an administrator owns.
IMPORT_ACTION = "change_settings"

LINE_COLUMNS = {
    "number": "wf.line_number",
    "department": "wf.department",
    "mode": "wf.mode",
    "approval_doc": "wf.approval_doc",
    "approved_by": "wf.approved_by",
    "valid_from": "wf.valid_from",
    "valid_to": "wf.valid_to",
}
UNAPPROVED_COLUMNS = {
    "id": "wf.recording_id",
    "start_time": "wf.recorded_at",
    "line": "wf.line_number",
    "department": "wf.department",
    "problem": "wf.problem",
}
# pandas' Styler computes the red row style cell by cell, which took several
# seconds for 20,000 rows, so the list shows only the newest calls and the
# warning gives the full count.
UNAPPROVED_ROWS_SHOWN = 500
# Rows per page of both tables, paged on the server so the browser receives one
# page of a registry that can hold thousands of lines.
ROWS_PER_PAGE = 50

LABELS.update(
    {
        "wf.unapproved_shown": {
            "ko": " 최근 {shown}건만 아래에 표시합니다.",
            "en": " The newest {shown} are listed below.",
        }
    }
)


def _red(row: pd.Series) -> list[str]:
    # Each listed call was recorded in full without a current approval.
    return [f"color: {UNAPPROVED_COLOR}"] * len(row)


class LinesPage(WorkflowPage):
    """The lines registry with CSV import and the unapproved full recordings."""

    def __init__(self, service, user=None, **params):
        super().__init__(service, user, **params)
        self._titles = {key: heading() for key in ("wf.lines", "wf.unapproved")}
        self._empty = pn.pane.HTML("")
        self.table = plain_table("lines-table")
        self.table.param.update(
            pagination="remote", page_size=ROWS_PER_PAGE, **list_layout(tooltips=False)
        )
        self.upload = pn.widgets.FileInput(accept=".csv", css_classes=["lines-csv"])
        self.import_button = pn.widgets.Button(
            color="primary", css_classes=["import-lines"]
        )
        self.import_button.on_click(lambda _event: self.import_csv())
        self._import_row = pn.Row(self.upload, self.import_button)
        self._warning = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["unapproved-warning"]
        )
        self._none_unapproved = pn.pane.HTML("")
        self.unapproved = plain_table("unapproved-table")
        self.unapproved.param.update(
            pagination="remote", page_size=ROWS_PER_PAGE, **list_layout(tooltips=False)
        )
        self.unapproved.style.apply(_red, axis=1)
        self._layout = pn.Column(
            self.alert,
            self._titles["wf.lines"],
            self._import_row,
            self._empty,
            self.table,
            self._titles["wf.unapproved"],
            self._warning,
            self._none_unapproved,
            self.unapproved,
            sizing_mode="stretch_width",
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @param.depends("language", watch=True)
    def refresh(self) -> None:
        """Read the registry and the unapproved full recordings again."""
        text = self.text
        self._titles["wf.lines"].object = f"### {text('wf.lines')}"
        self._titles["wf.unapproved"].object = f"#### {text('wf.unapproved')}"
        self.import_button.label = text("wf.import_lines")
        self._import_row.visible = self.allowed(IMPORT_ACTION)
        frames = self.attempt(self._read)
        if frames is None:
            self.table.value = pd.DataFrame()
            self.unapproved.value = pd.DataFrame()
            return
        registry, unapproved = frames
        self._empty.object = "" if len(registry) else text("wf.no_lines")
        self.table.visible = bool(len(registry))
        self.table.titles = {column: text(key) for column, key in LINE_COLUMNS.items()}
        self.table.value = self.line_rows(registry)
        count = len(unapproved)
        self._warning.visible = bool(count)
        self._warning.object = text("wf.unapproved_warning", count=count)
        if count > UNAPPROVED_ROWS_SHOWN:
            self._warning.object += text(
                "wf.unapproved_shown", shown=UNAPPROVED_ROWS_SHOWN
            )
        self._none_unapproved.object = "" if count else text("wf.no_unapproved")
        self.unapproved.visible = bool(count)
        self.unapproved.titles = {
            column: text(key) for column, key in UNAPPROVED_COLUMNS.items()
        }
        self.unapproved.value = self.unapproved_rows(
            unapproved.tail(UNAPPROVED_ROWS_SHOWN)
        )

    def _read(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        self.acting_user("view_recordings")
        cursor = self.catalog.cursor()
        return (
            lines.list_lines(cursor),
            lines.unapproved_full_recordings(cursor, self.config),
        )

    def line_rows(self, registry: pd.DataFrame) -> pd.DataFrame:
        """Return the registry as display text."""
        rows = registry.astype(object).where(registry.notna(), "")
        rows["mode"] = [self.text(f"wf.mode.{mode}") for mode in registry["mode"]]
        for column in ("valid_from", "valid_to"):
            days = pd.to_datetime(registry[column]).dt.strftime("%Y-%m-%d")
            rows[column] = days.fillna("").astype(object)
        return rows[list(LINE_COLUMNS)].reset_index(drop=True)

    def unapproved_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the unapproved full recordings as display text."""
        return pd.DataFrame(
            {
                "id": frame["id"].astype("int64"),
                "start_time": format_times(frame["start_time"], self.config.tz),
                "line": frame["line"].fillna("").astype(object),
                "department": frame["department"].fillna("").astype(object),
                "problem": [
                    self.text(f"wf.problem.{problem}") for problem in frame["problem"]
                ],
            },
            columns=list(UNAPPROVED_COLUMNS),
        ).reset_index(drop=True)

    def import_csv(self) -> int | None:
        """Import the uploaded CSV into the registry; return the line count."""
        self.clear_alert()

        def load() -> int:
            user = self.acting_user(IMPORT_ACTION)
            # Only the last part of the browser's file name is used, so an
            # uploaded name cannot point outside the temporary folder.
            name = Path(self.upload.filename or "").name or "lines.csv"
            if not self.upload.value:
                raise RecwatchError(
                    "no lines CSV file was uploaded. Choose the file, then import."
                )
            with tempfile.TemporaryDirectory(prefix="recwatch-lines-") as folder:
                path = Path(folder) / name
                path.write_bytes(self.upload.value or b"")
                return self.catalog.write(
                    lambda con: lines.import_lines_csv(con, path, actor=user.username)
                )

        count = self.attempt(load)
        if count is None:
            return None
        self.upload.clear()
        self.refresh()
        self.show_success(self.text("wf.lines_imported", count=count))
        return count
