"""Turning catalog values into display text: times, sizes, phone numbers, rows.

Everything shown in the browser passes through here, so the display rules (time
zone, units, phone number format) live in one place.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from pipeline.auth import mask_phone
from pipeline.views.i18n import code_labels, direction_label, label, state_label

TIME_FORMAT = "%Y-%m-%d %H:%M"

# Display columns of a recordings table, in order. "state_code" keeps the raw
# retention state for row colours and is hidden in the browser.
RECORDING_COLUMNS = (
    "start_time",
    "line",
    "department",
    "direction",
    "other_party",
    "duration",
    "codec",
    "silence",
    "state",
    "expires",
    "flags",
    "error",
    "file_name",
)
HIDDEN_COLUMNS = ("id", "state_code")

# Korean phone numbers inside text: dashed ("02-0000-5678") or a digit run of 9 to
# 12 digits with a leading 0, as in FreePBX file names ("in-2101-0200001234-...").
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:0\d{1,3}-\d{3,4}-\d{4}|0\d{8,11})(?!\d)")


def format_time(value: datetime | pd.Timestamp | None, tz: ZoneInfo) -> str:
    """Format an instant as local time in ``tz``, e.g. '2026-12-04 14:05'."""
    if value is None or pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        # DuckDB returns TIMESTAMPTZ as aware values; a naive one is UTC.
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(tz).strftime(TIME_FORMAT)


def format_times(values: pd.Series, tz: ZoneInfo) -> pd.Series:
    """Format a column of instants as local times in ``tz``."""
    return values.map(lambda value: format_time(value, tz)).astype(object)


def format_bytes(size: int) -> str:
    """Format a byte count with binary units, e.g. '1.5 GiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_duration(seconds: float | None) -> str:
    """Format a duration in seconds as M:SS or H:MM:SS."""
    if seconds is None or pd.isna(seconds):
        return ""
    whole = int(round(float(seconds)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def format_phone(number: str | None, *, mask: bool = False) -> str:
    """Format a phone number for display, masked as "02-****-1234" with ``mask``."""
    if mask:
        return mask_phone(number)
    return number or ""


def mask_phone_numbers(text: str) -> str:
    """Mask every phone number inside ``text``, such as a file name or a message."""
    return _PHONE_IN_TEXT.sub(lambda match: mask_phone(match.group(0)), text)


def escape(text: object) -> str:
    """Escape text from files (names, error messages) for an HTML pane."""
    return html.escape(str(text), quote=True)


def recording_rows(
    frame: pd.DataFrame,
    *,
    language: str,
    tz: ZoneInfo,
    departments: dict[str, str] | None = None,
    mask_personal: bool = False,
) -> pd.DataFrame:
    """Turn one page of ``queries.list_recordings`` into display rows.

    All values become text, so the table shows them with Tabulator's plain-text
    formatter, which escapes HTML. ``departments`` (line -> department) fills in
    the department of files whose name does not carry one. With ``mask_personal``
    phone numbers in the other-party, error and file-name columns are masked.
    """
    departments = departments or {}
    rows = pd.DataFrame(index=frame.index)
    rows["id"] = frame["id"].astype("int64")
    rows["start_time"] = format_times(frame["start_time"], tz)
    rows["line"] = frame["line"].fillna("").astype(object)
    rows["department"] = [
        department if isinstance(department, str) and department else ""
        for department in frame["department"]
    ]
    rows["department"] = [
        department or departments.get(line, "")
        for department, line in zip(rows["department"], rows["line"], strict=True)
    ]
    rows["direction"] = [
        direction_label(value if isinstance(value, str) else None, language)
        for value in frame["direction"]
    ]
    rows["other_party"] = [
        format_phone(value if isinstance(value, str) else None, mask=mask_personal)
        for value in frame["other_party"]
    ]
    rows["duration"] = frame["duration_s"].map(format_duration).astype(object)
    rows["codec"] = frame["codec"].fillna("").astype(object)
    rows["silence"] = [
        "" if pd.isna(value) else f"{float(value):.0%}"
        for value in frame["silence_ratio"]
    ]
    rows["state"] = [state_label(state, language) for state in frame["retention_state"]]
    rows["expires"] = format_times(frame["expires_at"], tz)
    rows["flags"] = [code_labels("flag", flags, language) for flags in frame["flags"]]
    rows["error"] = frame["error"].fillna("").astype(object)
    rows["file_name"] = frame["file_name"].astype(object)
    if mask_personal:
        for column in ("error", "file_name"):
            rows[column] = rows[column].map(mask_phone_numbers).astype(object)
    rows["state_code"] = frame["retention_state"].astype(object)
    return rows.reset_index(drop=True)


def column_titles(language: str) -> dict[str, str]:
    """Return the header title of each display column in ``language``."""
    return {name: label(f"col.{name}", language) for name in RECORDING_COLUMNS}
