"""The own-copy page (내 녹취 사본): a party's encrypted copy of their own call.

An official who was a party to a call may keep a copy on their work PC,
protected by a password they choose. The page lists the recordings on the lines
assigned to the user (``user_lines``) and exports one as an AES-256 zip through
:func:`pipeline.protected_copy.export_own_copy`, which checks the line again
and logs the export. The password is sent once with the export request, is
never stored, and the inputs are emptied afterwards.
"""

from __future__ import annotations

import io
import logging

import pandas as pd
import panel as pn
import param

from pipeline import protected_copy
from pipeline.auth import mask_phone
from pipeline.errors import RecwatchError
from pipeline.views.formatting import escape, format_duration, format_time
from pipeline.views.heading import heading
from pipeline.views.session import PersonalViewLog
from pipeline.views.workflow_base import WorkflowPage, plain_table, set_options

logger = logging.getLogger(__name__)

# The page lists at most this many of the newest recordings on the user's lines.
MAX_LISTED = 500

COLUMNS = {
    "id": "wf.recording_id",
    "start_time": "oc.start_time",
    "line": "oc.line",
    "other_party": "oc.other_party",
    "duration": "oc.duration",
    "file_name": "oc.file_name",
}


class OwnCopyPage(WorkflowPage):
    """Recordings on the user's own lines and an encrypted export of one of them."""

    def __init__(self, service, user=None, **params):
        super().__init__(service, user, **params)
        # The list shows the other party's number of each call, so showing it
        # is a view of personal data like the recordings list.
        self._personal_log = PersonalViewLog(service, user) if user else None
        self._title = heading()
        self._hint = pn.pane.HTML("", css_classes=["own-copy-hint"])
        self._lines = pn.pane.HTML("", css_classes=["own-copy-lines"])
        self.table = plain_table("own-copy-table")
        self.recording = pn.widgets.Select(
            options={}, css_classes=["own-copy-recording"], width=420
        )
        self.password = pn.widgets.PasswordInput(css_classes=["own-copy-password"])
        self.confirm = pn.widgets.PasswordInput(css_classes=["own-copy-confirm"])
        self.download = pn.widgets.FileDownload(
            callback=self._archive_bytes,
            filename="recording.zip",
            embed=False,
            color="primary",
            css_classes=["own-copy-download"],
            sizing_mode="fixed",
            width=260,
        )
        self._export_section = pn.Column(
            self.recording,
            pn.Row(self.password, self.confirm),
            self.download,
            sizing_mode="stretch_width",
        )
        self._layout = pn.Column(
            self.alert,
            self._title,
            self._hint,
            self._lines,
            self.table,
            self._export_section,
            sizing_mode="stretch_width",
            css_classes=["own-copy-page", "page-content"],
        )
        self.relabel()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @param.depends("language", watch=True)
    def relabel(self) -> None:
        """Show the page's labels in the current language and read its data."""
        text = self.text
        self._title.object = f"### {text('oc.title')}"
        self._hint.object = escape(text("oc.hint"))
        self.recording.label = text("oc.recording")
        self.password.label = text("oc.password")
        self.confirm.label = text("oc.confirm")
        self.download.label = text("oc.download")
        self.refresh()

    def refresh(self) -> None:
        """Read the user's lines and the recordings on them again."""
        if self.user is None:
            self._lines.object = escape(self.text("oc.no_lines"))
            self._export_section.visible = False
            self.table.visible = False
            return
        cursor = self.catalog.cursor()
        lines = protected_copy.user_lines(cursor, self.user.username)
        if not lines:
            self._lines.object = (
                f'<div class="own-copy-no-lines">{escape(self.text("oc.no_lines"))}'
                f"</div>"
            )
            self._export_section.visible = False
            self.table.visible = False
            return
        self._lines.object = (
            f"<b>{escape(self.text('oc.lines'))}</b>: {escape(', '.join(lines))}"
        )
        frame = self.recordings(lines)
        if self._personal_log is not None:
            self._personal_log.record("own_copy", len(frame))
        self.table.visible = not frame.empty
        self._export_section.visible = not frame.empty
        if frame.empty:
            self._lines.object += (
                f'<div class="own-copy-empty">'
                f"{escape(self.text('oc.no_recordings'))}</div>"
            )
        self.table.value = frame.rename(
            columns={key: self.text(name) for key, name in COLUMNS.items()}
        )
        options = {
            f"#{row.id} {row.start_time} {row.file_name}": int(row.id)
            for row in frame.itertuples()
        }
        set_options(self.recording, options)
        if self.recording.value not in options.values() and options:
            self.recording.value = next(iter(options.values()))

    def recordings(self, lines: list[str]) -> pd.DataFrame:
        """Return the newest recordings on ``lines`` as display rows."""
        rows = (
            self.catalog.cursor()
            .execute(
                "SELECT id, start_time, line, other_party, duration_s, file_name_nfc "
                "FROM recordings WHERE status <> 'deleted' AND deleted_at IS NULL "
                "AND list_contains(?::VARCHAR[], regexp_replace(line, '[^0-9]', '', "
                "'g')) ORDER BY start_time DESC NULLS LAST, id DESC LIMIT ?",
                [lines, MAX_LISTED],
            )
            .fetchall()
        )
        mask = self.mask_personal()
        tz = self.config.tz
        return pd.DataFrame(
            [
                {
                    "id": recording_id,
                    "start_time": format_time(start, tz) if start else "",
                    "line": line or "",
                    "other_party": mask_phone(other) if mask and other else other,
                    "duration": format_duration(duration),
                    "file_name": file_name,
                }
                for recording_id, start, line, other, duration, file_name in rows
            ],
            columns=list(COLUMNS),
        )

    def export(self) -> bytes | None:
        """Export the chosen recording with the typed password and return the zip."""

        def run() -> bytes:
            user = self.acting_user("export_own")
            if self.password.value != self.confirm.value:
                raise RecwatchError(self.text("oc.mismatch"))
            recording_id = self.recording.value
            archive = protected_copy.export_own_copy(
                self.catalog, self.config, user, recording_id, self.password.value
            )
            # The browser saves the archive, so the server keeps no second copy.
            data = archive.read_bytes()
            archive.unlink(missing_ok=True)
            self.download.filename = archive.name
            return data

        data = self.attempt(run)
        self.password.value = ""
        self.confirm.value = ""
        if data is not None:
            self.show_success(
                self.text("oc.exported", recording=f"#{self.recording.value}")
            )
        return data

    def _archive_bytes(self) -> io.BytesIO:
        # NOTE: FileDownload expects bytes from its callback, so a rejected export
        # may save an empty file while the alert shows the error.
        return io.BytesIO(self.export() or b"")
