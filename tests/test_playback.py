"""Tests for playback and download inside an approved request.

Every attempt must leave one access-log entry: ok, denied or failed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import pyzipper
import soundfile as sf
from request_fixtures import (
    ADMIN,
    CALL_START,
    OFFICIAL,
    OPERATOR,
    RECIPIENT,
    SEOUL,
    TEAM_LEADER,
    VIEWER,
    add_recording,
    approve_all,
    approved_request,
    destroyed_notice,
    open_catalog,
    sample_form,
)

from pipeline import accesslog, handover, playback, protected_copy, requests, returns
from pipeline.auth import User
from pipeline.catalog import Catalog
from pipeline.config import Config, build_config
from pipeline.errors import PermissionDenied, RecwatchError
from pipeline.service import Service
from pipeline.views.own_copy_page import OwnCopyPage
from pipeline.views.request_detail import RequestDetail

AUDITOR = User("seo.audit", "서감사", ("auditor",), "감사관실")
REASON = "민원 사실 확인을 위한 청취"
CLIENT = "127.0.0.1"


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    with open_catalog(tmp_path / "c.duckdb") as opened:
        yield opened


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    folder = tmp_path / "spool"
    folder.mkdir()
    return folder


@pytest.fixture
def config(tmp_path: Path, spool: Path) -> Config:
    return build_config(
        {"data_dir": str(tmp_path / "data"), "recorders": [{"root": str(spool)}]},
        base=tmp_path,
        source=tmp_path / "recwatch.toml",
    )


def play(catalog, config, recording_id, request_id, *, user=OPERATOR, **changes):
    arguments = {
        "request_id": request_id,
        "reason": REASON,
        "config": config,
        "client_addr": CLIENT,
    }
    arguments.update(changes)
    return playback.play(catalog, user, recording_id, **arguments)


def entries(catalog: Catalog) -> list[tuple]:
    """Return (action, result, object_ids, detail, client_addr) of play/download."""
    rows = (
        catalog.cursor()
        .execute(
            "SELECT action, result, object_ids, detail, client_addr, actor "
            "FROM access_log WHERE action IN ('play', 'download') ORDER BY id"
        )
        .fetchall()
    )
    return [
        (action, result, list(ids), json.loads(detail), addr, actor)
        for action, result, ids, detail, addr, actor in rows
    ]


def assert_chain_intact(catalog: Catalog) -> None:
    result = accesslog.verify(catalog.cursor())
    assert result.intact, result.problem


def hand_over(catalog, request_id, recording_ids, *, method, out_dir=None):
    now = datetime.now(UTC)
    return handover.hand_over(
        catalog,
        OPERATOR,
        request_id,
        recording_ids=recording_ids,
        recipient=RECIPIENT,
        official=OFFICIAL,
        method=method,
        viewing_until=now + timedelta(hours=1) if method == "viewing" else None,
        out_dir=out_dir,
        now=now,
    )


# -- allowed ------------------------------------------------------------------------


def test_play_returns_bytes_and_logs_ok(catalog, config, spool):
    request_id, (first, _second) = approved_request(catalog, spool)

    media = play(catalog, config, first, request_id)

    path = next(spool.glob("*-1.wav"))
    assert media.data == path.read_bytes()
    assert media.mime_type == "audio/wav"
    assert media.converted is False
    logged = entries(catalog)
    assert len(logged) == 1
    action, result, ids, detail, addr, actor = logged[0]
    assert (action, result, ids) == ("play", "ok", [str(first)])
    assert detail == {"request_id": request_id, "reason": REASON}
    assert addr == CLIENT
    assert actor == OPERATOR.username
    assert_chain_intact(catalog)


def test_download_returns_original_bytes(catalog, config, spool, tmp_path):
    request_id, recording_ids = approved_request(catalog, spool)
    hand_over(catalog, request_id, recording_ids, method="copy", out_dir=tmp_path)
    first = recording_ids[0]

    media = playback.download(
        catalog, OPERATOR, first, request_id=request_id, reason=REASON, config=config
    )

    assert media.data == next(spool.glob("*-1.wav")).read_bytes()
    assert media.file_name.endswith("-1.wav")
    assert [row[:2] for row in entries(catalog)] == [("download", "ok")]
    assert_chain_intact(catalog)


@pytest.mark.parametrize("handed_over", [None, "viewing"])
def test_download_needs_copy_handover(catalog, config, spool, handed_over):
    request_id, recording_ids = approved_request(catalog, spool)
    if handed_over:
        hand_over(catalog, request_id, recording_ids, method=handed_over)

    with pytest.raises(PermissionDenied, match="allows no download") as caught:
        playback.download(
            catalog,
            OPERATOR,
            recording_ids[0],
            request_id=request_id,
            reason=REASON,
            config=config,
        )

    assert caught.value.code == "download_not_provided"
    assert [row[:2] for row in entries(catalog)] == [("download", "denied")]


def test_play_during_viewing_window(catalog, config, spool):
    request_id, recording_ids = approved_request(catalog, spool)
    hand_over(catalog, request_id, recording_ids, method="viewing")

    media = play(catalog, config, recording_ids[1], request_id)

    assert media.data == next(spool.glob("*-2.wav")).read_bytes()
    assert [row[:2] for row in entries(catalog)] == [("play", "ok")]


def test_play_after_copy_before_due_date(catalog, config, spool, tmp_path):
    request_id, recording_ids = approved_request(catalog, spool)
    hand_over(catalog, request_id, recording_ids, method="copy", out_dir=tmp_path)

    play(catalog, config, recording_ids[0], request_id)

    assert [row[:2] for row in entries(catalog)] == [("play", "ok")]


def test_mulaw_is_converted_for_play(catalog, config, spool):
    rng = np.random.default_rng(7)
    samples = (0.2 * rng.standard_normal(4000)).astype(np.float32)
    path = spool / "in-2101-0200001234-20260302-101500-ulaw.wav"
    sf.write(path, samples, 8000, subtype="ULAW")
    recording_id = add_recording(catalog, spool / "other", CALL_START, seed=3)
    catalog.write(
        lambda con: con.execute(
            "UPDATE recordings SET path = ?, file_name_nfc = ?, sha256 = NULL "
            "WHERE id = ?",
            [str(path), path.name, recording_id],
        )
    )
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    requests.attach_recordings(catalog, OPERATOR, record.id, [recording_id])
    approve_all(catalog, record.id)
    hand_over(catalog, record.id, [recording_id], method="copy", out_dir=spool / "out")

    media = play(catalog, config, recording_id, record.id)
    original = playback.download(
        catalog,
        OPERATOR,
        recording_id,
        request_id=record.id,
        reason=REASON,
        config=config,
    )

    assert media.converted is True
    info = sf.info(io.BytesIO(media.data))
    assert info.subtype == "PCM_16"
    assert info.samplerate == 8000
    assert info.frames == 4000
    decoded, _ = sf.read(io.BytesIO(media.data), dtype="int16")
    expected, _ = sf.read(path, dtype="int16")
    assert np.array_equal(decoded, expected)
    assert original.data == path.read_bytes()
    assert original.converted is False


# -- rejected -----------------------------------------------------------------------


def denied_case(catalog, config, spool, tmp_path, case: str):
    """Set up ``case`` and return (user, recording_id, request_id, changes)."""
    request_id, recording_ids = approved_request(catalog, spool)
    first = recording_ids[0]
    if case == "viewer":
        return VIEWER, first, request_id, {}
    if case == "auditor":
        return AUDITOR, first, request_id, {}
    if case == "approver":
        return TEAM_LEADER, first, request_id, {}
    if case == "empty_reason":
        return OPERATOR, first, request_id, {"reason": ""}
    if case == "blank_reason":
        return OPERATOR, first, request_id, {"reason": "   "}
    if case == "phone_in_reason":
        return OPERATOR, first, request_id, {"reason": "02-0000-1234 민원인 요청"}
    if case == "unknown_request":
        return OPERATOR, first, 999, {}
    if case == "submitted_request":
        other = add_recording(catalog, spool, CALL_START, seed=9)
        record = requests.submit_request(catalog, OPERATOR, sample_form())
        requests.attach_recordings(catalog, OPERATOR, record.id, [other])
        return OPERATOR, other, record.id, {}
    if case == "returned_request":
        hand_over(catalog, request_id, recording_ids, method="viewing")
        today = datetime.now(SEOUL).date()
        returns.record_notice(catalog, OPERATOR, request_id, destroyed_notice(today))
        return OPERATOR, first, request_id, {}
    if case == "not_attached":
        other = add_recording(catalog, spool, CALL_START, seed=8)
        return OPERATOR, other, request_id, {}
    if case == "not_handed_over":
        hand_over(catalog, request_id, recording_ids[:1], method="viewing")
        return OPERATOR, recording_ids[1], request_id, {}
    if case == "purged":
        catalog.write(
            lambda con: con.execute(
                "UPDATE recordings SET status = 'deleted', deleted_at = now() "
                "WHERE id = ?",
                [first],
            )
        )
        return OPERATOR, first, request_id, {}
    if case == "missing":
        catalog.write(
            lambda con: con.execute(
                "UPDATE recordings SET missing_since = now() WHERE id = ?", [first]
            )
        )
        return OPERATOR, first, request_id, {}
    if case == "before_approval":
        return OPERATOR, first, request_id, {"now": datetime(2020, 1, 1, tzinfo=UTC)}
    if case == "after_viewing":
        hand_over(catalog, request_id, recording_ids, method="viewing")
        later = datetime.now(UTC) + timedelta(hours=2)
        return OPERATOR, first, request_id, {"now": later}
    if case == "after_copy_due":
        hand_over(catalog, request_id, recording_ids, method="copy", out_dir=tmp_path)
        later = datetime.now(UTC) + timedelta(days=requests.RETURN_DAYS + 2)
        return OPERATOR, first, request_id, {"now": later}
    if case in ("outside_root", "symlink_out_of_root"):
        # Handed over as a copy, so that a download passes the request checks
        # and reaches the check of the file's place.
        hand_over(
            catalog, request_id, recording_ids, method="copy", out_dir=tmp_path / "out"
        )
    if case == "outside_root":
        outside = tmp_path / "elsewhere.wav"
        outside.write_bytes(next(spool.glob("*-1.wav")).read_bytes())
        catalog.write(
            lambda con: con.execute(
                "UPDATE recordings SET path = ? WHERE id = ?", [str(outside), first]
            )
        )
        return OPERATOR, first, request_id, {}
    if case == "symlink_out_of_root":
        outside = tmp_path / "secret.wav"
        original = next(spool.glob("*-1.wav"))
        outside.write_bytes(original.read_bytes())
        original.unlink()
        original.symlink_to(outside)
        return OPERATOR, first, request_id, {}
    raise AssertionError(case)


DENIED_CASES = [
    pytest.param("viewer", PermissionDenied, "may not perform 'play'", id="viewer"),
    pytest.param("auditor", PermissionDenied, "may not perform 'play'", id="auditor"),
    pytest.param("approver", PermissionDenied, "may not perform 'play'", id="approver"),
    pytest.param("empty_reason", RecwatchError, "no reason", id="empty-reason"),
    pytest.param("blank_reason", RecwatchError, "no reason", id="blank-reason"),
    pytest.param(
        "phone_in_reason", RecwatchError, "phone number", id="phone-in-reason"
    ),
    pytest.param("unknown_request", RecwatchError, "not found", id="unknown-request"),
    pytest.param(
        "submitted_request", PermissionDenied, "is submitted", id="submitted-request"
    ),
    pytest.param(
        "returned_request", PermissionDenied, "is returned", id="returned-request"
    ),
    pytest.param("not_attached", PermissionDenied, "not attached", id="not-attached"),
    pytest.param(
        "not_handed_over", PermissionDenied, "not handed over", id="not-handed-over"
    ),
    pytest.param("purged", RecwatchError, "was purged", id="purged"),
    pytest.param("missing", RecwatchError, "missing from the spool", id="missing"),
    pytest.param(
        "before_approval", PermissionDenied, "was approved at", id="before-approval"
    ),
    pytest.param("after_viewing", PermissionDenied, "ended at", id="after-viewing"),
    pytest.param("after_copy_due", PermissionDenied, "ended at", id="after-copy-due"),
    pytest.param("outside_root", PermissionDenied, "outside every", id="outside-root"),
    pytest.param(
        "symlink_out_of_root", PermissionDenied, "outside every", id="symlink-out"
    ),
]


@pytest.mark.parametrize(("case", "error", "message"), DENIED_CASES)
@pytest.mark.parametrize("action", ["play", "download"])
def test_rejected_attempt_is_logged_denied(
    catalog, config, spool, tmp_path, case, error, message, action
):
    user, recording_id, request_id, changes = denied_case(
        catalog, config, spool, tmp_path, case
    )
    arguments = {"request_id": request_id, "reason": REASON, "config": config}
    arguments.update(changes)
    serve = playback.play if action == "play" else playback.download
    message = message.replace("'play'", f"'{action}'")

    with pytest.raises(error, match=message):
        serve(catalog, user, recording_id, **arguments)

    logged = entries(catalog)
    assert len(logged) == 1
    logged_action, result, ids, detail, _addr, actor = logged[0]
    assert logged_action == action
    assert result == "denied"
    assert ids == [str(recording_id)]
    assert detail["request_id"] == request_id
    assert actor == user.username
    assert "0000-1234" not in json.dumps(detail, ensure_ascii=False)
    assert_chain_intact(catalog)


def test_authorize_rejects_unknown_action(catalog, spool):
    request_id, recording_ids = approved_request(catalog, spool)

    with pytest.raises(RecwatchError, match="'stream' is invalid"):
        playback.authorize(
            catalog.cursor(),
            OPERATOR,
            recording_ids[0],
            request_id=request_id,
            reason=REASON,
            now=datetime.now(UTC),
            action="stream",
        )


def test_authorize_returns_window(catalog, spool):
    request_id, recording_ids = approved_request(catalog, spool)
    receipt = hand_over(catalog, request_id, recording_ids, method="viewing").handover

    grant = playback.authorize(
        catalog.cursor(),
        OPERATOR,
        recording_ids[0],
        request_id=request_id,
        reason=f"  {REASON}  ",
        now=datetime.now(UTC),
    )

    assert grant.reason == REASON
    assert grant.window_end == receipt.viewing_until
    assert grant.window_start <= receipt.handed_over_at
    assert grant.request_number == "2026-0001"


# -- failed -------------------------------------------------------------------------


def test_deleted_file_is_logged_failed(catalog, config, spool):
    request_id, (first, _second) = approved_request(catalog, spool)
    next(spool.glob("*-1.wav")).unlink()

    with pytest.raises(RecwatchError, match="could not be read from disk"):
        play(catalog, config, first, request_id)

    assert [row[:2] for row in entries(catalog)] == [("play", "failed")]
    assert_chain_intact(catalog)


def test_changed_file_is_logged_failed(catalog, config, spool, tmp_path):
    request_id, recording_ids = approved_request(catalog, spool)
    hand_over(catalog, request_id, recording_ids, method="copy", out_dir=tmp_path)
    first = recording_ids[0]
    path = next(spool.glob("*-1.wav"))
    path.write_bytes(path.read_bytes() + b"\0\0")

    with pytest.raises(RecwatchError, match="changed after it was cataloged"):
        playback.download(
            catalog,
            OPERATOR,
            first,
            request_id=request_id,
            reason=REASON,
            config=config,
        )

    assert [row[:2] for row in entries(catalog)] == [("download", "failed")]


def test_each_attempt_needs_a_reason(catalog, config, spool):
    request_id, (first, _second) = approved_request(catalog, spool)

    play(catalog, config, first, request_id)
    with pytest.raises(RecwatchError, match="no reason"):
        play(catalog, config, first, request_id, reason="")
    play(catalog, config, first, request_id, reason="두 번째 확인")

    logged = entries(catalog)
    assert [row[1] for row in logged] == ["ok", "denied", "ok"]
    assert logged[2][3]["reason"] == "두 번째 확인"
    assert_chain_intact(catalog)


# -- dashboard sections -------------------------------------------------------------


@pytest.fixture
def service(config, catalog: Catalog) -> Service:
    """Return an unstarted Service that owns the test's catalog."""
    owner = Service(config)
    owner.catalog = catalog
    return owner


def detail_for(service: Service, user: User, request_id: int) -> RequestDetail:
    detail = RequestDetail(service, user)
    detail.show(request_id)
    return detail


def test_panel_plays_with_reason(service, catalog, spool):
    request_id, recording_ids = approved_request(catalog, spool)
    detail = detail_for(service, OPERATOR, request_id)
    panel = detail.playback

    assert panel._layout.visible
    assert list(panel.recording.options.values()) == recording_ids
    panel.recording.value = recording_ids[1]
    panel.reason.value = REASON
    assert panel.play() is True

    assert panel.player.visible
    assert panel.player.object == next(spool.glob("*-2.wav")).read_bytes()
    assert panel.reason.value == ""
    assert detail.alert.alert_type == "success"
    assert [row[:2] for row in entries(catalog)] == [("play", "ok")]


def test_panel_requires_reason_every_time(service, catalog, spool):
    request_id, _recording_ids = approved_request(catalog, spool)
    panel = detail_for(service, OPERATOR, request_id).playback
    panel.reason.value = REASON
    panel.play()

    assert panel.play() is False

    assert not panel.player.visible
    assert panel.player.object is None
    assert [row[1] for row in entries(catalog)] == ["ok", "denied"]


def test_panel_download_returns_original(service, catalog, spool, tmp_path):
    request_id, recording_ids = approved_request(catalog, spool)
    hand_over(catalog, request_id, recording_ids, method="copy", out_dir=tmp_path)
    panel = detail_for(service, OPERATOR, request_id).playback
    panel.recording.value = recording_ids[0]
    panel.reason.value = REASON

    data = panel._download_bytes().getvalue()

    original = next(spool.glob("*-1.wav"))
    assert data == original.read_bytes()
    assert panel.download_button.filename == original.name
    assert [row[:2] for row in entries(catalog)] == [("download", "ok")]


@pytest.mark.parametrize(
    "user",
    [
        pytest.param(TEAM_LEADER, id="approver"),
        pytest.param(AUDITOR, id="auditor"),
    ],
)
def test_panel_hidden_without_play_right(service, catalog, spool, user):
    request_id, _recording_ids = approved_request(catalog, spool)

    panel = detail_for(service, user, request_id).playback

    assert not panel._layout.visible


def test_panel_hidden_for_submitted_request(service, catalog, spool):
    recording_id = add_recording(catalog, spool, CALL_START, seed=4)
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    requests.attach_recordings(catalog, OPERATOR, record.id, [recording_id])

    panel = detail_for(service, OPERATOR, record.id).playback

    assert not panel._layout.visible


# -- own copy page ------------------------------------------------------------------


def test_own_copy_without_lines(service, catalog, spool):
    add_recording(catalog, spool, CALL_START, seed=1)

    page = OwnCopyPage(service, user=OPERATOR)

    assert "own-copy-no-lines" in page._lines.object
    assert not page._export_section.visible


def test_own_copy_exports_encrypted_zip(service, catalog, spool):
    mine = add_recording(catalog, spool, CALL_START, line="2101", seed=1)
    add_recording(catalog, spool, CALL_START, line="2202", seed=2)
    protected_copy.assign_line(catalog, ADMIN, OPERATOR.username, "2101")
    page = OwnCopyPage(service, user=OPERATOR)
    assert list(page.recording.options.values()) == [mine]
    viewed = (
        catalog.cursor()
        .execute(
            "SELECT actor, object_ids FROM access_log WHERE action = 'view_personal'"
        )
        .fetchall()
    )
    assert viewed == [(OPERATOR.username, ["own_copy"])]
    page.recording.value = mine
    page.password.value = "correct-horse-9"
    page.confirm.value = "correct-horse-9"

    data = page._archive_bytes().getvalue()

    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        archive.setpassword(b"correct-horse-9")
        names = archive.namelist()
        content = archive.read(names[0])
    assert content == next(spool.glob("*-1.wav")).read_bytes()
    assert page.password.value == ""
    assert page.confirm.value == ""
    assert page.download.filename.startswith(f"recording-{mine}-")
    exports = Path(service.config.data_dir) / "private" / "exports"
    assert list(exports.rglob("*.zip")) == []
    logged = (
        catalog.cursor()
        .execute("SELECT result FROM access_log WHERE action = 'export'")
        .fetchall()
    )
    assert logged == [("ok",)]


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        pytest.param("correct-horse-9", "correct-horse-8", "differ", id="mismatch"),
        pytest.param("short", "short", "at least 8", id="too-short"),
    ],
)
def test_own_copy_rejects_bad_password(
    service, catalog, spool, password, confirm, message
):
    mine = add_recording(catalog, spool, CALL_START, line="2101", seed=1)
    protected_copy.assign_line(catalog, ADMIN, OPERATOR.username, "2101")
    page = OwnCopyPage(service, user=OPERATOR, language="en")
    page.recording.value = mine
    page.password.value = password
    page.confirm.value = confirm

    data = page._archive_bytes().getvalue()

    assert data == b""
    assert page.alert.visible
    assert message in page.alert.object
    assert page.password.value == ""
