"""The ledger of views and provisions (Form 4: 녹취정보 열람·제공 관리대장).

One row per request, in management-number order, with the form's own columns
and Korean headers. Exports are CSV (UTF-8 with a byte order mark, which Excel
needs to read Korean text) and XLSX laid out for printing on landscape A4.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from pipeline import auth
from pipeline.requests import SEOUL, STAGES, STATUS_LABELS_KO

logger = logging.getLogger(__name__)

TITLE_KO = "행정전화 녹취시스템 녹취정보(열람, 제공) 관리대장"

LEDGER_COLUMNS = (
    "관리번호",
    "신청일시",
    "성명(기관명)",
    "생년월일(법인·사업자번호)",
    "주소(부서)",
    "녹취일시",
    "녹취전화번호",
    "신청목적",
    "비고",
    "담당자",
    "팀장",
    "과장",
)

# Form 4 groups columns under two headings, as (heading, first, last) with
# 1-based column numbers; the first two columns have no group.
_GROUPS = (("신청 내용", 3, 9), ("결재", 10, 12))
_COLUMN_WIDTHS = (11, 17, 16, 17, 24, 17, 15, 24, 22, 14, 14, 14)
_PERSONAL_COLUMNS = {
    "성명(기관명)": auth.mask_name,
    "생년월일(법인·사업자번호)": auth.mask_birth,
    "녹취전화번호": auth.mask_phone,
}


def ledger_rows(
    cursor, *, mask_personal: bool = False, tz: ZoneInfo = SEOUL
) -> pd.DataFrame:
    """Return the ledger as a DataFrame whose columns are :data:`LEDGER_COLUMNS`.

    Times are shown in ``tz``. An approval cell contains the signer's display name
    and date; a rejecting stage shows "반려" and the remarks give the reason.
    With ``mask_personal`` the name, birth date and phone number are masked
    with the :mod:`pipeline.auth` helpers, for roles that may not see them.
    """
    requests = cursor.execute(
        "SELECT id, number, requested_at, requester_name, requester_birth, "
        "requester_address, recorded_at, recorded_phone, purpose, remarks, "
        "status, rejection_reason FROM requests ORDER BY number"
    ).fetchall()
    approvals = cursor.execute(
        "SELECT request_id, stage, decision, display_name, decided_at "
        "FROM request_approvals"
    ).fetchall()
    signed: dict[tuple[int, str], str] = {}
    for request_id, stage, decision, display_name, decided_at in approvals:
        day = _local(decided_at, tz).strftime("%Y-%m-%d")
        label = "반려" if decision == "rejected" else display_name
        signed[(request_id, stage)] = f"{label} {day}"

    rows = []
    for (
        request_id,
        number,
        requested_at,
        name,
        birth,
        address,
        recorded_at,
        phone,
        purpose,
        remarks,
        status,
        rejection_reason,
    ) in requests:
        row = {
            "관리번호": number,
            "신청일시": _local(requested_at, tz).strftime("%Y-%m-%d %H:%M"),
            "성명(기관명)": name,
            "생년월일(법인·사업자번호)": birth,
            "주소(부서)": address,
            "녹취일시": _local(recorded_at, tz).strftime("%Y-%m-%d %H:%M"),
            "녹취전화번호": phone,
            "신청목적": purpose,
            "비고": _remarks(remarks, status, rejection_reason),
        }
        for stage, column in zip(STAGES, LEDGER_COLUMNS[-3:], strict=True):
            row[column] = signed.get((request_id, stage), "")
        if mask_personal:
            for column, mask in _PERSONAL_COLUMNS.items():
                row[column] = mask(row[column])
        rows.append(row)
    return pd.DataFrame(rows, columns=list(LEDGER_COLUMNS))


def _remarks(remarks: str, status: str, rejection_reason: str | None) -> str:
    parts = [remarks] if remarks else []
    if status == "rejected":
        parts.append(f"반려: {rejection_reason}")
    elif status != "closed":
        parts.append(f"상태: {STATUS_LABELS_KO[status]}")
    return " / ".join(parts)


def _local(value: datetime, tz: ZoneInfo) -> datetime:
    return value.astimezone(tz)


def export_ledger_csv(rows: pd.DataFrame, path: Path) -> Path:
    """Write the ledger as CSV in UTF-8 with a byte order mark and return the path."""
    path = Path(path)
    rows.to_csv(path, index=False, encoding="utf-8-sig")
    logger.info("ledger exported as CSV: %s (%d rows)", path, len(rows))
    return path


def export_ledger_xlsx(
    rows: pd.DataFrame, path: Path, *, printed_on: date | None = None
) -> Path:
    """Write the ledger as an XLSX workbook ready to print, and return the path.

    Row 1 contains the title, row 2 the column groups of Form 4 and row 3 the
    column headers; data starts on row 4. The sheet prints on landscape A4,
    fitted to one page wide, with the header rows repeated on every page.
    """
    path = Path(path)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "관리대장"
    last_column = len(LEDGER_COLUMNS)
    last_letter = get_column_letter(last_column)

    title = TITLE_KO if printed_on is None else f"{TITLE_KO} ({printed_on:%Y-%m-%d})"
    sheet.cell(row=1, column=1, value=title)
    sheet.merge_cells(f"A1:{last_letter}1")
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[1].height = 30

    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    header_fill = PatternFill("solid", fgColor="DDE4EE")
    header_font = Font(bold=True)
    centered = Alignment(horizontal="center", vertical="center", wrap_text=True)

    for index, header in enumerate(LEDGER_COLUMNS, start=1):
        cell = sheet.cell(row=3, column=index, value=header)
        for header_cell in (cell, sheet.cell(row=2, column=index)):
            header_cell.font = header_font
            header_cell.fill = header_fill
            header_cell.alignment = centered
            header_cell.border = border
    for group, first, last in _GROUPS:
        sheet.cell(row=2, column=first, value=group)
        sheet.merge_cells(start_row=2, start_column=first, end_row=2, end_column=last)

    wrapped = Alignment(vertical="top", wrap_text=True)
    for row_index, values in enumerate(rows.itertuples(index=False), start=4):
        for column_index, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_index, column=column_index, value=value)
            cell.alignment = wrapped
            cell.border = border

    for index, width in enumerate(_COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A4"
    sheet.print_title_rows = "1:3"
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4

    workbook.save(path)
    logger.info("ledger exported as XLSX: %s (%d rows)", path, len(rows))
    return path
