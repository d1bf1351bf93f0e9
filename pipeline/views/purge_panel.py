"""Purge status for the overview, and the purge page for operators (파기).

:class:`PurgeStatus` shows the last and next scheduled purge and how many
recordings are past their retention period and still on disk, which is a
violation and should be 0. :class:`PurgePage` runs a dry run that lists what a
purge would delete, and applies the purge only after the operator ticks a
confirmation.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

import pandas as pd
import panel as pn
import param

from pipeline import purge, queries
from pipeline.views.formatting import escape, format_time
from pipeline.views.heading import heading
from pipeline.views.i18n import STATE_COLORS, label
from pipeline.views.workflow_base import WorkflowPage, plain_table

logger = logging.getLogger(__name__)

RETENTION_LINK = "?page=retention"
OK_COLOR = "#2e7d32"

COLUMNS = {
    "recording_id": "wf.recording_id",
    "start_time": "wf.recorded_at",
    "outcome": "wf.outcome",
    "reason": "wf.hold_reason",
    "path": "wf.path",
}


# A finished run whose expiry time is older than this shows it beside its time.
AS_OF_SHOWN_AFTER = timedelta(minutes=10)


def last_run(cursor) -> tuple[datetime | None, str | None, datetime | None]:
    """Return the finish time, status and expiry time of the newest applied purge.

    The expiry time is the ``now`` the run measured expiry against, which is
    earlier than its finish time when it was run for a past moment.
    """
    rows = cursor.execute(
        "SELECT finished_at, status, now_used FROM purge_runs WHERE mode = 'apply'"
        " ORDER BY started_at DESC, id DESC LIMIT 1"
    ).fetchall()
    return rows[0] if rows else (None, None, None)


def purge_status_html(service, language: str, now: datetime | None = None) -> str:
    """Return the purge status block: last run, next run and overdue files."""
    config = service.config
    cursor = service.catalog.cursor()
    finished_at, status, now_used = last_run(cursor)
    scheduler = service.purge_scheduler
    next_run = scheduler.next_run if scheduler is not None else None
    error = scheduler.last_error if scheduler is not None else None
    overdue = queries.state_counts(cursor, config, now=now)["overdue"]

    color = STATE_COLORS["overdue"] if overdue else OK_COLOR
    never = label("never", language)
    last_text = format_time(finished_at, config.tz) if finished_at else never
    if status and status != "completed":
        last_text += f" ({status})"
    if finished_at and now_used and finished_at - now_used > AS_OF_SHOWN_AFTER:
        # A run for a past moment leaves files that expired since then, which
        # would otherwise look like a failed purge.
        last_text += " " + label(
            "wf.purge_as_of", language, time=format_time(now_used, config.tz)
        )
    next_text = (
        format_time(next_run, config.tz)
        if next_run
        else label("wf.not_scheduled", language)
    )

    rows = [
        (label("wf.last_purge", language), escape(last_text), ""),
        (label("wf.next_purge", language), escape(next_text), ""),
        (
            label("wf.overdue_files", language),
            f"{overdue:,}",
            f"color:{color};font-weight:700",
        ),
    ]
    if error:
        rows.append(
            (
                label("wf.purge_error", language),
                escape(error),
                f"color:{STATE_COLORS['overdue']}",
            )
        )

    body = "".join(
        f'<tr><th style="text-align:left;padding:2px 12px 2px 0">{escape(name)}</th>'
        f'<td class="purge-{index}" style="{style}">{value}</td></tr>'
        for index, (name, value, style) in enumerate(rows)
    )
    link = (
        f'<a href="{RETENTION_LINK}" class="retention-link">'
        f"{escape(label('wf.retention_link', language))}</a>"
    )
    return (
        f'<div class="purge-status" data-overdue="{overdue}">'
        f"<table>{body}</table>{link}</div>"
    )


# The reason pipeline.purge gives a held file: "held until 2026-12-31 (hold 3)".
HELD_REASON = re.compile(
    re.escape(purge.HELD_REASON_PREFIX) + r"(?P<until>\S+) \(hold (?P<hold>\d+)\)"
)
# Label keys of the other reasons that pipeline.purge gives in English.
PURGE_REASON_KEYS = {
    purge.REASON_EXPIRED: "wf.purge_reason.expired",
    purge.REASON_OUTSIDE_ROOTS: "wf.purge_reason.outside_roots",
    purge.REASON_SYMLINK: "wf.purge_reason.symlink",
    purge.REASON_MISSING: "wf.purge_reason.missing",
    purge.REASON_CHANGED: "wf.purge_reason.changed",
    purge.REASON_NOT_REGULAR: "wf.purge_reason.not_regular",
    purge.REASON_RESUMED: "wf.purge_reason.resumed",
    purge.REASON_HELD_WHILE_PLANNED: "wf.purge_reason.held_while_planned",
}


class PurgeStatus(pn.viewable.Viewer):
    """The overview's purge block: last run, next run and overdue count."""

    language = param.Selector(default="ko", objects=["ko", "en"])

    def __init__(self, service, **params):
        super().__init__(**params)
        self._service = service
        self._title = heading()
        self._body = pn.pane.HTML("", css_classes=["purge-status-pane"])
        self._layout = pn.Column(self._title, self._body, sizing_mode="stretch_width")
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @param.depends("language", watch=True)
    def refresh(self) -> None:
        """Read the purge runs, the schedule and the overdue count again."""
        self._title.object = f"### {label('wf.purge_status', self.language)}"
        self._body.object = purge_status_html(self._service, self.language)


class PurgePage(WorkflowPage):
    """Dry run and confirmed purge of expired recordings, for operators."""

    def __init__(self, service, user=None, **params):
        super().__init__(service, user, **params)
        self.status = PurgeStatus(service, language=self.language)
        self._title = heading()
        self.dry_run_button = pn.widgets.Button(css_classes=["purge-dry-run"])
        self.confirm = pn.widgets.Checkbox(value=False, css_classes=["purge-confirm"])
        self.apply_button = pn.widgets.Button(
            color="danger", disabled=True, css_classes=["purge-apply"]
        )
        self._totals = pn.pane.HTML("", css_classes=["purge-totals"])
        self.table = plain_table("purge-table")
        self.summary: purge.PurgeSummary | None = None
        self.dry_run_button.on_click(lambda _event: self.dry_run())
        self.apply_button.on_click(lambda _event: self.apply())
        self.confirm.param.watch(lambda _event: self._enable_apply(), "value")
        self._actions = pn.Column(
            self.dry_run_button,
            self.confirm,
            self.apply_button,
            sizing_mode="stretch_width",
        )
        self._layout = pn.Column(
            self.alert,
            self.status,
            self._title,
            self._actions,
            self._totals,
            self.table,
            sizing_mode="stretch_width",
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @param.depends("language", watch=True)
    def refresh(self) -> None:
        """Show the labels, the purge status and the last result again."""
        text = self.text
        self.status.language = self.language
        self.status.refresh()
        self._title.object = f"### {text('wf.purge')}"
        self.dry_run_button.label = text("wf.dry_run")
        self.confirm.label = text("wf.confirm_purge")
        self.apply_button.label = text("wf.apply_purge")
        self._actions.visible = self.allowed("purge")
        self._enable_apply()
        self._show_summary()

    def _enable_apply(self) -> None:
        # The purge deletes beyond recovery: it needs a dry run to look at and
        # an explicit confirmation first.
        self.apply_button.disabled = not (
            self.confirm.value and self.summary is not None and not self.summary.apply
        )

    def dry_run(self) -> purge.PurgeSummary | None:
        """List what a purge would delete now, without touching any file."""
        return self._run(apply=False)

    def apply(self) -> purge.PurgeSummary | None:
        """Purge the expired unheld recordings, after a dry run and confirmation."""
        if not self.confirm.value:
            self.show_error(self.text("wf.confirm_purge"))
            return None
        return self._run(apply=True)

    def _run(self, *, apply: bool) -> purge.PurgeSummary | None:
        self.clear_alert()

        def run() -> purge.PurgeSummary:
            user = self.acting_user("purge")
            return purge.run_purge(
                self.catalog,
                self.config,
                apply=apply,
                now=self.now(),
                operator=user.username,
            )

        summary = self.attempt(run)
        if summary is None:
            return None
        self.summary = summary
        self.confirm.value = False
        self.refresh()
        return summary

    def _show_summary(self) -> None:
        summary = self.summary
        if summary is None:
            self._totals.object = ""
            self.table.visible = False
            return
        key = "wf.purge_totals" if summary.apply else "wf.purge_dry_totals"
        self._totals.object = escape(
            self.text(
                key,
                deleted=summary.deleted if summary.apply else summary.would_delete,
                held=summary.held,
                skipped=summary.skipped,
                errors=summary.errors,
            )
        )
        self.table.titles = {column: self.text(k) for column, k in COLUMNS.items()}
        self.table.value = self.rows(summary)
        self.table.visible = bool(summary.lines)

    def reason_text(self, reason: str) -> str:
        """Return a purge reason in the page's language.

        Other text passes through unchanged, so an error keeps the operating
        system's own message, which names the cause.
        """
        match = HELD_REASON.fullmatch(reason)
        if match:
            return self.text(
                "wf.purge_reason.held", until=match["until"], hold=match["hold"]
            )
        key = PURGE_REASON_KEYS.get(reason)
        return self.text(key) if key else reason

    def rows(self, summary: purge.PurgeSummary) -> pd.DataFrame:
        """Return one display row per file of a purge run."""
        tz = self.config.tz
        rows = [
            {
                "recording_id": line.recording_id,
                "start_time": format_time(line.start_time, tz),
                "outcome": self.text(f"wf.outcome.{line.outcome}"),
                "reason": self.reason_text(line.reason),
                "path": line.path,
            }
            for line in summary.lines
        ]
        return pd.DataFrame(rows, columns=list(COLUMNS))
