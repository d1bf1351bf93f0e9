"""Users, recordings and requests shared by the request workflow tests.

Every name and number here is made up.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import soundfile as sf

from pipeline import handover, protected_copy, requests, returns
from pipeline.auth import User
from pipeline.catalog import Catalog

SEOUL = ZoneInfo("Asia/Seoul")
RATE = 8000
CALL_START = datetime(2026, 3, 2, 10, 15, tzinfo=SEOUL)

OPERATOR = User("kim.op", "김담당", ("operator",), "정보통신과")
STAFF = User("lee.op", "이담당", ("operator",), "정보통신과")
TEAM_LEADER = User("park.tl", "박팀장", ("approver",), "정보통신과")
DEPARTMENT_HEAD = User("choi.dh", "최과장", ("approver",), "정보통신과")
VIEWER = User("jung.view", "정열람", ("viewer",), "민원과")
ADMIN = User("han.admin", "한관리", ("admin",), "정보통신과")

SIGNERS = (
    ("staff", STAFF),
    ("team_leader", TEAM_LEADER),
    ("department_head", DEPARTMENT_HEAD),
)

RECIPIENT = handover.Recipient("경기도 가상시 중앙로 1", "가상경찰서")
OFFICIAL = handover.HandingOfficial("정보통신과", "주무관", "김담당")


def create_all_schemas(con) -> None:
    """Create every table of the request workflow."""
    requests.create_schema(con)
    handover.create_schema(con)
    returns.create_schema(con)
    protected_copy.create_schema(con)


def open_catalog(path: Path) -> Catalog:
    """Open a catalog file with the request workflow tables."""
    catalog = Catalog(path)
    catalog.write(create_all_schemas)
    return catalog


def add_recording(
    catalog: Catalog,
    folder: Path,
    start: datetime,
    *,
    line: str = "2101",
    other_party: str = "0200001234",
    seed: int = 0,
    status: str = "ok",
) -> int:
    """Write a short WAV under ``folder`` and insert its recordings row."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"in-{line}-{other_party}-{start:%Y%m%d-%H%M%S}-{seed}.wav"
    path = folder / name
    rng = np.random.default_rng(seed)
    sf.write(path, 0.1 * rng.standard_normal(RATE).astype(np.float32), RATE)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    now = datetime.now(UTC)

    def write(con) -> int:
        rows = con.execute(
            "INSERT INTO recordings (root, path, file_name, file_name_nfc, sha256, "
            "start_time, line, other_party, direction, duration_s, status, "
            "first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'in', 1.0, ?, ?, ?) RETURNING id",
            [
                str(folder),
                str(path),
                name,
                name,
                digest,
                start,
                line,
                other_party,
                status,
                now,
                now,
            ],
        ).fetchall()
        return rows[0][0]

    return catalog.write(write)


def sample_form(**changes: object) -> requests.RequestForm:
    """Return a complete Form 1 with made-up personal data."""
    values: dict = {
        "requester_name": "홍길동",
        "requester_birth": "1980-01-02",
        "requester_address": "경기도 가상시 중앙로 1",
        "requester_contact": "010-0000-1234",
        "recorded_at": CALL_START,
        "recorded_phone": "02-0000-1234",
        "purpose": "민원 처리 경위 확인",
        "relation": "통화 당사자",
        "reason": "민원 내용에 대한 사실 확인",
    }
    values.update(changes)
    return requests.RequestForm(**values)


def approve_all(catalog: Catalog, request_id: int) -> requests.RequestRecord:
    """Sign the three approval stages with three different officials."""
    record = None
    for stage, signer in SIGNERS:
        record = requests.approve(catalog, signer, request_id, stage)
    return record


def attach_new_recording(
    catalog: Catalog, folder: Path, request_id: int, *, seed: int = 0
) -> int:
    """Attach a new recording to a submitted request, as its approval needs one."""
    recording_id = add_recording(catalog, folder, CALL_START, seed=seed)
    requests.attach_recordings(catalog, OPERATOR, request_id, [recording_id])
    return recording_id


def approved_request(catalog: Catalog, folder: Path) -> tuple[int, list[int]]:
    """Submit a request with two attached recordings and approve it."""
    first = add_recording(catalog, folder, CALL_START, seed=1)
    second = add_recording(catalog, folder, CALL_START + timedelta(minutes=5), seed=2)
    record = requests.submit_request(catalog, OPERATOR, sample_form())
    requests.attach_recordings(catalog, OPERATOR, record.id, [first, second])
    approve_all(catalog, record.id)
    return record.id, [first, second]


def provide_by_viewing(
    catalog: Catalog, request_id: int, recording_ids: list[int], received_on: date
) -> handover.HandoverResult:
    """Hand over an approved request as a viewing that ends in one hour."""
    now = datetime.combine(received_on, datetime.min.time(), SEOUL) + timedelta(
        hours=10
    )
    return handover.hand_over(
        catalog,
        OPERATOR,
        request_id,
        recording_ids=recording_ids,
        recipient=RECIPIENT,
        official=OFFICIAL,
        method="viewing",
        received_on=received_on,
        viewing_until=now + timedelta(hours=1),
        now=now,
    )


def destroyed_notice(notified_on: date) -> returns.DestructionNotice:
    """Return a Form 3 notice saying the copy was used as evidence and destroyed."""
    return returns.DestructionNotice(
        notified_on=notified_on,
        use_result="evidence",
        destruction="destroyed",
        destroyed_by_affiliation="가상경찰서 수사과",
        destroyed_by_name="오수사",
        confirmer_affiliation="가상경찰서",
        confirmer_rank="경위",
        confirmer_name="오수사",
    )
