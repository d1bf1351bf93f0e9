"""Tests of the access-log listing, anomaly rules and monthly reviews."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline import accesslog, accessreview
from pipeline.auth import User
from pipeline.catalog import Catalog
from pipeline.errors import PermissionDenied, RecwatchError

SEOUL = ZoneInfo("Asia/Seoul")
AUDITOR = User("auditor", "데모 감사 담당자", ("auditor",), "감사과")
OPERATOR = User("operator", "데모 담당자", ("operator",), "정보통신과")


def seoul(*args: int) -> datetime:
    """Return an aware datetime in Asia/Seoul."""
    return datetime(*args, tzinfo=SEOUL)


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "catalog.duckdb") as opened:
        opened.write(accessreview.create_schema)
        yield opened


def append(catalog, at: datetime, **fields) -> None:
    """Append one access-log entry at ``at``."""
    values = {"actor": "operator", "action": "view_personal", **fields}
    catalog.write(lambda con: accesslog.append(con, at=at, **values))


def flagged(catalog, **options) -> set[tuple[int, str]]:
    frame = accessreview.anomalies(catalog.cursor(), SEOUL, **options)
    return set(zip(frame["id"].astype(int), frame["anomaly"], strict=True))


def test_filters_select_entries(catalog):
    append(catalog, seoul(2026, 3, 2, 10), object_type="recording", object_ids=[7])
    append(catalog, seoul(2026, 3, 2, 11), actor="auditor", action="view_access_log")
    append(catalog, seoul(2026, 3, 3, 10), object_type="request", object_ids=[3])
    cursor = catalog.cursor()
    by_actor = accessreview.LogFilter(actor="auditor")
    by_recording = accessreview.LogFilter(recording_id="7")
    by_request = accessreview.LogFilter(request_id="3")
    by_day = accessreview.LogFilter(since=seoul(2026, 3, 3), until=seoul(2026, 3, 4))
    assert accessreview.count_entries(cursor, by_actor) == 1
    assert accessreview.count_entries(cursor, by_recording) == 1
    assert accessreview.count_entries(cursor, by_request) == 1
    assert list(
        accessreview.list_entries(cursor, by_day, limit=10, offset=0)["id"]
    ) == [3]


def test_filter_text_is_a_parameter(catalog):
    append(catalog, seoul(2026, 3, 2, 10))
    cursor = catalog.cursor()
    hostile = accessreview.LogFilter(actor="'; DROP TABLE access_log; --")
    assert accessreview.count_entries(cursor, hostile) == 0
    assert accessreview.count_entries(cursor, accessreview.LogFilter()) == 1


def test_paging_newest_first(catalog):
    for minute in range(5):
        append(catalog, seoul(2026, 3, 2, 10, minute))
    cursor = catalog.cursor()
    everything = accessreview.LogFilter()
    first = accessreview.list_entries(cursor, everything, limit=2, offset=0)
    second = accessreview.list_entries(cursor, everything, limit=2, offset=2)
    assert list(first["id"]) == [5, 4]
    assert list(second["id"]) == [3, 2]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(seoul(2026, 3, 2, 8, 59), True, id="before-nine"),
        pytest.param(seoul(2026, 3, 2, 9, 0), False, id="nine"),
        pytest.param(seoul(2026, 3, 2, 17, 59), False, id="before-six"),
        pytest.param(seoul(2026, 3, 2, 18, 0), True, id="six"),
        pytest.param(seoul(2026, 3, 7, 11, 0), True, id="saturday"),
        pytest.param(seoul(2026, 3, 8, 11, 0), True, id="sunday"),
    ],
)
def test_off_hours_rule(catalog, at, expected):
    append(catalog, at)
    assert ((1, "off_hours") in flagged(catalog)) is expected


def test_bulk_download_rule(catalog):
    for minute in range(4):
        append(
            catalog,
            seoul(2026, 3, 2, 10, minute),
            action="download",
            object_type="recording",
            object_ids=[minute],
        )
    assert not {kind for _, kind in flagged(catalog, bulk_downloads_per_hour=4)} & {
        "bulk_download"
    }
    found = flagged(catalog, bulk_downloads_per_hour=3)
    assert {entry for entry, kind in found if kind == "bulk_download"} == {1, 2, 3, 4}


def test_failed_login_rule(catalog):
    for minute in (0, 2, 4, 6):
        append(
            catalog,
            seoul(2026, 3, 2, 10, minute),
            actor="(unknown)",
            action="login_failed",
            result="denied",
            client_addr="192.0.2.7",
        )
    assert not [kind for _, kind in flagged(catalog) if kind == "failed_logins"]
    append(
        catalog,
        seoul(2026, 3, 2, 10, 8),
        actor="(unknown)",
        action="login_failed",
        result="denied",
        client_addr="192.0.2.7",
    )
    assert (5, "failed_logins") in flagged(catalog)


def test_no_approved_request_rule(catalog):
    append(
        catalog,
        seoul(2026, 3, 2, 10),
        action="play",
        object_type="recording",
        object_ids=[1],
    )
    kinds = {kind for _, kind in flagged(catalog)}
    assert "no_approved_request" in kinds


def test_review_marks_month(catalog):
    append(catalog, seoul(2026, 1, 15, 10))
    now = seoul(2026, 4, 2, 10)
    cursor = catalog.cursor()
    assert accessreview.unreviewed_months(cursor, SEOUL, now=now) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    catalog.write(
        lambda con: accessreview.mark_reviewed(
            con, AUDITOR, date(2026, 2, 1), "checked", tz=SEOUL, now=now
        )
    )
    cursor = catalog.cursor()
    assert accessreview.unreviewed_months(cursor, SEOUL, now=now) == [
        date(2026, 1, 1),
        date(2026, 3, 1),
    ]
    reviews = accessreview.list_reviews(cursor)
    assert list(reviews["reviewer"]) == ["auditor"]
    last = cursor.execute(
        "SELECT action, object_ids FROM access_log ORDER BY id DESC LIMIT 1"
    ).fetchall()
    assert last == [("review_access_log", ["2026-02"])]


@pytest.mark.parametrize(
    ("user", "month", "note", "error", "match"),
    [
        pytest.param(
            OPERATOR,
            date(2026, 2, 1),
            "ok",
            PermissionDenied,
            "review_access_log",
            id="operator",
        ),
        pytest.param(
            AUDITOR,
            date(2026, 4, 1),
            "ok",
            RecwatchError,
            "has not ended",
            id="current-month",
        ),
        pytest.param(
            AUDITOR,
            date(2026, 2, 1),
            "  ",
            RecwatchError,
            "note is empty",
            id="empty-note",
        ),
    ],
)
def test_review_rejected(catalog, user, month, note, error, match):
    now = seoul(2026, 4, 2, 10)
    with pytest.raises(error, match=match):
        catalog.write(
            lambda con: accessreview.mark_reviewed(
                con, user, month, note, tz=SEOUL, now=now
            )
        )


def test_review_twice_rejected(catalog):
    now = datetime(2026, 4, 2, tzinfo=UTC) + timedelta(hours=1)

    def review(con):
        accessreview.mark_reviewed(
            con, AUDITOR, date(2026, 2, 1), "ok", tz=SEOUL, now=now
        )

    catalog.write(review)
    with pytest.raises(RecwatchError, match="already reviewed by auditor"):
        catalog.write(review)
