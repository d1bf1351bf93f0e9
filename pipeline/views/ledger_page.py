"""The ledger page (관리대장): Form 4 with the three approvals, and its exports.

The table and every export are masked for users who may not see personal data,
so a download never carries more than the page shows.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd
import panel as pn
import param

from pipeline import forms, ledger
from pipeline.views.heading import heading
from pipeline.views.session import record_access
from pipeline.views.workflow_base import WorkflowPage, download_button, plain_table

logger = logging.getLogger(__name__)


class LedgerPage(WorkflowPage):
    """Form 4 ledger (녹취정보 열람·제공 관리대장) with CSV, XLSX and HTML exports."""

    def __init__(self, service, user=None, **params):
        super().__init__(service, user, **params)
        self._title = heading()
        self._note = pn.pane.HTML("", css_classes=["ledger-note"])
        self._empty = pn.pane.HTML("")
        self.table = plain_table("ledger-table")
        self.csv_download = download_button(
            "ledger.csv", self.csv_bytes, "", "ledger-csv"
        )
        self.xlsx_download = download_button(
            "ledger.xlsx", self.xlsx_bytes, "", "ledger-xlsx"
        )
        self.html_download = download_button(
            "ledger.html", self.html_bytes, "", "ledger-html"
        )
        self._layout = pn.Column(
            self.alert,
            self._title,
            self._note,
            pn.Row(self.csv_download, self.xlsx_download, self.html_download),
            self._empty,
            self.table,
            sizing_mode="stretch_width",
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @param.depends("language", watch=True)
    def refresh(self) -> None:
        """Read the ledger again and show it."""
        self._title.object = f"### {self.text('wf.ledger')}"
        self.csv_download.label = self.text("wf.export_csv")
        self.xlsx_download.label = self.text("wf.export_xlsx")
        self.html_download.label = self.text("wf.export_html")
        self._note.object = self.text("wf.masked_note") if self.mask_personal() else ""
        rows = self.attempt(self.rows)
        if rows is None:
            self.table.value = pd.DataFrame()
            return
        self._empty.object = "" if len(rows) else self.text("wf.no_ledger_rows")
        self.table.visible = bool(len(rows))
        # The Korean headers are the form's own column names, in both languages.
        self.table.value = rows

    def rows(self) -> pd.DataFrame:
        """Return the ledger rows, masked unless the user may see personal data."""
        self.acting_user("view_recordings")
        return ledger.ledger_rows(
            self.catalog.cursor(),
            mask_personal=self.mask_personal(),
            tz=self.config.tz,
        )

    def _export(self, write, file_format: str) -> bytes:
        rows = self.attempt(self.rows)
        if rows is None:
            return b""
        with tempfile.TemporaryDirectory(prefix="recwatch-ledger-") as folder:
            data = write(rows, Path(folder)).read_bytes()
        # The export leaves the system with the ledger's personal data, so it
        # goes to the access log as the command line's ledger export does.
        record_access(
            self._service,
            self.user,
            "export",
            object_type="ledger",
            detail={
                "format": file_format,
                "rows": len(rows),
                "masked": self.mask_personal(),
            },
        )
        return data

    def csv_bytes(self) -> bytes:
        """Return the ledger as CSV (UTF-8 with a byte order mark)."""
        return self._export(
            lambda rows, folder: ledger.export_ledger_csv(rows, folder / "ledger.csv"),
            "csv",
        )

    def xlsx_bytes(self) -> bytes:
        """Return the ledger as a printable XLSX workbook."""
        return self._export(
            lambda rows, folder: ledger.export_ledger_xlsx(
                rows, folder / "ledger.xlsx", printed_on=self.today()
            ),
            "xlsx",
        )

    def html_bytes(self) -> bytes:
        """Return the ledger as a printable HTML page (Form 4, landscape A4)."""

        def write(rows: pd.DataFrame, folder: Path) -> Path:
            path = folder / "ledger.html"
            path.write_text(
                forms.render_ledger(rows, printed_on=self.today()), encoding="utf-8"
            )
            return path

        return self._export(write, "html")
