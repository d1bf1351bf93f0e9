"""Decode a recording at its native rate and measure level, silence and clipping.

``analyze_file`` runs in the ingest worker processes, so it returns a plain dict that
pickles and serialises to JSON. It sniffs the content to find the container and
checks WAV size fields itself. It decodes 16-bit PCM WAV with NumPy and other
codecs with libsndfile (through soundfile), in blocks of about 10 s, so a one-hour
call needs little memory beyond the file's bytes. For codecs that libsndfile
rejects it falls back to an ffmpeg pipe when ffmpeg is installed.
Speech activity, noise floor, SNR and the quality verdict come from
``pipeline.callstats``, which receives the frame RMS values computed here.
"""

from __future__ import annotations

import functools
import io
import logging
import os
from collections.abc import Generator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import soundfile as sf

from pipeline import callstats, codecs, notice
from pipeline.callstats import DBFS_FLOOR, QualityThresholds, to_dbfs
from pipeline.errors import AudioError, ConfigError, UnsupportedCodecError

logger = logging.getLogger(__name__)

__all__ = ["DBFS_FLOOR", "RawFormat", "analyze_file", "to_dbfs", "warm_up"]

BLOCK_SECONDS = 30.0
"""Length of audio decoded per step, which bounds memory for long calls.

Each step costs about 0.1 ms of NumPy calls besides its samples, so 10 s steps
made a 16-bit PCM call 15 % slower to analyse than 30 s steps. Longer steps gain
nothing more.
"""

_RAW_SUBTYPES = {"mulaw": "ULAW", "alaw": "ALAW", "pcm_16": "PCM_16"}

# WAV format tags that libsndfile 1.2 decodes. A file with another tag needs ffmpeg.
_LIBSNDFILE_WAV_TAGS = {0x0001, 0x0002, 0x0003, 0x0006, 0x0007, 0x0011, 0x0031, 0x0040}

# ffprobe codec names mapped to the codec names that libsndfile decoding stores.
_FFMPEG_CODECS = {
    "pcm_u8": "pcm_u8",
    "pcm_s16le": "pcm_16",
    "pcm_s24le": "pcm_24",
    "pcm_s32le": "pcm_32",
    "pcm_f32le": "float",
    "pcm_f64le": "double",
    "pcm_mulaw": "mulaw",
    "pcm_alaw": "alaw",
    "gsm_ms": "gsm",
    "adpcm_g722": "g722",
    "adpcm_g726": "g726",
    "adpcm_g726le": "g726",
}


@dataclass(frozen=True)
class RawFormat:
    """Sample format of a headerless file, which only a naming profile can state."""

    codec: Literal["mulaw", "alaw", "pcm_16"]
    sample_rate: int
    channels: int = 1

    def __post_init__(self) -> None:
        if self.codec not in _RAW_SUBTYPES:
            raise ConfigError(
                f"invalid raw codec {self.codec!r}: expected one of "
                f"{', '.join(sorted(_RAW_SUBTYPES))}; fix the naming profile"
            )
        if self.sample_rate <= 0 or self.channels <= 0:
            raise ConfigError(
                f"invalid raw format: sample_rate={self.sample_rate} and "
                f"channels={self.channels} must both be positive; fix the naming "
                "profile"
            )


def analyze_file(
    path: str | os.PathLike,
    *,
    silence_threshold_dbfs: float = -45.0,
    frame_ms: int = 20,
    raw_format: RawFormat | None = None,
    min_duration_s: float = 2.0,
    max_clipped_ratio: float = 0.001,
    min_snr_db: float = 10.0,
    one_way_talk_ratio: float = 0.05,
    vad_aggressiveness: int = 3,
    notice_clip: str | os.PathLike | None = None,
    notice_window_s: float = notice.DEFAULT_WINDOW_S,
    notice_threshold: float = notice.DEFAULT_THRESHOLD,
    content: bytes | None = None,
) -> dict:
    """Decode one recording, measure level, silence, speech and clipping, and judge it.

    Parameters
    ----------
    path : str or os.PathLike
        The recording. Its content decides the container, not its extension.
    silence_threshold_dbfs : float
        A frame whose DC-removed RMS is below this level, in dBFS, is silent. In a
        multichannel file a frame is silent only when every channel is.
    frame_ms : int
        Length of a silence analysis frame, in milliseconds. A partial last frame
        counts when it contains at least half a frame, or when it is the only frame.
    raw_format : RawFormat or None
        Sample format of a headerless G.711 or PCM file. Without it, headerless
        files are rejected as not audio.
    min_duration_s, max_clipped_ratio, min_snr_db, one_way_talk_ratio : float
        Quality limits of the verdict, see ``callstats.QualityThresholds``.
    vad_aggressiveness : int
        webrtcvad mode from 0 to 3; higher modes keep fewer frames as speech.
    notice_clip : str, os.PathLike or None
        Reference recording of the announcement that the call is recorded. None
        skips notice detection.
    notice_window_s : float
        The notice must lie within this many seconds from the start of the call.
        Only these first seconds of the decoded audio are searched.
    notice_threshold : float
        Minimum match score, from -1 to 1, for a found notice.
    content : bytes or None
        The whole file, when the caller has already read it to hash it. The file is
        then decoded from these bytes and opened again only for a WAV whose size
        fields need correcting or a codec that only ffmpeg decodes.

    Returns
    -------
    dict
        ``sample_rate`` (Hz), ``channels``, ``codec``, ``container``, ``decoder``
        ("numpy" for 16-bit PCM WAV, else "soundfile" or "ffmpeg"), ``frames``
        (samples per channel actually
        decoded), ``duration_s`` (frames / sample_rate), ``silence_ratio`` (silent
        frames / frames, 0.0 when empty), ``longest_silence_s``, ``rms_dbfs`` and
        ``peak_dbfs`` (over all channels, at least ``DBFS_FLOOR``),
        ``clipped_samples`` (samples at the codec's full scale, all channels),
        ``clipped_ratio`` (clipped samples / samples), ``dc_offset`` (mean sample
        value, full scale 1.0), ``speech_detector`` ("webrtcvad", or "energy" when
        the rate or frame length does not suit webrtcvad), ``speech_ratio`` (frames
        where any channel speaks / frames), ``talk_over_ratio`` (frames where two
        channels speak / speech frames), ``noise_floor_dbfs`` (10th percentile of
        frame RMS, loudest channel), ``snr_db`` (speech-frame level minus noise
        floor, worst channel, None without speech), ``leading_silence_s``,
        ``trailing_silence_s``, ``channels_stats`` (one dict per channel with
        ``channel``, ``rms_dbfs``, ``peak_dbfs``, ``dc_offset``,
        ``silence_ratio``, ``speech_ratio``, ``talk_ratio`` (the channel's share
        of all channels' speech frames), ``noise_floor_dbfs``, ``snr_db``),
        ``one_way`` (bool), ``verdict`` (one of ``callstats.VERDICTS``),
        ``notice`` (None without ``notice_clip``, else ``found``, ``offset_s`` and
        ``score`` as ``notice.detect_notice`` returns them) and
        ``flags`` (list of ``empty``, ``header_incomplete``, ``truncated``,
        ``all_silent``, ``extension_mismatch``).

    Raises
    ------
    AudioError
        The file is missing, empty, not audio or cannot be decoded. ``flags`` names
        the fault (``missing``, ``empty``, ``not_audio``, ``truncated``,
        ``header_incomplete``, ``decode_error``).
    UnsupportedCodecError
        The file is audio in a codec that neither libsndfile nor ffmpeg decodes.
    ConfigError
        ``frame_ms`` is not positive, a quality limit is out of range, or the
        notice clip is missing or unreadable.
    """
    if frame_ms <= 0:
        raise ConfigError(f"invalid frame_ms={frame_ms}: expected a positive integer")
    thresholds = QualityThresholds(
        min_duration_s=min_duration_s,
        max_clipped_ratio=max_clipped_ratio,
        min_snr_db=min_snr_db,
        one_way_talk_ratio=one_way_talk_ratio,
        vad_aggressiveness=vad_aggressiveness,
    )
    notice_request = None
    if notice_clip is not None:
        if notice_window_s <= 0:
            raise ConfigError(
                f"invalid notice_window_s={notice_window_s}: expected seconds > 0"
            )
        notice_request = _NoticeRequest(notice_clip, notice_window_s, notice_threshold)
    path_text = os.fspath(path)
    file_size = _file_size(path_text, content)

    if raw_format is not None:
        return _analyze_raw(
            path_text,
            raw_format,
            silence_threshold_dbfs,
            frame_ms,
            thresholds,
            notice_request,
            content,
        )

    with _open_source(path_text, content) as stream:
        head = stream.read(512)
        container = codecs.sniff_container(head)
        header = None
        if container == "wav" and head.startswith(b"RIFF"):
            header = codecs.read_wav_header(stream, path_text, file_size)

    if container is None and codecs.looks_like_text(head):
        # The text itself is not quoted: error messages are shown on the
        # dashboard, and a file's content is not the dashboard's to show.
        raise AudioError(
            f"not audio: {path_text} contains text; expected a WAV or "
            "MP3 recording. Check the program that wrote it",
            flags=("not_audio",),
        )

    flags = list(header.flags) if header else []
    extension = os.path.splitext(path_text)[1].lower()
    expected = codecs.EXTENSION_CONTAINERS.get(extension)
    if container and expected and container not in expected:
        flags.append("extension_mismatch")

    decoded = _decode(path_text, head, container, header, content)
    stats = _SignalStats(
        sample_rate=decoded.sample_rate,
        channels=decoded.channels,
        frame_ms=frame_ms,
        threshold_dbfs=silence_threshold_dbfs,
        clip_level=_clip_level(decoded.codec),
        vad_aggressiveness=thresholds.vad_aggressiveness,
        head_s=notice_request.window_s if notice_request else 0.0,
        code_scale=decoded.code_scale,
    )
    try:
        for block in decoded.blocks:
            stats.add(block)
    except sf.SoundFileError as error:
        raise AudioError(
            f"decode failed: libsndfile stopped reading {path_text} after "
            f"{stats.frames} frames ({error}); the file is damaged. Check the "
            "recorder",
            flags=("decode_error",),
        ) from error
    finally:
        decoded.close()

    result = _build_result(
        decoded.sample_rate,
        decoded.channels,
        decoded.codec,
        decoded.container,
        decoded.decoder,
        stats,
        flags,
        thresholds,
        notice_request,
    )
    logger.debug(
        "analysed %s %s file: %d frames, flags %s",
        decoded.container,
        decoded.codec,
        stats.frames,
        result["flags"],
    )
    return result


def _build_result(
    sample_rate: int,
    channels: int,
    codec: str,
    container: str,
    decoder: str,
    stats: _SignalStats,
    flags: list[str],
    thresholds: QualityThresholds,
    notice_request: _NoticeRequest | None,
) -> dict:
    """Assemble the result dict, add the flags that the statistics imply and judge."""
    result = {
        "sample_rate": sample_rate,
        "channels": channels,
        "codec": codec,
        "container": container,
        "decoder": decoder,
    }
    result.update(stats.summary())
    flags = list(flags)
    if stats.frames == 0:
        flags.append("empty")
    elif result["silence_ratio"] == 1.0:
        flags.append("all_silent")
    result["flags"] = flags
    result["one_way"] = callstats.is_one_way(result["channels_stats"], thresholds)
    result["verdict"] = callstats.judge_call(result, thresholds)
    result["notice"] = None
    if notice_request is not None:
        result["notice"] = notice.detect_notice(
            stats.head(),
            sample_rate,
            notice_request.clip,
            window_s=notice_request.window_s,
            threshold=notice_request.threshold,
        )
    return result


@dataclass(frozen=True)
class _NoticeRequest:
    """Notice detection settings of one analysis."""

    clip: str | os.PathLike
    window_s: float
    threshold: float


def warm_up(notice_clip: str | os.PathLike | None = None) -> None:
    """Prepare notice detection and webrtcvad before the first file.

    An analysis worker calls this once at start, so that the first file it
    analyses does not pay for building the mel filter bank and reading and
    analysing the clip. The reference is prepared for 8 kHz, the rate of
    telephone recordings. Other rates compute theirs on first use.
    """
    notice.warm_up(notice_clip, sample_rate=8000)


def _no_blocks() -> Generator[np.ndarray, None, None]:
    """Yield no blocks, for a WAV file that has no data chunk."""
    yield from ()


def _open_source(path: str, content: bytes | None) -> io.BufferedIOBase:
    """Open the file's bytes in memory when given, or else the file itself."""
    if content is not None:
        return io.BytesIO(content)
    return open(path, "rb")  # noqa: SIM115 - the caller closes it


def _file_size(path: str, content: bytes | None = None) -> int:
    """Return the file size, raising AudioError for a missing or empty file."""
    try:
        size = len(content) if content is not None else os.stat(path).st_size
    except FileNotFoundError as error:
        raise AudioError(
            f"not found: {path} was removed or renamed before it could be analysed; "
            "nothing to do unless the recorder keeps the file elsewhere",
            flags=("missing",),
        ) from error
    if size == 0:
        raise AudioError(
            f"empty file: {path} has 0 bytes; the recorder may have failed to write "
            "it. Check the recorder",
            flags=("empty",),
        )
    return size


@dataclass
class _Decoded:
    """An open decoder and the format facts that the result reports."""

    sample_rate: int
    channels: int
    codec: str
    container: str
    decoder: str
    blocks: Generator[np.ndarray, None, None]
    resources: ExitStack = field(default_factory=ExitStack)
    code_scale: float | None = None
    """Set when blocks are int16 codes: the sample value of code 1, else None."""

    def close(self) -> None:
        # Closing the generator first stops an ffmpeg process that is still running.
        self.blocks.close()
        self.resources.close()


def _decode(
    path: str,
    head: bytes,
    container: str | None,
    header: codecs.WavHeader | None,
    content: bytes | None = None,
) -> _Decoded:
    """Open the best decoder for the file, or raise AudioError naming the problem."""
    if container in codecs.FFMPEG_ONLY_CONTAINERS:
        return _decode_ffmpeg(path, container, f"{container} audio")

    if header is not None and header.data_offset is None:
        # libsndfile rejects a WAV without a data chunk. The result is simply empty
        # because the fmt chunk already gives the format.
        return _Decoded(
            sample_rate=header.sample_rate,
            channels=header.channels,
            codec=_wav_codec_name(header),
            container="wav",
            decoder="soundfile",
            blocks=_no_blocks(),
        )

    if (
        header is not None
        and (header.format_tag, header.bits_per_sample) == (1, 16)
        and header.block_align == 2 * header.channels
    ):
        return _decode_pcm16(path, header, content)

    resources = ExitStack()
    source: object = path if content is None else io.BytesIO(content)
    if header is not None and header.needs_patch:
        source = resources.enter_context(codecs.PatchedWavView(path, header))
        logger.debug("reading WAV with corrected size fields, flags %s", header.flags)
    try:
        snd = resources.enter_context(sf.SoundFile(source))
    except sf.SoundFileError as error:
        resources.close()
        return _decode_after_libsndfile_failure(path, head, container, header, error)

    codec = codecs.SUBTYPE_CODECS.get(snd.subtype, snd.subtype.lower())
    # float32 represents 24-bit PCM exactly, but 32-bit PCM needs float64 to count
    # clipped samples exactly.
    dtype = "float64" if codec in ("pcm_32", "double") else "float32"
    block_frames = round(snd.samplerate * BLOCK_SECONDS)

    # NOTE: with libsndfile 1.2.2, reading an MP3 in several calls makes libmpg123
    # print "part2_3_length ... too large" on stderr about once per 20 s of audio.
    # The samples equal those of a single whole-file read, so only the log is noisy.
    def blocks() -> Generator[np.ndarray, None, None]:
        while True:
            block = snd.read(block_frames, dtype=dtype, always_2d=True)
            if not len(block):
                return
            yield block

    return _Decoded(
        sample_rate=snd.samplerate,
        channels=snd.channels,
        codec=codec,
        container=container or snd.format.lower(),
        decoder="soundfile",
        blocks=blocks(),
        resources=resources,
    )


def _decode_pcm16(
    path: str, header: codecs.WavHeader, content: bytes | None
) -> _Decoded:
    """Decode 16-bit PCM WAV samples with NumPy, in blocks of ``BLOCK_SECONDS``.

    libsndfile takes about as long to decode 16-bit PCM as hashing and framing the
    whole file together, so NumPy reads the data chunk directly. The samples equal
    libsndfile's float reads (code / 32768). ``header.data_bytes`` counts only the
    whole blocks present, so a truncated file or a wrong size field decodes as the
    patched view would show it to libsndfile.
    """
    frame_bytes = header.block_align
    channels = header.channels
    block_frames = round(header.sample_rate * BLOCK_SECONDS)
    total_frames = header.data_bytes // frame_bytes
    resources = ExitStack()
    stream = None
    if content is None:
        # The ExitStack closes the file when the caller closes the decoder.
        stream = resources.enter_context(open(path, "rb"))  # noqa: SIM115
        stream.seek(header.data_offset)

    def blocks() -> Generator[np.ndarray, None, None]:
        for first in range(0, total_frames, block_frames):
            count = min(block_frames, total_frames - first)
            if stream is None:
                offset = header.data_offset + first * frame_bytes
                codes = np.frombuffer(content, "<i2", count * channels, offset)
            else:
                codes = np.fromfile(stream, "<i2", count * channels)
                if len(codes) < count * channels:
                    raise AudioError(
                        f"decode failed: {path} became shorter while it was read",
                        flags=("decode_error",),
                    )
            yield codes.reshape(-1, channels)

    return _Decoded(
        sample_rate=header.sample_rate,
        channels=channels,
        codec="pcm_16",
        container="wav",
        decoder="numpy",
        blocks=blocks(),
        resources=resources,
        code_scale=1.0 / 32768.0,
    )


def _decode_after_libsndfile_failure(
    path: str,
    head: bytes,
    container: str | None,
    header: codecs.WavHeader | None,
    error: Exception,
) -> _Decoded:
    """Choose ffmpeg or the right AudioError after libsndfile rejected a file."""
    if container is None:
        raise AudioError(
            f"not audio: {path} starts with bytes {head[:8].hex(' ')}, which match no "
            "known audio format, and libsndfile cannot open it; expected a WAV or MP3 "
            "recording. Check the program that wrote it",
            flags=("not_audio",),
        ) from error
    if header is not None and header.format_tag not in _LIBSNDFILE_WAV_TAGS:
        codec_name = f"WAV format tag 0x{header.format_tag:04X} ({header.format_name})"
        return _decode_ffmpeg(path, container, codec_name)
    if codecs.ffmpeg_available():
        logger.info(
            "libsndfile rejected a %s file (%s); trying ffmpeg", container, error
        )
        return _decode_ffmpeg(path, container, f"{container} audio")
    raise AudioError(
        f"decode failed: libsndfile cannot read {path} ({error}); the {container} "
        "file is damaged. Check the recorder",
        flags=("decode_error",),
    ) from error


def _decode_ffmpeg(path: str, container: str, codec_name: str) -> _Decoded:
    """Decode through ffmpeg, or raise UnsupportedCodecError when it is missing."""
    if not codecs.ffmpeg_available():
        raise UnsupportedCodecError(
            f"unsupported codec: {path} is {codec_name}, which libsndfile cannot "
            "decode, and ffmpeg is not installed. Install ffmpeg on the ingest host "
            "or configure the recorder to write PCM, mu-law or A-law WAV",
            flags=("unsupported_codec",),
        )
    try:
        stream = codecs.probe_ffmpeg(path)
    except AudioError as error:
        raise UnsupportedCodecError(
            f"unsupported codec: {path} is {codec_name}, which neither libsndfile "
            f"nor ffmpeg decodes ({error}). Configure the recorder to write PCM, "
            "mu-law or A-law WAV",
            flags=("unsupported_codec",),
        ) from error
    if stream.codec in ("none", "unknown"):
        raise UnsupportedCodecError(
            f"unsupported codec: {path} is {codec_name}, which neither libsndfile "
            "nor ffmpeg decodes. Configure the recorder to write PCM, mu-law or "
            "A-law WAV",
            flags=("unsupported_codec",),
        )
    if stream.sample_rate <= 0 or stream.channels <= 0:
        raise UnsupportedCodecError(
            f"unsupported codec: ffprobe reports {stream.sample_rate} Hz and "
            f"{stream.channels} channels for {path} ({codec_name}); expected positive "
            "values. Configure the recorder to write PCM, mu-law or A-law WAV",
            flags=("unsupported_codec",),
        )
    logger.info("decoding a %s file with ffmpeg (%s)", container, stream.codec)
    block_frames = round(stream.sample_rate * BLOCK_SECONDS)
    return _Decoded(
        sample_rate=stream.sample_rate,
        channels=stream.channels,
        codec=_FFMPEG_CODECS.get(stream.codec, stream.codec),
        container=container,
        decoder="ffmpeg",
        blocks=codecs.iter_ffmpeg_blocks(path, stream, block_frames),
    )


def _analyze_raw(
    path: str,
    raw_format: RawFormat,
    threshold_dbfs: float,
    frame_ms: int,
    thresholds: QualityThresholds,
    notice_request: _NoticeRequest | None,
    content: bytes | None = None,
) -> dict:
    """Analyse a headerless file in the format that the naming profile states."""
    stats = _SignalStats(
        sample_rate=raw_format.sample_rate,
        channels=raw_format.channels,
        frame_ms=frame_ms,
        threshold_dbfs=threshold_dbfs,
        clip_level=_clip_level(raw_format.codec),
        vad_aggressiveness=thresholds.vad_aggressiveness,
        head_s=notice_request.window_s if notice_request else 0.0,
    )
    block_frames = round(raw_format.sample_rate * BLOCK_SECONDS)
    try:
        with sf.SoundFile(
            path if content is None else io.BytesIO(content),
            samplerate=raw_format.sample_rate,
            channels=raw_format.channels,
            subtype=_RAW_SUBTYPES[raw_format.codec],
            format="RAW",
            endian="LITTLE",
        ) as snd:
            for block in snd.blocks(block_frames, dtype="float32", always_2d=True):
                stats.add(block)
    except sf.SoundFileError as error:
        raise AudioError(
            f"decode failed: libsndfile cannot read {path} as raw {raw_format.codec} "
            f"({error}); check the naming profile's raw format",
            flags=("decode_error",),
        ) from error

    return _build_result(
        raw_format.sample_rate,
        raw_format.channels,
        raw_format.codec,
        "raw",
        "soundfile",
        stats,
        [],
        thresholds,
        notice_request,
    )


def _wav_codec_name(header: codecs.WavHeader) -> str:
    """Name the codec of a WAV file from its fmt chunk alone."""
    if header.format_tag == 0x0001:
        return {8: "pcm_u8", 16: "pcm_16", 24: "pcm_24", 32: "pcm_32"}.get(
            header.bits_per_sample, f"pcm_{header.bits_per_sample}"
        )
    if header.format_tag == 0x0003:
        return "double" if header.bits_per_sample == 64 else "float"
    names = {0x0006: "alaw", 0x0007: "mulaw", 0x0031: "gsm", 0x0055: "mp3"}
    return names.get(header.format_tag, f"wav_0x{header.format_tag:04x}")


def _clip_level(codec: str) -> float:
    """Return the smallest magnitude that counts as full scale for a codec.

    Values are in soundfile's float scale, where integer PCM full scale is 1.0 and
    the largest positive integer code is one step below it.
    """
    pcm_bits = {"pcm_u8": 8, "pcm_s8": 8, "pcm_16": 16, "pcm_24": 24, "pcm_32": 32}
    if codec in pcm_bits:
        step = 2.0 ** -(pcm_bits[codec] - 1)
        return 1.0 - step
    if codec in ("float", "double"):
        return 1.0
    if codec in ("mulaw", "alaw"):
        return _g711_full_scale(_RAW_SUBTYPES[codec])
    # GSM 6.10 decodes to 16-bit values and the ffmpeg pipe outputs 16-bit PCM.
    # MP3 decodes to float that may pass 1.0, and the same threshold applies.
    return 1.0 - 2.0**-15


@functools.cache
def _g711_full_scale(subtype: str) -> float:
    """Decode every G.711 code with libsndfile and return the largest magnitude.

    The codec's maximum is below 1.0 (32124/32768 for mu-law, 32256/32768 for
    A-law), so a threshold near 1.0 would never count a clipped G.711 call.
    """
    codes = io.BytesIO(bytes(range(256)))
    samples, _ = sf.read(
        codes,
        dtype="float32",
        format="RAW",
        subtype=subtype,
        samplerate=8000,
        channels=1,
    )
    return float(np.max(np.abs(samples)))


class _SignalStats:
    """Running level, silence and clipping statistics over decoded blocks.

    Sums are kept per channel, so per-channel results need only a new summary.
    Blocks are floats in soundfile's scale, or int16 codes when ``code_scale`` is
    given, which saves converting every sample to float32 and back for webrtcvad.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        channels: int,
        frame_ms: int,
        threshold_dbfs: float,
        clip_level: float,
        vad_aggressiveness: int = 3,
        head_s: float = 0.0,
        code_scale: float | None = None,
    ):
        self.sample_rate = sample_rate
        self.channels = channels
        self.frame_length = max(1, round(sample_rate * frame_ms / 1000))
        self.frame_s = self.frame_length / sample_rate
        self.threshold = 10.0 ** (threshold_dbfs / 20.0)
        self.clip_level = clip_level
        self.scale = 1.0 if code_scale is None else code_scale
        self.frames = 0
        self.sum_squares = np.zeros(channels, dtype=np.float64)
        self.peak = np.zeros(channels, dtype=np.float64)
        self.clipped = np.zeros(channels, dtype=np.int64)
        self.sum_samples = np.zeros(channels, dtype=np.float64)
        self.activity = callstats.FrameActivity(
            sample_rate=sample_rate,
            channels=channels,
            frame_length=self.frame_length,
            threshold=self.threshold,
            vad_aggressiveness=vad_aggressiveness,
        )
        # One array of silent-frame flags per block. The runs are counted once at
        # the end, because that costs less than counting them block by block.
        self._silent: list[np.ndarray] = []
        self._ones = np.ones(self.frame_length, dtype=np.float64)
        # Samples after the last whole frame, channel-major, of shape (channels, n),
        # in the blocks' own type.
        self._pending: np.ndarray | None = None
        self.head_frames = round(head_s * sample_rate)
        self._head: list[np.ndarray] = []
        self._head_length = 0

    def add(self, block: np.ndarray) -> None:
        """Add a block of shape (frames, channels)."""
        if self._head_length < self.head_frames:
            head_part = block[: self.head_frames - self._head_length]
            self._head.append(self._as_float32(head_part))
            self._head_length += len(head_part)
        self.frames += len(block)
        # NumPy reduces a contiguous last axis several times faster than the
        # strided first axis of a (frames, 2) block, so channels come first.
        samples = np.ascontiguousarray(block.T)
        # In float64, because the negative of the int16 code -32768 overflows.
        highest = samples.max(axis=1).astype(np.float64)
        lowest = samples.min(axis=1).astype(np.float64)
        peak = np.maximum(highest, -lowest) * self.scale
        self.peak = np.maximum(self.peak, peak)
        # Most blocks have no sample near full scale, and then the count is 0.
        if (peak >= self.clip_level).any():
            limit = self.clip_level / self.scale
            at_limit = (samples >= limit) | (samples <= -limit)
            self.clipped += np.count_nonzero(at_limit, axis=1)

        if self._pending is not None and self._pending.shape[1]:
            samples = np.concatenate([self._pending, samples], axis=1)
        whole = samples.shape[1] - samples.shape[1] % self.frame_length
        self._add_frames(samples[:, :whole])
        self._pending = samples[:, whole:].copy()

    def _as_float32(self, samples: np.ndarray) -> np.ndarray:
        """Return samples in soundfile's float scale as float32."""
        if samples.dtype.kind == "f" and self.scale == 1.0:
            return samples.astype(np.float32)
        return np.multiply(samples, np.float32(self.scale), dtype=np.float32)

    def head(self) -> np.ndarray:
        """Return the first ``head_s`` seconds seen, float32 of shape (n, channels)."""
        if not self._head:
            return np.zeros((0, self.channels), dtype=np.float32)
        return np.concatenate(self._head)

    def _add_frames(self, samples: np.ndarray) -> None:
        """Add whole frames of channel-major samples, shape (channels, n)."""
        if not samples.shape[1]:
            return
        frames = samples.reshape(self.channels, -1, self.frame_length)
        # float64 represents int16 codes, their squares and a frame's sums
        # exactly, so the centred sum of squares, sum(x * x) - sum(x) ** 2 / n,
        # loses nothing to cancellation on int16 codes. It costs one pass less
        # than centring the frames first.
        values = frames.astype(np.float64)
        sums = values @ self._ones
        squares = np.einsum("ijk,ijk->ij", values, values)
        centred = np.maximum(squares - sums * sums / self.frame_length, 0.0)
        self.sum_samples += sums.sum(axis=1) * self.scale
        self.sum_squares += squares.sum(axis=1) * (self.scale * self.scale)
        frame_rms = np.sqrt(centred.T / self.frame_length) * self.scale
        self._silent.append((frame_rms < self.threshold).all(axis=1))
        self.activity.add_frames(frames, frame_rms, code_scale=self.scale)

    @staticmethod
    def _silent_runs(silent: np.ndarray) -> tuple[int, int]:
        """Return the number of silent frames and the longest run of them."""
        # Runs start and end at the edges of the zero-padded sequence.
        edges = np.diff(silent.astype(np.int8), prepend=0, append=0)
        runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        return int(np.count_nonzero(silent)), int(runs.max(initial=0))

    def summary(self) -> dict:
        """Return the finished statistics as plain Python numbers."""
        if self._pending is None:
            pending = np.zeros((self.channels, 0), dtype=np.float64)
        else:
            pending = self._pending.astype(np.float64) * self.scale
        self._pending = None
        self.sum_samples += pending.sum(axis=1)
        self.sum_squares += np.square(pending).sum(axis=1)
        length = pending.shape[1]
        if length and (length * 2 >= self.frame_length or not self._silent):
            frame_rms = pending.std(axis=1)
            self._silent.append(np.array([bool((frame_rms < self.threshold).all())]))
            self.activity.add_partial_frame(frame_rms)
        silent = np.concatenate(self._silent) if self._silent else np.zeros(0, bool)
        self._silent = []
        silent_frames, longest_run = self._silent_runs(silent)

        samples = self.frames * self.channels
        rms = float(np.sqrt(self.sum_squares.sum() / samples)) if samples else 0.0
        silence_ratio = silent_frames / len(silent) if len(silent) else 0.0
        duration_s = self.frames / self.sample_rate
        result = {
            "frames": int(self.frames),
            "duration_s": duration_s,
            "silence_ratio": float(silence_ratio),
            "longest_silence_s": longest_run * self.frame_s,
            "rms_dbfs": to_dbfs(rms),
            "peak_dbfs": to_dbfs(float(self.peak.max(initial=0.0))),
            "clipped_samples": int(self.clipped.sum()),
            "clipped_ratio": float(self.clipped.sum() / samples) if samples else 0.0,
            "dc_offset": float(self.sum_samples.sum() / samples) if samples else 0.0,
        }
        activity = self.activity.summary(frame_s=self.frame_s, duration_s=duration_s)
        activity["channels_stats"] = [
            {**self._channel_levels(channel), **channel_stats}
            for channel, channel_stats in enumerate(activity["channels_stats"])
        ]
        result.update(activity)
        return result

    def _channel_levels(self, channel: int) -> dict:
        """Return one channel's number, RMS, peak and DC offset."""
        frames = self.frames
        rms = float(np.sqrt(self.sum_squares[channel] / frames)) if frames else 0.0
        return {
            "channel": channel,
            "rms_dbfs": to_dbfs(rms),
            "peak_dbfs": to_dbfs(float(self.peak[channel])),
            "dc_offset": float(self.sum_samples[channel] / frames) if frames else 0.0,
        }
