"""Tests for the Form 4 ledger and its CSV and XLSX exports."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
from request_fixtures import (
    OPERATOR,
    STAFF,
    TEAM_LEADER,
    approve_all,
    attach_new_recording,
    open_catalog,
    sample_form,
)
from typer.testing import CliRunner

from pipeline import accesslog, ledger, requests
from pipeline.catalog import Catalog
from pipeline.requests_cli import ledger_app

SUBMITTED_AT = datetime(2026, 3, 3, 0, 30, tzinfo=UTC)  # 09:30 in Seoul


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    with open_catalog(tmp_path / "c.duckdb") as opened:
        yield opened


@pytest.fixture
def filled(catalog: Catalog, tmp_path: Path) -> Catalog:
    """Catalog with an approved request, a rejected one and a submitted one."""
    approved = requests.submit_request(
        catalog, OPERATOR, sample_form(remarks="긴급"), now=SUBMITTED_AT
    )
    attach_new_recording(catalog, tmp_path / "spool", approved.id)
    approve_all(catalog, approved.id)
    rejected = requests.submit_request(
        catalog, OPERATOR, sample_form(requester_name="가상법인"), now=SUBMITTED_AT
    )
    requests.approve(catalog, STAFF, rejected.id, "staff")
    requests.reject(catalog, TEAM_LEADER, rejected.id, "team_leader", "증빙 부족")
    requests.submit_request(catalog, OPERATOR, sample_form(), now=SUBMITTED_AT)
    return catalog


def test_rows_have_form_columns(filled):
    rows = ledger.ledger_rows(filled.cursor())

    assert list(rows.columns) == list(ledger.LEDGER_COLUMNS)
    assert list(rows["관리번호"]) == ["2026-0001", "2026-0002", "2026-0003"]
    first = rows.iloc[0]
    assert first["신청일시"] == "2026-03-03 09:30"
    assert first["성명(기관명)"] == "홍길동"
    assert first["생년월일(법인·사업자번호)"] == "1980-01-02"
    assert first["주소(부서)"] == "경기도 가상시 중앙로 1"
    assert first["녹취일시"] == "2026-03-02 10:15"
    assert first["녹취전화번호"] == "02-0000-1234"
    assert first["신청목적"] == "민원 처리 경위 확인"
    assert first["비고"] == "긴급 / 상태: 승인"
    assert first["담당자"].startswith("이담당 ")
    assert first["팀장"].startswith("박팀장 ")
    assert first["과장"].startswith("최과장 ")


def test_rejected_row_shows_reason(filled):
    rows = ledger.ledger_rows(filled.cursor())
    rejected = rows.iloc[1]
    assert rejected["비고"] == "반려: 증빙 부족"
    assert rejected["팀장"].startswith("반려 ")
    assert rejected["과장"] == ""


def test_masking_hides_personal_fields(filled):
    rows = ledger.ledger_rows(filled.cursor(), mask_personal=True)
    first = rows.iloc[0]
    assert first["성명(기관명)"] == "홍*동"
    assert first["생년월일(법인·사업자번호)"] == "1980-**-**"
    assert first["녹취전화번호"] == "02-****-1234"
    assert first["관리번호"] == "2026-0001"


def test_empty_ledger_has_headers(catalog):
    rows = ledger.ledger_rows(catalog.cursor())
    assert rows.empty
    assert list(rows.columns) == list(ledger.LEDGER_COLUMNS)


def test_csv_has_bom_and_korean_headers(filled, tmp_path):
    path = ledger.export_ledger_csv(
        ledger.ledger_rows(filled.cursor()), tmp_path / "l.csv"
    )

    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as stream:
        table = list(csv.reader(stream))
    assert table[0] == list(ledger.LEDGER_COLUMNS)
    assert len(table) == 4
    assert table[1][0] == "2026-0001"
    assert table[1][2] == "홍길동"


def test_xlsx_layout_and_content(filled, tmp_path):
    rows = ledger.ledger_rows(filled.cursor(), mask_personal=True)
    path = ledger.export_ledger_xlsx(
        rows, tmp_path / "l.xlsx", printed_on=date(2026, 3, 4)
    )

    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    assert sheet["A1"].value == f"{ledger.TITLE_KO} (2026-03-04)"
    assert sheet["C2"].value == "신청 내용"
    assert sheet["J2"].value == "결재"
    headers = [cell.value for cell in sheet[3]]
    assert headers == list(ledger.LEDGER_COLUMNS)
    assert sheet["A4"].value == "2026-0001"
    assert sheet["C4"].value == "홍*동"
    assert sheet["G4"].value == "02-****-1234"
    assert sheet.max_row == 6
    assert sheet["A3"].font.bold
    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == str(sheet.PAPERSIZE_A4)
    assert sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.freeze_panes == "A4"
    assert sheet.column_dimensions["E"].width > 20


# --- recwatch ledger export -----------------------------------------------------------


def write_config(tmp_path: Path) -> Path:
    """Write a configuration whose data folder lives under ``tmp_path``."""
    (tmp_path / "spool").mkdir(exist_ok=True)
    path = tmp_path / "recwatch.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        f'[[recorders]]\nroot = "{tmp_path / "spool"}"\n',
        encoding="utf-8",
    )
    return path


def test_cli_export_xlsx_masked_and_logged(filled, tmp_path):
    filled.close()
    out = tmp_path / "ledger.xlsx"
    result = CliRunner().invoke(
        ledger_app,
        [
            "export",
            "--out",
            str(out),
            "--db",
            str(tmp_path / "c.duckdb"),
            "--config",
            str(write_config(tmp_path)),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "wrote 3 rows" in result.output
    sheet = openpyxl.load_workbook(out).active
    assert sheet["C4"].value == "홍*동"
    with open_catalog(tmp_path / "c.duckdb") as reopened:
        last = reopened.query(
            "SELECT action, object_type, detail::VARCHAR FROM access_log "
            "ORDER BY id DESC LIMIT 1"
        )
        assert accesslog.verify(reopened.cursor()).intact
    assert last[0][0] == "export"
    assert last[0][1] == "ledger"
    assert json.loads(last[0][2]) == {
        "kind": "ledger",
        "format": "xlsx",
        "rows": 3,
        "masked": True,
    }


def test_cli_export_csv_unmasked(filled, tmp_path):
    filled.close()
    out = tmp_path / "ledger.csv"
    result = CliRunner().invoke(
        ledger_app,
        [
            "export",
            "--format",
            "csv",
            "--no-mask",
            "--out",
            str(out),
            "--db",
            str(tmp_path / "c.duckdb"),
            "--config",
            str(write_config(tmp_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("관리번호,신청일시,성명(기관명)")
    assert "홍길동" in text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--format", "pdf"], "format 'pdf' is invalid", id="format"),
        pytest.param(["--db", "missing.duckdb"], "was not found", id="no-catalog"),
    ],
)
def test_cli_export_rejects_bad_options(catalog, tmp_path, arguments, message):
    catalog.close()
    base = [
        "export",
        "--out",
        str(tmp_path / "x.xlsx"),
        "--db",
        str(tmp_path / "c.duckdb"),
        "--config",
        str(write_config(tmp_path)),
    ]
    result = CliRunner().invoke(ledger_app, base + arguments)
    assert result.exit_code in (1, 2)
    assert message in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_cli_export_refuses_locked_catalog(catalog, tmp_path):
    db = tmp_path / "c.duckdb"
    catalog.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from pipeline.catalog import Catalog;"
            f" c = Catalog({str(db)!r}); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = CliRunner().invoke(
            ledger_app,
            [
                "export",
                "--out",
                str(tmp_path / "x.xlsx"),
                "--db",
                str(db),
                "--config",
                str(write_config(tmp_path)),
            ],
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    assert f"is in use by process {holder.pid}" in result.output
    assert not (tmp_path / "x.xlsx").exists()
