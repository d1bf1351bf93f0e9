"""Per-file work done in the analysis worker processes.

Each job hashes one file, reads its call metadata through the recorder's naming
profile and computes its audio statistics. Jobs run in a process pool, so they
take and return plain picklable values; the catalog writer stores the result.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from pipeline import audio, profiles
from pipeline.config import Config
from pipeline.errors import AudioError, RecwatchError

logger = logging.getLogger(__name__)

HASH_BLOCK_BYTES = 1 << 20

IN_MEMORY_MAX_BYTES = 64 << 20
"""A new file up to this size is read once and hashed and decoded from memory.

64 MiB is about 35 minutes of 8 kHz 16-bit stereo or 70 minutes of mono. Larger
files are read twice, so a worker's memory does not grow with the file."""

# Korean phone numbers in file names: a leading 0 and 9 to 11 digits. Log lines
# show only the last four digits, because logs must not carry personal data.
_PHONE_IN_NAME = re.compile(r"(?<!\d)0\d{4,6}(\d{4})(?!\d)")

FLAG_NOT_REGULAR = "not_regular_file"
"""Flag of a spool entry that is neither a regular file nor a symbolic link."""


def redact(text: str) -> str:
    """Mask phone numbers in a path or message before it goes to a log."""
    return _PHONE_IN_NAME.sub(r"0***\1", text)


@dataclass(frozen=True)
class Job:
    """One file to analyse, with everything a worker process needs."""

    path: str
    root: str
    profile_name: str
    profile_table: dict | None = None
    timezone: str = "Asia/Seoul"
    audio_options: dict[str, Any] = field(default_factory=dict)
    known_sha256: str | None = None


@dataclass
class JobResult:
    """Result of one job; ``outcome`` is analysed, unchanged, changing or vanished."""

    path: str
    root: str
    outcome: str
    size_bytes: int = 0
    mtime_ns: int = 0
    sha256: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] | None = None
    flags: list[str] = field(default_factory=list)
    error: str | None = None


def sha256_file(path: str | os.PathLike) -> str:
    """Return the SHA-256 hex digest of a regular file, read in 1 MiB blocks.

    Raises ``OSError`` when ``path`` is a symbolic link or not a regular file.
    """
    with open_regular(path) as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return _sha256_stream(handle)


def _sha256_stream(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    while block := handle.read(HASH_BLOCK_BYTES):
        digest.update(block)
    return digest.hexdigest()


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """Open ``path`` for reading without following a link or waiting on a FIFO.

    ``O_NONBLOCK`` makes the open of a FIFO return at once instead of waiting
    for a writer, and it does not change reads from a regular file. The caller
    checks ``os.fstat(handle.fileno()).st_mode`` before reading, because a
    FIFO opened this way reads as empty.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    return os.fdopen(os.open(path, flags), "rb")


@lru_cache(maxsize=32)
def _profile(name: str, table_items: tuple | None) -> profiles.NamingProfile:
    # Worker processes are long-lived: build each naming profile once.
    table = dict(table_items) if table_items is not None else None
    return profiles.profile_from_config(name, table)


def _freeze(table: dict | None) -> tuple | None:
    if table is None:
        return None
    return tuple(
        (key, _freeze(value) if isinstance(value, dict) else value)
        for key, value in sorted(table.items())
    )


def _read_metadata(job: Job, result: JobResult, mtime_ns: int):
    """Fill ``result`` with the call metadata the naming profile reads."""
    table = {"timezone": job.timezone, **(job.profile_table or {})}
    profile = _profile(job.profile_name, _freeze(table))
    metadata = profiles.read_metadata(Path(job.path), Path(job.root), profile)
    result.metadata = metadata.to_dict()
    result.flags.extend(metadata.flags)
    if metadata.start_time is None:
        mtime = datetime.fromtimestamp(mtime_ns / 1e9, UTC)
        result.metadata["start_time"] = mtime.isoformat()
        result.metadata["start_time_source"] = "mtime"
    return metadata


def _link_result(job: Job, result: JobResult, entry: os.stat_result) -> JobResult:
    """Return the error row of a symbolic link, dangling or not, without reading it.

    A link could point anywhere, /etc included, so nothing outside the recorder's
    own files is read. Its name still gives the call's metadata, so retention
    and the purge see the row like any other.
    """
    message = (
        f"symbolic link: {job.path} is a link, and recwatch does not follow "
        "links in the spool so that no file outside it is read. Replace the "
        "link with the recording itself"
    )
    return _unread_file_result(job, result, entry, message, "symlink")


def _special_file_result(
    job: Job, result: JobResult, entry: os.stat_result
) -> JobResult:
    """Return the error row of a FIFO, socket or device file, without opening it.

    Opening a FIFO for reading waits until a writer opens it, which would hold
    an analysis worker for good, and a device can return endless bytes.
    """
    kind = _file_kind(entry.st_mode)
    message = (
        f"not a regular file: {job.path} is a {kind}, and recwatch reads only "
        "regular files. Remove it from the spool and check which program "
        "created it; the recorder writes regular files"
    )
    return _unread_file_result(job, result, entry, message, FLAG_NOT_REGULAR)


def _unread_file_result(
    job: Job, result: JobResult, entry: os.stat_result, message: str, flag: str
) -> JobResult:
    """Fill ``result`` as an error row from the name and ``lstat`` alone."""
    _read_metadata(job, result, entry.st_mtime_ns)
    result.mtime_ns = entry.st_mtime_ns
    result.error = message
    result.flags = sorted({*result.flags, flag})
    return result


def _file_kind(mode: int) -> str:
    """Return the usual name of a file type, as in ``find -type``."""
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISDIR(mode):
        return "folder"
    return f"file of type {stat.S_IFMT(mode):o}"


def _unreadable(job: Job, result: JobResult, error: OSError) -> JobResult:
    result.error = (
        f"cannot read {job.path}: {error.strerror or error}; check the file's "
        "permissions and the disk, it is read again on the next scan"
    )
    result.flags = ["unreadable"]
    return result


def run_job(job: Job) -> JobResult:
    """Hash, read metadata and analyse one file; never raises for bad input."""
    result = JobResult(path=job.path, root=job.root, outcome="analysed")
    try:
        entry = os.lstat(job.path)
    except FileNotFoundError:
        result.outcome = "vanished"
        return result
    except OSError as error:
        return _unreadable(job, result, error)
    if stat.S_ISLNK(entry.st_mode):
        return _link_result(job, result, entry)
    if not stat.S_ISREG(entry.st_mode):
        return _special_file_result(job, result, entry)
    content = None
    try:
        with open_regular(job.path) as handle:
            before = os.fstat(handle.fileno())
            if not stat.S_ISREG(before.st_mode):
                # The path was replaced between the lstat and the open.
                return _special_file_result(job, result, before)
            # A file seen before is hashed first, so that an unchanged file is
            # not decoded. A new file is read once, and the same bytes are
            # hashed and decoded, which saves a second read of the file.
            if job.known_sha256 is None and before.st_size <= IN_MEMORY_MAX_BYTES:
                content = handle.read()
                result.sha256 = hashlib.sha256(content).hexdigest()
            else:
                result.sha256 = _sha256_stream(handle)
        after = os.lstat(job.path)
    except FileNotFoundError:
        result.outcome = "vanished"
        return result
    except OSError as error:
        return _unreadable(job, result, error)
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        result.outcome = "changing"
        return result
    result.size_bytes = after.st_size
    result.mtime_ns = after.st_mtime_ns
    if job.known_sha256 is not None and job.known_sha256 == result.sha256:
        result.outcome = "unchanged"
        return result

    metadata = _read_metadata(job, result, after.st_mtime_ns)

    raw_format = None
    if metadata.raw_format:
        raw_format = audio.RawFormat(**metadata.raw_format)
    try:
        # NOTE: without ``content`` (a re-analysis, or a file larger than
        # IN_MEMORY_MAX_BYTES) the decoder opens the path again, so a FIFO put
        # in the file's place after the lstat above can still block this worker.
        result.stats = audio.analyze_file(
            job.path, raw_format=raw_format, content=content, **job.audio_options
        )
        result.flags.extend(result.stats.get("flags", []))
        result.flags.extend(_call_flags(result.stats, metadata.mode))
    except AudioError as error:
        # Ingest stores this message on the file's row, and it analyses the
        # file again when the recorder changes it.
        result.error = f"{error}. The file is analysed again when it changes"
        result.flags.extend(error.flags)
    except (RecwatchError, OSError, ValueError, RuntimeError) as error:
        # An unexpected decoder failure must not stop the pool. It is stored on
        # the file's row for the IT team and logged with the traceback.
        logger.exception("analysis failed for %s", redact(job.path))
        result.error = (
            f"analysis failed for {job.path}: {type(error).__name__}: {error}; "
            "report this file to the recwatch maintainers"
        )
        result.flags.append("analysis_failed")
    result.flags = sorted(set(result.flags))
    return result


AUDIO_SETTINGS = (
    "silence_threshold_dbfs",
    "frame_ms",
    "notice_clip",
    "notice_window_s",
    "notice_threshold",
    "min_duration_s",
    "max_clipped_ratio",
    "min_snr_db",
    "one_way_talk_ratio",
    "vad_aggressiveness",
)


def audio_options(config: Config) -> dict[str, Any]:
    """Return the ``analyze_file`` keyword arguments the configuration sets."""
    options = {name: config[f"audio.{name}"] for name in AUDIO_SETTINGS}
    options["notice_clip"] = options["notice_clip"] or None
    return options


def _call_flags(stats: dict[str, Any], mode: str) -> list[str]:
    """Return catalog flags derived from a call's verdict and notice result."""
    flags = []
    verdict = stats.get("verdict")
    if verdict and verdict != "ok":
        flags.append(f"verdict_{verdict}")
    notice = stats.get("notice")
    # Full recording is lawful only after callers are informed, so a full-mode
    # call whose start lacks the announcement is the violation to show.
    if notice is not None and not notice.get("found") and mode == "full":
        flags.append("notice_missing")
    return flags


def nfc_name(path: str) -> str:
    """Return a file's name in Unicode NFC, the form the catalog searches."""
    return unicodedata.normalize("NFC", os.path.basename(path))
