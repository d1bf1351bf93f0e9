"""Holds on real catalog rows: placement, release, expiry and their access log."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from conftest import write_call
from retention_fixtures import (
    catalog_files,
    create_retention_schema,
    local,
    one_line,
    run_cli,
)

from pipeline import accesslog, holds
from pipeline.errors import RecwatchError

# A hold end date two years ahead: in the future, and within the ten years
# that the command line accepts.
UNTIL = f"{date.today().year + 2}-12-31"

NOW = local(2026, 12, 4, 10, 0)


@pytest.fixture
def recording_id(catalog, config):
    catalog.write(create_retention_schema)
    path = write_call(config.recorders[0].root, datetime(2026, 11, 20, 9, 0))
    return catalog_files(catalog, config, [path])[path]


def place(catalog, recording_id, **overrides):
    arguments = {
        "reason": "감사 증거 보전",
        "approver": "정보통신과장",
        "ends_on": date(2026, 12, 31),
        "actor": "admin",
        "now": NOW,
    }
    arguments.update(overrides)
    return catalog.write(lambda con: holds.place_hold(con, recording_id, **arguments))


def hold_log(catalog) -> list[tuple]:
    return catalog.query(
        "SELECT actor, object_type, object_ids, detail->>'change'"
        " FROM access_log WHERE action = 'hold_change' ORDER BY id"
    )


def test_place_hold_stores_row(catalog, recording_id):
    hold_id = place(catalog, recording_id)
    hold = holds.get_hold(catalog.cursor(), hold_id)
    assert hold.recording_id == recording_id
    assert hold.reason == "감사 증거 보전"
    assert hold.approver == "정보통신과장"
    assert hold.placed_by == "admin"
    assert hold.ends_on == date(2026, 12, 31)
    assert hold.released_at is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("reason", "", id="empty-reason"),
        pytest.param("reason", "   ", id="blank-reason"),
        pytest.param("approver", "", id="empty-approver"),
        pytest.param("approver", None, id="missing-approver"),
    ],
)
def test_place_hold_requires_field(catalog, recording_id, field, value):
    with pytest.raises(RecwatchError, match=f"missing {field}"):
        place(catalog, recording_id, **{field: value})
    assert holds.list_holds(catalog.cursor()) == []


@pytest.mark.parametrize(
    "ends_on",
    [
        pytest.param(date(2026, 12, 4), id="today"),
        pytest.param(date(2026, 12, 3), id="yesterday"),
    ],
)
def test_place_hold_rejects_past_end(catalog, recording_id, ends_on):
    with pytest.raises(RecwatchError, match="must be later than today"):
        place(catalog, recording_id, ends_on=ends_on)


def test_place_hold_unknown_recording(catalog, recording_id):
    with pytest.raises(RecwatchError, match="recording 999 not found"):
        place(catalog, 999)


def test_place_hold_deleted_recording(catalog, recording_id):
    catalog.write(
        lambda con: con.execute(
            "UPDATE recordings SET status = 'deleted' WHERE id = ?", [recording_id]
        )
    )
    with pytest.raises(RecwatchError, match="already deleted"):
        place(catalog, recording_id)


def test_hold_end_is_local_midnight():
    end = holds.hold_end_instant(date(2026, 12, 31), local(2026, 1, 1).tzinfo)
    assert end == datetime(2026, 12, 31, 15, 0, tzinfo=UTC)


def test_active_holds_until_end(catalog, recording_id):
    hold_id = place(catalog, recording_id, ends_on=date(2026, 12, 10))
    last_moment = local(2026, 12, 10, 23, 59, 59)
    after_end = local(2026, 12, 11, 0, 0)
    assert [h.id for h in holds.active_holds(catalog.cursor(), last_moment)] == [
        hold_id
    ]
    assert holds.active_holds(catalog.cursor(), after_end) == []
    assert holds.get_hold(catalog.cursor(), hold_id).is_active(last_moment)
    assert not holds.get_hold(catalog.cursor(), hold_id).is_active(after_end)


def test_release_hold(catalog, recording_id):
    hold_id = place(catalog, recording_id)
    released = catalog.write(
        lambda con: holds.release_hold(
            con, hold_id, actor="admin2", reason="수사 종결", now=NOW
        )
    )
    assert released.released_by == "admin2"
    assert released.release_reason == "수사 종결"
    assert released.released_at == NOW
    assert holds.active_holds(catalog.cursor(), NOW) == []
    assert [h.id for h in holds.list_holds(catalog.cursor())] == [hold_id]


def test_release_twice_rejected(catalog, recording_id):
    hold_id = place(catalog, recording_id)

    def release(con):
        return holds.release_hold(con, hold_id, actor="admin", reason="종결", now=NOW)

    catalog.write(release)
    with pytest.raises(RecwatchError, match=f"hold {hold_id} was already released"):
        catalog.write(release)


def test_release_requires_reason(catalog, recording_id):
    hold_id = place(catalog, recording_id)
    with pytest.raises(RecwatchError, match="missing reason"):
        catalog.write(
            lambda con: holds.release_hold(con, hold_id, actor="admin", reason="")
        )
    assert holds.get_hold(catalog.cursor(), hold_id).released_at is None


def test_release_unknown_hold(catalog, recording_id):
    with pytest.raises(RecwatchError, match="hold 42 not found"):
        catalog.write(
            lambda con: holds.release_hold(con, 42, actor="admin", reason="x")
        )


def test_hold_changes_are_logged(catalog, recording_id):
    first = place(catalog, recording_id)
    place(catalog, recording_id, ends_on=date(2027, 1, 31))
    catalog.write(
        lambda con: holds.release_hold(con, first, actor="boss", reason="종결")
    )
    entries = hold_log(catalog)
    assert [entry[3] for entry in entries] == ["placed", "placed", "released"]
    assert entries[2][0] == "boss"
    assert all(entry[1] == "recording" for entry in entries)
    assert all(entry[2] == [str(recording_id)] for entry in entries)
    assert accesslog.verify(catalog.cursor()).intact


def test_failed_placement_writes_no_log(catalog, recording_id):
    with pytest.raises(RecwatchError):
        place(catalog, recording_id, approver="")
    assert hold_log(catalog) == []


def test_naive_now_rejected(catalog, recording_id):
    with pytest.raises(ValueError, match="has no time zone"):
        place(catalog, recording_id, now=datetime(2026, 12, 4, 10, 0))


def test_list_holds_by_recording(catalog, config, recording_id):
    other_path = write_call(
        config.recorders[0].root, datetime(2026, 11, 21, 9, 0), unique="2.2"
    )
    other = catalog_files(catalog, config, [other_path])[other_path]
    place(catalog, recording_id)
    second = place(catalog, other)
    found = holds.list_holds(catalog.cursor(), recording_id=other)
    assert [h.id for h in found] == [second]


def test_hold_commands(catalog, config, recording_id, tmp_path):
    catalog.close()
    added = run_cli(
        tmp_path,
        config,
        "hold",
        "add",
        str(recording_id),
        "--reason",
        "감사 증거",
        "--approver",
        "정보통신과장",
        "--until",
        UNTIL,
        "--actor",
        "admin",
    )
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() == (
        f"hold 1 placed on recording {recording_id} until {UNTIL}"
    )

    listed = run_cli(tmp_path, config, "hold", "list")
    assert listed.exit_code == 0, listed.output
    row = listed.stdout.splitlines()[1].split("\t")
    assert row[:6] == [
        "1",
        str(recording_id),
        "active",
        UNTIL,
        "정보통신과장",
        "admin",
    ]
    assert row[7] == "감사 증거"

    released = run_cli(tmp_path, config, "hold", "release", "1", "--reason", "종결")
    assert released.exit_code == 0, released.output
    listed = run_cli(tmp_path, config, "hold", "list")
    assert listed.stdout.splitlines()[1].split("\t")[2] == "released"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ["--reason", "x", "--approver", "y", "--until", "31/12/2099"],
            2,
            "invalid --until '31/12/2099'",
            id="bad-date",
        ),
        pytest.param(
            ["--reason", "x", "--approver", "", "--until", UNTIL],
            1,
            "missing approver",
            id="empty-approver",
        ),
        pytest.param(
            ["--reason", "x", "--approver", "y", "--until", "2000-01-01"],
            1,
            "must be later than today",
            id="past-date",
        ),
    ],
)
def test_hold_add_rejects(catalog, config, recording_id, tmp_path, args, code, message):
    catalog.close()
    result = run_cli(tmp_path, config, "hold", "add", str(recording_id), *args)
    assert result.exit_code == code
    assert message in one_line(result.stderr)


def test_hold_release_unknown(catalog, config, recording_id, tmp_path):
    catalog.close()
    result = run_cli(tmp_path, config, "hold", "release", "7", "--reason", "x")
    assert result.exit_code == 1
    assert "hold 7 not found" in one_line(result.stderr)


def test_hold_end_too_far_rejected(catalog, recording_id):
    now = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)

    with pytest.raises(RecwatchError, match="at most 10 years ahead") as info:
        catalog.write(
            lambda con: holds.place_hold(
                con,
                recording_id,
                reason="증거",
                approver="과장",
                ends_on=date(2099, 12, 31),
                actor="admin",
                now=now,
            )
        )

    assert info.value.code == "hold_end_too_far"
    assert info.value.values["latest"] == "2036-03-03"
