"""Password-protected copies of recordings: AES-256 zip archives.

Two routes produce one. A handover (Form 2) gives the recipient an archive whose
password :func:`generate_password` makes and the caller shows once. An official
who was a party to a call exports their own copy (:func:`export_own_copy`) with a
password they choose. Neither password is stored or logged.

The lines each official works on are stored in the ``user_lines`` table, because a
user's department alone does not show that they were a party to a call.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyzipper

from pipeline import accesslog, auth
from pipeline.auth import User
from pipeline.config import Config
from pipeline.errors import PermissionDenied, RecwatchError
from pipeline.requests import normalize_phone

if TYPE_CHECKING:
    # Imported for annotations only: the catalog module imports the schema
    # of this module for its migrations.
    from pipeline.catalog import Catalog

logger = logging.getLogger(__name__)

# Letters and digits that are hard to mix up when read aloud or copied by hand:
# no 0/O, 1/I/L.
PASSWORD_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PASSWORD_GROUPS = 4
PASSWORD_GROUP_LENGTH = 4
MIN_OWN_PASSWORD_LENGTH = 8

SCHEMA_SQL: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS user_lines (
        username VARCHAR NOT NULL,
        line VARCHAR NOT NULL,
        assigned_by VARCHAR NOT NULL,
        assigned_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (username, line)
    )
    """,
]


def create_schema(con) -> None:
    """Create the ``user_lines`` table on a DuckDB connection if it is missing."""
    for statement in SCHEMA_SQL:
        con.execute(statement)


@dataclass(frozen=True)
class ArchiveMember:
    """One recording to put in an archive, under ``arcname``."""

    path: Path
    arcname: str
    sha256: str | None = None


def generate_password() -> str:
    """Return a random password such as "K7QX-M2PA-9RTE-WHN4" (about 79 bits)."""
    groups = (
        "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_GROUP_LENGTH))
        for _ in range(PASSWORD_GROUPS)
    )
    return "-".join(groups)


def build_protected_copy(
    members: Sequence[ArchiveMember],
    out_path: Path,
    *,
    password: str | None = None,
) -> tuple[Path, str]:
    """Write an AES-256 encrypted zip of ``members`` to ``out_path``.

    A member whose ``sha256`` is given is checked against the file before it is
    added, so an archive never carries a file that changed since it was
    cataloged. Without ``password`` one is generated. Returns the archive path and
    the password, which the caller shows once and must not store or log. The
    archive is written to a temporary name and renamed, so a failure leaves no
    partial archive behind.
    """
    if not members:
        raise RecwatchError(
            f"archive {out_path.name} would be empty. Give at least one recording."
        )
    password = password or generate_password()
    for member in members:
        _check_member(member)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = out_path.with_name(out_path.name + ".partial")
    try:
        with pyzipper.AESZipFile(
            partial,
            "w",
            compression=pyzipper.ZIP_DEFLATED,
            encryption=pyzipper.WZ_AES,
        ) as archive:
            archive.setpassword(password.encode("utf-8"))
            archive.setencryption(pyzipper.WZ_AES, nbits=256)
            for member in members:
                archive.write(member.path, arcname=member.arcname)
        os.chmod(partial, 0o600)
        os.replace(partial, out_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    logger.info("protected archive written: %s (%d files)", out_path, len(members))
    return out_path, password


def _check_member(member: ArchiveMember) -> None:
    if not member.path.is_file():
        raise RecwatchError(
            f"recording file {member.arcname} was not found on disk. It may have been "
            f"purged or moved; check its status in the catalog."
        )
    if member.sha256 is None:
        return
    with open(member.path, "rb") as stream:
        digest = hashlib.file_digest(stream, "sha256").hexdigest()
    if digest != member.sha256:
        raise RecwatchError(
            f"recording file {member.arcname} has SHA-256 {digest[:12]}…, but the "
            f"catalog recorded {member.sha256[:12]}…. The file changed after it was "
            f"cataloged; report it before handing it over."
        )


def unique_arcnames(file_names: Sequence[tuple[int, str]]) -> list[str]:
    """Return zip member names: the file name, prefixed by the id when names repeat."""
    counts: dict[str, int] = {}
    for _, name in file_names:
        counts[name] = counts.get(name, 0) + 1
    return [
        name if counts[name] == 1 else f"{recording_id}-{name}"
        for recording_id, name in file_names
    ]


# --- lines of each official -----------------------------------------------------------


def assign_line(
    catalog: Catalog,
    admin: User,
    username: str,
    line: str,
    *,
    now: datetime | None = None,
) -> None:
    """Record that ``username`` works on ``line``, so they may export its calls."""
    auth.require(admin, "manage_users")
    digits = normalize_phone(line)
    if not digits:
        raise RecwatchError(
            f"line {line!r} has no digits. Give the extension or number, such as "
            f"'2101'."
        )
    now = now or datetime.now(UTC)

    def write(con) -> None:
        con.execute(
            "INSERT INTO user_lines VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [username, digits, admin.username, now],
        )
        accesslog.append(
            con,
            actor=admin.username,
            role=",".join(admin.roles),
            action="assign_line",
            object_type="user",
            object_ids=[username],
            at=now,
        )

    catalog.write(write)


def remove_line(catalog: Catalog, admin: User, username: str, line: str) -> None:
    """Remove a line from a user's lines."""
    auth.require(admin, "manage_users")
    digits = normalize_phone(line)

    def write(con) -> None:
        con.execute(
            "DELETE FROM user_lines WHERE username = ? AND line = ?",
            [username, digits],
        )
        accesslog.append(
            con,
            actor=admin.username,
            role=",".join(admin.roles),
            action="remove_line",
            object_type="user",
            object_ids=[username],
        )

    catalog.write(write)


def user_lines(cursor, username: str) -> list[str]:
    """Return the lines recorded for ``username``, as digits."""
    rows = cursor.execute(
        "SELECT line FROM user_lines WHERE username = ? ORDER BY line", [username]
    ).fetchall()
    return [line for (line,) in rows]


COPY_FOLDERS = (("private", "handovers"), ("private", "exports"))
"""Folders under the data folder where protected copies wait for their download."""


def remove_stale_copies(data_dir: Path, keep_s: float, now: float) -> list[Path]:
    """Delete protected copies older than ``keep_s`` seconds; return their paths.

    A copy is deleted when it is downloaded. One that is never downloaded, because
    the page was closed or the server restarted, would otherwise keep recordings
    on the server outside the retention period. ``now`` is a ``time.time()``
    value, compared with each archive's modification time.
    """
    removed = []
    for parts in COPY_FOLDERS:
        folder = data_dir.joinpath(*parts)
        if not folder.is_dir():
            continue
        for archive in folder.rglob("*.zip"):
            try:
                if now - archive.stat().st_mtime < keep_s or archive.is_symlink():
                    continue
                archive.unlink()
            except OSError as error:
                logger.error(
                    "cannot delete the protected copy %s: %s; delete it by hand",
                    archive,
                    error.strerror,
                )
                continue
            logger.warning(
                "deleted the protected copy %s: it was not downloaded within "
                "%.0f minutes",
                archive,
                keep_s / 60,
            )
            removed.append(archive)
    return removed


def export_own_copy(
    catalog: Catalog,
    config: Config,
    user: User,
    recording_id: int,
    password: str,
    *,
    out_dir: Path | None = None,
) -> Path:
    """Export a call the user was a party to as an AES-256 zip with their password.

    The recording's line must be one of the user's lines (:func:`assign_line`);
    otherwise the attempt is logged as denied and PermissionDenied is raised. The
    archive goes to ``out_dir``, by default ``DATA_DIR/private/exports/USERNAME``.
    """
    auth.require(user, "export_own")
    if len(password or "") < MIN_OWN_PASSWORD_LENGTH:
        raise RecwatchError(
            f"the chosen password has {len(password or '')} characters. Choose one "
            f"of at least {MIN_OWN_PASSWORD_LENGTH} characters."
        )
    cursor = catalog.cursor()
    rows = cursor.execute(
        "SELECT path, file_name_nfc, sha256, line, status, deleted_at "
        "FROM recordings WHERE id = ?",
        [recording_id],
    ).fetchall()
    if not rows:
        raise RecwatchError(f"recording {recording_id} was not found in the catalog.")
    path, file_name, sha256, line, status, deleted_at = rows[0]
    if status == "deleted" or deleted_at is not None:
        raise RecwatchError(
            f"recording {recording_id} was purged and can no longer be exported."
        )
    lines = user_lines(cursor, user.username)
    if normalize_phone(line or "") not in lines:
        catalog.write(lambda con: _log_export(con, user, recording_id, result="denied"))
        raise PermissionDenied(
            f"user {user.username!r} is not a party to recording {recording_id}: "
            f"its line is not among the user's lines. An administrator can add the "
            f"line with assign_line."
        )
    folder = out_dir or config.data_dir / "private" / "exports" / user.username
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_path = Path(folder) / f"recording-{recording_id}-{stamp}.zip"
    member = ArchiveMember(Path(path), file_name, sha256)
    archive_path, _ = build_protected_copy([member], out_path, password=password)
    try:
        catalog.write(lambda con: _log_export(con, user, recording_id, result="ok"))
    except BaseException:
        # An export that cannot be logged must not stay on disk.
        archive_path.unlink(missing_ok=True)
        raise
    return archive_path


def _log_export(con, user: User, recording_id: int, *, result: str) -> None:
    accesslog.append(
        con,
        actor=user.username,
        role=",".join(user.roles),
        action="export",
        object_type="recording",
        object_ids=[recording_id],
        result=result,
        detail={"kind": "own_copy"},
    )
