"""Proof documents of requests: the law or order that allows a provision.

A request to give a recording to someone other than the parties carries a scanned
proof document. :func:`store_proof` saves the upload under a generated name in a
private folder, and :func:`attach_proof` records it on the submitted request with
an access-log entry.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import auth, requests
from pipeline.auth import User
from pipeline.config import Config
from pipeline.errors import RecwatchError

if TYPE_CHECKING:
    from pipeline.catalog import Catalog

logger = logging.getLogger(__name__)

MAX_PROOF_BYTES = 20 * 1024 * 1024
_SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")


@dataclass(frozen=True)
class StoredProof:
    """A proof document saved by :func:`store_proof`."""

    path: Path
    original_name: str
    stored_name: str
    sha256: str
    size_bytes: int


def store_proof(
    config: Config,
    request_id: int,
    filename: str,
    data: bytes,
    *,
    max_bytes: int = MAX_PROOF_BYTES,
) -> StoredProof:
    """Save a proof document under ``DATA_DIR/private/proofs`` with a generated name.

    The proof shows that a law allows giving the recording to someone other than
    the parties. The original name is only recorded: a name with a path part, a
    control character or "." / ".." raises RecwatchError. The stored name is the
    request id plus random hex and the original suffix when it is plain
    letters and digits. Record it on the request with :func:`attach_proof`.
    """
    original_name = check_proof(filename, data, max_bytes=max_bytes)
    suffix = Path(original_name).suffix
    suffix = suffix.lower() if _SAFE_SUFFIX.fullmatch(suffix) else ""
    stored_name = f"{int(request_id)}-{secrets.token_hex(8)}{suffix}"
    folder = proofs_dir(config)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / stored_name
    # O_EXCL: a generated name never overwrites an earlier upload.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    digest = hashlib.sha256(data).hexdigest()
    logger.info("proof document stored for request id %d: %s", request_id, stored_name)
    return StoredProof(path, original_name, stored_name, digest, len(data))


def check_proof(filename: str, data: bytes, *, max_bytes: int = MAX_PROOF_BYTES) -> str:
    """Return the proof's name stripped, or raise RecwatchError for a bad upload.

    Call it before a request is stored, so that a rejected proof leaves no
    request behind.
    """
    original_name = validate_upload_name(filename)
    if not data:
        raise RecwatchError(
            f"proof document {original_name!r} is empty. Upload the scanned "
            f"document again.",
            code="proof_empty",
            values={"name": original_name},
        )
    if len(data) > max_bytes:
        raise RecwatchError(
            f"proof document {original_name!r} has {len(data)} bytes, more than the "
            f"limit of {max_bytes}. Scan it at a lower resolution or split it.",
            code="proof_too_large",
            values={"name": original_name, "limit_mb": max_bytes // (1024 * 1024)},
        )
    return original_name


def proofs_dir(config: Config) -> Path:
    """Return the folder of proof documents, outside every served static folder."""
    return config.data_dir / "private" / "proofs"


def attach_proof(
    catalog: Catalog,
    user: User,
    request_id: int,
    proof: StoredProof,
    *,
    now: datetime | None = None,
) -> requests.RequestRecord:
    """Record a stored proof document on a submitted request, replacing any earlier."""
    auth.require(user, "manage_requests")
    now = requests.aware_now(now)

    def write(con) -> None:
        record = requests.get_request(con, request_id)
        if record.status != "submitted":
            raise RecwatchError(
                f"request {record.number} is {record.status}; a proof document can "
                f"only be attached while it is submitted."
            )
        con.execute(
            "UPDATE requests SET proof_file_name = ?, proof_stored_name = ?, "
            "proof_sha256 = ?, proof_size_bytes = ?, updated_at = ? WHERE id = ?",
            [
                proof.original_name,
                proof.stored_name,
                proof.sha256,
                proof.size_bytes,
                now,
                record.id,
            ],
        )
        requests.log_change(
            con,
            user,
            record.id,
            event="attach_proof",
            detail={"number": record.number, "sha256": proof.sha256},
            at=now,
        )

    catalog.write(write)
    return requests.get_request(catalog.cursor(), request_id)


def validate_upload_name(filename: str) -> str:
    """Return an uploaded file's name stripped, or raise RecwatchError saying why."""
    name = (filename or "").strip()
    problem = None
    if not name:
        problem = "it is empty"
    elif "/" in name or "\\" in name:
        problem = "it contains a path separator"
    elif name in (".", "..") or name.startswith(".."):
        problem = "it refers to a parent or current folder"
    elif any(ord(char) < 32 or ord(char) == 127 for char in name):
        problem = "it contains a control character"
    elif len(name) > 255:
        problem = "it is longer than 255 characters"
    if problem:
        raise RecwatchError(
            f"proof file name {name[:80]!r} is invalid because {problem}. Upload the "
            f"file under a plain name such as 'court-order.pdf'.",
            code="proof_name_invalid",
            values={"name": name[:80]},
        )
    return name
