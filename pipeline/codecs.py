"""Container sniffing, WAV header inspection and the ffmpeg fallback decoder.

``pipeline.audio`` uses these helpers to decide how to decode a recording. The content
decides the container, not the file extension, because recorders and people rename
files. WAV headers are read here, not by libsndfile, because a recorder that is still
writing or that crashed leaves size fields that libsndfile trusts or rejects.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from pipeline.errors import AudioError

logger = logging.getLogger(__name__)

# Size fields that a recorder writes before the final length is known. Recorders
# that patch the header on close write 0 until then, and streaming writers such as
# ffmpeg on a pipe write 0xFFFFFFFF.
PLACEHOLDER_SIZES = (0, 0xFFFFFFFF)

# WAVE format tags from Microsoft's mmreg.h, limited to those seen on telephone
# recorders, plus the tags that ffmpeg writes for G.726 (0x0045) and G.722 (0x028F).
# Some exporters write G.722 under 0x0064, so that name says both.
WAV_FORMAT_NAMES = {
    0x0001: "PCM",
    0x0002: "Microsoft ADPCM",
    0x0003: "IEEE float",
    0x0006: "A-law",
    0x0007: "mu-law",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0040: "G.721 ADPCM",
    0x0042: "G.723.1",
    0x0045: "G.726 ADPCM",
    0x0050: "MPEG audio",
    0x0055: "MPEG Layer III",
    0x0064: "G.726 ADPCM (some exporters use it for G.722)",
    0x0065: "G.722 ADPCM",
    0x0083: "G.729",
    0x028F: "G.722 ADPCM",
    0xFFFE: "WAVE_FORMAT_EXTENSIBLE",
}

# Containers that a file extension implies. Extensions missing here (.gsm, .ul,
# .raw and others) do not identify the content reliably, so they are not checked.
EXTENSION_CONTAINERS = {
    ".wav": {"wav", "rf64"},
    ".mp3": {"mp3"},
    ".flac": {"flac"},
    ".ogg": {"ogg"},
    ".oga": {"ogg"},
    ".opus": {"ogg"},
    ".au": {"au"},
    ".snd": {"au"},
    ".aif": {"aiff"},
    ".aiff": {"aiff"},
    ".aifc": {"aiff"},
    ".w64": {"w64"},
    ".caf": {"caf"},
    ".amr": {"amr"},
    ".m4a": {"mp4"},
}

# Containers that libsndfile 1.2 cannot open, so they go straight to ffmpeg.
FFMPEG_ONLY_CONTAINERS = {"amr", "mp4", "aac"}

# libsndfile subtype names mapped to the codec names stored in the catalog.
SUBTYPE_CODECS = {
    "PCM_U8": "pcm_u8",
    "PCM_S8": "pcm_s8",
    "PCM_16": "pcm_16",
    "PCM_24": "pcm_24",
    "PCM_32": "pcm_32",
    "FLOAT": "float",
    "DOUBLE": "double",
    "ULAW": "mulaw",
    "ALAW": "alaw",
    "GSM610": "gsm",
    "MPEG_LAYER_I": "mp1",
    "MPEG_LAYER_II": "mp2",
    "MPEG_LAYER_III": "mp3",
    "IMA_ADPCM": "ima_adpcm",
    "MS_ADPCM": "ms_adpcm",
    "G721_32": "g721",
    "VORBIS": "vorbis",
    "OPUS": "opus",
}

_W64_RIFF_GUID = b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00"
# MPEG audio frame header: 11 sync bits, then version, layer, ..., bitrate index.
_MPEG_LAYERS = {1: "mp3", 2: "mp2", 3: "mp1"}


def sniff_container(head: bytes) -> str | None:
    """Name the container that the first bytes of a file show, or None if unknown."""
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE":
        return "wav"
    if len(head) >= 12 and head[:4] == b"RF64" and head[8:12] == b"WAVE":
        return "rf64"
    if head.startswith(_W64_RIFF_GUID):
        return "w64"
    if head.startswith(b"ID3"):
        return "mp3"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b".snd"):
        return "au"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head.startswith(b"caff"):
        return "caf"
    if head.startswith(b"#!AMR"):
        return "amr"
    if head[4:8] == b"ftyp":
        return "mp4"
    if len(head) >= 3 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return _sniff_mpeg_frame(head)
    return None


def _sniff_mpeg_frame(head: bytes) -> str | None:
    """Name an MPEG audio stream from its first frame header, or None if invalid."""
    layer_bits = (head[1] >> 1) & 0b11
    version_bits = (head[1] >> 3) & 0b11
    bitrate_index = head[2] >> 4
    if layer_bits == 0:
        # Layer bits 00 after a 12-bit sync word are an ADTS AAC header.
        return "aac" if head[1] & 0xF0 == 0xF0 else None
    if version_bits == 0b01 or bitrate_index == 0b1111:
        return None
    return _MPEG_LAYERS[layer_bits]


def looks_like_text(head: bytes) -> bool:
    """Return True when the bytes are printable UTF-8 text without NUL bytes."""
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        if error.start < len(head) - 3:
            return False
        text = head[: error.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * len(text)


@dataclass
class WavHeader:
    """Facts read from a RIFF/WAVE header, checked against the file size."""

    format_tag: int
    channels: int
    sample_rate: int
    block_align: int
    bits_per_sample: int
    riff_size: int
    file_size: int
    data_offset: int | None = None
    declared_data_size: int | None = None
    # Bytes of whole blocks that the file really contains after the data chunk header.
    data_bytes: int = 0
    flags: list[str] = field(default_factory=list)

    @property
    def format_name(self) -> str:
        return WAV_FORMAT_NAMES.get(self.format_tag, "unknown")

    @property
    def needs_patch(self) -> bool:
        """Whether libsndfile must see corrected size fields to read every block."""
        if self.data_offset is None:
            return False
        return (
            self.riff_size != self.data_offset + self.data_bytes - 8
            or self.declared_data_size != self.data_bytes
        )


def read_wav_header(stream: io.BufferedIOBase, path: str, file_size: int) -> WavHeader:
    """Walk the RIFF chunks up to the data chunk and check their sizes.

    Sets the ``header_incomplete`` flag for placeholder or inconsistent size fields and
    ``truncated`` when the header promises more data than the file holds. Raises
    AudioError when no fmt chunk can be read.
    """
    stream.seek(0)
    riff = stream.read(12)
    if riff[:4] != b"RIFF":
        raise AudioError(
            f"unsupported WAV variant: {path} starts with {riff[:4]!r}, but only "
            "little-endian RIFF/WAVE headers are inspected; convert the file to a "
            "standard WAV",
            flags=("unsupported_codec",),
        )
    (riff_size,) = struct.unpack("<I", riff[4:8])
    flags: list[str] = []
    fmt: bytes | None = None
    offset = 12
    data_offset = None
    declared_data_size = None

    while offset + 8 <= file_size:
        stream.seek(offset)
        chunk_id, chunk_size = struct.unpack("<4sI", stream.read(8))
        if chunk_id == b"data":
            data_offset = offset + 8
            declared_data_size = chunk_size
            break
        if chunk_id == b"fmt ":
            fmt = stream.read(min(chunk_size, 40))
        if chunk_size == 0xFFFFFFFF:
            # A chunk before the data chunk without a real size hides where the
            # next chunk starts, so the walk cannot go on.
            flags.append("header_incomplete")
            break
        offset += 8 + chunk_size + (chunk_size & 1)
    else:
        if offset != file_size:
            # The file ends inside a chunk header or inside a chunk's promised size.
            flags.append("truncated")

    if fmt is None or len(fmt) < 16:
        cut = "truncated" in flags
        raise AudioError(
            f"invalid WAV header: {path} has no complete fmt chunk in its first "
            f"{min(offset, file_size)} bytes"
            + (", because the file ends inside the header" if cut else "")
            + "; the recorder may have stopped while writing it. Check the recorder",
            flags=("truncated",) if cut else ("header_incomplete",),
        )

    format_tag, channels, sample_rate, _, block_align, bits = struct.unpack(
        "<HHIIHH", fmt[:16]
    )
    if sample_rate == 0 or channels == 0:
        raise AudioError(
            f"invalid WAV header: {path} declares {sample_rate} Hz and {channels} "
            "channels; expected positive values. The recorder wrote a damaged header",
            flags=("header_incomplete",),
        )
    if format_tag == 0xFFFE and len(fmt) >= 26:
        # WAVE_FORMAT_EXTENSIBLE keeps the real format tag in the sub-format GUID.
        (format_tag,) = struct.unpack("<H", fmt[24:26])
    header = WavHeader(
        format_tag=format_tag,
        channels=channels,
        sample_rate=sample_rate,
        block_align=block_align,
        bits_per_sample=bits,
        riff_size=riff_size,
        file_size=file_size,
        data_offset=data_offset,
        declared_data_size=declared_data_size,
        flags=flags,
    )
    if data_offset is None:
        return header

    _check_sizes(header)
    return header


def _check_sizes(header: WavHeader) -> None:
    """Compare the RIFF and data size fields with the file size and set flags."""
    flags = header.flags
    available = header.file_size - header.data_offset
    declared = header.declared_data_size
    if declared in PLACEHOLDER_SIZES and available > 0:
        _add_flag(flags, "header_incomplete")
        data_bytes = available
    elif declared > available:
        _add_flag(flags, "truncated")
        data_bytes = available
    else:
        data_bytes = declared

    if header.block_align > 0:
        data_bytes -= data_bytes % header.block_align
    header.data_bytes = data_bytes

    if header.riff_size in PLACEHOLDER_SIZES:
        _add_flag(flags, "header_incomplete")
    elif "truncated" not in flags:
        # A pad byte after an odd-sized last chunk is the only allowed difference.
        riff_end = header.riff_size + 8
        if not 0 <= header.file_size - riff_end <= 1:
            _add_flag(flags, "header_incomplete")


def _add_flag(flags: list[str], flag: str) -> None:
    if flag not in flags:
        flags.append(flag)


class PatchedWavView:
    """Read-only file object that shows a WAV file with corrected size fields.

    libsndfile trusts a data size of 0 and then reads no frames, so the view presents
    the sizes of the data really present, without copying the file. The view ends at
    the last whole block, which also hides a partial block at a truncated end.
    """

    def __init__(self, path: str, header: WavHeader):
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._length = header.data_offset + header.data_bytes
        self._position = 0
        riff_size = self._length - 8
        self._patches = {
            4: struct.pack("<I", riff_size),
            header.data_offset - 4: struct.pack("<I", header.data_bytes),
        }

    def read(self, count: int = -1) -> bytes:
        if count < 0:
            count = self._length - self._position
        count = max(0, min(count, self._length - self._position))
        self._file.seek(self._position)
        data = bytearray(self._file.read(count))
        for offset, patch in self._patches.items():
            for index, value in enumerate(patch):
                relative = offset + index - self._position
                if 0 <= relative < len(data):
                    data[relative] = value
        self._position += len(data)
        return bytes(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            self._position = offset
        elif whence == os.SEEK_CUR:
            self._position += offset
        else:
            self._position = self._length + offset
        self._position = max(0, self._position)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> PatchedWavView:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass
class FfmpegStream:
    """Codec and native format of the first audio stream, as ffprobe reports them."""

    codec: str
    sample_rate: int
    channels: int


def ffmpeg_available() -> bool:
    """Return True when both ffmpeg and ffprobe are on PATH."""
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def probe_ffmpeg(path: str, *, timeout_s: float = 60.0) -> FfmpegStream:
    """Read the first audio stream's codec, sample rate and channels with ffprobe."""
    command = [
        "ffprobe",
        "-v",
        "error",
        "-select_streams",
        "a:0",
        "-show_entries",
        "stream=codec_name,sample_rate,channels",
        "-of",
        "json",
        _ffmpeg_input(path),
    ]
    completed = subprocess.run(
        command, capture_output=True, timeout=timeout_s, check=False
    )
    streams = []
    if completed.returncode == 0:
        streams = json.loads(completed.stdout or b"{}").get("streams", [])
    if not streams:
        detail = completed.stderr.decode("utf-8", "replace").strip()[-300:]
        raise AudioError(
            f"decode failed: ffprobe found no audio stream in {path}"
            + (f" ({detail})" if detail else "")
            + "; the file is damaged or not audio. Check the recorder's output format",
            flags=("decode_error",),
        )
    stream = streams[0]
    return FfmpegStream(
        codec=str(stream.get("codec_name", "unknown")),
        sample_rate=int(stream.get("sample_rate") or 0),
        channels=int(stream.get("channels") or 0),
    )


def iter_ffmpeg_blocks(
    path: str, stream: FfmpegStream, block_frames: int
) -> Iterator[np.ndarray]:
    """Decode through an ffmpeg pipe at the native rate and yield float32 blocks.

    Each block has shape (frames, channels) with full scale 1.0. The output is
    16-bit PCM, so codecs with more resolution lose the bits below 16.
    """
    command = [
        "ffmpeg",
        "-v",
        "error",
        "-nostdin",
        "-i",
        _ffmpeg_input(path),
        "-map",
        "0:a:0",
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "-ac",
        str(stream.channels),
        "-ar",
        str(stream.sample_rate),
        "-",
    ]
    block_bytes = block_frames * stream.channels * 2
    # stderr goes to a file because an unread pipe would block ffmpeg once it
    # fills with per-frame warnings from a damaged file.
    with tempfile.TemporaryFile() as stderr_file:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr_file)
        try:
            pending = b""
            while chunk := process.stdout.read(block_bytes):
                pending += chunk
                whole = len(pending) - len(pending) % (2 * stream.channels)
                if whole:
                    samples = np.frombuffer(pending[:whole], dtype="<i2")
                    pending = pending[whole:]
                    block = samples.astype(np.float32) / 32768.0
                    yield block.reshape(-1, stream.channels)
            returncode = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
        stderr_file.seek(0)
        stderr = stderr_file.read()
    if returncode != 0:
        detail = stderr.decode("utf-8", "replace").strip()[-300:]
        raise AudioError(
            f"decode failed: ffmpeg exited with status {returncode} on {path} "
            f"({detail}); the file is damaged or in a codec this ffmpeg lacks",
            flags=("decode_error",),
        )


def _ffmpeg_input(path: str) -> str:
    # The file: protocol keeps ffmpeg from reading "a:b" or "-x" names as URLs/options.
    return "file:" + os.path.abspath(path)
