"""Handover of approved requests (Form 2: 녹취정보 인수·인계증).

An approved request is provided once, in one of two ways: a supervised viewing
that ends at a set time, or a protected copy, an AES-256 zip whose generated
password is returned once to the caller. Either way the receipt records the
recordings, the number of files (파일수량), the date received (수령일자), the
recipient (인수자) and the handing-over official (인계자). The request becomes
provided, and the notice of use and destruction (Form 3) falls due
``RETURN_DAYS`` days after the date received.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pipeline import auth
from pipeline.auth import User
from pipeline.errors import RecwatchError
from pipeline.protected_copy import ArchiveMember, build_protected_copy, unique_arcnames
from pipeline.requests import (
    SEOUL,
    check_transition,
    due_date,
    get_request,
    log_change,
    set_status,
)

if TYPE_CHECKING:
    # Imported for annotations only: the catalog module imports the schema
    # of this module for its migrations.
    from pipeline.catalog import Catalog

logger = logging.getLogger(__name__)

METHODS = ("viewing", "copy")
METHOD_LABELS_KO = {"viewing": "열람", "copy": "제공(암호화 사본)"}

SCHEMA_SQL: list[str] = [
    "CREATE SEQUENCE IF NOT EXISTS handover_id_seq",
    """
    CREATE TABLE IF NOT EXISTS handovers (
        id BIGINT PRIMARY KEY DEFAULT nextval('handover_id_seq'),
        request_id BIGINT NOT NULL UNIQUE,
        method VARCHAR NOT NULL CHECK (method IN ('viewing', 'copy')),
        file_count INTEGER NOT NULL,
        received_on DATE NOT NULL,
        recipient_address VARCHAR NOT NULL,
        recipient_name VARCHAR NOT NULL,
        official_affiliation VARCHAR NOT NULL,
        official_rank VARCHAR NOT NULL,
        official_name VARCHAR NOT NULL,
        viewing_until TIMESTAMPTZ,
        archive_name VARCHAR,
        archive_sha256 VARCHAR,
        handed_over_by VARCHAR NOT NULL,
        handed_over_at TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS handover_recordings (
        handover_id BIGINT NOT NULL,
        recording_id BIGINT NOT NULL,
        file_name VARCHAR NOT NULL,
        sha256 VARCHAR,
        PRIMARY KEY (handover_id, recording_id)
    )
    """,
]


def create_schema(con) -> None:
    """Create the handover tables on a DuckDB connection if they are missing."""
    for statement in SCHEMA_SQL:
        con.execute(statement)


@dataclass(frozen=True)
class Recipient:
    """The recipient (인수자): address or department, and name or organisation."""

    address: str
    name: str


@dataclass(frozen=True)
class HandingOfficial:
    """The handing-over official (인계자): affiliation, rank and name."""

    affiliation: str
    rank: str
    name: str


@dataclass(frozen=True)
class Handover:
    """A stored handover receipt."""

    id: int
    request_id: int
    method: str
    file_count: int
    received_on: date
    recipient: Recipient
    official: HandingOfficial
    viewing_until: datetime | None
    archive_name: str | None
    archive_sha256: str | None
    handed_over_by: str
    handed_over_at: datetime
    recording_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class HandoverResult:
    """What :func:`hand_over` returns: the receipt, and for a copy its archive.

    ``password`` is shown to the recipient once and is never stored; ``repr``
    leaves it out so that it cannot reach a log by accident.
    """

    handover: Handover
    archive_path: Path | None = None
    password: str | None = field(default=None, repr=False)


def hand_over(
    catalog: Catalog,
    user: User,
    request_id: int,
    *,
    recording_ids: Sequence[int],
    recipient: Recipient,
    official: HandingOfficial,
    method: str,
    received_on: date | None = None,
    viewing_until: datetime | None = None,
    out_dir: Path | None = None,
    now: datetime | None = None,
    tz: ZoneInfo = SEOUL,
) -> HandoverResult:
    """Provide an approved request's recordings and write its Form 2 receipt.

    ``recording_ids`` must be among the recordings attached to the request. A
    request for viewing (``access_kind="view"``) is handed over by viewing only.
    ``method="viewing"`` needs ``viewing_until``, the end of the viewing window.
    ``method="copy"`` needs ``out_dir`` and writes the archive
    ``recordings-NUMBER.zip`` there; the result carries its one-time password.
    ``received_on`` defaults to today in ``tz``. The access log gets one
    "handover" entry for a viewing, one "export" entry for a copy.
    """
    auth.require(user, "handover")
    now = now or datetime.now(UTC)
    received_on = received_on or now.astimezone(tz).date()
    _validate_people(recipient, official)
    if method not in METHODS:
        raise RecwatchError(
            f"handover method {method!r} is invalid. Expected 'viewing' (열람) or "
            f"'copy' (제공)."
        )

    record = get_request(catalog.cursor(), request_id)
    check_transition(record, "provided")
    if record.access_kind == "view" and method == "copy":
        # The approvers signed for a viewing, so a copy would provide more
        # than they approved.
        raise RecwatchError(
            f"request {record.number} asks for viewing (열람), so its recordings "
            "cannot be handed over as a copy. Hand them over by viewing, or file "
            "a request for provision (제공)",
            code="copy_for_viewing_request",
            values={"number": record.number},
        )
    ids = _check_recordings(record, recording_ids)
    files = (
        catalog.cursor()
        .execute(
            "SELECT id, path, file_name_nfc, sha256 FROM recordings "
            "WHERE list_contains(?::BIGINT[], id) ORDER BY id",
            [ids],
        )
        .fetchall()
    )

    archive_path = password = archive_sha256 = None
    if method == "viewing":
        if viewing_until is None or viewing_until.tzinfo is None:
            raise RecwatchError(
                f"viewing for request {record.number} has no end time with a time "
                f"zone. Pass viewing_until as an aware datetime."
            )
        if viewing_until <= now:
            raise RecwatchError(
                f"viewing for request {record.number} would end at "
                f"{viewing_until.isoformat()}, which is not after now. Pass a later "
                f"end time."
            )
    else:
        if out_dir is None:
            raise RecwatchError(
                f"copy for request {record.number} has no output folder. Pass "
                f"out_dir, a folder that is not served to the web."
            )
        arcnames = unique_arcnames([(row[0], row[2]) for row in files])
        members = [
            ArchiveMember(Path(row[1]), arcname, row[3])
            for row, arcname in zip(files, arcnames, strict=True)
        ]
        archive_path, password = build_protected_copy(
            members, Path(out_dir) / f"recordings-{record.number}.zip"
        )
        archive_sha256 = _file_sha256(archive_path)

    def write(con) -> int:
        # Read again inside the transaction, so a concurrent handover loses.
        current = get_request(con, request_id)
        check_transition(current, "provided")
        rows = con.execute(
            "INSERT INTO handovers (request_id, method, file_count, received_on, "
            "recipient_address, recipient_name, official_affiliation, "
            "official_rank, official_name, viewing_until, archive_name, "
            "archive_sha256, handed_over_by, handed_over_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                current.id,
                method,
                len(ids),
                received_on,
                recipient.address.strip(),
                recipient.name.strip(),
                official.affiliation.strip(),
                official.rank.strip(),
                official.name.strip(),
                viewing_until,
                archive_path.name if archive_path else None,
                archive_sha256,
                user.username,
                now,
            ],
        ).fetchall()
        handover_id = rows[0][0]
        for recording_id, _, file_name, sha256 in files:
            con.execute(
                "INSERT INTO handover_recordings VALUES (?, ?, ?, ?)",
                [handover_id, recording_id, file_name, sha256],
            )
        set_status(con, current, "provided", now)
        con.execute(
            "UPDATE requests SET provided_on = ?, due_on = ? WHERE id = ?",
            [received_on, due_date(received_on), current.id],
        )
        log_change(
            con,
            user,
            current.id,
            event="handover",
            action="export" if method == "copy" else "handover",
            detail={
                "number": current.number,
                "from": current.status,
                "to": "provided",
                "method": method,
                "handover_id": handover_id,
                "recording_ids": ids,
                "archive_sha256": archive_sha256,
            },
            at=now,
        )
        return handover_id

    try:
        handover_id = catalog.write(write)
    except BaseException:
        # A copy that was not recorded must not be handed out.
        if archive_path is not None:
            archive_path.unlink(missing_ok=True)
        raise
    handover = get_handover(catalog.cursor(), request_id)
    logger.info(
        "request %s provided: handover %d, method %s, %d files",
        record.number,
        handover_id,
        method,
        len(ids),
    )
    return HandoverResult(handover, archive_path, password)


def get_handover(cursor, request_id: int) -> Handover | None:
    """Return the handover receipt of a request, or None when not yet provided."""
    rows = cursor.execute(
        "SELECT id, request_id, method, file_count, received_on, recipient_address, "
        "recipient_name, official_affiliation, official_rank, official_name, "
        "viewing_until, archive_name, archive_sha256, handed_over_by, "
        "handed_over_at FROM handovers WHERE request_id = ?",
        [request_id],
    ).fetchall()
    if not rows:
        return None
    row = rows[0]
    recording_ids = cursor.execute(
        "SELECT recording_id FROM handover_recordings WHERE handover_id = ? "
        "ORDER BY recording_id",
        [row[0]],
    ).fetchall()
    return Handover(
        id=row[0],
        request_id=row[1],
        method=row[2],
        file_count=row[3],
        received_on=row[4],
        recipient=Recipient(row[5], row[6]),
        official=HandingOfficial(row[7], row[8], row[9]),
        viewing_until=row[10],
        archive_name=row[11],
        archive_sha256=row[12],
        handed_over_by=row[13],
        handed_over_at=row[14],
        recording_ids=tuple(recording_id for (recording_id,) in recording_ids),
    )


def _check_recordings(record, recording_ids: Sequence[int]) -> list[int]:
    ids = sorted({int(recording_id) for recording_id in recording_ids})
    if not ids:
        raise RecwatchError(
            f"no recordings picked for request {record.number}. Pick at least one "
            f"of its attached recordings {list(record.recording_ids)}.",
            code="no_recordings_picked",
        )
    foreign = [rid for rid in ids if rid not in record.recording_ids]
    if foreign:
        raise RecwatchError(
            f"recordings {foreign} are not attached to request {record.number}, "
            f"whose recordings are {list(record.recording_ids)}. Only attached "
            f"recordings, which the approvers signed for, can be provided."
        )
    return ids


def _validate_people(recipient: Recipient, official: HandingOfficial) -> None:
    fields = {
        "recipient_address": recipient.address,
        "recipient_name": recipient.name,
        "official_affiliation": official.affiliation,
        "official_rank": official.rank,
        "official_name": official.name,
    }
    empty = [name for name, value in fields.items() if not (value or "").strip()]
    if empty:
        missing = ", ".join(name.replace("_", " ") for name in empty)
        raise RecwatchError(
            f"handover receipt is missing {missing}. Form 2 needs the "
            f"recipient and the handing-over official in full.",
            code="receipt_fields_missing",
            values={"fields": empty},
        )


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
