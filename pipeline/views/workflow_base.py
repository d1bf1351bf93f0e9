"""Shared parts of the request workflow, holds, purge and lines pages.

Every such page acts for one logged-in user, shows errors of the pipeline as a
visible alert instead of a traceback, and offers files through Panel's
FileDownload widget. FileDownload sends the bytes over the session's
authenticated websocket, so no file ever sits under a served static path.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TypeVar

import pandas as pd
import panel as pn
import param

from pipeline import accesslog, auth
from pipeline.auth import User
from pipeline.errors import PermissionDenied, RecwatchError
from pipeline.service import Service
from pipeline.views.formatting import escape
from pipeline.views.i18n import LABELS, code_labels, label
from pipeline.views.session import client_addr, record_access
from pipeline.views.table import TABLE_CSS

logger = logging.getLogger(__name__)

T = TypeVar("T")

LOCAL_TIME_FORMAT = "%Y-%m-%d %H:%M"


def parse_local_time(text: str, tz, field: str) -> datetime:
    """Parse ``YYYY-MM-DD HH:MM`` typed in a form as an aware time in ``tz``."""
    value = (text or "").strip()
    try:
        naive = datetime.strptime(value, LOCAL_TIME_FORMAT)
    except ValueError:
        raise RecwatchError(
            f"{field} {value!r} is not a valid time. Expected YYYY-MM-DD HH:MM, "
            f"for example 2026-03-02 10:15.",
            code="invalid_time",
            values={"value": value},
        ) from None
    return naive.replace(tzinfo=tz)


# Label key prefixes of error values that are workflow codes.
ERROR_VALUE_LABELS = {
    "stage": "wf.stage.",
    "expected": "wf.stage.",
    "status": "wf.status.",
    "new_status": "wf.status.",
}

# Tabulator's own pager reads "First Prev Next Last" in any page language, and
# its options cannot change after the table is built. Arrows read the same in
# Korean and English, like the ◀ ▶ of the recordings pager.
PAGER_SYMBOLS = {
    "first": "«",
    "first_title": "1",
    "prev": "‹",
    "prev_title": "-1",
    "next": "›",
    "next_title": "+1",
    "last": "»",
    "last_title": "n",
}


def plain_table(css_class: str) -> pn.widgets.Tabulator:
    """Return a read-only Tabulator in the style of the recording tables.

    A cut-off cell shows its whole text on hover.
    """
    return pn.widgets.Tabulator(
        value=pd.DataFrame(),
        show_index=False,
        disabled=True,
        sortable=False,
        selectable=False,
        layout="fit_data_stretch",
        sizing_mode="stretch_width",
        css_classes=[css_class],
        stylesheets=[TABLE_CSS],
        configuration={
            "columnDefaults": {"tooltip": True},
            "locale": "recwatch",
            "langs": {"recwatch": {"pagination": PAGER_SYMBOLS}},
        },
    )


def download_button(
    filename: str,
    make_bytes: Callable[[], bytes],
    text: str,
    css_class: str,
) -> pn.widgets.FileDownload:
    """Return a FileDownload that builds its bytes only when it is clicked."""
    return pn.widgets.FileDownload(
        callback=lambda: io.BytesIO(make_bytes()),
        filename=filename,
        label=text,
        embed=False,
        color="default",
        css_classes=[css_class],
        sizing_mode="fixed",
        width=260,
    )


def set_options(widget, options: dict[str, object]) -> None:
    """Replace a choice widget's options in place, keeping its value."""
    value = widget.value
    widget.options = options
    if value in options.values():
        widget.value = value


def as_date(value) -> date | None:
    """Return a DatePicker value as a date; None stays None."""
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    return value.date()


def key_value_table(rows: list[tuple[str, object]], css_class: str) -> str:
    """Return two-column key/value rows as an escaped HTML table."""
    body = "".join(
        f'<tr><th style="text-align:left;padding:3px 12px 3px 0;color:#444;'
        f'white-space:nowrap;vertical-align:top">{escape(key)}</th>'
        f'<td style="padding:3px 0">{escape(value)}</td></tr>'
        for key, value in rows
    )
    return f'<table class="{css_class}" style="font-size:14px">{body}</table>'


class WorkflowPage(pn.viewable.Viewer):
    """A dashboard page that acts for one user and reports errors in an alert.

    ``user`` is the logged-in user; a page built without one shows a login
    message and every action raises PermissionDenied. ``clock`` returns the
    current aware time, so tests can fix the date that due dates count from.
    """

    language = param.Selector(default="ko", objects=["ko", "en"])

    def __init__(
        self,
        service: Service,
        user: User | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        **params,
    ):
        super().__init__(**params)
        self._service = service
        self.user = user
        self._clock = clock or (lambda: datetime.now(UTC))
        self.alert = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["workflow-alert"]
        )

    @property
    def config(self):
        return self._service.config

    @property
    def catalog(self):
        return self._service.catalog

    def now(self) -> datetime:
        """Return the current time as an aware datetime."""
        return self._clock()

    def today(self) -> date:
        """Return today's date in the configured time zone."""
        return self.now().astimezone(self.config.tz).date()

    def text(self, key: str, **values: object) -> str:
        """Return the label ``key`` in the page's language."""
        return label(key, self.language, **values)

    def allowed(self, action: str) -> bool:
        """Return whether the page's user may perform ``action``."""
        return self.user is not None and auth.allowed(self.user, action)

    def log_printout(
        self, request_id: int, number: str, document: str, file_format: str
    ) -> None:
        """Write a ``print_form`` access-log entry for a downloaded printable form.

        The forms and reminder letters carry the request's personal data
        unmasked, so each download is logged like a ledger export.
        """
        record_access(
            self._service,
            self.user,
            "print_form",
            object_type="request",
            object_ids=(request_id,),
            detail={"number": number, "document": document, "format": file_format},
        )

    def acting_user(self, action: str | None = None) -> User:
        """Return the page's user, raising PermissionDenied without one or the right."""
        if self.user is None:
            raise PermissionDenied(
                "no user is logged in to this dashboard session. Log in again, "
                "then repeat the action."
            )
        if action is not None:
            auth.require(self.user, action)
        return self.user

    def mask_personal(self) -> bool:
        """Return whether personal fields must be masked for the page's user."""
        return self.user is None or not auth.can_see_personal(self.user)

    def show_success(self, message: str) -> None:
        """Show ``message`` in the page's alert as a success."""
        self.alert.alert_type = "success"
        self.alert.object = escape(message)
        self.alert.visible = True

    def show_error(self, message: str) -> None:
        """Show ``message`` in the page's alert as an error."""
        self.alert.alert_type = "danger"
        self.alert.object = f"<b>{escape(self.text('wf.error'))}</b>: {escape(message)}"
        self.alert.visible = True

    def clear_alert(self) -> None:
        """Hide the page's alert."""
        self.alert.visible = False
        self.alert.object = ""

    def attempt(self, action: Callable[[], T]) -> T | None:
        """Run ``action`` and return its result, or None after a RecwatchError.

        The error's message is shown in the alert. Access-log entries written by
        the action carry the browser's address.

        Only the project's own errors are caught: they carry a message meant for
        the user. Anything else is a bug, and Panel logs its traceback.
        """
        token = accesslog.CLIENT_ADDRESS.set(client_addr() or None)
        try:
            return action()
        except RecwatchError as error:
            logger.warning(
                "dashboard action failed for %s: %s",
                self.user.username if self.user else "no user",
                error.code or type(error).__name__,
            )
            self.show_error(self.error_text(error))
            return None
        finally:
            accesslog.CLIENT_ADDRESS.reset(token)

    def error_text(self, error: RecwatchError) -> str:
        """Return the error's message in the page's language when it has a code.

        Errors without a code, or with one that has no message here yet, keep
        the pipeline's English message.
        """
        key = f"err.{error.code}"
        if not error.code or key not in LABELS:
            return str(error)
        values = {
            name: self._error_value(name, value) for name, value in error.values.items()
        }
        return self.text(key, **values)

    def _error_value(self, name: str, value: object) -> object:
        """Return an error value in the page's language where it is a known code.

        ``fields`` lists form field names, ``roles`` role codes, and stage and
        status values are workflow codes. Other values pass through.
        """
        if name == "fields":
            return ", ".join(
                self.text(f"wf.{field}") if f"wf.{field}" in LABELS else field
                for field in value
            )
        if name == "roles":
            return code_labels("role", value, self.language)
        prefix = ERROR_VALUE_LABELS.get(name)
        if prefix and f"{prefix}{value}" in LABELS:
            return self.text(f"{prefix}{value}")
        return value
