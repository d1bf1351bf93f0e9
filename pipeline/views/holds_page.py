"""The holds page (보존 조치): holds that keep a recording past its retention.

Lists active holds, or every hold with its state, and places or releases one.
:mod:`pipeline.holds` takes an actor name rather than a user, so this page
checks the ``place_hold`` and ``release_hold`` permissions itself.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

import pandas as pd
import panel as pn
import param

from pipeline import holds
from pipeline.errors import RecwatchError
from pipeline.views.formatting import format_time
from pipeline.views.heading import heading
from pipeline.views.workflow_base import WorkflowPage, plain_table

logger = logging.getLogger(__name__)

COLUMNS = {
    "id": "wf.hold_id",
    "recording_id": "wf.recording_id",
    "state": "wf.hold_state",
    "reason": "wf.hold_reason",
    "approver": "wf.approver",
    "placed_by": "wf.placed_by",
    "placed_at": "wf.placed_at",
    "ends_on": "wf.ends_on",
    "release_reason": "wf.release_reason",
}


def hold_state(hold: holds.Hold, now: datetime) -> str:
    """Return ``released``, ``active`` or ``expired`` for a hold at ``now``."""
    if hold.released_at is not None:
        return "released"
    return "active" if hold.is_active(now) else "expired"


class HoldsPage(WorkflowPage):
    """Active and past holds, with forms to place and release one."""

    def __init__(self, service, user=None, **params):
        super().__init__(service, user, **params)
        self._titles = {
            key: heading() for key in ("wf.holds", "wf.place_hold", "wf.release_hold")
        }
        self.active_only = pn.widgets.Checkbox(value=True, css_classes=["holds-active"])
        self._empty = pn.pane.HTML("")
        self.table = plain_table("holds-table")
        self.recording_id = pn.widgets.IntInput(
            value=None, start=1, css_classes=["hold-recording"]
        )
        self.reason = pn.widgets.TextInput(css_classes=["hold-reason"])
        self.approver = pn.widgets.TextInput(css_classes=["hold-approver"])
        self.ends_on = pn.widgets.DatePicker(css_classes=["hold-ends-on"])
        self.place_button = pn.widgets.Button(
            color="primary", css_classes=["place-hold"]
        )
        self.release_select = pn.widgets.Select(
            options={}, css_classes=["release-select"]
        )
        self.release_reason = pn.widgets.TextInput(css_classes=["release-reason"])
        self.release_button = pn.widgets.Button(
            color="warning", css_classes=["release-hold"]
        )
        self.active_only.param.watch(lambda _event: self.refresh(), "value")
        self.place_button.on_click(lambda _event: self.place())
        self.release_button.on_click(lambda _event: self.release())
        self._place_section = pn.Column(
            self._titles["wf.place_hold"],
            pn.GridBox(
                self.recording_id,
                self.ends_on,
                self.reason,
                self.approver,
                ncols=2,
                sizing_mode="stretch_width",
            ),
            self.place_button,
            sizing_mode="stretch_width",
        )
        self._release_section = pn.Column(
            self._titles["wf.release_hold"],
            pn.Row(self.release_select, self.release_reason),
            self.release_button,
            sizing_mode="stretch_width",
        )
        self._layout = pn.Column(
            self.alert,
            self._titles["wf.holds"],
            self.active_only,
            self._empty,
            self.table,
            self._place_section,
            self._release_section,
            sizing_mode="stretch_width",
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @param.depends("language", watch=True)
    def refresh(self) -> None:
        """Read the holds again and show them."""
        text = self.text
        for key, pane in self._titles.items():
            pane.object = (
                f"### {text(key)}" if key == "wf.holds" else f"#### {text(key)}"
            )
        self.active_only.label = text("wf.holds_active_only")
        self.recording_id.label = text("wf.recording_id")
        self.reason.label = text("wf.hold_reason")
        self.approver.label = text("wf.approver")
        self.ends_on.label = text("wf.ends_on")
        self.place_button.label = text("wf.place_hold")
        self.release_select.label = text("wf.hold_id")
        self.release_reason.label = text("wf.release_reason")
        self.release_button.label = text("wf.release_hold")
        self._place_section.visible = self.allowed("place_hold")
        self._release_section.visible = self.allowed("release_hold")

        found = self.attempt(self._read)
        if found is None:
            self.table.value = pd.DataFrame()
            return
        now = self.now()
        shown = [
            hold
            for hold in found
            if not self.active_only.value or hold_state(hold, now) == "active"
        ]
        self._empty.object = "" if shown else text("wf.no_holds")
        self.table.visible = bool(shown)
        self.table.titles = {column: text(key) for column, key in COLUMNS.items()}
        self.table.value = self.rows(shown)
        active = [hold for hold in found if hold_state(hold, now) == "active"]
        self.release_select.options = {
            f"{hold.id} (#{hold.recording_id}, {hold.ends_on})": hold.id
            for hold in active
        }

    def _read(self) -> list[holds.Hold]:
        self.acting_user("view_recordings")
        return holds.list_holds(self.catalog.cursor())

    def rows(self, found: list[holds.Hold]) -> pd.DataFrame:
        """Return display rows for ``found`` holds."""
        now, tz = self.now(), self.config.tz
        rows = [
            {
                "id": hold.id,
                "recording_id": hold.recording_id,
                "state": self.text(f"wf.hold.{hold_state(hold, now)}"),
                "reason": hold.reason,
                "approver": hold.approver,
                "placed_by": hold.placed_by,
                "placed_at": format_time(hold.placed_at, tz),
                "ends_on": hold.ends_on.isoformat(),
                "release_reason": hold.release_reason or "",
            }
            for hold in found
        ]
        return pd.DataFrame(rows, columns=list(COLUMNS))

    def place(self) -> int | None:
        """Place a hold as typed in the form; return its id, or None after an error."""
        self.clear_alert()

        missing = [
            self.text(key)
            for key, empty in (
                ("wf.recording_id", self.recording_id.value is None),
                ("wf.ends_on", not isinstance(self.ends_on.value, date)),
                ("wf.hold_reason", not (self.reason.value or "").strip()),
                ("wf.approver", not (self.approver.value or "").strip()),
            )
            if empty
        ]
        if missing:
            # Every empty field at once, so that the form needs one correction.
            self.show_error(self.text("wf.fill_in", fields=", ".join(missing)))
            return None

        def write() -> int:
            user = self.acting_user("place_hold")
            recording_id = self.recording_id.value
            ends_on = self.ends_on.value
            return self.catalog.write(
                lambda con: holds.place_hold(
                    con,
                    recording_id,
                    reason=self.reason.value,
                    approver=self.approver.value,
                    ends_on=ends_on,
                    actor=user.username,
                    tz=self.config.tz,
                    now=self.now(),
                )
            )

        hold_id = self.attempt(write)
        if hold_id is None:
            return None
        recording_id = self.recording_id.value
        self.reason.value = self.approver.value = ""
        self.recording_id.value = None
        self.refresh()
        self.show_success(
            self.text("wf.hold_placed", hold=hold_id, recording=recording_id)
        )
        return hold_id

    def release(self) -> holds.Hold | None:
        """Release the selected hold with the typed reason."""
        self.clear_alert()

        def write() -> holds.Hold:
            user = self.acting_user("release_hold")
            hold_id = self.release_select.value
            if hold_id is None:
                raise RecwatchError(
                    "no active hold is selected. Pick the hold to release.",
                    code="hold_not_selected",
                )
            return self.catalog.write(
                lambda con: holds.release_hold(
                    con,
                    hold_id,
                    actor=user.username,
                    reason=self.release_reason.value,
                    now=self.now(),
                )
            )

        hold = self.attempt(write)
        if hold is None:
            return None
        self.release_reason.value = ""
        self.refresh()
        self.show_success(self.text("wf.hold_released", hold=hold.id))
        return hold
