"""Tests for Form 2 handovers, protected copies and a party's own copy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import pyzipper
from request_fixtures import (
    ADMIN,
    CALL_START,
    OFFICIAL,
    OPERATOR,
    RECIPIENT,
    SEOUL,
    STAFF,
    TEAM_LEADER,
    VIEWER,
    add_recording,
    approve_all,
    approved_request,
    destroyed_notice,
    open_catalog,
    sample_form,
)

from pipeline import accesslog, handover, protected_copy, requests, returns
from pipeline.auth import User
from pipeline.catalog import Catalog
from pipeline.errors import PermissionDenied, RecwatchError

RECEIVED_ON = date(2026, 3, 5)
NOW = datetime(2026, 3, 5, 10, 0, tzinfo=SEOUL)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    with open_catalog(tmp_path / "c.duckdb") as opened:
        yield opened


def hand_over_copy(catalog: Catalog, request_id: int, recording_ids, out_dir: Path):
    return handover.hand_over(
        catalog,
        OPERATOR,
        request_id,
        recording_ids=recording_ids,
        recipient=RECIPIENT,
        official=OFFICIAL,
        method="copy",
        received_on=RECEIVED_ON,
        out_dir=out_dir,
        now=NOW,
    )


def test_full_lifecycle_with_protected_copy(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "spool")

    result = hand_over_copy(catalog, request_id, recording_ids, tmp_path / "out")

    assert result.archive_path == tmp_path / "out" / "recordings-2026-0001.zip"
    assert result.archive_path.stat().st_mode & 0o777 == 0o600
    assert result.password is not None
    assert "password" not in repr(result)
    with pyzipper.AESZipFile(result.archive_path) as archive:
        archive.setpassword(result.password.encode())
        names = archive.namelist()
        first = archive.read(names[0])
        infos = archive.infolist()
    spool_files = sorted((tmp_path / "spool").iterdir())
    assert sorted(names) == [path.name for path in spool_files]
    assert first == (tmp_path / "spool" / names[0]).read_bytes()
    # WinZip AES strength 3 is a 256-bit key.
    assert all(info.flag_bits & 0x1 for info in infos)
    assert all(info.wz_aes_strength == 3 for info in infos)

    receipt = result.handover
    assert receipt.file_count == 2
    assert receipt.received_on == RECEIVED_ON
    assert receipt.recipient == RECIPIENT
    assert receipt.official == OFFICIAL
    assert receipt.recording_ids == tuple(sorted(recording_ids))
    record = requests.get_request(catalog.cursor(), request_id)
    assert record.status == "provided"
    assert record.due_on == date(2026, 4, 4)

    returns.record_notice(catalog, OPERATOR, request_id, destroyed_notice(RECEIVED_ON))
    closed = requests.close_request(catalog, OPERATOR, request_id)
    assert closed.status == "closed"
    verified = accesslog.verify(catalog.cursor())
    assert verified.intact, verified.problem


def test_wrong_password_fails(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "spool")
    result = hand_over_copy(catalog, request_id, recording_ids, tmp_path / "out")
    with pyzipper.AESZipFile(result.archive_path) as archive:
        archive.setpassword(b"WRONG-PASS-WORD-0000")
        with pytest.raises(RuntimeError, match="Bad password"):
            archive.read(archive.namelist()[0])


def test_password_is_not_stored_or_logged(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "spool")
    result = hand_over_copy(catalog, request_id, recording_ids, tmp_path / "out")
    catalog.close()
    catalog_bytes = (tmp_path / "c.duckdb").read_bytes()
    wal = tmp_path / "c.duckdb.wal"
    if wal.exists():
        catalog_bytes += wal.read_bytes()
    assert result.password.encode() not in catalog_bytes


def test_copy_is_logged_as_export(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "spool")
    result = hand_over_copy(catalog, request_id, recording_ids, tmp_path / "out")
    rows = catalog.query(
        "SELECT action, object_ids, json_extract_string(detail, '$.archive_sha256') "
        "FROM access_log ORDER BY id DESC LIMIT 1"
    )
    assert rows == [("export", [str(request_id)], result.handover.archive_sha256)]


def test_viewing_records_window(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "spool")
    until = NOW + timedelta(hours=2)
    result = handover.hand_over(
        catalog,
        OPERATOR,
        request_id,
        recording_ids=recording_ids[:1],
        recipient=RECIPIENT,
        official=OFFICIAL,
        method="viewing",
        viewing_until=until,
        now=NOW,
    )
    assert result.archive_path is None
    assert result.password is None
    assert result.handover.viewing_until == until
    assert result.handover.file_count == 1
    assert result.handover.received_on == RECEIVED_ON
    action = catalog.query("SELECT action FROM access_log ORDER BY id DESC LIMIT 1")
    assert action == [("handover",)]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"method": "email"}, "method 'email' is invalid", id="method"),
        pytest.param({"viewing_until": None}, "has no end time", id="no-end"),
        pytest.param(
            {"viewing_until": NOW - timedelta(minutes=1)}, "not after now", id="past"
        ),
        pytest.param({"recording_ids": []}, "no recordings picked", id="none"),
        pytest.param({"recording_ids": [999]}, "are not attached", id="foreign"),
        pytest.param(
            {"recipient": handover.Recipient("", "가상경찰서")},
            "missing recipient address",
            id="recipient",
        ),
        pytest.param(
            {"method": "copy", "out_dir": None}, "has no output folder", id="no-dir"
        ),
    ],
)
def test_handover_rejects_invalid_input(catalog, tmp_path, changes, message):
    request_id, recording_ids = approved_request(catalog, tmp_path / "spool")
    arguments = {
        "recording_ids": recording_ids,
        "recipient": RECIPIENT,
        "official": OFFICIAL,
        "method": "viewing",
        "viewing_until": NOW + timedelta(hours=1),
        "now": NOW,
    }
    arguments.update(changes)
    with pytest.raises(RecwatchError, match=message):
        handover.hand_over(catalog, OPERATOR, request_id, **arguments)
    assert requests.get_request(catalog.cursor(), request_id).status == "approved"


def test_handover_needs_permission(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "spool")
    with pytest.raises(PermissionDenied, match="'handover'"):
        handover.hand_over(
            catalog,
            TEAM_LEADER,
            request_id,
            recording_ids=recording_ids,
            recipient=RECIPIENT,
            official=OFFICIAL,
            method="viewing",
            viewing_until=NOW + timedelta(hours=1),
            now=NOW,
        )


def test_changed_file_is_not_handed_over(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "spool")
    tampered = sorted((tmp_path / "spool").iterdir())[0]
    tampered.write_bytes(tampered.read_bytes() + b"\x00")
    with pytest.raises(RecwatchError, match="changed after it was cataloged"):
        hand_over_copy(catalog, request_id, recording_ids, tmp_path / "out")
    assert not list((tmp_path / "out").glob("*"))
    assert requests.get_request(catalog.cursor(), request_id).status == "approved"


def test_generated_passwords_use_groups():
    password = protected_copy.generate_password()
    groups = password.split("-")
    assert len(groups) == 4
    assert all(len(group) == 4 for group in groups)
    assert set(password.replace("-", "")) <= set(protected_copy.PASSWORD_ALPHABET)
    assert not set("01ILO") & set(protected_copy.PASSWORD_ALPHABET)


def test_duplicate_file_names_get_ids():
    names = protected_copy.unique_arcnames([(1, "a.wav"), (2, "a.wav"), (3, "b.wav")])
    assert names == ["1-a.wav", "2-a.wav", "b.wav"]


# --- a party's own copy ---------------------------------------------------------------

PARTY = User("yoon.party", "윤당사", ("operator",), "민원과")


def test_own_copy_with_chosen_password(catalog, config, tmp_path):
    recording = add_recording(catalog, tmp_path / "spool", CALL_START, line="2101")
    protected_copy.assign_line(catalog, ADMIN, PARTY.username, "2101")

    path = protected_copy.export_own_copy(
        catalog, config, PARTY, recording, "my-own-secret"
    )

    assert path.parent == config.data_dir / "private" / "exports" / PARTY.username
    with pyzipper.AESZipFile(path) as archive:
        archive.setpassword(b"my-own-secret")
        assert len(archive.read(archive.namelist()[0])) > 0
    last = catalog.query(
        "SELECT action, object_type, result, detail::VARCHAR FROM access_log "
        "ORDER BY id DESC LIMIT 1"
    )
    assert last == [("export", "recording", "ok", '{"kind":"own_copy"}')]
    assert accesslog.verify(catalog.cursor()).intact


def test_own_copy_denied_for_other_line(catalog, config, tmp_path):
    recording = add_recording(catalog, tmp_path / "spool", CALL_START, line="2101")
    protected_copy.assign_line(catalog, ADMIN, PARTY.username, "2102")

    with pytest.raises(PermissionDenied, match="is not a party to recording"):
        protected_copy.export_own_copy(
            catalog, config, PARTY, recording, "my-own-secret"
        )

    last = catalog.query(
        "SELECT action, result FROM access_log ORDER BY id DESC LIMIT 1"
    )
    assert last == [("export", "denied")]
    assert not (config.data_dir / "private" / "exports").exists()


def test_own_copy_rejects_short_password(catalog, config, tmp_path):
    recording = add_recording(catalog, tmp_path / "spool", CALL_START)
    with pytest.raises(RecwatchError, match="at least 8 characters"):
        protected_copy.export_own_copy(catalog, config, PARTY, recording, "short")


def test_own_copy_needs_export_own(catalog, config, tmp_path):
    recording = add_recording(catalog, tmp_path / "spool", CALL_START)
    with pytest.raises(PermissionDenied, match="export_own"):
        protected_copy.export_own_copy(
            catalog, config, VIEWER, recording, "long-enough"
        )


def test_own_copy_of_purged_recording_fails(catalog, config, tmp_path):
    recording = add_recording(catalog, tmp_path / "spool", CALL_START, status="deleted")
    protected_copy.assign_line(catalog, ADMIN, PARTY.username, "2101")
    with pytest.raises(RecwatchError, match="was purged"):
        protected_copy.export_own_copy(catalog, config, PARTY, recording, "long-enough")


def test_assign_line_needs_manage_users(catalog):
    with pytest.raises(PermissionDenied, match="manage_users"):
        protected_copy.assign_line(catalog, STAFF, PARTY.username, "2101")
    protected_copy.assign_line(catalog, ADMIN, PARTY.username, "21-01")
    assert protected_copy.user_lines(catalog.cursor(), PARTY.username) == ["2101"]
    protected_copy.remove_line(catalog, ADMIN, PARTY.username, "2101")
    assert protected_copy.user_lines(catalog.cursor(), PARTY.username) == []


def test_handover_uses_now_date_in_seoul(catalog, tmp_path):
    request_id, recording_ids = approved_request(catalog, tmp_path / "spool")
    # 2026-03-05 16:00 UTC is already 2026-03-06 in Seoul.
    now = datetime(2026, 3, 5, 16, 0, tzinfo=UTC)
    result = handover.hand_over(
        catalog,
        OPERATOR,
        request_id,
        recording_ids=recording_ids,
        recipient=RECIPIENT,
        official=OFFICIAL,
        method="viewing",
        viewing_until=now + timedelta(hours=1),
        now=now,
    )
    assert result.handover.received_on == date(2026, 3, 6)


def test_viewing_request_gets_no_copy(catalog, tmp_path):
    spool = tmp_path / "spool"
    recording_id = add_recording(catalog, spool, CALL_START, seed=1)
    record = requests.submit_request(catalog, OPERATOR, sample_form(access_kind="view"))
    requests.attach_recordings(catalog, OPERATOR, record.id, [recording_id])
    approve_all(catalog, record.id)

    with pytest.raises(RecwatchError, match="asks for viewing") as caught:
        hand_over_copy(catalog, record.id, [recording_id], tmp_path / "out")

    assert caught.value.code == "copy_for_viewing_request"
    assert requests.get_request(catalog.cursor(), record.id).status == "approved"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
