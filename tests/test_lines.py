"""Lines registry: CSV import in English and Korean, and unapproved full recording."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from conftest import write_call
from retention_fixtures import (
    catalog_files,
    create_retention_schema,
    one_line,
    run_cli,
)

from pipeline import accesslog, lines
from pipeline.errors import RecwatchError

ENGLISH = (
    "number,department,mode,approval_doc,approved_by,valid_from,valid_to\n"
    "2101,민원여권과,full,정보통신과-0101,정보통신과장,2026-01-01,2026-12-31\n"
    "2102,민원여권과,selective,,,,\n"
    "2103,세무과,full,정보통신과-0202,정보통신과장,2026-12-01,\n"
)
KOREAN = (
    "회선번호,부서,녹취방식(전수/선택),승인문서번호,승인자,유효시작,유효종료\n"
    "2201,교통행정과,전수,정보통신과-0303,정보통신과장,2026.03.01,2027.02.28\n"
    "2202,교통행정과,선택,,,,\n"
)


def write_csv(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "lines.csv"
    path.write_text(text, encoding=encoding)
    return path


@pytest.fixture
def schema(catalog):
    catalog.write(create_retention_schema)
    return catalog


def import_csv(catalog, path):
    return catalog.write(lambda con: lines.import_lines_csv(con, path, actor="admin"))


def test_import_english_headers(schema, tmp_path):
    assert import_csv(schema, write_csv(tmp_path, ENGLISH)) == 3
    frame = lines.list_lines(schema.cursor())
    assert list(frame["number"]) == ["2101", "2102", "2103"]
    assert list(frame["mode"]) == ["full", "selective", "full"]
    first = frame.iloc[0]
    assert first["approval_doc"] == "정보통신과-0101"
    assert first["valid_from"].date() == date(2026, 1, 1)
    assert first["valid_to"].date() == date(2026, 12, 31)
    assert pd.isna(frame.iloc[1]["approval_doc"])


@pytest.mark.parametrize(
    "encoding",
    [
        pytest.param("utf-8", id="utf8"),
        pytest.param("utf-8-sig", id="utf8-bom"),
        pytest.param("cp949", id="cp949"),
    ],
)
def test_import_korean_headers(schema, tmp_path, encoding):
    assert import_csv(schema, write_csv(tmp_path, KOREAN, encoding)) == 2
    frame = lines.list_lines(schema.cursor())
    assert list(frame["number"]) == ["2201", "2202"]
    assert list(frame["mode"]) == ["full", "selective"]
    assert list(frame["department"]) == ["교통행정과", "교통행정과"]
    assert frame.iloc[0]["valid_to"].date() == date(2027, 2, 28)


def test_import_replaces_existing_line(schema, tmp_path):
    import_csv(schema, write_csv(tmp_path, ENGLISH))
    update = "number,mode\n2102,full\n"
    import_csv(schema, write_csv(tmp_path, update))
    frame = lines.list_lines(schema.cursor()).set_index("number")
    assert frame.loc["2102", "mode"] == "full"
    assert len(frame) == 3


def test_import_writes_access_log(schema, tmp_path):
    import_csv(schema, write_csv(tmp_path, ENGLISH))
    entries = schema.query(
        "SELECT actor, object_ids, detail->>'count' FROM access_log"
        " WHERE action = 'lines_import'"
    )
    assert entries == [("admin", ["2101", "2102", "2103"], "3")]
    assert accesslog.verify(schema.cursor()).intact


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "number,mode,colour\n2101,full,red\n",
            "unknown column 'colour'",
            id="unknown-column",
        ),
        pytest.param(
            "department\n민원여권과\n", "missing column number", id="no-number"
        ),
        pytest.param(
            "number,mode\n2101,full\n21x1,full\n",
            "row 3, column number: invalid line number '21x1'",
            id="bad-number",
        ),
        pytest.param(
            "number,mode\n2101,always\n",
            "row 2, column mode: invalid recording mode 'always'",
            id="bad-mode",
        ),
        pytest.param(
            "number,mode,approval_doc,valid_from\n2101,full,A-1,2026-13-01\n",
            "row 2, column valid_from: invalid date '2026-13-01'",
            id="bad-date",
        ),
        pytest.param(
            "number,mode,approval_doc,valid_from,valid_to\n"
            "2101,full,A-1,2026-05-01,2026-04-01\n",
            "row 2, column valid_to: 2026-04-01 is before valid_from",
            id="end-before-start",
        ),
        pytest.param(
            "number,mode,approval_doc\n2101,full,A-1\n",
            "row 2, column valid_from: missing start date",
            id="approval-without-start",
        ),
        pytest.param(
            "number,mode\n2101,full\n2101,selective\n",
            "row 3, column number: line 2101 is already listed in row 2",
            id="duplicate",
        ),
        pytest.param(
            "number,mode\n2101,full,extra\n", "found 3 fields, expected 2", id="width"
        ),
        pytest.param("", "is empty", id="empty"),
    ],
)
def test_import_rejects_invalid(schema, tmp_path, text, message):
    path = write_csv(tmp_path, text)
    with pytest.raises(RecwatchError, match=message):
        import_csv(schema, path)
    assert lines.list_lines(schema.cursor()).empty


def test_invalid_row_imports_nothing(schema, tmp_path):
    path = write_csv(tmp_path, ENGLISH + "2104,세무과,sometimes,,,,\n")
    with pytest.raises(RecwatchError, match="row 5"):
        import_csv(schema, path)
    assert lines.list_lines(schema.cursor()).empty


def test_import_missing_file(schema, tmp_path):
    with pytest.raises(RecwatchError, match="lines file not found"):
        import_csv(schema, tmp_path / "absent.csv")


def call(spool: Path, start: datetime, line: str, kind: str = "in") -> Path:
    folder = spool / f"{start:%Y/%m/%d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = write_call(spool, start, unique=f"{line}.{start:%H%M}")
    renamed = folder / path.name.replace("in-2101-", f"{kind}-{line}-")
    path.rename(renamed)
    return renamed


def test_unapproved_full_recordings(schema, config, tmp_path):
    import_csv(schema, write_csv(tmp_path, ENGLISH))
    spool = config.recorders[0].root
    approved = call(spool, datetime(2026, 6, 1, 10, 0), "2101")
    last_day = call(spool, datetime(2026, 12, 31, 23, 30), "2101")
    after_end = call(spool, datetime(2027, 1, 1, 0, 30), "2101")
    selective = call(spool, datetime(2026, 6, 1, 11, 0), "2102")
    selective_ok = call(spool, datetime(2026, 6, 1, 11, 30), "2102", "ondemand")
    unknown = call(spool, datetime(2026, 6, 1, 12, 0), "2999")
    before_start = call(spool, datetime(2026, 11, 30, 23, 59), "2103")
    open_ended = call(spool, datetime(2027, 6, 1, 9, 0), "2103")
    paths = [
        approved,
        last_day,
        after_end,
        selective,
        selective_ok,
        unknown,
        before_start,
        open_ended,
    ]
    ids = catalog_files(schema, config, paths)

    frame = lines.unapproved_full_recordings(schema.cursor(), config)
    found = dict(zip(frame["id"], frame["problem"], strict=True))
    assert found == {
        ids[after_end]: "approval_not_valid",
        ids[selective]: "line_selective",
        ids[unknown]: "line_not_registered",
        ids[before_start]: "approval_not_valid",
    }
    assert set(frame["flag"]) == {lines.FLAG_FULL_WITHOUT_APPROVAL}
    assert frame.set_index("id").loc[ids[unknown], "problem_text"] == (
        "line missing from the lines registry"
    )
    departments = frame.set_index("id")["department"]
    assert departments[ids[selective]] == "민원여권과"
    assert departments[ids[before_start]] == "세무과"
    assert pd.isna(departments[ids[unknown]])


def test_unapproved_without_document(schema, config, tmp_path):
    import_csv(schema, write_csv(tmp_path, "number,mode\n2101,full\n"))
    path = call(config.recorders[0].root, datetime(2026, 6, 1, 10, 0), "2101")
    recording_id = catalog_files(schema, config, [path])[path]
    frame = lines.unapproved_full_recordings(schema.cursor(), config)
    assert list(frame["id"]) == [recording_id]
    assert list(frame["problem"]) == ["no_approval"]


def test_unapproved_skips_deleted(schema, config):
    path = call(config.recorders[0].root, datetime(2026, 6, 1, 10, 0), "2999")
    recording_id = catalog_files(schema, config, [path])[path]
    schema.write(
        lambda con: con.execute(
            "UPDATE recordings SET status = 'deleted' WHERE id = ?", [recording_id]
        )
    )
    cursor = schema.cursor()
    assert lines.unapproved_full_recordings(cursor, config).empty
    with_deleted = lines.unapproved_full_recordings(
        cursor, config, include_deleted=True
    )
    assert list(with_deleted["id"]) == [recording_id]


def test_lines_commands(schema, config, tmp_path):
    path = call(config.recorders[0].root, datetime(2026, 6, 1, 10, 0), "2999")
    recording_id = catalog_files(schema, config, [path])[path]
    schema.close()
    csv_path = write_csv(tmp_path, KOREAN)

    imported = run_cli(tmp_path, config, "lines", "import", str(csv_path))
    assert imported.exit_code == 0, imported.output
    assert imported.stdout.strip() == "lines: imported=2"

    listed = run_cli(tmp_path, config, "lines", "list")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines() == [
        "number,department,mode,approval_doc,approved_by,valid_from,valid_to",
        "2201,교통행정과,full,정보통신과-0303,정보통신과장,2026-03-01,2027-02-28",
        "2202,교통행정과,selective,,,,",
    ]

    unapproved = run_cli(tmp_path, config, "lines", "unapproved")
    assert unapproved.exit_code == 0, unapproved.output
    assert unapproved.stdout.splitlines() == [
        f"{recording_id}\t2026-06-01 10:00:00\t2999\t"
        "line missing from the lines registry",
        "unapproved: 1",
    ]


def test_lines_import_command_error(catalog, config, tmp_path):
    catalog.close()
    csv_path = write_csv(tmp_path, "number,mode\n2101,sometimes\n")
    result = run_cli(tmp_path, config, "lines", "import", str(csv_path))
    assert result.exit_code == 1
    assert "row 2, column mode: invalid recording mode" in one_line(result.stderr)
