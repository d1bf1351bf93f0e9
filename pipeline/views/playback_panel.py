"""Playback and download section of an approved request on the request detail view.

The section shows only for a request that is approved or provided and only to a
user whose roles allow play or download. The pipeline checks everything again
(:mod:`pipeline.playback`), so a control shown by mistake still serves nothing.
Audio reaches the browser as a property of the session's Bokeh model, over the
authenticated websocket, never from a static path. The reason field is emptied
after every play or download, so each one needs a reason typed anew.
"""

from __future__ import annotations

import io
import logging

import panel as pn

from pipeline import handover, playback, requests
from pipeline.views.formatting import format_time
from pipeline.views.heading import heading
from pipeline.views.session import client_addr
from pipeline.views.workflow_base import WorkflowPage, set_options

logger = logging.getLogger(__name__)


class PlaybackPanel(pn.viewable.Viewer):
    """Recording choice, reason, play button with player, and download button.

    ``page`` is the request detail page that owns the section: its user acts,
    and its alert shows errors and successes.
    """

    def __init__(self, page: WorkflowPage):
        super().__init__()
        self._page = page
        self._request_id: int | None = None
        # Recording id -> file name, for the name a download is saved under.
        self._file_names: dict[int, str] = {}
        self.recording = pn.widgets.Select(
            options={}, css_classes=["playback-recording"], width=420
        )
        self.reason = pn.widgets.TextInput(
            css_classes=["playback-reason"], max_length=playback.MAX_REASON_CHARS
        )
        self.play_button = pn.widgets.Button(
            color="primary", css_classes=["play-recording"], width=140
        )
        self.play_button.on_click(lambda _event: self.play())
        self.player = pn.pane.Audio(
            None, visible=False, css_classes=["playback-audio"], sizing_mode="fixed"
        )
        self.download_button = pn.widgets.FileDownload(
            callback=self._download_bytes,
            filename="recording.wav",
            embed=False,
            color="default",
            css_classes=["download-recording"],
            sizing_mode="fixed",
            width=200,
        )
        self.recording.param.watch(lambda _event: self._recording_changed(), "value")
        self._title = heading()
        self._hint = pn.pane.HTML("", css_classes=["playback-hint"])
        self._controls = pn.Row(self.play_button, self.download_button)
        self._layout = pn.Column(
            self._title,
            self._hint,
            self.recording,
            self.reason,
            self._controls,
            self.player,
            sizing_mode="stretch_width",
            css_classes=["playback-section"],
            visible=False,
        )
        self.relabel()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def relabel(self) -> None:
        """Show the section's labels in the page's language."""
        text = self._page.text
        self._title.object = f"#### {text('pb.title')}"
        self._hint.object = text("pb.hint")
        self.recording.label = text("pb.recording")
        self.reason.label = text("pb.reason")
        self.reason.placeholder = text("pb.reason_placeholder")
        self.play_button.label = text("pb.play")
        self.download_button.label = text("pb.download")

    def show(
        self,
        record: requests.RequestRecord | None,
        receipt: handover.Handover | None,
        *,
        reset: bool,
    ) -> None:
        """Show the section for ``record`` when its status and the user allow it."""
        page = self._page
        can_play = page.allowed("play")
        can_download = page.allowed("download")
        visible = (
            record is not None
            and record.status in playback.OPEN_STATUSES
            and (can_play or can_download)
        )
        self._layout.visible = visible
        if not visible:
            self._request_id = None
            self._stop_player()
            return
        self.play_button.visible = can_play
        self.download_button.visible = can_download
        if reset or self._request_id != record.id:
            self._request_id = record.id
            self.reason.value = ""
            self._stop_player()
            covered = (
                receipt.recording_ids if receipt is not None else record.recording_ids
            )
            options = self._options(covered)
            set_options(self.recording, options)
            if self.recording.value not in options.values() and options:
                self.recording.value = next(iter(options.values()))
            self._recording_changed()

    def play(self) -> bool:
        """Play the chosen recording with the typed reason; return True on success."""
        page = self._page
        recording_id = self.recording.value
        media = page.attempt(
            lambda: playback.play(
                page.catalog,
                page.acting_user("play"),
                recording_id,
                request_id=self._request_id,
                reason=self.reason.value,
                config=page.config,
                client_addr=client_addr(),
                now=page.now(),
            )
        )
        self.reason.value = ""
        if media is None:
            self._stop_player()
            return False
        self.player.object = media.data
        self.player.visible = True
        page.show_success(page.text("pb.playing", recording=f"#{recording_id}"))
        return True

    def _download_bytes(self) -> io.BytesIO:
        page = self._page
        recording_id = self.recording.value
        media = page.attempt(
            lambda: playback.download(
                page.catalog,
                page.acting_user("download"),
                recording_id,
                request_id=self._request_id,
                reason=self.reason.value,
                config=page.config,
                client_addr=client_addr(),
                now=page.now(),
            )
        )
        self.reason.value = ""
        if media is None:
            # NOTE: FileDownload expects bytes from its callback, so a rejected
            # download may save an empty file while the alert shows the error.
            return io.BytesIO(b"")
        page.show_success(page.text("pb.downloaded", recording=f"#{recording_id}"))
        return io.BytesIO(media.data)

    def _options(self, recording_ids) -> dict[str, int]:
        """Return Select options (display text -> id) for the request's recordings."""
        if not recording_ids:
            return {}
        page = self._page
        rows = (
            page.catalog.cursor()
            .execute(
                "SELECT id, start_time, file_name_nfc FROM recordings "
                "WHERE list_contains(?::BIGINT[], id) ORDER BY id",
                [list(recording_ids)],
            )
            .fetchall()
        )
        self._file_names = {recording_id: name for recording_id, _, name in rows}
        found = {
            recording_id: f"#{recording_id} {format_time(start, page.config.tz)} "
            f"{file_name}"
            for recording_id, start, file_name in rows
        }
        return {
            found.get(recording_id, f"#{recording_id}"): recording_id
            for recording_id in recording_ids
        }

    def _recording_changed(self) -> None:
        self._stop_player()
        chosen = self.recording.value
        self.download_button.filename = self._file_names.get(
            chosen, f"recording-{chosen}.wav"
        )

    def _stop_player(self) -> None:
        self.player.object = None
        self.player.visible = False
