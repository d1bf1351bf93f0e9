"""Playback and download of recordings inside an approved request.

A recording is played or downloaded only for an open request that was approved
(status ``approved`` or ``provided``) and only for the recordings that request
covers. The attempt must fall inside the request's time window and carry a
reason typed for that play or download. :func:`authorize` checks all of that.
:func:`play` and :func:`download` read the file and append one access-log entry
per attempt: result ``ok`` with the request id and reason, ``denied`` when a
check rejects the attempt, or ``failed`` when the file cannot be read or
converted.

The time window opens when the last approval stage signs. It closes when:

- the handover was a supervised viewing (열람): at its ``viewing_until``;
- the handover was a protected copy (제공): at the end of the Form 3 due date
  (``due_on``, local time). The recipient must have destroyed their copy by
  then, so the recordings need no more listening; an extension moves the date.
- in every case, when the request leaves ``provided``, because a returned or
  closed request is no longer open.

Once a request is provided, only the recordings of its handover receipt count,
since the receipt lists what was actually given out.

Paths come only from the catalog row, never from the caller, and the real path
must lie under a configured recorder root, so a row pointing elsewhere (or a
symlink out of the spool) serves nothing.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import soundfile as sf

from pipeline import accesslog, auth, codecs, handover, requests

# The pattern that accesslog.append() rejects in a detail, so a reason accepted
# here is never rejected when it is logged.
from pipeline.accesslog import PHONE_PATTERN
from pipeline.auth import User
from pipeline.config import Config
from pipeline.errors import AudioError, PermissionDenied, RecwatchError

if TYPE_CHECKING:
    from pipeline.catalog import Catalog

logger = logging.getLogger(__name__)

# Statuses in which a request is approved and still open.
OPEN_STATUSES = ("approved", "provided")
MAX_REASON_CHARS = 500
# Uncompressed WAV subtypes, which browsers' <audio> elements decode. The
# telephone codecs (mu-law, A-law, GSM 6.10, ADPCM) are not among them.
# NOTE: the browser test plays PCM_16 only; the other subtypes are unchecked.
BROWSER_WAV_SUBTYPES = frozenset({"PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"})
# Formats besides WAV that Panel 1.9's Audio pane sends with the right MIME type.
# It detects only mp3, wav and ogg.
BROWSER_FORMATS = frozenset({"MP3", "OGG"})
WAV_MIME = "audio/wav"


@dataclass(frozen=True)
class Grant:
    """Permission for one play or download, as :func:`authorize` returns it.

    ``window_end`` is None while the request is approved but not yet handed
    over, because then only the status change ends the window.
    """

    user: User
    action: str
    recording_id: int
    request_id: int
    request_number: str
    reason: str
    path: Path
    file_name: str
    sha256: str | None
    window_start: datetime
    window_end: datetime | None


@dataclass(frozen=True)
class Media:
    """Audio bytes for the browser or a download, and what they contain."""

    data: bytes
    file_name: str
    mime_type: str
    converted: bool


def authorize(
    cursor,
    user: User,
    recording_id: int,
    *,
    request_id: int,
    reason: str,
    now: datetime,
    action: str = "play",
    tz: ZoneInfo = requests.SEOUL,
) -> Grant:
    """Check that ``user`` may play or download a recording now, and return a Grant.

    ``action`` is ``"play"`` or ``"download"``. Raises PermissionDenied when the
    role lacks the action, the request is not open or does not cover the
    recording, ``now`` is outside the request's window, or a download is asked
    for before the request was handed over as a copy. Raises RecwatchError
    for an empty reason, an unknown request, or a purged or missing recording.
    Nothing is logged here, because :func:`play` and :func:`download` log every
    attempt.
    """
    if action not in ("play", "download"):
        raise RecwatchError(
            f"playback action {action!r} is invalid. Expected 'play' or 'download'."
        )
    auth.require(user, action)
    if recording_id is None or request_id is None:
        raise RecwatchError(
            f"no recording or request was chosen (recording {recording_id}, request "
            f"{request_id}). Choose a recording of an open request."
        )
    reason = _check_reason(reason)
    if now.tzinfo is None:
        raise RecwatchError(
            f"time {now.isoformat()} has no time zone. Pass an aware datetime."
        )

    record = requests.get_request(cursor, int(request_id))
    if record.status not in OPEN_STATUSES:
        raise PermissionDenied(
            f"request {record.number} is {record.status}. Recordings can be played "
            f"or downloaded only for a request that is approved or provided.",
            code="request_not_open",
            values={"number": record.number, "status": record.status},
        )
    receipt = handover.get_handover(cursor, record.id)
    covered = receipt.recording_ids if receipt is not None else record.recording_ids
    if int(recording_id) not in covered:
        kind = "handed over with" if receipt is not None else "attached to"
        raise PermissionDenied(
            f"recording {recording_id} is not {kind} request {record.number}, whose "
            f"recordings are {list(covered)}. Open the request that covers it."
        )

    window_start = _approved_at(record)
    window_end = _window_end(receipt, record, tz)
    if now < window_start:
        raise PermissionDenied(
            f"request {record.number} was approved at {window_start.isoformat()}, "
            f"after the requested time {now.isoformat()}."
        )
    if window_end is not None and now > window_end:
        raise PermissionDenied(
            f"the window of request {record.number} ended at "
            f"{window_end.isoformat()}. Submit a new request to access the "
            f"recording again."
        )

    rows = cursor.execute(
        "SELECT path, file_name_nfc, sha256, status, deleted_at, missing_since "
        "FROM recordings WHERE id = ?",
        [int(recording_id)],
    ).fetchall()
    if not rows:
        raise RecwatchError(f"recording {recording_id} was not found in the catalog.")
    path, file_name, sha256, status, deleted_at, missing_since = rows[0]
    if status == "deleted" or deleted_at is not None:
        raise RecwatchError(
            f"recording {recording_id} was purged and can no longer be played or "
            f"downloaded."
        )
    if missing_since is not None:
        raise RecwatchError(
            f"recording {recording_id} has been missing from the spool since "
            f"{missing_since.isoformat()}. Check the recorder folder before trying "
            f"again."
        )
    if action == "download" and (receipt is None or receipt.method != "copy"):
        # A download takes the file out of the system, which only a provision
        # with a signed Form 2 receipt allows.
        raise PermissionDenied(
            f"request {record.number} allows no download: recordings leave the "
            "system only for a request for provision (제공) after its handover "
            "as a copy. Play the recording instead",
            code="download_not_provided",
            values={"number": record.number},
        )
    return Grant(
        user=user,
        action=action,
        recording_id=int(recording_id),
        request_id=record.id,
        request_number=record.number,
        reason=reason,
        path=Path(path),
        file_name=file_name,
        sha256=sha256,
        window_start=window_start,
        window_end=window_end,
    )


def play(
    catalog: Catalog,
    user: User,
    recording_id: int,
    *,
    request_id: int,
    reason: str,
    config: Config,
    client_addr: str = "",
    now: datetime | None = None,
) -> Media:
    """Return a recording as audio a browser can play, and log the play.

    WAV PCM, MP3 and Ogg files are returned as stored. Other codecs (mu-law,
    A-law, GSM 6.10, ADPCM, and files only ffmpeg decodes) are decoded and
    re-encoded in memory as 16-bit PCM WAV at the native sample rate.
    """
    return _serve(
        catalog,
        user,
        recording_id,
        action="play",
        request_id=request_id,
        reason=reason,
        config=config,
        client_addr=client_addr,
        now=now,
    )


def download(
    catalog: Catalog,
    user: User,
    recording_id: int,
    *,
    request_id: int,
    reason: str,
    config: Config,
    client_addr: str = "",
    now: datetime | None = None,
) -> Media:
    """Return a recording's original bytes after a hash check, and log the download."""
    return _serve(
        catalog,
        user,
        recording_id,
        action="download",
        request_id=request_id,
        reason=reason,
        config=config,
        client_addr=client_addr,
        now=now,
    )


def _serve(
    catalog: Catalog,
    user: User,
    recording_id: int,
    *,
    action: str,
    request_id: int,
    reason: str,
    config: Config,
    client_addr: str,
    now: datetime | None,
) -> Media:
    now = now or datetime.now(UTC)
    entry = {
        "user": user,
        "action": action,
        "recording_id": recording_id,
        "request_id": request_id,
        "reason": reason,
        "client_addr": client_addr,
        "now": now,
    }
    try:
        grant = authorize(
            catalog.cursor(),
            user,
            recording_id,
            request_id=request_id,
            reason=reason,
            now=now,
            action=action,
            tz=config.tz,
        )
        path = resolve_path(grant.path, config)
    except RecwatchError as error:
        catalog.write(lambda con: _log(con, **entry, result="denied"))
        logger.warning(
            "%s denied: username=%s recording=%s request=%s: %s",
            action,
            user.username,
            recording_id,
            request_id,
            type(error).__name__,
        )
        raise

    try:
        data = _read_checked(path, grant)
        media = (
            browser_audio(data, grant.file_name)
            if action == "play"
            else Media(data, grant.file_name, _mime_type(data), converted=False)
        )
    except (OSError, RecwatchError, sf.LibsndfileError) as error:
        catalog.write(lambda con: _log(con, **entry, result="failed"))
        logger.warning(
            "%s failed: username=%s recording=%s request=%s: %s",
            action,
            user.username,
            recording_id,
            request_id,
            type(error).__name__,
        )
        if isinstance(error, RecwatchError):
            raise
        raise RecwatchError(
            f"recording {recording_id} could not be read from disk: {error}. "
            f"Check the recorder folder and the file's permissions."
        ) from error

    # The bytes go out only after the entry is stored, so every served copy is logged.
    catalog.write(lambda con: _log(con, **entry, result="ok"))
    logger.info(
        "%s: username=%s recording=%d request=%d bytes=%d converted=%s",
        action,
        user.username,
        grant.recording_id,
        grant.request_id,
        len(media.data),
        media.converted,
    )
    return media


def resolve_path(path: Path, config: Config) -> Path:
    """Return the real path of a catalog file, or raise when it leaves every root."""
    real = Path(os.path.realpath(path))
    for recorder in config.recorders:
        if real.is_relative_to(os.path.realpath(recorder.root)):
            return real
    raise PermissionDenied(
        f"recording file {path.name} resolves to a path outside every configured "
        f"recorder root. It is not served; check the catalog row and the spool "
        f"for symbolic links."
    )


def browser_audio(data: bytes, file_name: str) -> Media:
    """Return ``data`` as is when browsers play it, else as 16-bit PCM WAV.

    Parameters
    ----------
    data : bytes
        The recording file's content.
    file_name : str
        Its file name, used for the returned name and in error messages.

    Returns
    -------
    Media
        ``converted`` is True when the audio was decoded and re-encoded. The
        converted WAV keeps the native sample rate and channel count.
    """
    try:
        info = sf.info(io.BytesIO(data))
    except sf.LibsndfileError:
        info = None
    if info is not None:
        if info.format in ("WAV", "WAVEX") and info.subtype in BROWSER_WAV_SUBTYPES:
            return Media(data, file_name, WAV_MIME, converted=False)
        if info.format in BROWSER_FORMATS:
            return Media(data, file_name, _mime_type(data), converted=False)
        samples, rate = sf.read(io.BytesIO(data), dtype="int16", always_2d=True)
    else:
        samples, rate = _decode_with_ffmpeg(data, file_name)
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    stem = file_name.rsplit(".", 1)[0]
    return Media(buffer.getvalue(), f"{stem}.wav", WAV_MIME, converted=True)


def _decode_with_ffmpeg(data: bytes, file_name: str) -> tuple[np.ndarray, int]:
    """Decode a container libsndfile cannot open (AMR, MP4) through ffmpeg."""
    if not codecs.ffmpeg_available():
        raise AudioError(
            f"recording {file_name} is in a format that libsndfile cannot decode "
            f"and ffmpeg is not installed. Download the file to listen to it."
        )
    # ffmpeg reads from a path, so the bytes stay in a private temporary folder
    # for the decode only.
    with tempfile.TemporaryDirectory(prefix="recwatch-play-") as folder:
        source = Path(folder) / "recording"
        source.write_bytes(data)
        stream = codecs.probe_ffmpeg(str(source))
        blocks = list(codecs.iter_ffmpeg_blocks(str(source), stream, 65536))
    if not blocks:
        raise AudioError(f"recording {file_name} decoded to no audio frames.")
    samples = np.concatenate(blocks)
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)
    return pcm, stream.sample_rate


def _read_checked(path: Path, grant: Grant) -> bytes:
    """Read the file and compare its SHA-256 with the catalog's."""
    # NOTE: the whole file is read into memory, and a play sends it as one base64
    # data URL over the websocket, so a multi-hour call may be slow to start.
    data = path.read_bytes()
    if grant.sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != grant.sha256:
            raise RecwatchError(
                f"recording file {grant.file_name} has SHA-256 {digest[:12]}…, but "
                f"the catalog recorded {grant.sha256[:12]}…. The file changed after "
                f"it was cataloged; report it instead of using it."
            )
    return data


def _mime_type(data: bytes) -> str:
    container = codecs.sniff_container(data[:64])
    return {
        "wav": WAV_MIME,
        "rf64": WAV_MIME,
        "mp3": "audio/mpeg",
        "ogg": "audio/ogg",
        "flac": "audio/flac",
    }.get(container or "", "application/octet-stream")


def _check_reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise RecwatchError(
            "no reason was entered. Enter why you play or download the recording. "
            "A reason is needed every time."
        )
    if len(text) > MAX_REASON_CHARS:
        raise RecwatchError(
            f"the reason has {len(text)} characters. Shorten it to at most "
            f"{MAX_REASON_CHARS}."
        )
    if PHONE_PATTERN.search(text):
        raise RecwatchError(
            "the reason contains a phone number. The access log must not hold "
            "personal data, so name the case or the request instead."
        )
    return text


def _approved_at(record: requests.RequestRecord) -> datetime:
    """Return when the request's last approval stage signed."""
    final = record.approval(requests.STAGES[-1])
    if final is None or final.decision != "approved":
        raise RecwatchError(
            f"request {record.number} is {record.status} but has no signed "
            f"{requests.STAGES[-1]} approval. Check its approvals in the catalog."
        )
    return final.decided_at


def _window_end(
    receipt: handover.Handover | None, record: requests.RequestRecord, tz: ZoneInfo
) -> datetime | None:
    if receipt is None:
        return None
    if receipt.method == "viewing":
        return receipt.viewing_until
    if record.due_on is None:
        return None
    next_day = datetime.combine(record.due_on + timedelta(days=1), time(0), tz)
    return next_day - timedelta(microseconds=1)


def _log(
    con,
    *,
    user: User,
    action: str,
    recording_id: int,
    request_id: int,
    reason: str,
    client_addr: str,
    now: datetime,
    result: str,
) -> None:
    """Append the access-log entry of one play or download attempt."""
    accesslog.append(
        con,
        actor=user.username,
        role=",".join(user.roles),
        client_addr=client_addr or None,
        action=action,
        object_type="recording",
        object_ids=[recording_id],
        result=result,
        detail={"request_id": request_id, "reason": loggable_reason(reason)},
        at=now,
    )


def loggable_reason(reason: str) -> str:
    """Return ``reason`` trimmed for the log, with any phone number masked."""
    text = (reason or "").strip()[:MAX_REASON_CHARS]
    return PHONE_PATTERN.sub("***", text)
