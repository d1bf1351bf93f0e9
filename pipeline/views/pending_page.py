"""The pending returns page (회신 대기): provided requests still owing a notice.

A provided request owes its notice of use and destruction (Form 3) by its due
date. The list is most urgent first, overdue rows are red, and each row offers
a printable reminder letter for the recipient.
"""

from __future__ import annotations

import logging

import pandas as pd
import panel as pn
import param

from pipeline import forms, returns
from pipeline.auth import mask_name
from pipeline.views.heading import heading
from pipeline.views.workflow_base import WorkflowPage, download_button, plain_table

logger = logging.getLogger(__name__)

OVERDUE_COLOR = "#c62828"

# Columns of the pending list with their label keys. A hidden "overdue" column
# follows them and marks the rows shown in red.
COLUMNS = {
    "number": "wf.number",
    "recipient": "wf.recipient",
    "provided_on": "wf.provided_on",
    "due_on": "wf.due_on",
    "days_left": "wf.days_left",
    "extended": "wf.extended",
    "state": "wf.status",
}


def _row_style(row: pd.Series) -> list[str]:
    # An overdue notice breaks the 30-day rule, so the whole row is red.
    if row["overdue"]:
        return [f"color: {OVERDUE_COLOR}; font-weight: 600"] * len(row)
    return [""] * len(row)


class PendingReturnsPage(WorkflowPage):
    """Provided requests without a final Form 3 notice, most urgent first."""

    def __init__(self, service, user=None, **params):
        super().__init__(service, user, **params)
        self._title = heading(css_classes=["pending-title"])
        self._warning = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["pending-overdue"]
        )
        self._empty = pn.pane.HTML("")
        self.table = plain_table("pending-table")
        self.table.hidden_columns = ["overdue"]
        self.table.style.apply(_row_style, axis=1)
        self.letters = pn.FlexBox(css_classes=["reminder-letters"])
        self.pending: list[returns.PendingReturn] = []
        self._layout = pn.Column(
            self.alert,
            self._title,
            self._warning,
            self._empty,
            self.table,
            self.letters,
            sizing_mode="stretch_width",
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @param.depends("language", watch=True)
    def refresh(self) -> None:
        """Read the pending returns again and show them."""
        self._title.object = f"### {self.text('wf.pending')}"
        if self.user is None:
            self.show_error(self.text("wf.login_required"))
            return
        today = self.today()
        self.pending = returns.pending_returns(self.catalog.cursor(), today)
        overdue = [item for item in self.pending if item.overdue]
        self._warning.visible = bool(overdue)
        self._warning.object = self.text("wf.pending_overdue", count=len(overdue))
        self._empty.object = "" if self.pending else self.text("wf.no_pending")
        self.table.visible = bool(self.pending)
        self.table.titles = {column: self.text(key) for column, key in COLUMNS.items()}
        self.table.value = self.rows()
        self.letters.objects = [
            download_button(
                f"reminder-{item.number}.html",
                lambda item=item: self.letter_bytes(item),
                self.text("wf.reminder", number=item.number),
                "reminder-letter",
            )
            for item in self.pending
        ]

    def rows(self) -> pd.DataFrame:
        """Return the display rows of the pending returns, masked by role."""
        mask = self.mask_personal()
        rows = [
            {
                "number": item.number,
                "recipient": (
                    mask_name(item.recipient_name) if mask else item.recipient_name
                ),
                "provided_on": item.provided_on.isoformat(),
                "due_on": item.due_on.isoformat(),
                "days_left": item.days_left,
                "extended": self.text("wf.yes") if item.extended else "",
                "state": self.text(self._state_key(item)),
                "overdue": item.overdue,
            }
            for item in self.pending
        ]
        return pd.DataFrame(rows, columns=[*COLUMNS, "overdue"])

    def _state_key(self, item: returns.PendingReturn) -> str:
        """Return the label key of a pending return's state by its days left."""
        if item.overdue:
            return "wf.overdue"
        if item.days_left <= self.config["retention.due_soon_days"]:
            return "wf.return_due_soon"
        return "wf.return_waiting"

    def letter_bytes(self, item: returns.PendingReturn) -> bytes:
        """Return the reminder letter as UTF-8 and log it, or nothing after an error."""
        data = (self.attempt(lambda: self.letter_html(item)) or "").encode("utf-8")
        if data:
            self.log_printout(item.request_id, item.number, "reminder", "html")
        return data

    def letter_html(self, item: returns.PendingReturn) -> str:
        """Render the reminder letter for one pending request.

        The letter is addressed to the recipient by name, so it needs the right
        to see personal data.
        """
        self.acting_user("view_personal")
        return forms.reminder_letter_html(item, self.today())
