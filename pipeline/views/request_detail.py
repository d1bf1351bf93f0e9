"""One request on the requests page: timeline, approvals, handover, notice, close.

Each action section shows only while the request's status allows the step and
the user's roles permit it. The pipeline functions check both again, so a
section shown by mistake still cannot change anything; their errors appear in
the alert. A protected copy's one-time password is shown once, right after the
handover, and is gone when the request is opened again. "Edit" hands the
request to the page's Form 1 form, which saves the corrected fields.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path
from time import monotonic

import panel as pn
import param

from pipeline import forms, handover, proofs, protected_copy, requests, returns
from pipeline.auth import mask_birth, mask_name, mask_phone
from pipeline.errors import RecwatchError
from pipeline.views.formatting import escape, format_duration, format_time
from pipeline.views.heading import heading
from pipeline.views.playback_panel import PlaybackPanel
from pipeline.views.workflow_base import (
    WorkflowPage,
    as_date,
    download_button,
    key_value_table,
    parse_local_time,
    set_options,
)

logger = logging.getLogger(__name__)

# Text inputs of the handover (Form 2) and notice (Form 3) sections.
HANDOVER_FIELDS = (
    "recipient_address",
    "recipient_name",
    "official_affiliation",
    "official_rank",
    "official_name",
    "viewing_until",
)
NOTICE_TEXT_FIELDS = (
    "use_result_other",
    "destroyed_by_affiliation",
    "destroyed_by_name",
    "extension_period",
    "confirmer_affiliation",
    "confirmer_rank",
    "confirmer_name",
    "remarks",
)
# A viewing ends at this local time on the day it starts unless changed.
DEFAULT_VIEWING_END = time(18, 0)
# Folder of protected copies, under the data folder, which is never served.
# An archive is deleted when it is downloaded, and by the purge scheduler when
# it waits longer than security.copy_keep_minutes.
COPIES_FOLDER = protected_copy.COPY_FOLDERS[0]
# Bokeh queues the second click of a double-click until the first action ends.
# A click this soon after the same button's successful action is dropped.
REPEAT_CLICK_S = 0.5


def candidate_options(
    candidates: list[requests.Candidate], tz, *, mask: bool
) -> dict[str, int]:
    """Return CheckBoxGroup options (display text -> recording id) for candidates."""
    options = {}
    for candidate in candidates:
        other = candidate.other_party or ""
        other = mask_phone(other) if mask and other else other
        text = (
            f"#{candidate.recording_id} {format_time(candidate.start_time, tz)} "
            f"{candidate.line or ''} ↔ {other} "
            f"({format_duration(candidate.duration_s)}, "
            f"±{candidate.minutes_apart:.0f}′) {candidate.file_name}"
        )
        options[text] = candidate.recording_id
    return options


class RequestDetail(WorkflowPage):
    """The open request with the actions its status and the user's roles allow."""

    def __init__(
        self,
        service,
        user=None,
        *,
        clock=None,
        on_change: Callable[[], None] | None = None,
        on_edit: Callable[[requests.RequestRecord], None] | None = None,
    ):
        super().__init__(service, user, clock=clock)
        self._on_change = on_change or (lambda: None)
        self._on_edit = on_edit
        self.request_id: int | None = None
        self._record: requests.RequestRecord | None = None
        self._handover: handover.Handover | None = None
        self._notices: list[returns.StoredNotice] = []
        self._archive: Path | None = None
        self._last_success = ("", float("-inf"))

        self._heading = heading()
        self._summary = pn.pane.HTML("", css_classes=["request-summary"])
        self._timeline = pn.pane.HTML("", css_classes=["request-timeline"])
        self._approvals = pn.pane.HTML("", css_classes=["request-approvals"])
        self._section_titles = {
            key: heading()
            for key in (
                "wf.timeline",
                "wf.approvals",
                "wf.attached",
                "wf.form2",
                "wf.form3",
                "wf.print",
            )
        }

        # Correcting the Form 1 fields while no stage has signed
        self.edit_button = pn.widgets.Button(css_classes=["edit-request"])
        self.edit_button.on_click(lambda _event: self.edit())

        # Approval
        self.approve_button = pn.widgets.Button(
            color="success", css_classes=["approve-request"]
        )
        self.reject_reason = pn.widgets.TextInput(css_classes=["reject-reason"])
        self.reject_button = pn.widgets.Button(
            color="danger", css_classes=["reject-request"]
        )
        self.approve_button.on_click(lambda _event: self.approve())
        self.reject_button.on_click(lambda _event: self.reject())
        self._approval_actions = pn.Row(
            self.approve_button, self.reject_reason, self.reject_button
        )

        # Playback and download while the request is approved or provided
        self.playback = PlaybackPanel(self)

        # Attaching recordings and the proof document while submitted
        self.attach_candidates = pn.widgets.CheckBoxGroup(
            options={}, inline=False, css_classes=["detail-candidates"]
        )
        self.attach_button = pn.widgets.Button(css_classes=["attach-recordings"])
        self.proof = pn.widgets.FileInput(css_classes=["detail-proof"])
        self.proof_button = pn.widgets.Button(css_classes=["attach-proof"])
        self.attach_button.on_click(lambda _event: self.attach())
        self.proof_button.on_click(lambda _event: self.attach_proof())
        self._attach_section = pn.Column(
            self.attach_candidates,
            self.attach_button,
            pn.Row(self.proof, self.proof_button),
            sizing_mode="stretch_width",
        )

        # Handover (Form 2)
        self.handover_inputs = {
            name: pn.widgets.TextInput(css_classes=[f"handover-{name}"])
            for name in HANDOVER_FIELDS
        }
        self.method = pn.widgets.RadioButtonGroup(
            options={}, color="primary", css_classes=["handover-method"]
        )
        self.received_on = pn.widgets.DatePicker(css_classes=["handover-received-on"])
        self.handover_recordings = pn.widgets.CheckBoxGroup(
            options={}, inline=False, css_classes=["handover-recordings"]
        )
        self.handover_button = pn.widgets.Button(
            color="primary", css_classes=["hand-over"]
        )
        self.handover_button.on_click(lambda _event: self.hand_over())
        self.method.param.watch(lambda _event: self._show_method_inputs(), "value")
        self._handover_section = pn.Column(
            self._section_titles["wf.form2"],
            self.method,
            pn.GridBox(
                *(self.handover_inputs[name] for name in HANDOVER_FIELDS[:5]),
                self.received_on,
                self.handover_inputs["viewing_until"],
                ncols=2,
                sizing_mode="stretch_width",
            ),
            self.handover_recordings,
            self.handover_button,
            sizing_mode="stretch_width",
        )
        self.password = pn.pane.Alert(
            "", alert_type="warning", visible=False, css_classes=["one-time-password"]
        )
        self.copy_download = download_button(
            "recordings.zip", self._archive_bytes, "", "download-copy"
        )
        self.copy_download.visible = False

        # Notice of use and destruction (Form 3)
        self.notified_on = pn.widgets.DatePicker(css_classes=["notice-notified-on"])
        self.use_result = pn.widgets.RadioBoxGroup(
            options={}, inline=True, css_classes=["notice-use-result"]
        )
        self.destruction = pn.widgets.RadioBoxGroup(
            options={}, inline=True, css_classes=["notice-destruction"]
        )
        self.not_destroyed_reason = pn.widgets.Select(
            options={}, css_classes=["notice-not-destroyed-reason"]
        )
        self.planned_destruction_on = pn.widgets.DatePicker(
            css_classes=["notice-planned-destruction-on"]
        )
        self.notice_inputs = {
            name: pn.widgets.TextInput(css_classes=[f"notice-{name}"])
            for name in NOTICE_TEXT_FIELDS
        }
        self.notice_button = pn.widgets.Button(
            color="primary", css_classes=["record-notice"]
        )
        self.notice_button.on_click(lambda _event: self.record_notice())
        self._notice_labels = {
            key: pn.pane.HTML("", margin=(5, 10, 0, 10))
            for key in ("wf.use_result", "wf.destruction")
        }
        self._notice_section = pn.Column(
            self._section_titles["wf.form3"],
            self.notified_on,
            self._notice_labels["wf.use_result"],
            self.use_result,
            self.notice_inputs["use_result_other"],
            self._notice_labels["wf.destruction"],
            self.destruction,
            pn.GridBox(
                self.notice_inputs["destroyed_by_affiliation"],
                self.notice_inputs["destroyed_by_name"],
                self.not_destroyed_reason,
                self.notice_inputs["extension_period"],
                self.planned_destruction_on,
                self.notice_inputs["confirmer_affiliation"],
                self.notice_inputs["confirmer_rank"],
                self.notice_inputs["confirmer_name"],
                self.notice_inputs["remarks"],
                ncols=2,
                sizing_mode="stretch_width",
            ),
            self.notice_button,
            sizing_mode="stretch_width",
        )

        # Closing and printable forms
        self.close_button = pn.widgets.Button(
            color="warning", css_classes=["close-request"]
        )
        self.close_button.on_click(lambda _event: self.close())
        self._prints = pn.FlexBox(css_classes=["request-prints"])

        self._body = pn.Column(
            self._heading,
            self._summary,
            self.edit_button,
            self._section_titles["wf.timeline"],
            self._timeline,
            self._section_titles["wf.approvals"],
            self._approvals,
            self._approval_actions,
            self.playback,
            self._section_titles["wf.attached"],
            self._attach_section,
            self.password,
            self.copy_download,
            self._handover_section,
            self._notice_section,
            self.close_button,
            self._section_titles["wf.print"],
            self._prints,
            sizing_mode="stretch_width",
            css_classes=["request-detail"],
        )
        self._layout = pn.Column(self.alert, self._body, sizing_mode="stretch_width")
        self.relabel()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @property
    def record(self) -> requests.RequestRecord | None:
        """The open request as last read from the catalog."""
        return self._record

    # --- labels -----------------------------------------------------------------------

    @param.depends("language", watch=True)
    def relabel(self) -> None:
        """Show every label and option of the section in the current language."""
        text = self.text
        self.edit_button.label = text("wf.edit")
        self.reject_reason.label = text("wf.reject_reason")
        self.reject_button.label = text("wf.reject")
        self.attach_button.label = text("wf.attach")
        self.proof.label = text("wf.proof")
        self.proof_button.label = text("wf.attach_proof")
        for name in HANDOVER_FIELDS:
            self.handover_inputs[name].label = text(f"wf.{name}")
        self.handover_inputs["viewing_until"].label += f" ({text('wf.time_hint')})"
        self.received_on.label = text("wf.received_on")
        self.handover_recordings.label = text("wf.provide_recordings")
        self.handover_button.label = text("wf.hand_over")
        self.copy_download.label = text("wf.download_copy")
        set_options(
            self.method,
            {text(f"wf.method.{method}"): method for method in handover.METHODS},
        )
        self.notified_on.label = text("wf.notified_on")
        set_options(
            self.use_result,
            {text(f"wf.use.{code}"): code for code in returns.USE_RESULTS},
        )
        set_options(
            self.destruction,
            {
                text(f"wf.destruction.{code}"): code
                for code in returns.DESTRUCTION_STATES
            },
        )
        set_options(
            self.not_destroyed_reason,
            {"—": ""}
            | {text(f"wf.kept.{code}"): code for code in returns.NOT_DESTROYED_REASONS},
        )
        self.not_destroyed_reason.label = text("wf.not_destroyed_reason")
        self.planned_destruction_on.label = text("wf.planned_destruction_on")
        for name in NOTICE_TEXT_FIELDS:
            key = "wf.remarks" if name == "remarks" else f"wf.{name}"
            self.notice_inputs[name].label = text(key)
        for key, pane in self._notice_labels.items():
            pane.object = f"<b>{text(key)}</b>"
        self.notice_button.label = text("wf.record_notice")
        self.close_button.label = text("wf.close")
        self.playback.relabel()
        for key, pane in self._section_titles.items():
            pane.object = f"#### {text(key)}"
        self.refresh()

    # --- reading ----------------------------------------------------------------------

    def show(self, request_id: int | None) -> None:
        """Open the request ``request_id`` (None closes the view) with empty inputs."""
        self.request_id = request_id
        self._clear_password()
        self.clear_alert()
        self.reject_reason.value = ""
        self.refresh(reset_inputs=True)

    def refresh(self, *, reset_inputs: bool = False) -> None:
        """Read the open request from the catalog again and show its sections."""
        if self.request_id is None or self.user is None:
            self._record = None
            self._body.visible = False
            return
        record = self.attempt(
            lambda: (
                self.acting_user("view_recordings")
                and requests.get_request(self.catalog.cursor(), self.request_id)
            )
        )
        if record is None:
            self._record = None
            self._body.visible = False
            return
        cursor = self.catalog.cursor()
        self._record = record
        self._handover = handover.get_handover(cursor, record.id)
        self._notices = returns.notices(cursor, record.id)
        self._body.visible = True
        self._heading.object = (
            f"### {escape(self.text('wf.detail', number=record.number))} · "
            f"{escape(self.text(f'wf.status.{record.status}'))}"
        )
        self._summary.object = self.summary_html(record)
        self._timeline.object = self.timeline_html(record, cursor)
        self._approvals.object = self.approvals_html(record)
        self._show_actions(record, reset_inputs)
        self._show_prints(record)

    def summary_html(self, record: requests.RequestRecord) -> str:
        """Return the Form 1 fields of ``record`` as an HTML table, masked by role."""
        mask = self.mask_personal()
        tz = self.config.tz
        values = [
            ("wf.access_kind", self.text(f"wf.access.{record.access_kind}")),
            (
                "wf.requester_name",
                mask_name(record.requester_name) if mask else record.requester_name,
            ),
            (
                "wf.requester_birth",
                mask_birth(record.requester_birth) if mask else record.requester_birth,
            ),
            ("wf.requester_address", record.requester_address),
            (
                "wf.requester_contact",
                mask_phone(record.requester_contact)
                if mask
                else record.requester_contact,
            ),
            ("wf.recorded_at", format_time(record.recorded_at, tz)),
            (
                "wf.recorded_phone",
                mask_phone(record.recorded_phone) if mask else record.recorded_phone,
            ),
            ("wf.purpose", record.purpose),
            ("wf.relation", record.relation),
            ("wf.reason", record.reason),
            ("wf.remarks", record.remarks),
            ("wf.proof", record.proof_file_name or "—"),
            (
                "wf.attached",
                ", ".join(f"#{rid}" for rid in record.recording_ids) or "—",
            ),
            ("wf.due_on", record.due_on.isoformat() if record.due_on else "—"),
        ]
        return key_value_table(
            [(self.text(key), value) for key, value in values], "request-fields"
        )

    def timeline_events(self, record, cursor) -> list[tuple[datetime, str]]:
        """Return the dated steps of ``record``, oldest first."""
        events = [(record.requested_at, self.text("wf.event.submitted"))]
        for approval in record.approvals:
            stage = self.text(f"wf.stage.{approval.stage}")
            key = (
                "wf.approved_stage"
                if approval.decision == "approved"
                else "wf.rejected_stage"
            )
            text = f"{self.text(key, stage=stage)} ({approval.display_name})"
            if approval.reason:
                text += f": {approval.reason}"
            events.append((approval.decided_at, text))
        if self._handover is not None:
            method = self.text(f"wf.method.{self._handover.method}")
            events.append(
                (
                    self._handover.handed_over_at,
                    self.text("wf.event.handover", method=method)
                    + f" · {self._handover.recipient.name}",
                )
            )
        for stored in self._notices:
            state = self.text(f"wf.destruction.{stored.notice.destruction}")
            events.append(
                (stored.recorded_at, self.text("wf.event.notice", state=state))
            )
        for change in returns.due_date_changes(cursor, record.id):
            events.append(
                (
                    change.changed_at,
                    self.text(
                        "wf.event.due_change",
                        old=change.previous_due_on.isoformat(),
                        new=change.new_due_on.isoformat(),
                    ),
                )
            )
        if record.closed_at is not None:
            events.append((record.closed_at, self.text("wf.event.closed")))
        return sorted(events, key=lambda event: event[0])

    def timeline_html(self, record, cursor) -> str:
        """Return the timeline of ``record`` as an HTML table."""
        tz = self.config.tz
        rows = [
            (format_time(moment, tz), text)
            for moment, text in self.timeline_events(record, cursor)
        ]
        return key_value_table(rows, "timeline")

    def approvals_html(self, record: requests.RequestRecord) -> str:
        """Return the three approval stages of ``record`` as an HTML table."""
        cells = []
        for stage in requests.STAGES:
            approval = record.approval(stage)
            if approval is None:
                value = "—"
            else:
                day = approval.decided_at.astimezone(self.config.tz).date()
                mark = "" if approval.decision == "approved" else "반려 · "
                value = f"{mark}{approval.display_name} {day.isoformat()}"
            cells.append((self.text(f"wf.stage.{stage}"), value))
        return key_value_table(cells, "approval-stages")

    def _show_actions(self, record: requests.RequestRecord, reset: bool) -> None:
        stage = record.next_stage
        signer_action = requests.STAGE_ACTIONS.get(stage or "", "")
        can_sign = stage is not None and self.allowed(signer_action)
        self._approval_actions.visible = can_sign
        if stage is not None:
            self.approve_button.label = self.text(
                "wf.approve", stage=self.text(f"wf.stage.{stage}")
            )

        self.edit_button.visible = (
            record.editable
            and self._on_edit is not None
            and self.allowed("manage_requests")
            and self.allowed("view_personal")
        )

        submitted = record.status == "submitted" and self.allowed("manage_requests")
        self._attach_section.visible = submitted
        self._section_titles["wf.attached"].visible = submitted
        if submitted and reset:
            self._load_attach_candidates(record)

        approved = record.status == "approved" and self.allowed("handover")
        self._handover_section.visible = approved
        if approved and reset:
            self._reset_handover(record)

        provided = record.status == "provided" and self.allowed("handover")
        self._notice_section.visible = provided
        if provided and reset:
            self._reset_notice()

        self.close_button.visible = record.status == "returned" and self.allowed(
            "manage_requests"
        )
        self.playback.show(record, self._handover, reset=reset)

    def _load_attach_candidates(self, record: requests.RequestRecord) -> None:
        found = self.attempt(
            lambda: requests.find_candidates(
                self.catalog.cursor(), record.recorded_at, record.recorded_phone
            )
        )
        options = candidate_options(
            found or [], self.config.tz, mask=self.mask_personal()
        )
        for recording_id in record.recording_ids:
            if recording_id not in options.values():
                options[f"#{recording_id}"] = recording_id
        self.attach_candidates.options = options
        self.attach_candidates.value = list(record.recording_ids)

    def _reset_handover(self, record: requests.RequestRecord) -> None:
        user = self.user
        defaults = {
            "recipient_address": record.requester_address,
            "recipient_name": record.requester_name,
            "official_affiliation": user.department,
            "official_rank": "",
            "official_name": user.display_name,
            "viewing_until": datetime.combine(
                self.today(), DEFAULT_VIEWING_END
            ).strftime("%Y-%m-%d %H:%M"),
        }
        for name, value in defaults.items():
            self.handover_inputs[name].value = value
        self.method.value = "copy" if record.access_kind == "provide" else "viewing"
        self.received_on.value = self.today()
        self.handover_recordings.options = {
            f"#{recording_id}": recording_id for recording_id in record.recording_ids
        }
        self.handover_recordings.value = list(record.recording_ids)
        self._show_method_inputs()

    def _show_method_inputs(self) -> None:
        self.handover_inputs["viewing_until"].visible = self.method.value == "viewing"

    def _reset_notice(self) -> None:
        self.notified_on.value = self.today()
        self.use_result.value = "evidence"
        self.destruction.value = "destroyed"
        self.not_destroyed_reason.value = ""
        self.planned_destruction_on.value = None
        for widget in self.notice_inputs.values():
            widget.value = ""

    def _show_prints(self, record: requests.RequestRecord) -> None:
        buttons = []
        documents: list[tuple[str, str, Callable[[], str]]] = [
            ("form1", "wf.form1", lambda: self.form_html("form1"))
        ]
        if self._handover is not None:
            documents.append(("form2", "wf.form2", lambda: self.form_html("form2")))
        if self._notices:
            documents.append(("form3", "wf.form3", lambda: self.form_html("form3")))
        pdf = forms.find_chromium() is not None
        for name, key, render in documents:
            stem = f"{name}-{record.number}"
            title = self.text(key)
            buttons.append(
                download_button(
                    f"{stem}.html",
                    lambda name=name, render=render: self.printout(
                        record, name, "html", render
                    ),
                    self.text("wf.print_html", form=title),
                    f"print-{name}-html",
                )
            )
            if pdf:
                buttons.append(
                    download_button(
                        f"{stem}.pdf",
                        lambda name=name, render=render: self.printout(
                            record, name, "pdf", render
                        ),
                        self.text("wf.print_pdf", form=title),
                        f"print-{name}-pdf",
                    )
                )
        self._prints.objects = buttons

    # --- printable forms --------------------------------------------------------------

    def form_html(self, name: str) -> str:
        """Render the printable form ``form1``, ``form2`` or ``form3`` of the request.

        The forms are the paper record of the request, so they carry personal
        data unmasked; only users who may see personal data get them.
        """
        self.acting_user("view_personal")
        record, tz = self._record, self.config.tz
        if name == "form1":
            return forms.render_request_form(record, tz=tz)
        if name == "form2":
            return forms.render_handover_form(record, self._handover, tz=tz)
        return forms.render_notice_form(
            record, self._handover, self._notices[-1], tz=tz
        )

    def printout(
        self,
        record: requests.RequestRecord,
        name: str,
        file_format: str,
        render: Callable[[], str],
    ) -> bytes:
        """Return form ``name`` as HTML or PDF bytes and log the download.

        A failure shows in the alert, downloads an empty file and is not logged.
        """
        if file_format == "pdf":
            data = self.pdf_bytes(render)
        else:
            data = (self.attempt(render) or "").encode("utf-8")
        if data:
            self.log_printout(record.id, record.number, name, file_format)
        return data

    def pdf_bytes(self, render: Callable[[], str]) -> bytes:
        """Print the form that ``render`` returns to PDF and return the bytes.

        A failure shows in the alert and downloads an empty file.
        """
        with tempfile.TemporaryDirectory(prefix="recwatch-form-") as folder:
            path = self.attempt(
                lambda: forms.html_to_pdf(render(), Path(folder) / "form.pdf")
            )
            return path.read_bytes() if path is not None else b""

    # --- actions ----------------------------------------------------------------------

    def _act(
        self, key: str, action: Callable[[], object], message: str | None = None
    ) -> bool:
        """Run one action, refresh the view and the list; return whether it worked.

        ``key`` names the button: the same button clicked again right after its
        action succeeded is the second click of a double-click, and is dropped.
        """
        last_key, last_at = self._last_success
        if key == last_key and monotonic() - last_at < REPEAT_CLICK_S:
            logger.info(
                "repeated click dropped: button=%s request=%s user=%s",
                key,
                self.request_id,
                self.user.username if self.user else "none",
            )
            return False
        self.clear_alert()
        if self.attempt(action) is None:
            return False
        self.refresh(reset_inputs=True)
        self._on_change()
        if message:
            self.show_success(message)
        self._last_success = (key, monotonic())
        return True

    def approve(self) -> bool:
        """Sign the request's next approval stage as the page's user."""
        record = self._record

        def sign():
            if record is None or record.next_stage is None:
                raise RecwatchError(
                    "no request with an open approval stage is selected. Pick a "
                    "submitted request from the list."
                )
            return requests.approve(
                self.catalog,
                self.acting_user(),
                record.id,
                record.next_stage,
                now=self.now(),
            )

        return self._act("approve", sign)

    def reject(self) -> bool:
        """Reject the request at its next stage with the typed reason."""
        record = self._record

        def reject_at_stage():
            if record is None or record.next_stage is None:
                raise RecwatchError(
                    "no request with an open approval stage is selected. Pick a "
                    "submitted request from the list."
                )
            return requests.reject(
                self.catalog,
                self.acting_user(),
                record.id,
                record.next_stage,
                self.reject_reason.value,
                now=self.now(),
            )

        return self._act("reject", reject_at_stage)

    def edit(self) -> bool:
        """Fill the page's Form 1 form with the open request for correction.

        The request is read again first, so a stage signed since it was opened
        shows as an error instead of a form that can no longer be saved.
        """
        self.clear_alert()

        def load() -> requests.RequestRecord:
            self.acting_user("manage_requests")
            # The form shows every personal field unmasked.
            self.acting_user("view_personal")
            record = requests.get_request(
                self.catalog.cursor(), self._require_record().id
            )
            requests.check_editable(record, self.config.tz)
            if self._on_edit is None:
                raise RecwatchError(
                    f"request {record.number} cannot be edited here because this "
                    f"view has no Form 1 form. Open it on the requests page."
                )
            self._on_edit(record)
            return record

        if self.attempt(load) is None:
            self.refresh()
            return False
        return True

    def attach(self) -> bool:
        """Attach the ticked recordings to the submitted request."""
        return self._act(
            "attach",
            lambda: requests.attach_recordings(
                self.catalog,
                self.acting_user("manage_requests"),
                self._require_record().id,
                self.attach_candidates.value,
                now=self.now(),
            ),
        )

    def attach_proof(self) -> bool:
        """Store the uploaded proof document and record it on the request."""

        def store():
            user = self.acting_user("manage_requests")
            record = self._require_record()
            stored = proofs.store_proof(
                self.config, record.id, self.proof.filename or "", self.proof.value
            )
            return proofs.attach_proof(
                self.catalog, user, record.id, stored, now=self.now()
            )

        name = self.proof.filename or ""
        if self._act("proof", store, self.text("wf.proof_attached", name=name)):
            self.proof.clear()
            return True
        return False

    def hand_over(self) -> handover.HandoverResult | None:
        """Provide the request as typed in the Form 2 section.

        For a protected copy the one-time password is shown in the page and is
        never stored; the archive is offered for download once and deleted then.
        """
        results: list[handover.HandoverResult] = []

        def provide():
            user = self.acting_user("handover")
            record = self._require_record()
            values = {name: w.value or "" for name, w in self.handover_inputs.items()}
            method = self.method.value
            viewing_until = None
            if method == "viewing":
                viewing_until = parse_local_time(
                    values["viewing_until"], self.config.tz, "viewing end"
                )
            result = handover.hand_over(
                self.catalog,
                user,
                record.id,
                recording_ids=self.handover_recordings.value,
                recipient=handover.Recipient(
                    values["recipient_address"], values["recipient_name"]
                ),
                official=handover.HandingOfficial(
                    values["official_affiliation"],
                    values["official_rank"],
                    values["official_name"],
                ),
                method=method,
                received_on=self.received_on.value,
                viewing_until=viewing_until,
                out_dir=self._copies_dir(),
                now=self.now(),
                tz=self.config.tz,
            )
            results.append(result)
            return result

        if not self._act("hand_over", provide):
            return None
        result = results[0]
        self.show_success(self.text("wf.handed_over", count=result.handover.file_count))
        if result.password is not None:
            self._archive = result.archive_path
            self.password.object = escape(
                self.text("wf.password", password=result.password)
            )
            self.password.visible = True
            self.copy_download.filename = result.archive_path.name
            self.copy_download.visible = True
        return result

    def _copies_dir(self) -> Path:
        folder = self.config.data_dir.joinpath(*COPIES_FOLDER)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder

    def _archive_bytes(self) -> bytes:
        # The copy leaves the server with its download, so protected copies do
        # not pile up in the data folder.
        if self._archive is None:
            return b""
        try:
            data = self._archive.read_bytes()
        except FileNotFoundError:
            self._clear_password()
            self.show_error(
                self.text(
                    "wf.copy_expired",
                    minutes=self.config["security.copy_keep_minutes"],
                )
            )
            return b""
        self._archive.unlink(missing_ok=True)
        self._archive = None
        return data

    def _clear_password(self) -> None:
        self.password.object = ""
        self.password.visible = False
        self.copy_download.visible = False
        self._archive = None

    def record_notice(self) -> bool:
        """Store the Form 3 notice as typed in the notice section."""

        def store():
            user = self.acting_user("handover")
            record = self._require_record()
            values = {name: w.value or "" for name, w in self.notice_inputs.items()}
            notice = returns.DestructionNotice(
                notified_on=self.notified_on.value or self.today(),
                use_result=self.use_result.value,
                destruction=self.destruction.value,
                confirmer_affiliation=values["confirmer_affiliation"],
                confirmer_rank=values["confirmer_rank"],
                confirmer_name=values["confirmer_name"],
                use_result_other=values["use_result_other"],
                destroyed_by_affiliation=values["destroyed_by_affiliation"],
                destroyed_by_name=values["destroyed_by_name"],
                not_destroyed_reason=self.not_destroyed_reason.value or "",
                extension_period=values["extension_period"],
                planned_destruction_on=as_date(self.planned_destruction_on.value),
                remarks=values["remarks"],
            )
            return returns.record_notice(
                self.catalog, user, record.id, notice, now=self.now()
            )

        return self._act("notice", store, self.text("wf.notice_recorded"))

    def close(self) -> bool:
        """Close the returned request."""
        record = self._record
        return self._act(
            "close",
            lambda: requests.close_request(
                self.catalog,
                self.acting_user("manage_requests"),
                self._require_record().id,
                now=self.now(),
            ),
            self.text("wf.closed", number=record.number if record else ""),
        )

    def _require_record(self) -> requests.RequestRecord:
        if self._record is None:
            raise RecwatchError(
                "no request is selected. Pick a request from the list first."
            )
        return self._record
