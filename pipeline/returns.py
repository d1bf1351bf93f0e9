"""Notices of use and destruction (Form 3) and the returns still pending.

The recipient of a recording reports within ``RETURN_DAYS`` days of the day it
was provided how it was used and whether it was destroyed (녹취정보 활용 및 파기
결과 통보서). A notice that destroys the copy, or keeps it for a stated reason,
moves the request to returned. A notice that asks for an extension (연장요청)
is stored, moves the due date to the planned destruction date (파기예정일) and
leaves the request provided, because a final notice is still owed. Every due
date change is kept in ``request_due_date_changes``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from pipeline import auth
from pipeline.auth import User
from pipeline.errors import RecwatchError
from pipeline.requests import (
    RequestRecord,
    check_transition,
    get_request,
    log_change,
    set_status,
)

if TYPE_CHECKING:
    # Imported for annotations only: the catalog module imports the schema
    # of this module for its migrations.
    from pipeline.catalog import Catalog

logger = logging.getLogger(__name__)

# The Form 3 check boxes, keyed by the code stored in the catalog.
USE_RESULTS = {
    "evidence": "증거활용 / 기록물 보존",
    "transferred": "경찰 등 타기관 이첩",
    "destroyed": "자료 파기",
    "other": "기타",
}
DESTRUCTION_STATES = {
    "destroyed": "파기",
    "not_destroyed": "미파기",
    "extension": "연장요청",
}
NOT_DESTROYED_REASONS = {
    "evidence": "증거활용 / 기록물 보존",
    "transferred": "경찰 등 타기관 이첩",
    "in_progress": "활용 진행 중",
}

SCHEMA_SQL: list[str] = [
    "CREATE SEQUENCE IF NOT EXISTS request_notice_id_seq",
    """
    CREATE TABLE IF NOT EXISTS request_notices (
        id BIGINT PRIMARY KEY DEFAULT nextval('request_notice_id_seq'),
        request_id BIGINT NOT NULL,
        notified_on DATE NOT NULL,
        use_result VARCHAR NOT NULL CHECK (use_result IN
            ('evidence', 'transferred', 'destroyed', 'other')),
        use_result_other VARCHAR,
        destruction VARCHAR NOT NULL CHECK (destruction IN
            ('destroyed', 'not_destroyed', 'extension')),
        destroyed_by_affiliation VARCHAR,
        destroyed_by_name VARCHAR,
        not_destroyed_reason VARCHAR CHECK (not_destroyed_reason IN
            ('evidence', 'transferred', 'in_progress')),
        extension_period VARCHAR,
        planned_destruction_on DATE,
        confirmer_affiliation VARCHAR NOT NULL,
        confirmer_rank VARCHAR NOT NULL,
        confirmer_name VARCHAR NOT NULL,
        remarks VARCHAR NOT NULL DEFAULT '',
        recorded_by VARCHAR NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE SEQUENCE IF NOT EXISTS request_due_date_change_id_seq",
    """
    CREATE TABLE IF NOT EXISTS request_due_date_changes (
        id BIGINT PRIMARY KEY DEFAULT nextval('request_due_date_change_id_seq'),
        request_id BIGINT NOT NULL,
        previous_due_on DATE NOT NULL,
        new_due_on DATE NOT NULL,
        reason VARCHAR NOT NULL,
        notice_id BIGINT,
        changed_by VARCHAR NOT NULL,
        changed_at TIMESTAMPTZ NOT NULL
    )
    """,
]


def create_schema(con) -> None:
    """Create the notice and due-date tables on a DuckDB connection if missing."""
    for statement in SCHEMA_SQL:
        con.execute(statement)


@dataclass(frozen=True)
class DestructionNotice:
    """The fields of a Form 3 notice as the recipient filled them in.

    ``use_result`` is a key of :data:`USE_RESULTS` ("other" needs
    ``use_result_other``). ``destruction`` is a key of
    :data:`DESTRUCTION_STATES`: "destroyed" needs who destroyed it,
    "not_destroyed" a key of :data:`NOT_DESTROYED_REASONS`, and "extension" the
    period as written and the planned destruction date.
    """

    notified_on: date
    use_result: str
    destruction: str
    confirmer_affiliation: str
    confirmer_rank: str
    confirmer_name: str
    use_result_other: str = ""
    destroyed_by_affiliation: str = ""
    destroyed_by_name: str = ""
    not_destroyed_reason: str = ""
    extension_period: str = ""
    planned_destruction_on: date | None = None
    remarks: str = ""


@dataclass(frozen=True)
class StoredNotice:
    """A stored Form 3 notice with its id and who recorded it."""

    id: int
    request_id: int
    notice: DestructionNotice
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class DueDateChange:
    """One move of a request's due date."""

    previous_due_on: date
    new_due_on: date
    reason: str
    notice_id: int | None
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class PendingReturn:
    """A provided request still waiting for its final Form 3 notice.

    ``days_left`` counts from the given day to the due date, so it is negative
    once the notice is overdue.
    """

    request_id: int
    number: str
    recipient_name: str
    recipient_address: str
    provided_on: date
    due_on: date
    days_left: int
    extended: bool

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def record_notice(
    catalog: Catalog,
    user: User,
    request_id: int,
    notice: DestructionNotice,
    *,
    now: datetime | None = None,
) -> StoredNotice:
    """Store a Form 3 notice for a provided request.

    A notice with ``destruction="extension"`` moves the due date to the planned
    destruction date and keeps the request provided. Any other notice moves it
    to returned.
    """
    auth.require(user, "handover")
    now = now or datetime.now(UTC)
    _validate_notice(notice)

    def write(con) -> int:
        record = get_request(con, request_id)
        check_transition(record, "returned")
        if notice.notified_on < record.provided_on:
            raise RecwatchError(
                f"notice for request {record.number} is dated "
                f"{notice.notified_on}, before the day it was provided "
                f"({record.provided_on}). Check the date on the form."
            )
        rows = con.execute(
            "INSERT INTO request_notices (request_id, notified_on, use_result, "
            "use_result_other, destruction, destroyed_by_affiliation, "
            "destroyed_by_name, not_destroyed_reason, extension_period, "
            "planned_destruction_on, confirmer_affiliation, confirmer_rank, "
            "confirmer_name, remarks, recorded_by, recorded_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                record.id,
                notice.notified_on,
                notice.use_result,
                notice.use_result_other.strip() or None,
                notice.destruction,
                notice.destroyed_by_affiliation.strip() or None,
                notice.destroyed_by_name.strip() or None,
                notice.not_destroyed_reason or None,
                notice.extension_period.strip() or None,
                notice.planned_destruction_on,
                notice.confirmer_affiliation.strip(),
                notice.confirmer_rank.strip(),
                notice.confirmer_name.strip(),
                notice.remarks.strip(),
                user.username,
                now,
            ],
        ).fetchall()
        notice_id = rows[0][0]
        detail = {
            "number": record.number,
            "notice_id": notice_id,
            "use_result": notice.use_result,
            "destruction": notice.destruction,
        }
        if notice.destruction == "extension":
            _move_due_date(
                con,
                user,
                record,
                notice.planned_destruction_on,
                reason=f"연장요청 {notice.extension_period.strip()}".strip(),
                notice_id=notice_id,
                now=now,
            )
        else:
            set_status(con, record, "returned", now)
            detail.update({"from": record.status, "to": "returned"})
        log_change(con, user, record.id, event="notice", detail=detail, at=now)
        return notice_id

    notice_id = catalog.write(write)
    logger.info("notice %d recorded for request id %d", notice_id, request_id)
    return StoredNotice(notice_id, request_id, notice, user.username, now)


def extend_due_date(
    catalog: Catalog,
    user: User,
    request_id: int,
    new_due_on: date,
    reason: str,
    *,
    now: datetime | None = None,
) -> RequestRecord:
    """Move the due date of a provided request to a later day, with a reason.

    Use it for an extension agreed outside a Form 3 notice, such as by letter.
    """
    auth.require(user, "handover")
    now = now or datetime.now(UTC)
    if not (reason or "").strip():
        raise RecwatchError(
            f"extension of request {request_id} has no reason. State why the "
            f"recipient needs more time."
        )

    def write(con) -> None:
        record = get_request(con, request_id)
        _move_due_date(
            con,
            user,
            record,
            new_due_on,
            reason=reason.strip(),
            notice_id=None,
            now=now,
        )

    catalog.write(write)
    return get_request(catalog.cursor(), request_id)


def _move_due_date(
    con,
    user: User,
    record: RequestRecord,
    new_due_on: date | None,
    *,
    reason: str,
    notice_id: int | None,
    now: datetime,
) -> None:
    if record.status != "provided":
        raise RecwatchError(
            f"request {record.number} is {record.status}; only a provided request "
            f"has a due date to extend."
        )
    if new_due_on is None or new_due_on <= record.due_on:
        raise RecwatchError(
            f"new due date {new_due_on} for request {record.number} is not after "
            f"the current due date {record.due_on}. An extension must move the "
            f"date later."
        )
    con.execute(
        "INSERT INTO request_due_date_changes (request_id, previous_due_on, "
        "new_due_on, reason, notice_id, changed_by, changed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [record.id, record.due_on, new_due_on, reason, notice_id, user.username, now],
    )
    con.execute(
        "UPDATE requests SET due_on = ?, updated_at = ? WHERE id = ?",
        [new_due_on, now, record.id],
    )
    log_change(
        con,
        user,
        record.id,
        event="extend_due_date",
        detail={
            "number": record.number,
            "previous_due_on": record.due_on.isoformat(),
            "new_due_on": new_due_on.isoformat(),
            "notice_id": notice_id,
        },
        at=now,
    )


def due_date_changes(cursor, request_id: int) -> list[DueDateChange]:
    """Return the due-date history of a request, oldest first."""
    rows = cursor.execute(
        "SELECT previous_due_on, new_due_on, reason, notice_id, changed_by, "
        "changed_at FROM request_due_date_changes WHERE request_id = ? ORDER BY id",
        [request_id],
    ).fetchall()
    return [DueDateChange(*row) for row in rows]


def notices(cursor, request_id: int) -> list[StoredNotice]:
    """Return the Form 3 notices of a request, oldest first."""
    rows = cursor.execute(
        "SELECT id, request_id, notified_on, use_result, destruction, "
        "confirmer_affiliation, confirmer_rank, confirmer_name, "
        "coalesce(use_result_other, ''), coalesce(destroyed_by_affiliation, ''), "
        "coalesce(destroyed_by_name, ''), coalesce(not_destroyed_reason, ''), "
        "coalesce(extension_period, ''), planned_destruction_on, remarks, "
        "recorded_by, recorded_at FROM request_notices WHERE request_id = ? "
        "ORDER BY id",
        [request_id],
    ).fetchall()
    return [
        StoredNotice(
            id=row[0],
            request_id=row[1],
            notice=DestructionNotice(*row[2:15]),
            recorded_by=row[15],
            recorded_at=row[16],
        )
        for row in rows
    ]


def pending_returns(cursor, today: date) -> list[PendingReturn]:
    """Return provided requests still owing a final Form 3 notice, most urgent first.

    Urgency is the due date, so overdue requests come first; ties go by
    management number.
    """
    rows = cursor.execute(
        "SELECT r.id, r.number, h.recipient_name, h.recipient_address, "
        "r.provided_on, r.due_on, date_diff('day', ?::DATE, r.due_on), "
        "EXISTS (SELECT 1 FROM request_due_date_changes c WHERE c.request_id = r.id) "
        "FROM requests r JOIN handovers h ON h.request_id = r.id "
        "WHERE r.status = 'provided' ORDER BY r.due_on, r.number",
        [today],
    ).fetchall()
    return [PendingReturn(*row) for row in rows]


def _validate_notice(notice: DestructionNotice) -> None:
    if notice.use_result not in USE_RESULTS:
        raise RecwatchError(
            f"result of use {notice.use_result!r} is invalid. Expected one of "
            f"{', '.join(USE_RESULTS)}."
        )
    if notice.use_result == "other" and not notice.use_result_other.strip():
        raise RecwatchError(
            "result of use is 'other' (기타) but its text is empty. Write what the "
            "recording was used for."
        )
    if notice.destruction not in DESTRUCTION_STATES:
        raise RecwatchError(
            f"destruction status {notice.destruction!r} is invalid. Expected one of "
            f"{', '.join(DESTRUCTION_STATES)}."
        )
    if notice.destruction == "destroyed" and not (
        notice.destroyed_by_affiliation.strip() and notice.destroyed_by_name.strip()
    ):
        raise RecwatchError(
            "destruction status is 'destroyed' (파기) but the affiliation or name of "
            "the person who destroyed the copy is missing. Fill in both."
        )
    if (
        notice.destruction == "not_destroyed"
        and notice.not_destroyed_reason not in NOT_DESTROYED_REASONS
    ):
        raise RecwatchError(
            f"destruction status is 'not_destroyed' (미파기) with reason "
            f"{notice.not_destroyed_reason!r}. Expected one of "
            f"{', '.join(NOT_DESTROYED_REASONS)}."
        )
    if notice.destruction == "extension" and (
        notice.planned_destruction_on is None or not notice.extension_period.strip()
    ):
        raise RecwatchError(
            "destruction status is 'extension' (연장요청) but the period or the "
            "planned destruction date (파기예정일) is missing. Fill in both."
        )
    people = (
        notice.confirmer_affiliation,
        notice.confirmer_rank,
        notice.confirmer_name,
    )
    if not all(value.strip() for value in people):
        raise RecwatchError(
            "notice is missing the confirming person's affiliation, rank or name. "
            "Form 3 needs all three."
        )
