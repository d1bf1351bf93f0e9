"""Printable Korean forms: Forms 1 to 4, the reminder letter, and PDF output.

The HTML views carry the forms' own titles and labels from the city's
regulation and fill them from the stored records. Jinja2 autoescaping escapes
every value, so text typed into a request cannot add markup to the page. Pages
are sized for A4 (Form 4 landscape) and use the Nanum Gothic font.

PDF output runs headless Chromium, because no HTML-to-PDF library is among the
project's dependencies.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.errors import RecwatchError
from pipeline.handover import METHOD_LABELS_KO, Handover
from pipeline.ledger import LEDGER_COLUMNS
from pipeline.requests import SEOUL, RequestRecord
from pipeline.returns import PendingReturn, StoredNotice

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).with_name("templates")

# TODO: read the city and the managing department from the configuration once it
# has settings for them. The forms name the city in the regulation's title.
CITY_NAME = "광명시"
MANAGING_DEPARTMENT = "정보통신 담당부서"

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
# Keep Chromium off the network and away from the user's profile: nothing may
# download at run time.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-pdf-header-footer",
)
PDF_TIMEOUT_S = 120

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_request_form(
    record: RequestRecord, *, tz: ZoneInfo = SEOUL, city: str = CITY_NAME
) -> str:
    """Render Form 1 (행정전화 녹취정보 열람·제공 신청서) as HTML."""
    return _render(
        "form1_request.html",
        title=f"녹취정보 신청서 {record.number}",
        city=city,
        number=record.number,
        access_kind=record.access_kind,
        requester_name=record.requester_name,
        requester_birth=record.requester_birth,
        requester_address=record.requester_address,
        requester_contact=record.requester_contact,
        recorded_at=_datetime_text(record.recorded_at, tz),
        recorded_phone=record.recorded_phone,
        purpose=record.purpose,
        relation=record.relation,
        reason=record.reason,
        requested_on=_date_text(record.requested_at.astimezone(tz).date()),
        proof_file_name=record.proof_file_name or "",
        proof_sha256=(record.proof_sha256 or "")[:16],
    )


def render_handover_form(
    record: RequestRecord,
    handover: Handover,
    *,
    tz: ZoneInfo = SEOUL,
    city: str = CITY_NAME,
) -> str:
    """Render Form 2 (녹취정보 인수·인계증) as HTML."""
    return _render(
        "form2_handover.html",
        title=f"녹취정보 인수·인계증 {record.number}",
        city=city,
        received_on=_date_text(handover.received_on),
        recipient_address=handover.recipient.address,
        recipient_name=handover.recipient.name,
        official_affiliation=handover.official.affiliation,
        official_rank=handover.official.rank,
        official_name=handover.official.name,
        **_summary(record, handover, tz),
    )


def render_notice_form(
    record: RequestRecord,
    handover: Handover,
    stored: StoredNotice,
    *,
    tz: ZoneInfo = SEOUL,
    city: str = CITY_NAME,
) -> str:
    """Render Form 3 (녹취정보 활용 및 파기 결과 통보서) as HTML."""
    notice = stored.notice
    planned = notice.planned_destruction_on
    return _render(
        "form3_notice.html",
        title=f"녹취정보 활용 및 파기 결과 통보서 {record.number}",
        city=city,
        use_result=notice.use_result,
        use_result_other=notice.use_result_other,
        destruction=notice.destruction,
        destroyed_by_affiliation=notice.destroyed_by_affiliation,
        destroyed_by_name=notice.destroyed_by_name,
        not_destroyed_reason=notice.not_destroyed_reason,
        extension_period=notice.extension_period,
        planned_destruction_on=_date_text(planned) if planned else "",
        notice_remarks=notice.remarks,
        notified_on=_date_text(notice.notified_on),
        confirmer_affiliation=notice.confirmer_affiliation,
        confirmer_rank=notice.confirmer_rank,
        confirmer_name=notice.confirmer_name,
        **_summary(record, handover, tz),
    )


def render_ledger(rows: pd.DataFrame, *, printed_on: date) -> str:
    """Render Form 4 (녹취정보 열람·제공 관리대장) from :func:`ledger_rows` as HTML."""
    missing = [column for column in LEDGER_COLUMNS if column not in rows.columns]
    if missing:
        raise RecwatchError(
            f"ledger rows lack the columns {missing}. Build them with "
            f"pipeline.ledger.ledger_rows."
        )
    values = [
        ["" if pd.isna(value) else str(value) for value in row]
        for row in rows[list(LEDGER_COLUMNS)].itertuples(index=False)
    ]
    return _render(
        "form4_ledger.html",
        title="녹취정보 열람·제공 관리대장",
        landscape=True,
        printed_on=_date_text(printed_on),
        rows=values,
    )


def reminder_letter_html(
    request: PendingReturn,
    today: date,
    *,
    city: str = CITY_NAME,
    sender: str = MANAGING_DEPARTMENT,
) -> str:
    """Render a letter asking the recipient of ``request`` for its Form 3 notice."""
    days_left = (request.due_on - today).days
    if days_left < 0:
        status_sentence = (
            f"오늘({_date_text(today)}) 기준 기한이 {-days_left}일 지났습니다."
        )
    elif days_left == 0:
        status_sentence = "오늘이 회신 기한입니다."
    else:
        status_sentence = f"기한까지 {days_left}일 남았습니다."
    return _render(
        "reminder_letter.html",
        title=f"파기 결과 통보 요청 {request.number}",
        city=city,
        sender=sender,
        number=request.number,
        recipient_name=request.recipient_name,
        recipient_address=request.recipient_address,
        provided_on=_date_text(request.provided_on),
        due_on=_date_text(request.due_on),
        status_sentence=status_sentence,
        today=_date_text(today),
    )


def html_to_pdf(
    html: str,
    out_path: Path,
    *,
    chromium: str | None = None,
    timeout_s: float = PDF_TIMEOUT_S,
) -> Path:
    """Print ``html`` to a PDF file with headless Chromium and return its path.

    Raises RecwatchError when Chromium is not installed, fails or times out.
    """
    candidates = (chromium,) if chromium else CHROMIUM_CANDIDATES
    executable = find_chromium(candidates)
    if executable is None:
        raise RecwatchError(
            "PDF output needs Chromium, which was not found at "
            f"{', '.join(candidates)}. Install the chromium package, or "
            "open the HTML form in a browser and print it to PDF."
        )
    out_path = Path(out_path).resolve()
    with tempfile.TemporaryDirectory(prefix="recwatch-pdf-") as folder:
        source = Path(folder) / "form.html"
        source.write_text(html, encoding="utf-8")
        command = [
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={Path(folder) / 'profile'}",
            f"--print-to-pdf={out_path}",
            source.as_uri(),
        ]
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise RecwatchError(
                f"Chromium did not finish printing {out_path.name} within "
                f"{timeout_s} s. Retry, or print the HTML form from a browser."
            ) from None
    if completed.returncode != 0 or not out_path.is_file():
        tail = (completed.stderr or "").strip().splitlines()[-3:]
        raise RecwatchError(
            f"Chromium failed to print {out_path.name} (exit status "
            f"{completed.returncode}): {' | '.join(tail)}"
        )
    logger.info("form printed to PDF: %s", out_path)
    return out_path


def find_chromium(candidates: tuple[str, ...] = CHROMIUM_CANDIDATES) -> str | None:
    """Return the path of the first executable among ``candidates``, or None."""
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _render(template: str, **context: object) -> str:
    context.setdefault("landscape", False)
    return _environment.get_template(template).render(**context)


def _summary(record: RequestRecord, handover: Handover, tz: ZoneInfo) -> dict:
    """Return the "1. 녹취정보 내용" row shared by Forms 2 and 3."""
    remarks = METHOD_LABELS_KO[handover.method]
    if handover.viewing_until is not None:
        remarks += f", {_datetime_text(handover.viewing_until, tz)}까지"
    return {
        "number": record.number,
        "recorded_at": _datetime_text(record.recorded_at, tz),
        "recorded_phone": record.recorded_phone,
        "purpose": record.purpose,
        "file_count": handover.file_count,
        "remarks": remarks,
    }


def _date_text(day: date) -> str:
    return f"{day.year}년 {day.month}월 {day.day}일"


def _datetime_text(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
