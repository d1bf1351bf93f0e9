"""Display names of the codes that the catalog and the access log store.

Flags, access-log actions and results, ingest stages and roles stay English
codes in the catalog, the exports and the command line, and the dashboard names
them in the user's language. The tests below fail when a new code has no name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from pipeline import auth, callstats
from pipeline.views.formatting import recording_rows
from pipeline.views.i18n import CODE_LABELS, code_label, code_labels

PIPELINE = Path(__file__).resolve().parent.parent / "pipeline"
SOURCES = [path.read_text(encoding="utf-8") for path in PIPELINE.rglob("*.py")]
SOURCES.append((PIPELINE.parent / "dashboard.py").read_text(encoding="utf-8"))


def codes_in_source(*patterns: str) -> set[str]:
    """Return every code that one of the regular expressions captures."""
    found = set()
    for text in SOURCES:
        for pattern in patterns:
            found.update(re.findall(pattern, text))
    return found


def test_every_logged_action_has_names():
    actions = codes_in_source(
        r'action="([a-z_]+)"',
        r'ACTION = "([a-z_]+)"',
        r'"(view_page)"',
        r'"export" if method == "copy" else "(handover)"',
        r'record_access\(\s*[^,]+,\s*[^,]+,\s*"([a-z_]+)"',
    )
    assert {"login", "play", "purge", "hold_change", "search_personal"} <= actions
    assert actions - set(CODE_LABELS["action"]) == set()


def test_every_stored_flag_has_names():
    flags = codes_in_source(
        r'flags=\("([a-z_]+)"',
        r'flags\.append\("([a-z_]+)"\)',
        r'\["flags"\]\.append\("([a-z_]+)"\)',
        r'FLAG_[A-Z_]+ = "([a-z_]+)"',
    )
    flags |= {f"verdict_{verdict}" for verdict in callstats.VERDICTS if verdict != "ok"}
    flags.add("symlink")
    assert {"truncated", "notice_missing", "duplicate_content"} <= flags
    assert flags - set(CODE_LABELS["flag"]) == set()


def test_every_object_type_has_names():
    kinds = codes_in_source(r'object_type="([a-z_]+)"')
    assert {"recording", "request", "page"} <= kinds
    assert kinds == set(CODE_LABELS["object"])


def test_every_ingest_stage_has_names():
    stages = codes_in_source(r'stage="([a-z_]+)"')
    assert stages == set(CODE_LABELS["stage"])


def test_every_role_and_result_has_names():
    assert set(auth.ROLES) == set(CODE_LABELS["role"])
    results = codes_in_source(r'result="([a-z_]+)"')
    assert results == set(CODE_LABELS["result"])


@pytest.mark.parametrize(
    ("kind", "code", "language", "expected"),
    [
        pytest.param("flag", "notice_missing", "ko", "사전고지 누락", id="flag-ko"),
        pytest.param("flag", "notice_missing", "en", "notice missing", id="flag-en"),
        pytest.param("action", "play", "ko", "열람(재생)", id="action-ko"),
        pytest.param("role", "auditor", "ko", "감사 담당자", id="role-ko"),
        pytest.param(
            "flag",
            "from_a_newer_version",
            "ko",
            "from_a_newer_version",
            id="unknown-passes-through",
        ),
    ],
)
def test_code_label(kind, code, language, expected):
    assert code_label(kind, code, language) == expected


def test_code_labels_accepts_lists_and_joined_text():
    assert (
        code_labels("role", ["operator", "approver"], "ko") == "운영 담당자, 결재권자"
    )
    assert code_labels("role", "operator,approver", "en") == "operator, approver"
    assert code_labels("role", "", "ko") == ""


def test_recording_rows_name_flags_in_korean():
    from zoneinfo import ZoneInfo

    frame = pd.DataFrame(
        {
            "id": [1, 2],
            "start_time": pd.to_datetime(
                ["2026-12-01 09:00", "2026-12-01 10:00"], utc=True
            ),
            "line": ["02-0000-1234", "02-0000-1235"],
            "department": ["민원과", None],
            "direction": ["in", "out"],
            "other_party": ["02-0000-9999", None],
            "duration_s": [61.0, 5.0],
            "codec": ["pcm_16", "mulaw"],
            "silence_ratio": [0.25, None],
            "retention_state": ["active", "due"],
            "expires_at": pd.to_datetime(["2026-12-31", "2026-12-31"], utc=True),
            "flags": [["notice_missing", "verdict_noisy"], []],
            "error": [None, None],
            "file_name": ["a.wav", "b.wav"],
        }
    )
    rows = recording_rows(frame, language="ko", tz=ZoneInfo("Asia/Seoul"))
    assert rows["flags"].tolist() == ["사전고지 누락, 품질: 잡음 과다", ""]
