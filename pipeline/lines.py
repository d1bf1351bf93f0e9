"""Lines registry (회선 대장): recording mode and full-recording approval per line.

Full recording (전수 녹취) of a line needs an approval: a document number, who
approved it, and the dates it is valid. :func:`import_lines_csv` loads the
registry from a CSV file with English or Korean headers, and
:func:`unapproved_full_recordings` lists full-mode recordings made without a
current approval.

The check runs at query time rather than storing a flag on each recording, so a
registry change (a late approval, a corrected date) applies to every recording at
once and no stored flag can go stale. Such recordings carry the flag name
:data:`FLAG_FULL_WITHOUT_APPROVAL` in query results only.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from pipeline import accesslog
from pipeline.config import Config
from pipeline.errors import RecwatchError

logger = logging.getLogger(__name__)

FLAG_FULL_WITHOUT_APPROVAL = "full_without_approval"
ACCESS_LOG_ACTION = "lines_import"

# The lines and departments tables belong to the catalog's first migration.
SCHEMA_SQL: list[str] = []

COLUMNS = (
    "number",
    "department",
    "mode",
    "approval_doc",
    "approved_by",
    "valid_from",
    "valid_to",
)

# Korean headers as the city's own line list writes them.
KOREAN_HEADERS = {
    "회선번호": "number",
    "부서": "department",
    "녹취방식(전수/선택)": "mode",
    "녹취방식": "mode",
    "승인문서번호": "approval_doc",
    "승인자": "approved_by",
    "유효시작": "valid_from",
    "유효종료": "valid_to",
}

MODES = {
    "full": "full",
    "selective": "selective",
    "전수": "full",
    "전수 녹취": "full",
    "선택": "selective",
    "선택적": "selective",
    "선택적 녹취": "selective",
}

# Problems that make a full-mode recording unapproved, in the order they are checked.
PROBLEMS = {
    "line_not_registered": "line missing from the lines registry",
    "line_selective": "line registered for selective recording only",
    "no_approval": "line has no approval document",
    "approval_not_valid": "approval dates do not cover the call's start",
}

_LINE_NUMBER = re.compile(r"[0-9][0-9-]*")
_DATE_FORMATS = ("%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%Y%m%d")


@dataclass(frozen=True)
class LineRow:
    """One validated row of a lines CSV file."""

    number: str
    department: str | None
    mode: str
    approval_doc: str | None
    approved_by: str | None
    valid_from: date | None
    valid_to: date | None


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the lines registry tables if they are missing (the catalog has them)."""
    for statement in SCHEMA_SQL:
        con.execute(statement)


def _read_text(path: Path) -> str:
    # Spreadsheet programs on Korean Windows save plain CSV as CP949 by default,
    # so that encoding is tried after UTF-8 (with or without BOM).
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp949")
    except UnicodeDecodeError:
        raise RecwatchError(
            f"cannot read {path}: the file is neither UTF-8 nor CP949 text. Save "
            "it as CSV UTF-8"
        ) from None


def _map_headers(path: Path, headers: list[str]) -> list[str]:
    mapped = []
    for header in headers:
        name = header.strip()
        column = KOREAN_HEADERS.get(name, name.lower())
        if column not in COLUMNS:
            raise RecwatchError(
                f"{path}: unknown column {header!r} in the header row: expected "
                f"{', '.join(COLUMNS)} or the Korean headers "
                f"{', '.join(KOREAN_HEADERS)}"
            )
        if column in mapped:
            raise RecwatchError(f"{path}: column {column} appears twice in the header")
        mapped.append(column)
    for required in ("number", "mode"):
        if required not in mapped:
            raise RecwatchError(f"{path}: missing column {required} in the header row")
    return mapped


def _parse_date(text: str, where: str) -> date | None:
    if not text:
        return None
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise RecwatchError(f"{where}: invalid date {text!r}: expected YYYY-MM-DD")


def _parse_row(values: dict[str, str], where: str) -> LineRow:
    """Validate one CSV row. ``where`` names the file and row for errors."""
    number = re.sub(r"\s+", "", values.get("number", ""))
    if not _LINE_NUMBER.fullmatch(number):
        raise RecwatchError(
            f"{where}, column number: invalid line number {number!r}: expected "
            "digits, optionally with hyphens, such as 2101"
        )
    mode_text = values.get("mode", "").strip()
    mode = MODES.get(mode_text.lower())
    if mode is None:
        raise RecwatchError(
            f"{where}, column mode: invalid recording mode {mode_text!r}: expected "
            "full or selective (전수 or 선택)"
        )
    row = LineRow(
        number=number,
        department=values.get("department", "").strip() or None,
        mode=mode,
        approval_doc=values.get("approval_doc", "").strip() or None,
        approved_by=values.get("approved_by", "").strip() or None,
        valid_from=_parse_date(
            values.get("valid_from", "").strip(), f"{where}, column valid_from"
        ),
        valid_to=_parse_date(
            values.get("valid_to", "").strip(), f"{where}, column valid_to"
        ),
    )
    if row.approval_doc and row.valid_from is None:
        raise RecwatchError(
            f"{where}, column valid_from: missing start date for approval "
            f"{row.approval_doc}: an approval needs the date it takes effect"
        )
    if row.valid_from and row.valid_to and row.valid_to < row.valid_from:
        raise RecwatchError(
            f"{where}, column valid_to: {row.valid_to} is before valid_from "
            f"{row.valid_from}"
        )
    return row


def read_lines_csv(path: str | Path) -> list[LineRow]:
    """Read and validate a lines CSV file, raising on the first invalid row.

    Row numbers in errors count the header as row 1, as a spreadsheet shows them.
    """
    path = Path(path)
    try:
        text = _read_text(path)
    except FileNotFoundError:
        raise RecwatchError(f"lines file not found: {path}") from None
    reader = csv.reader(text.splitlines())
    try:
        headers = next(reader)
    except StopIteration:
        raise RecwatchError(f"{path} is empty: expected a header row") from None
    columns = _map_headers(path, headers)

    rows: list[LineRow] = []
    first_row_of: dict[str, int] = {}
    for row_number, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue
        where = f"{path} row {row_number}"
        if len(values) != len(columns):
            raise RecwatchError(
                f"{where}: found {len(values)} fields, expected {len(columns)} "
                "as in the header row"
            )
        row = _parse_row(dict(zip(columns, values, strict=True)), where)
        if row.number in first_row_of:
            raise RecwatchError(
                f"{where}, column number: line {row.number} is already listed in "
                f"row {first_row_of[row.number]}: keep one row per line"
            )
        first_row_of[row.number] = row_number
        rows.append(row)
    return rows


def import_lines_csv(
    con: duckdb.DuckDBPyConnection, path: str | Path, *, actor: str = "system"
) -> int:
    """Insert or replace the lines of a CSV file in the registry; return the count.

    Call on the catalog's writer thread. Every row is validated before any is
    written, so an invalid file changes nothing. Lines that are not in the file
    stay in the registry.
    """
    rows = read_lines_csv(path)
    con.executemany(
        f"INSERT OR REPLACE INTO lines ({', '.join(COLUMNS)})"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [[getattr(row, column) for column in COLUMNS] for row in rows],
    )
    accesslog.append(
        con,
        actor=actor,
        action=ACCESS_LOG_ACTION,
        object_type="line",
        object_ids=[row.number for row in rows],
        detail={"count": len(rows)},
    )
    logger.info("lines registry: %d line(s) imported", len(rows))
    return len(rows)


def list_lines(cursor: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Return the registry, one row per line, ordered by number."""
    return cursor.execute(
        f"SELECT {', '.join(COLUMNS)} FROM lines ORDER BY number"
    ).df()


def _problem_sql(local_date: str) -> str:
    """Return a SQL CASE naming why a full-mode call is unapproved, or NULL."""
    return (
        "CASE"
        " WHEN l.number IS NULL THEN 'line_not_registered'"
        " WHEN l.mode <> 'full' THEN 'line_selective'"
        " WHEN coalesce(l.approval_doc, '') = '' THEN 'no_approval'"
        f" WHEN l.valid_from IS NULL OR {local_date} < l.valid_from"
        f" OR {local_date} > coalesce(l.valid_to, DATE '9999-12-31')"
        " THEN 'approval_not_valid'"
        " END"
    )


def unapproved_full_recordings(
    cursor: duckdb.DuckDBPyConnection,
    config: Config,
    *,
    include_deleted: bool = False,
) -> pd.DataFrame:
    """Return the full-mode recordings whose line had no current approval.

    A recording qualifies when its line is missing from the registry, is
    registered as selective, has no approval document, or has approval dates
    that do not cover the recording's start date in the configured time zone.
    ``valid_to`` is inclusive, and an empty ``valid_to`` is open-ended.
    The department is the recording's own, else the registry's for its line.
    Columns: id, start_time, line, department, status, problem (a key of
    :data:`PROBLEMS`), problem_text and flag.
    """
    local_date = "CAST(timezone($tz, r.start_time) AS DATE)"
    problem = _problem_sql(local_date)
    status_filter = "" if include_deleted else " AND r.status <> 'deleted'"
    frame = cursor.execute(
        "SELECT * FROM ("
        f" SELECT r.id, r.start_time, r.line,"
        " coalesce(r.department, l.department) AS department, r.status,"
        f" {problem} AS problem"
        " FROM recordings AS r LEFT JOIN lines AS l ON l.number = r.line"
        f" WHERE r.mode = 'full' AND r.start_time IS NOT NULL{status_filter}"
        ") WHERE problem IS NOT NULL ORDER BY start_time, id",
        {"tz": config["timezone"]},
    ).df()
    frame["problem_text"] = frame["problem"].map(PROBLEMS)
    frame["flag"] = FLAG_FULL_WITHOUT_APPROVAL
    return frame
