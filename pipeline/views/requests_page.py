"""The requests page (열람·제공 신청): the request list and the Form 1 entry form.

The list filters by status; picking a request opens :class:`RequestDetail`,
which carries the approvals, handover, notice and closing of that request. The
entry form takes every Form 1 field, searches the catalog for recordings near
the entered time on the entered number, attaches the ones the operator ticks,
and stores an uploaded proof document. The same form corrects a request that no
approval stage has signed yet: "Edit" in the request's view fills it, and "Save
changes" stores the fields through :func:`pipeline.requests.update_request`.
"""

from __future__ import annotations

import logging
from datetime import datetime

import pandas as pd
import panel as pn
import param

from pipeline import proofs, requests
from pipeline.auth import mask_name, mask_phone
from pipeline.errors import RecwatchError
from pipeline.views.formatting import format_time
from pipeline.views.heading import heading
from pipeline.views.request_detail import RequestDetail, candidate_options
from pipeline.views.workflow_base import (
    LOCAL_TIME_FORMAT,
    WorkflowPage,
    parse_local_time,
    plain_table,
)

logger = logging.getLogger(__name__)

# Form 1 text fields in the order of 녹취정보 열람·제공 신청서, with their label keys.
FORM_FIELDS = (
    ("requester_name", "wf.requester_name"),
    ("requester_birth", "wf.requester_birth"),
    ("requester_address", "wf.requester_address"),
    ("requester_contact", "wf.requester_contact"),
    ("recorded_at", "wf.recorded_at"),
    ("recorded_phone", "wf.recorded_phone"),
    ("purpose", "wf.purpose"),
    ("relation", "wf.relation"),
    ("reason", "wf.reason"),
    ("remarks", "wf.remarks"),
    ("requester_username", "wf.requester_username"),
)
# Columns of the request list with their label keys.
LIST_COLUMNS = {
    "number": "wf.number",
    "status": "wf.status",
    "requested_at": "wf.requested_at",
    "requester": "wf.requester",
    "recorded_at": "wf.recorded_at",
    "recorded_phone": "wf.recorded_phone",
    "next_stage": "wf.next_stage",
    "files": "wf.file_count",
    "due_on": "wf.due_on",
}
# Label keys of the Form 1 fields, by RequestForm field name.
FIELD_LABELS = dict(FORM_FIELDS) | {"access_kind": "wf.access_kind"}
CANDIDATE_WINDOW_MINUTES = 30
# Value of the request box's "—" entry (no request). Panel sends None to the
# browser as "", which matches no option, so the box would show a blank.
NO_REQUEST = ""
# Form 1 fields that a request needs; remarks and the requesting official's
# username are optional.
REQUIRED_FIELDS = tuple(
    name for name, _ in FORM_FIELDS if name not in ("remarks", "requester_username")
)


class RequestsPage(WorkflowPage):
    """Request list with a status filter, the Form 1 entry form and one request."""

    def __init__(self, service, user=None, **params):
        super().__init__(service, user, **params)
        self.status_filter = pn.widgets.Select(
            options=self._status_options(), value="", width=200
        )
        self.table = plain_table("requests-table")
        self._empty = pn.pane.HTML("")
        self.request_select = pn.widgets.Select(
            options={"—": NO_REQUEST}, width=260, css_classes=["request-select"]
        )
        self.detail = RequestDetail(
            service,
            user,
            clock=self._clock,
            on_change=self._after_change,
            on_edit=self.edit_request,
        )
        # The request whose fields the form is correcting, or None for a new one.
        self.editing: requests.RequestRecord | None = None

        # Form 1
        # Outlined buttons, so that only the chosen kind is filled.
        self.access_kind = pn.widgets.RadioButtonGroup(
            options=self._access_options(),
            value="provide",
            button_type="primary",
            button_style="outline",
        )
        self.form = {
            name: (
                pn.widgets.TextAreaInput(height=70, css_classes=[f"form-{name}"])
                if name == "reason"
                else pn.widgets.TextInput(css_classes=[f"form-{name}"])
            )
            for name, _key in FORM_FIELDS
        }
        self.form["recorded_at"].placeholder = "YYYY-MM-DD HH:MM"
        self.find_button = pn.widgets.Button(
            color="default", css_classes=["find-candidates"]
        )
        self.candidates = pn.widgets.CheckBoxGroup(
            options={}, inline=False, css_classes=["form-candidates"]
        )
        self._candidates_note = pn.pane.HTML("")
        self.proof = pn.widgets.FileInput(css_classes=["form-proof"])
        self.submit_button = pn.widgets.Button(
            color="primary", css_classes=["submit-request"]
        )
        self.save_button = pn.widgets.Button(
            color="primary", visible=False, css_classes=["save-request-changes"]
        )
        self.cancel_edit_button = pn.widgets.Button(
            visible=False, css_classes=["cancel-request-edit"]
        )
        self._titles = {key: heading() for key in ("wf.requests", "wf.form1")}
        self._labels = {
            key: pn.pane.HTML("", margin=(10, 10, 0, 10))
            for key in ("wf.candidates", "wf.proof", "wf.access_kind")
        }

        self.status_filter.param.watch(lambda _event: self.refresh_list(), "value")
        self.request_select.param.watch(self._on_select, "value")
        self.find_button.on_click(lambda _event: self.find_candidates())
        self.submit_button.on_click(lambda _event: self.submit())
        self.save_button.on_click(lambda _event: self.save_changes())
        self.cancel_edit_button.on_click(lambda _event: self.cancel_edit())

        form_column = pn.Column(
            self._titles["wf.form1"],
            self._labels["wf.access_kind"],
            self.access_kind,
            pn.GridBox(
                *(self.form[name] for name, _ in FORM_FIELDS),
                ncols=2,
                sizing_mode="stretch_width",
            ),
            self.find_button,
            self._labels["wf.candidates"],
            self._candidates_note,
            self.candidates,
            self._labels["wf.proof"],
            self.proof,
            self.submit_button,
            pn.Row(self.save_button, self.cancel_edit_button, sizing_mode=None),
            sizing_mode="stretch_width",
            css_classes=["request-form"],
        )
        self._form_column = form_column
        # Recordings and the proof document of an existing request are attached
        # in its own view, so the form hides these while it corrects one.
        self._new_request_only = (
            self.find_button,
            self._labels["wf.candidates"],
            self._candidates_note,
            self.candidates,
            self._labels["wf.proof"],
            self.proof,
            self.submit_button,
        )
        self._layout = pn.Column(
            self.alert,
            self._titles["wf.requests"],
            pn.Row(self.status_filter, self.request_select, sizing_mode=None),
            self._empty,
            self.table,
            self.detail,
            form_column,
            sizing_mode="stretch_width",
        )
        self.relabel()
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    # --- labels -----------------------------------------------------------------------

    def _status_options(self) -> dict[str, str]:
        options = {self.text("all"): ""}
        for status in requests.STATUSES:
            options[self.text(f"wf.status.{status}")] = status
        return options

    def _access_options(self) -> dict[str, str]:
        return {self.text(f"wf.access.{kind}"): kind for kind in requests.ACCESS_KINDS}

    @param.depends("language", watch=True)
    def relabel(self) -> None:
        """Show every label and option of the page in the current language."""
        value = self.status_filter.value
        self.status_filter.options = self._status_options()
        self.status_filter.value = value
        self.status_filter.label = self.text("wf.status")
        self.request_select.label = self.text("wf.open_request")
        kind = self.access_kind.value
        self.access_kind.options = self._access_options()
        self.access_kind.value = kind
        for name, key in FORM_FIELDS:
            self.form[name].label = self.text(key)
        self.form["recorded_at"].label += f" ({self.text('wf.time_hint')})"
        self.find_button.label = self.text("wf.find_candidates")
        self.submit_button.label = self.text("wf.submit_request")
        self.save_button.label = self.text("wf.save_changes")
        self.cancel_edit_button.label = self.text("wf.cancel_edit")
        for key, pane in self._titles.items():
            pane.object = f"### {self.text(key)}"
        self._show_form_title()
        for key, pane in self._labels.items():
            pane.object = f"<b>{self.text(key)}</b>"
        self.detail.language = self.language
        self.refresh_list()

    # --- list -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the list and the open request from the catalog again."""
        self._form_column.visible = self.allowed("manage_requests")
        self.refresh_list()
        self.detail.refresh()

    def refresh_list(self) -> None:
        """Show the requests that match the status filter, newest first."""
        if self.user is None:
            self.show_error(self.text("wf.login_required"))
            self.table.value = pd.DataFrame()
            return
        statuses = (self.status_filter.value,) if self.status_filter.value else ()
        records = self.attempt(
            lambda: (
                self.acting_user("view_recordings")
                and requests.list_requests(self.catalog.cursor(), statuses)
            )
        )
        if records is None:
            self.table.value = pd.DataFrame()
            return
        self.table.value = self.list_rows(records)
        self.table.visible = bool(records)
        self._empty.object = "" if records else self.text("wf.no_requests")
        self.table.titles = {
            column: self.text(key) for column, key in LIST_COLUMNS.items()
        }
        options = {"—": NO_REQUEST}
        options.update({record.number: record.id for record in records})
        selected = self.request_select.value
        self.request_select.options = options
        if selected in options.values():
            self.request_select.value = selected

    def list_rows(self, records: list[requests.RequestRecord]) -> pd.DataFrame:
        """Return the display rows of ``records``, masked for the page's user."""
        tz = self.config.tz
        mask = self.mask_personal()
        rows = [
            {
                "number": record.number,
                "status": self.text(f"wf.status.{record.status}"),
                "requested_at": format_time(record.requested_at, tz),
                "requester": (
                    mask_name(record.requester_name) if mask else record.requester_name
                ),
                "recorded_at": format_time(record.recorded_at, tz),
                "recorded_phone": (
                    mask_phone(record.recorded_phone) if mask else record.recorded_phone
                ),
                "next_stage": (
                    self.text(f"wf.stage.{record.next_stage}")
                    if record.next_stage
                    else ""
                ),
                "files": len(record.recording_ids),
                "due_on": record.due_on.isoformat() if record.due_on else "",
            }
            for record in records
        ]
        return pd.DataFrame(rows, columns=list(LIST_COLUMNS))

    def _on_select(self, event) -> None:
        self.open_request(event.new or None)

    def open_request(self, request_id: int | None) -> None:
        """Show one request below the list, or none."""
        self.clear_alert()
        if request_id is not None and self.request_select.value != request_id:
            # Setting the value calls this method again through the watcher.
            self.request_select.value = request_id
            return
        self.detail.show(request_id)

    def _after_change(self) -> None:
        self.refresh_list()

    # --- Form 1 -----------------------------------------------------------------------

    def find_candidates(self) -> None:
        """Search recordings near the entered time on the entered number."""
        self.clear_alert()
        found = self.attempt(self._search)
        if found is None:
            return
        self.candidates.options = candidate_options(
            found, self.config.tz, mask=self.mask_personal()
        )
        self.candidates.value = []
        self._candidates_note.object = "" if found else self.text("wf.no_candidates")

    def _search(self) -> list[requests.Candidate]:
        self.acting_user("manage_requests")
        recorded_at = parse_local_time(
            self.form["recorded_at"].value, self.config.tz, "recording time"
        )
        return requests.find_candidates(
            self.catalog.cursor(),
            recorded_at,
            self.form["recorded_phone"].value,
            CANDIDATE_WINDOW_MINUTES,
        )

    def submit(self) -> requests.RequestRecord | None:
        """Store the form as a request, attach the ticked recordings and the proof."""
        self.clear_alert()
        record = self.attempt(self._submit)
        if record is None:
            return None
        self.reset_form()
        self.refresh_list()
        self.open_request(record.id)
        self.show_success(self.text("wf.submitted", number=record.number))
        return record

    def read_form(
        self, stored: requests.RequestRecord | None = None
    ) -> requests.RequestForm:
        """Return the typed Form 1 fields, given ``stored`` when correcting a request.

        The form shows the recording time to the minute, so an unchanged time
        keeps the stored value, seconds included, instead of rounding it.
        """
        values = {name: widget.value or "" for name, widget in self.form.items()}
        recorded_at = parse_local_time(
            values["recorded_at"], self.config.tz, "recording time"
        )
        if stored is not None and recorded_at == self._minute(stored.recorded_at):
            recorded_at = stored.recorded_at
        return requests.RequestForm(
            requester_name=values["requester_name"],
            requester_birth=values["requester_birth"],
            requester_address=values["requester_address"],
            requester_contact=values["requester_contact"],
            recorded_at=recorded_at,
            recorded_phone=values["recorded_phone"],
            purpose=values["purpose"],
            relation=values["relation"],
            reason=values["reason"],
            access_kind=self.access_kind.value,
            remarks=values["remarks"],
            requester_username=values["requester_username"].strip() or None,
        )

    def _minute(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.config.tz)
        return local.replace(second=0, microsecond=0)

    def _submit(self) -> requests.RequestRecord:
        user = self.acting_user("manage_requests")
        empty = [
            name
            for name in REQUIRED_FIELDS
            if not (self.form[name].value or "").strip()
        ]
        if empty:
            # Every empty field at once, before the recording time is parsed.
            raise RecwatchError(
                f"request form is missing {', '.join(empty)}",
                code="request_fields_missing",
                values={"fields": empty},
            )
        form = self.read_form()
        if self.proof.value:
            # A rejected proof stops the submission before the request exists,
            # so that a second click cannot file the same request twice.
            proofs.check_proof(self.proof.filename or "", self.proof.value)
        record = requests.submit_request(
            self.catalog, user, form, now=self.now(), tz=self.config.tz
        )
        # The request exists from here on: a failure below leaves it submitted,
        # and the operator attaches the rest from its detail view.
        if self.candidates.value:
            record = requests.attach_recordings(
                self.catalog, user, record.id, self.candidates.value, now=self.now()
            )
        if self.proof.value:
            stored = proofs.store_proof(
                self.config, record.id, self.proof.filename or "", self.proof.value
            )
            record = proofs.attach_proof(
                self.catalog, user, record.id, stored, now=self.now()
            )
        return record

    def reset_form(self) -> None:
        """Empty the entry form after a request was stored."""
        for widget in self.form.values():
            widget.value = ""
        self.access_kind.value = "provide"
        self.candidates.options = {}
        self.candidates.value = []
        self._candidates_note.object = ""
        self.proof.clear()

    # --- correcting a request ---------------------------------------------------------

    def edit_request(self, record: requests.RequestRecord) -> None:
        """Fill the form with the Form 1 fields of ``record`` for correction."""
        self.clear_alert()
        values = {
            "requester_name": record.requester_name,
            "requester_birth": record.requester_birth,
            "requester_address": record.requester_address,
            "requester_contact": record.requester_contact,
            "recorded_at": record.recorded_at.astimezone(self.config.tz).strftime(
                LOCAL_TIME_FORMAT
            ),
            "recorded_phone": record.recorded_phone,
            "purpose": record.purpose,
            "relation": record.relation,
            "reason": record.reason,
            "remarks": record.remarks,
            "requester_username": record.requester_username or "",
        }
        for name, value in values.items():
            self.form[name].value = value
        self.access_kind.value = record.access_kind
        self.editing = record
        self._show_edit_mode()

    def save_changes(self) -> requests.RequestRecord | None:
        """Store the corrected fields of the request being edited."""
        self.clear_alert()
        saved: list[list[str]] = []

        def save() -> requests.RequestRecord:
            user = self.acting_user("manage_requests")
            if self.editing is None:
                raise RecwatchError(
                    "no request is being edited. Press Edit in a submitted "
                    "request's view first."
                )
            current = requests.get_request(self.catalog.cursor(), self.editing.id)
            form = self.read_form(current)
            saved.append(requests.changed_fields(current, form))
            return requests.update_request(
                self.catalog,
                user,
                current.id,
                form,
                now=self.now(),
                tz=self.config.tz,
            )

        record = self.attempt(save)
        if record is None:
            # A stage may have been signed meanwhile: show the request as it is.
            self.detail.refresh()
            return None
        changed = saved[0]
        if not changed:
            self.show_success(self.text("wf.no_changes", number=record.number))
            return record
        self.cancel_edit()
        self.refresh_list()
        self.open_request(record.id)
        names = ", ".join(self.text(FIELD_LABELS[name]) for name in changed)
        self.show_success(
            self.text("wf.changes_saved", number=record.number, fields=names)
        )
        return record

    def cancel_edit(self) -> None:
        """Leave the correction and empty the form for a new request."""
        self.editing = None
        self.reset_form()
        self._show_edit_mode()

    def _show_edit_mode(self) -> None:
        editing = self.editing is not None
        for widget in self._new_request_only:
            widget.visible = not editing
        self.save_button.visible = editing
        self.cancel_edit_button.visible = editing
        self._show_form_title()

    def _show_form_title(self) -> None:
        if self.editing is None:
            title = self.text("wf.form1")
        else:
            title = self.text("wf.edit_request", number=self.editing.number)
        self._titles["wf.form1"].object = f"### {title}"
