"""Requests to view or receive recordings (Form 1) and their staged approval.

A recording is shown or handed to someone other than the parties only through a
written request (녹취정보 열람·제공 신청서). Each request gets a management number
``YYYY-NNNN`` (관리번호) from a per-year counter, so a rejected request never
frees its number. Its status moves only along :data:`TRANSITIONS`::

    submitted ─▶ approved ─▶ provided ─▶ returned ─▶ closed
        └──────▶ rejected

Approval (결재) runs in three stages in order: staff in charge (담당자), team leader
(팀장) and department head (과장). The user who entered the request, and the
official who asked for it, sign no stage, and one person signs at most one stage.
The Form 1 fields may be corrected until the first stage is signed. From then on
they are frozen, so that every signer approves the same text.
Every state change appends one access-log entry in the same transaction; its
detail carries ids and codes only, never personal data.

Proof documents live in :mod:`pipeline.proofs`, the handover (Form 2) in
:mod:`pipeline.handover` and the notice of use and destruction (Form 3) in
:mod:`pipeline.returns`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pipeline import accesslog, auth
from pipeline.auth import User
from pipeline.errors import PermissionDenied, RecwatchError

if TYPE_CHECKING:
    # Imported for annotations only: the catalog module imports the schema
    # of this module for its migrations.
    from pipeline.catalog import Catalog

logger = logging.getLogger(__name__)

SEOUL = ZoneInfo("Asia/Seoul")

STATUSES = ("submitted", "approved", "rejected", "provided", "returned", "closed")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "submitted": ("approved", "rejected"),
    "approved": ("provided",),
    "rejected": (),
    "provided": ("returned",),
    "returned": ("closed",),
    "closed": (),
}

STATUS_LABELS_KO = {
    "submitted": "신청",
    "approved": "승인",
    "rejected": "반려",
    "provided": "제공",
    "returned": "회신",
    "closed": "종결",
}

# Approval stages in signing order, with the permission each stage needs. The staff
# in charge (담당자) has the operator role, which has no approve_request action.
STAGES = ("staff", "team_leader", "department_head")
STAGE_LABELS_KO = {"staff": "담당자", "team_leader": "팀장", "department_head": "과장"}
STAGE_ACTIONS = {
    "staff": "manage_requests",
    "team_leader": "approve_request",
    "department_head": "approve_request",
}

ACCESS_KINDS = ("view", "provide")
ACCESS_LABELS_KO = {"view": "열람", "provide": "제공"}

RETURN_DAYS = 30
MAX_TEXT_CHARS = 2000

SCHEMA_SQL: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS request_number_counters (
        year INTEGER PRIMARY KEY,
        last_number INTEGER NOT NULL
    )
    """,
    "CREATE SEQUENCE IF NOT EXISTS request_id_seq",
    """
    CREATE TABLE IF NOT EXISTS requests (
        id BIGINT PRIMARY KEY DEFAULT nextval('request_id_seq'),
        number VARCHAR NOT NULL UNIQUE,
        status VARCHAR NOT NULL CHECK (status IN
            ('submitted', 'approved', 'rejected', 'provided', 'returned', 'closed')),
        access_kind VARCHAR NOT NULL CHECK (access_kind IN ('view', 'provide')),
        requested_at TIMESTAMPTZ NOT NULL,
        created_by VARCHAR NOT NULL,
        requester_username VARCHAR,
        requester_name VARCHAR NOT NULL,
        requester_birth VARCHAR NOT NULL,
        requester_address VARCHAR NOT NULL,
        requester_contact VARCHAR NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL,
        recorded_phone VARCHAR NOT NULL,
        purpose VARCHAR NOT NULL,
        relation VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        remarks VARCHAR NOT NULL DEFAULT '',
        proof_file_name VARCHAR,
        proof_stored_name VARCHAR,
        proof_sha256 VARCHAR,
        proof_size_bytes BIGINT,
        rejection_stage VARCHAR,
        rejection_reason VARCHAR,
        provided_on DATE,
        due_on DATE,
        closed_at TIMESTAMPTZ,
        updated_at TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS request_recordings (
        request_id BIGINT NOT NULL,
        recording_id BIGINT NOT NULL,
        attached_by VARCHAR NOT NULL,
        attached_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (request_id, recording_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS request_approvals (
        request_id BIGINT NOT NULL,
        stage VARCHAR NOT NULL CHECK (stage IN
            ('staff', 'team_leader', 'department_head')),
        decision VARCHAR NOT NULL CHECK (decision IN ('approved', 'rejected')),
        username VARCHAR NOT NULL,
        display_name VARCHAR NOT NULL,
        decided_at TIMESTAMPTZ NOT NULL,
        reason VARCHAR,
        PRIMARY KEY (request_id, stage)
    )
    """,
]

_REQUEST_COLUMNS = (
    "id, number, status, access_kind, requested_at, created_by, requester_username, "
    "requester_name, requester_birth, requester_address, requester_contact, "
    "recorded_at, recorded_phone, purpose, relation, reason, remarks, "
    "proof_file_name, proof_stored_name, proof_sha256, proof_size_bytes, "
    "rejection_stage, rejection_reason, provided_on, due_on, closed_at"
)


def create_schema(con) -> None:
    """Create the request tables on a DuckDB connection if they are missing."""
    for statement in SCHEMA_SQL:
        con.execute(statement)


# --- records --------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestForm:
    """The fields of Form 1 (녹취정보 열람·제공 신청서) as the requester wrote them.

    ``requester_username`` names the official who asked, when the requester is a
    recwatch user, so that they cannot approve their own request.
    """

    requester_name: str
    requester_birth: str
    requester_address: str
    requester_contact: str
    recorded_at: datetime
    recorded_phone: str
    purpose: str
    relation: str
    reason: str
    access_kind: str = "provide"
    remarks: str = ""
    requester_username: str | None = None


@dataclass(frozen=True)
class Approval:
    """One signed approval stage (결재) or the stage that rejected the request."""

    stage: str
    decision: str
    username: str
    display_name: str
    decided_at: datetime
    reason: str | None


@dataclass(frozen=True)
class RequestRecord:
    """A stored request with its approvals and attached recording ids."""

    id: int
    number: str
    status: str
    access_kind: str
    requested_at: datetime
    created_by: str
    requester_username: str | None
    requester_name: str
    requester_birth: str
    requester_address: str
    requester_contact: str
    recorded_at: datetime
    recorded_phone: str
    purpose: str
    relation: str
    reason: str
    remarks: str
    proof_file_name: str | None
    proof_stored_name: str | None
    proof_sha256: str | None
    proof_size_bytes: int | None
    rejection_stage: str | None
    rejection_reason: str | None
    provided_on: date | None
    due_on: date | None
    closed_at: datetime | None
    approvals: tuple[Approval, ...] = ()
    recording_ids: tuple[int, ...] = ()

    def approval(self, stage: str) -> Approval | None:
        """Return the decision recorded for ``stage``, or None."""
        for approval in self.approvals:
            if approval.stage == stage:
                return approval
        return None

    @property
    def editable(self) -> bool:
        """Whether the Form 1 fields may still change: submitted, no stage signed."""
        return self.status == "submitted" and not self.approvals

    @property
    def next_stage(self) -> str | None:
        """The stage that signs next, or None when no stage is open."""
        if self.status != "submitted":
            return None
        signed = {approval.stage for approval in self.approvals}
        for stage in STAGES:
            if stage not in signed:
                return stage
        return None


@dataclass(frozen=True)
class Candidate:
    """A cataloged recording near the time and number given on a request."""

    recording_id: int
    start_time: datetime
    line: str | None
    other_party: str | None
    direction: str | None
    duration_s: float | None
    file_name: str
    minutes_apart: float


# --- reading --------------------------------------------------------------------------


def get_request(cursor, request: int | str) -> RequestRecord:
    """Load one request by id or management number, or raise RecwatchError."""
    if isinstance(request, str):
        where, value = "number = ?", request
    else:
        where, value = "id = ?", int(request)
    rows = cursor.execute(
        f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE {where}", [value]
    ).fetchall()
    if not rows:
        raise RecwatchError(
            f"request {request!r} was not found. Check the id or the management "
            f"number (YYYY-NNNN) in the request list.",
            code="request_not_found",
            values={"request": request},
        )
    return _load_details(cursor, rows[0])


def list_requests(cursor, statuses: Iterable[str] = ()) -> list[RequestRecord]:
    """Return requests, newest management number first, optionally by status."""
    statuses = tuple(statuses)
    for status in statuses:
        _check_status_name(status)
    sql = f"SELECT {_REQUEST_COLUMNS} FROM requests"
    params: list[Any] = []
    if statuses:
        sql += " WHERE list_contains(?::VARCHAR[], status)"
        params.append(list(statuses))
    rows = cursor.execute(sql + " ORDER BY requested_at DESC, id DESC", params)
    return [_load_details(cursor, row) for row in rows.fetchall()]


def _load_details(cursor, row: tuple) -> RequestRecord:
    request_id = row[0]
    approvals = cursor.execute(
        "SELECT stage, decision, username, display_name, decided_at, reason "
        "FROM request_approvals WHERE request_id = ?",
        [request_id],
    ).fetchall()
    ordered = sorted(approvals, key=lambda approval: STAGES.index(approval[0]))
    recording_ids = cursor.execute(
        "SELECT recording_id FROM request_recordings WHERE request_id = ? "
        "ORDER BY recording_id",
        [request_id],
    ).fetchall()
    return RequestRecord(
        *row,
        approvals=tuple(Approval(*approval) for approval in ordered),
        recording_ids=tuple(recording_id for (recording_id,) in recording_ids),
    )


def find_candidates(
    cursor,
    recorded_at: datetime,
    phone: str,
    window_minutes: int = 30,
) -> list[Candidate]:
    """Return recordings within ``window_minutes`` of ``recorded_at`` on ``phone``.

    The number matches the recording's line or its other party, compared by digits
    only, so "02-0000-1234" finds "0200001234". Purged recordings are left out,
    because they can no longer be provided. Nearest start time first.
    """
    if recorded_at.tzinfo is None:
        raise RecwatchError(
            f"recording time {recorded_at.isoformat()} has no time zone. Pass an "
            f"aware datetime, for example with tzinfo=ZoneInfo('Asia/Seoul')."
        )
    if window_minutes <= 0:
        raise RecwatchError(
            f"search window of {window_minutes} minutes is invalid. Expected a "
            f"positive number of minutes."
        )
    digits = normalize_phone(phone)
    if len(digits) < 3:
        raise RecwatchError(
            f"phone number {auth.mask_phone(phone)!r} has fewer than 3 digits. "
            f"Enter the recorded number as written on the request.",
            code="phone_too_short",
        )
    window = timedelta(minutes=window_minutes)
    rows = cursor.execute(
        "SELECT id, start_time, line, other_party, direction, duration_s, "
        "file_name_nfc, abs(epoch(start_time) - epoch(?::TIMESTAMPTZ)) / 60.0 "
        "FROM recordings "
        "WHERE start_time BETWEEN ? AND ? "
        "AND status <> 'deleted' AND deleted_at IS NULL "
        "AND (regexp_replace(coalesce(line, ''), '\\D', '', 'g') = ? "
        "  OR regexp_replace(coalesce(other_party, ''), '\\D', '', 'g') = ?) "
        "ORDER BY 8, id",
        [recorded_at, recorded_at - window, recorded_at + window, digits, digits],
    ).fetchall()
    return [Candidate(*row) for row in rows]


def normalize_phone(number: str) -> str:
    """Return the digits of a phone number, reading "+82" numbers as domestic."""
    text = number or ""
    digits = re.sub(r"\D", "", text)
    if text.strip().startswith("+82"):
        digits = "0" + digits[2:]
    return digits


# --- writing --------------------------------------------------------------------------


def submit_request(
    catalog: Catalog,
    user: User,
    form: RequestForm,
    *,
    now: datetime | None = None,
    tz: ZoneInfo = SEOUL,
) -> RequestRecord:
    """Store a Form 1 request as submitted and give it the next management number.

    The number's year is the year of ``now`` in ``tz``.
    """
    auth.require(user, "manage_requests")
    values = _form_columns(form)
    now = aware_now(now)
    year = now.astimezone(tz).year
    columns = ", ".join(values)
    placeholders = ", ".join("?" for _ in values)

    def write(con) -> int:
        number = next_number(con, year)
        rows = con.execute(
            f"INSERT INTO requests (number, status, requested_at, created_by, "
            f"updated_at, {columns}) "
            f"VALUES (?, 'submitted', ?, ?, ?, {placeholders}) RETURNING id",
            [number, now, user.username, now, *values.values()],
        ).fetchall()
        request_id = rows[0][0]
        log_change(
            con,
            user,
            request_id,
            event="submit",
            detail={"number": number, "to": "submitted"},
            at=now,
        )
        return request_id

    request_id = catalog.write(write)
    record = get_request(catalog.cursor(), request_id)
    logger.info("request %s submitted by %s", record.number, user.username)
    return record


def update_request(
    catalog: Catalog,
    user: User,
    request_id: int,
    form: RequestForm,
    *,
    now: datetime | None = None,
    tz: ZoneInfo = SEOUL,
) -> RequestRecord:
    """Replace the Form 1 fields of a submitted request that no stage has signed.

    The form is validated as in :func:`submit_request`. Fields equal to the stored
    values count as unchanged. When none changed, nothing is written and no
    access-log entry is added. The log entry of a change names the changed fields,
    never their values. ``tz`` is the zone of the signing time in the error for a
    frozen request.
    """
    auth.require(user, "manage_requests")
    values = _form_columns(form)
    now = aware_now(now)

    def write(con) -> list[str]:
        record = get_request(con, request_id)
        check_editable(record, tz)
        changed = _changed_columns(record, values)
        if not changed:
            return changed
        # The column names are the fixed keys of _form_columns, never user input.
        assignments = ", ".join(f"{name} = ?" for name in changed)
        con.execute(
            f"UPDATE requests SET {assignments}, updated_at = ? WHERE id = ?",
            [*(values[name] for name in changed), now, record.id],
        )
        log_change(
            con,
            user,
            record.id,
            event="update",
            detail={"number": record.number, "fields": changed},
            at=now,
        )
        return changed

    changed = catalog.write(write)
    record = get_request(catalog.cursor(), request_id)
    if changed:
        logger.info(
            "request %s fields %s changed by %s",
            record.number,
            ",".join(changed),
            user.username,
        )
    return record


def changed_fields(record: RequestRecord, form: RequestForm) -> list[str]:
    """Return the names of the Form 1 fields where ``form`` differs from ``record``.

    The form is validated and its text stripped first, as :func:`update_request`
    does before it compares.
    """
    return _changed_columns(record, _form_columns(form))


def check_editable(record: RequestRecord, tz: ZoneInfo = SEOUL) -> None:
    """Raise RecwatchError unless the Form 1 fields of ``record`` may still change."""
    if record.editable:
        return
    if record.status == "submitted":
        first = record.approvals[0]
        signed_at = first.decided_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        raise RecwatchError(
            f"request {record.number} is submitted and was signed at stage "
            f"{first.stage} by {first.username!r} on {signed_at}, so its Form 1 "
            f"fields are frozen. To correct them, ask the official at stage "
            f"{record.next_stage} to reject it, then submit a new request."
        )
    raise RecwatchError(
        f"request {record.number} is {record.status}, so its Form 1 fields are "
        f"frozen. They change only while a request is submitted and unsigned. "
        f"Submit a new request with the corrected fields."
    )


def next_number(con, year: int) -> str:
    """Take the next management number ``YYYY-NNNN`` of ``year`` from its counter.

    Call it inside a write transaction. The counter only grows, so a number stays
    used even when its request is rejected or its row is removed.
    """
    rows = con.execute(
        "INSERT INTO request_number_counters (year, last_number) VALUES (?, 1) "
        "ON CONFLICT (year) DO UPDATE SET last_number = last_number + 1 "
        "RETURNING last_number",
        [year],
    ).fetchall()
    return f"{year:04d}-{rows[0][0]:04d}"


def attach_recordings(
    catalog: Catalog,
    user: User,
    request_id: int,
    recording_ids: Sequence[int],
    *,
    now: datetime | None = None,
) -> RequestRecord:
    """Attach the recordings the operator confirmed from :func:`find_candidates`.

    Only a submitted request takes recordings, so that the approvers sign for a
    fixed set. Purged and unknown recordings raise RecwatchError.
    """
    auth.require(user, "manage_requests")
    ids = sorted({int(recording_id) for recording_id in recording_ids})
    if not ids:
        raise RecwatchError(
            f"no recordings given for request {request_id}. Pick at least one "
            f"recording from the candidates.",
            code="no_recordings_picked",
        )
    now = aware_now(now)

    def write(con) -> None:
        record = get_request(con, request_id)
        if record.status != "submitted":
            raise RecwatchError(
                f"request {record.number} is {record.status}, so its recordings "
                f"cannot change. Recordings are attached while it is submitted; "
                f"file a new request for further recordings."
            )

        found = con.execute(
            "SELECT id, status, deleted_at FROM recordings "
            "WHERE list_contains(?::BIGINT[], id)",
            [ids],
        ).fetchall()
        known = {row[0]: row for row in found}
        missing = [recording_id for recording_id in ids if recording_id not in known]
        if missing:
            raise RecwatchError(
                f"recordings {missing} were not found in the catalog for request "
                f"{record.number}. Search again with find_candidates."
            )
        purged = [row[0] for row in found if row[1] == "deleted" or row[2]]
        if purged:
            raise RecwatchError(
                f"recordings {purged} were purged and cannot be attached to request "
                f"{record.number}.",
                code="recordings_purged",
                values={"recordings": ", ".join(map(str, purged))},
            )

        new_ids = [
            recording_id
            for recording_id in ids
            if recording_id not in record.recording_ids
        ]
        for recording_id in new_ids:
            con.execute(
                "INSERT INTO request_recordings VALUES (?, ?, ?, ?)",
                [record.id, recording_id, user.username, now],
            )
        _touch(con, record.id, now)

        log_change(
            con,
            user,
            record.id,
            event="attach_recordings",
            detail={"number": record.number, "recording_ids": new_ids},
            at=now,
        )

    catalog.write(write)
    return get_request(catalog.cursor(), request_id)


def approve(
    catalog: Catalog,
    user: User,
    request_id: int,
    stage: str,
    *,
    now: datetime | None = None,
) -> RequestRecord:
    """Sign ``stage`` of a submitted request; the third signature approves it."""
    now = aware_now(now)

    def write(con) -> None:
        record = get_request(con, request_id)
        _check_signer(record, user, stage, decision="approve")
        if stage == STAGES[-1] and not record.recording_ids:
            # An approval authorises providing recordings; with none attached
            # it would authorise nothing that can be handed over.
            raise RecwatchError(
                f"request {record.number} has no recordings attached, so it "
                "cannot be approved. Attach the recordings it asks for, or "
                "reject it if none exist.",
                code="no_recordings_attached",
                values={"number": record.number},
            )
        con.execute(
            "INSERT INTO request_approvals VALUES (?, ?, 'approved', ?, ?, ?, NULL)",
            [record.id, stage, user.username, user.display_name, now],
        )
        detail: dict[str, Any] = {"number": record.number, "stage": stage}
        if stage == STAGES[-1]:
            set_status(con, record, "approved", now)
            detail.update({"from": record.status, "to": "approved"})
        else:
            _touch(con, record.id, now)
        log_change(con, user, record.id, event="approve", detail=detail, at=now)

    _write_signature(catalog, user, request_id, stage, "approve", write, now)
    record = get_request(catalog.cursor(), request_id)
    logger.info("request %s stage %s signed by %s", record.number, stage, user.username)
    return record


def reject(
    catalog: Catalog,
    user: User,
    request_id: int,
    stage: str,
    reason: str,
    *,
    now: datetime | None = None,
) -> RequestRecord:
    """Reject a submitted request at ``stage`` with a reason; the request ends."""
    reason = (reason or "").strip()
    if not reason:
        raise RecwatchError(
            f"rejection of request {request_id} has no reason. State why it is "
            f"rejected, for the requester and the ledger.",
            code="rejection_without_reason",
        )
    _check_text("reason", reason)
    now = aware_now(now)

    def write(con) -> None:
        record = get_request(con, request_id)
        _check_signer(record, user, stage, decision="reject")
        con.execute(
            "INSERT INTO request_approvals VALUES (?, ?, 'rejected', ?, ?, ?, ?)",
            [record.id, stage, user.username, user.display_name, now, reason],
        )
        set_status(con, record, "rejected", now)
        con.execute(
            "UPDATE requests SET rejection_stage = ?, rejection_reason = ? "
            "WHERE id = ?",
            [stage, reason, record.id],
        )
        log_change(
            con,
            user,
            record.id,
            event="reject",
            detail={
                "number": record.number,
                "stage": stage,
                "from": record.status,
                "to": "rejected",
            },
            at=now,
        )

    _write_signature(catalog, user, request_id, stage, "reject", write, now)
    record = get_request(catalog.cursor(), request_id)
    logger.info("request %s rejected at stage %s", record.number, stage)
    return record


def close_request(
    catalog: Catalog, user: User, request_id: int, *, now: datetime | None = None
) -> RequestRecord:
    """Close a request whose notice of use and destruction was received."""
    auth.require(user, "manage_requests")
    now = aware_now(now)

    def write(con) -> None:
        record = get_request(con, request_id)
        check_transition(record, "closed")
        set_status(con, record, "closed", now)
        con.execute("UPDATE requests SET closed_at = ? WHERE id = ?", [now, record.id])
        log_change(
            con,
            user,
            record.id,
            event="close",
            detail={"number": record.number, "from": record.status, "to": "closed"},
            at=now,
        )

    catalog.write(write)
    return get_request(catalog.cursor(), request_id)


# --- helpers shared with the handover and return modules ------------------------------


def check_transition(record: RequestRecord, new_status: str) -> None:
    """Raise RecwatchError unless ``record`` may move to ``new_status``."""
    _check_status_name(new_status)
    allowed = TRANSITIONS[record.status]
    if new_status in allowed:
        return
    if allowed:
        steps = "allowed next steps: " + ", ".join(allowed)
    else:
        steps = f"{record.status} is final, so no step is allowed"
    raise RecwatchError(
        f"request {record.number} is {record.status} and cannot become "
        f"{new_status}; {steps}.",
        code="request_status_change",
        values={
            "number": record.number,
            "status": record.status,
            "new_status": new_status,
        },
    )


def set_status(con, record: RequestRecord, new_status: str, now: datetime) -> None:
    """Move ``record`` to ``new_status`` inside the caller's write transaction."""
    check_transition(record, new_status)
    con.execute(
        "UPDATE requests SET status = ?, updated_at = ? WHERE id = ?",
        [new_status, now, record.id],
    )


def log_change(
    con,
    user: User,
    request_id: int,
    *,
    event: str,
    detail: dict[str, Any],
    at: datetime,
    action: str = "request_change",
    result: str = "ok",
) -> None:
    """Append the access-log entry of one request change (ids and codes only)."""
    accesslog.append(
        con,
        actor=user.username,
        role=",".join(user.roles),
        action=action,
        object_type="request",
        object_ids=[request_id],
        result=result,
        detail={"event": event, **detail},
        at=at,
    )


def _write_signature(
    catalog: Catalog,
    user: User,
    request_id: int,
    stage: str,
    decision: str,
    write,
    now: datetime,
) -> None:
    """Run the signature's ``write`` and log a PermissionDenied as a denied entry.

    The rejected write rolls back, so the denied entry gets a transaction of its
    own. Auditors then see who tried to sign their own request or a second stage.
    """
    try:
        catalog.write(write)
    except PermissionDenied as error:
        detail = {"stage": stage, "error_code": error.code}
        catalog.write(
            lambda con: log_change(
                con,
                user,
                request_id,
                event=decision,
                detail=detail,
                at=now,
                result="denied",
            )
        )
        raise


def _touch(con, request_id: int, now: datetime) -> None:
    con.execute("UPDATE requests SET updated_at = ? WHERE id = ?", [now, request_id])


def _check_signer(record: RequestRecord, user: User, stage: str, decision: str) -> None:
    if stage not in STAGES:
        raise RecwatchError(
            f"approval stage {stage!r} is unknown. Expected one of {', '.join(STAGES)}."
        )
    auth.require(user, STAGE_ACTIONS[stage])
    new_status = "approved" if decision == "approve" else "rejected"
    if record.status != "submitted":
        check_transition(record, new_status)
    expected = record.next_stage
    if stage != expected:
        raise RecwatchError(
            f"request {record.number} cannot be signed at stage {stage}: stages are "
            f"signed in the order {', '.join(STAGES)}, and the next one is "
            f"{expected}.",
            code="stage_out_of_order",
            values={"number": record.number, "stage": stage, "expected": expected},
        )
    if user.username in (record.created_by, record.requester_username):
        raise PermissionDenied(
            f"user {user.username!r} entered or asked for request {record.number} "
            f"and so may not {decision} it at any stage. Another official must sign.",
            code="own_request_signed",
            values={"number": record.number},
        )
    signed = [a.stage for a in record.approvals if a.username == user.username]
    if signed:
        raise PermissionDenied(
            f"user {user.username!r} already signed request {record.number} at "
            f"stage {signed[0]}; one person signs at most one stage. Another "
            f"official must sign stage {stage}.",
            code="signed_twice",
            values={"number": record.number, "stage": signed[0]},
        )


def _check_status_name(status: str) -> None:
    if status not in STATUSES:
        raise RecwatchError(
            f"request status {status!r} is unknown. Expected one of "
            f"{', '.join(STATUSES)}."
        )


def _form_columns(form: RequestForm) -> dict[str, Any]:
    """Validate a Form 1 and return its ``requests`` column values, text stripped.

    Raise RecwatchError for missing fields, a text over ``MAX_TEXT_CHARS``, an
    unknown access kind or a recording time without a time zone.
    """
    _validate_form(form)
    return {
        "access_kind": form.access_kind,
        "requester_username": form.requester_username,
        "requester_name": form.requester_name.strip(),
        "requester_birth": form.requester_birth.strip(),
        "requester_address": form.requester_address.strip(),
        "requester_contact": form.requester_contact.strip(),
        "recorded_at": form.recorded_at,
        "recorded_phone": form.recorded_phone.strip(),
        "purpose": form.purpose.strip(),
        "relation": form.relation.strip(),
        "reason": form.reason.strip(),
        "remarks": form.remarks.strip(),
    }


def _changed_columns(record: RequestRecord, values: dict[str, Any]) -> list[str]:
    return [name for name, value in values.items() if getattr(record, name) != value]


def _validate_form(form: RequestForm) -> None:
    required = {
        "requester_name": form.requester_name,
        "requester_birth": form.requester_birth,
        "requester_address": form.requester_address,
        "requester_contact": form.requester_contact,
        "recorded_phone": form.recorded_phone,
        "purpose": form.purpose,
        "relation": form.relation,
        "reason": form.reason,
    }
    empty = [name for name, value in required.items() if not (value or "").strip()]
    if empty:
        raise RecwatchError(
            f"request form is missing {', '.join(empty)}. Every Form 1 field must "
            f"be filled in.",
            code="request_fields_missing",
            values={"fields": empty},
        )
    for name, value in {**required, "remarks": form.remarks}.items():
        _check_text(name, value)
    if form.access_kind not in ACCESS_KINDS:
        raise RecwatchError(
            f"access kind {form.access_kind!r} is invalid. Expected 'view' (열람) "
            f"or 'provide' (제공)."
        )
    if form.recorded_at.tzinfo is None:
        raise RecwatchError(
            f"recording time {form.recorded_at.isoformat()} has no time zone. Pass "
            f"an aware datetime, for example in Asia/Seoul."
        )


def _check_text(name: str, value: str) -> None:
    if len(value) > MAX_TEXT_CHARS:
        raise RecwatchError(
            f"field {name} has {len(value)} characters, more than the limit of "
            f"{MAX_TEXT_CHARS}. Shorten it or attach the text as a document.",
            code="field_too_long",
            values={"fields": [name], "limit": MAX_TEXT_CHARS},
        )


def aware_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise RecwatchError(
            f"time {now.isoformat()} has no time zone. Pass an aware datetime."
        )
    return now


def due_date(provided_on: date) -> date:
    """Return the Form 3 due date: ``RETURN_DAYS`` days after the day provided."""
    return provided_on + timedelta(days=RETURN_DAYS)
