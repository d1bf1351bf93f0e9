"""Tests for the printable Korean forms, the reminder letter and PDF output."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from request_fixtures import (
    OPERATOR,
    approved_request,
    destroyed_notice,
    open_catalog,
    provide_by_viewing,
    sample_form,
)

from pipeline import forms, handover, ledger, requests, returns
from pipeline.catalog import Catalog
from pipeline.errors import RecwatchError

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
PROVIDED_ON = date(2026, 3, 5)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    with open_catalog(tmp_path / "c.duckdb") as opened:
        yield opened


@pytest.fixture
def pages(catalog: Catalog, tmp_path: Path) -> dict[str, str]:
    """Render every form from records whose text fields carry an XSS payload."""
    request_id, recording_ids = approved_request(catalog, tmp_path / "spool")
    hostile = requests.submit_request(
        catalog,
        OPERATOR,
        sample_form(requester_name=XSS, reason=XSS, purpose=XSS, remarks=XSS),
    )
    provide_by_viewing(catalog, request_id, recording_ids, PROVIDED_ON)
    catalog.write(
        lambda con: con.execute(
            "UPDATE handovers SET recipient_name = ?, recipient_address = ?",
            [XSS, XSS],
        )
    )
    notice = destroyed_notice(date(2026, 3, 20))
    notice = returns.DestructionNotice(**{**notice.__dict__, "remarks": XSS})
    returns.record_notice(catalog, OPERATOR, request_id, notice)

    cursor = catalog.cursor()
    record = requests.get_request(cursor, request_id)
    receipt = handover.get_handover(cursor, request_id)
    stored = returns.notices(cursor, request_id)[0]
    pending = returns.PendingReturn(
        request_id, record.number, XSS, XSS, PROVIDED_ON, date(2026, 4, 4), -2, False
    )
    return {
        "form1": forms.render_request_form(requests.get_request(cursor, hostile.id)),
        "form2": forms.render_handover_form(record, receipt),
        "form3": forms.render_notice_form(record, receipt, stored),
        "form4": forms.render_ledger(
            ledger.ledger_rows(cursor), printed_on=date(2026, 3, 21)
        ),
        "reminder": forms.reminder_letter_html(pending, date(2026, 4, 6)),
    }


FORM_TITLES = {
    "form1": "신청서",
    "form2": "녹취정보 인수ㆍ인계증",
    "form3": "녹취정보 활용 및 파기 결과 통보서",
    "form4": "행정전화 녹취시스템 녹취정보(열람, 제공) 관리대장",
    "reminder": "녹취정보 활용 및 파기 결과 통보 요청",
}


@pytest.mark.parametrize("name", list(FORM_TITLES))
def test_payload_is_escaped(pages, name):
    page = pages[name]
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize("name", list(FORM_TITLES))
def test_form_has_its_title(pages, name):
    assert FORM_TITLES[name] in pages[name]
    assert 'lang="ko"' in pages[name]
    assert "NanumGothic" in pages[name]


def test_request_form_labels(pages):
    page = pages["form1"]
    for label in ("성 명", "생년월일", "주 소", "연락처", "녹취일시", "녹취전화번호"):
        assert label in page
    for label in ("신청목적", "당사자와의", "신청사유", "첨부서류", "광명시장 귀하"):
        assert label in page
    assert re.search(r'class="chosen">제공<', page)


def test_handover_form_content(pages):
    page = pages["form2"]
    assert "2. 수령일자 : 2026년 3월 5일" in page
    assert "3. 서약 사항" in page
    assert "인수자" in page
    assert "인계자" in page
    assert "주무관" in page


def test_notice_form_checks_chosen_boxes(pages):
    page = pages["form3"]
    assert "■ 증거활용 / 기록물 보존" in page
    assert "■ 파기" in page
    assert "□ 미파기(사유)" in page
    assert "가상경찰서 수사과" in page


def test_ledger_page_is_landscape(pages):
    assert "size: A4 landscape" in pages["form4"]
    assert "2026-0001" in pages["form4"]


@pytest.mark.parametrize(
    ("today", "sentence"),
    [
        pytest.param(date(2026, 4, 6), "기한이 2일 지났습니다", id="overdue"),
        pytest.param(date(2026, 4, 4), "오늘이 회신 기한입니다", id="due-today"),
        pytest.param(date(2026, 3, 30), "기한까지 5일 남았습니다", id="before"),
    ],
)
def test_reminder_states_days(today, sentence):
    pending = returns.PendingReturn(
        1,
        "2026-0001",
        "가상경찰서",
        "경기도 가상시",
        PROVIDED_ON,
        date(2026, 4, 4),
        (date(2026, 4, 4) - today).days,
        False,
    )
    page = forms.reminder_letter_html(pending, today)
    assert sentence in page
    assert "회신 기한은 2026년 4월 4일" in page


def test_ledger_render_needs_columns():
    with pytest.raises(RecwatchError, match="ledger rows lack the columns"):
        forms.render_ledger(pd.DataFrame({"x": [1]}), printed_on=PROVIDED_ON)


def test_pdf_needs_chromium(tmp_path):
    with pytest.raises(RecwatchError, match="PDF output needs Chromium"):
        forms.html_to_pdf(
            "<p>x</p>", tmp_path / "x.pdf", chromium="/nonexistent/chromium"
        )


@pytest.mark.slow
@pytest.mark.skipif(forms.find_chromium() is None, reason="chromium is not installed")
@pytest.mark.parametrize("name", list(FORM_TITLES))
def test_pdf_embeds_korean_font(pages, tmp_path, name):
    path = forms.html_to_pdf(pages[name], tmp_path / f"{name}.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    # Chromium embeds a subset of each font it used, named "XXXXXX+FontName".
    assert re.search(rb"/BaseFont\s*/[A-Z]{6}\+NanumGothic", data)
