"""Build made-up telephone calls from recorded speech and write them as recordings.

Calls are assembled from the Asterisk voice prompts (a woman's recorded speech, 8 kHz
16-bit mono WAV, Debian package asterisk-core-sounds-en-wav). Each prompt is trimmed to
its active region and placed on 20 ms frame boundaries. So the speech intervals that
come with a call are the frames that the silence rule of ``pipeline.audio`` (20 ms,
-45 dBFS, DC removed) finds active, apart from frames within a few dB of the threshold.
Without the prompts package, calls use synthetic voiced sounds instead and a warning
is logged.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.errors import ConfigError

logger = logging.getLogger(__name__)

PROMPT_DIR = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
NOTICE_PROMPT = "conf-now-recording.wav"
PROMPT_RATE = 8000

FRAME_S = 0.02
"""Frame length of the activity rule, the same as the default of ``analyze_file``."""

ACTIVITY_THRESHOLD_DBFS = -45.0
"""A frame is speech when its DC-removed RMS is at or above this level."""

# Prompts that are tones, silence or animal noises rather than speech, and the notice,
# which only starts a call.
_NOT_SPEECH = {
    "beep.wav",
    "beeperr.wav",
    "ascending-2tone.wav",
    "descending-2tone.wav",
    "silence.wav",
    "tt-monkeys.wav",
    "tt-monkeysintro.wav",
    NOTICE_PROMPT,
}
# Long menus would make one turn fill a short call, and clips under 0.5 s are single
# words that sound odd as a whole turn.
_PROMPT_SECONDS = (0.5, 8.0)

# The far party comes through the telephone line at a lower level than the official.
_PARTY_GAIN_DB = (0.0, -4.0)

_warned_folders: set[Path] = set()

CODECS = ("pcm_16", "mulaw", "alaw", "gsm", "mp3")
_WRITE_FORMATS = {
    "pcm_16": ("WAV", "PCM_16"),
    "mulaw": ("WAV", "ULAW"),
    "alaw": ("WAV", "ALAW"),
    "gsm": ("WAV", "GSM610"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}


@dataclass
class SynthCall:
    """Samples of a synthetic call with the intervals that contain speech."""

    samples: np.ndarray
    """float32, shape (frames,) for mono or (frames, 2) for stereo, full scale 1.0."""
    sample_rate: int
    speech_intervals: list[tuple[float, float]] = field(default_factory=list)
    """(start_s, end_s) of each run of active frames, in time order."""
    speech_channels: list[int] = field(default_factory=list)
    """Channel of each speech interval: the speaking party's channel, 0 in mono."""
    notice_interval: tuple[float, float] | None = None
    """(start_s, end_s) of the recording notice, or None when the call has none."""
    source: str = "prompts"
    """"prompts" for recorded speech, "synthetic" for the fallback voiced sounds."""

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def speech_s(self) -> float:
        """Total length of the speech intervals, in seconds."""
        return sum(end - start for start, end in self.speech_intervals)


def prompt_dir() -> Path | None:
    """Return the Asterisk prompt folder if it exists and contains WAV files."""
    if PROMPT_DIR.is_dir() and any(PROMPT_DIR.glob("*.wav")):
        return PROMPT_DIR
    return None


@functools.cache
def _speech_prompt_paths(folder: Path | None) -> tuple[Path, ...]:
    """List the prompts used as speech turns, sorted so that a seed picks the same."""
    if folder is None:
        return ()
    paths = []
    for path in sorted(folder.glob("*.wav")):
        if path.name in _NOT_SPEECH:
            continue
        seconds = sf.info(path).duration
        if _PROMPT_SECONDS[0] <= seconds <= _PROMPT_SECONDS[1]:
            paths.append(path)
    return tuple(paths)


@functools.lru_cache(maxsize=512)
def _load_prompt(path: Path, sample_rate: int) -> np.ndarray:
    """Read a prompt as float32 mono at ``sample_rate``, trimmed to active frames."""
    samples, rate = sf.read(path, dtype="float32")
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if rate != sample_rate:
        import librosa  # imported here because only non-8 kHz calls need it

        samples = librosa.resample(samples, orig_sr=rate, target_sr=sample_rate)
    return _trim_to_activity(samples.astype(np.float32), sample_rate)


def load_notice(sample_rate: int = PROMPT_RATE) -> np.ndarray:
    """Return the recording notice as float32 mono, trimmed to its active frames.

    This is ``conf-now-recording.wav`` ("The conference is now being recorded",
    according to the package's core-sounds-en.txt), or a fixed synthetic phrase when
    the prompts package is absent.
    """
    folder = prompt_dir()
    if folder is not None and (folder / NOTICE_PROMPT).is_file():
        return _load_prompt(folder / NOTICE_PROMPT, sample_rate)
    return _synthetic_notice(sample_rate)


def build_call(
    duration_s: float,
    *,
    rng: np.random.Generator,
    sample_rate: int = PROMPT_RATE,
    stereo: bool = False,
    dead_channel: int | None = None,
    notice: bool = False,
    noise_dbfs: float | None = -70.0,
) -> SynthCall:
    """Assemble a call of alternating speech turns over light line noise.

    Parameters
    ----------
    duration_s : float
        Length of the call, in seconds.
    rng : numpy.random.Generator
        Source of every random choice, so a seeded generator gives the same call.
    sample_rate : int
        Output rate in Hz. Prompts are resampled with librosa when it is not 8000.
    stereo : bool
        Put each party on its own channel (party 0 on channel 0). Turns alternate
        between the parties in mono too.
    dead_channel : int or None
        In stereo, a channel that carries line noise only, as when one leg of the
        call was not captured. Speech of that party is left out of the truth.
    notice : bool
        Start with the recording notice (``load_notice``) after a short lead-in.
        In stereo it is played on every channel that is not dead.
    noise_dbfs : float or None
        RMS level of white line noise in dBFS, independent per channel, so pauses
        sit on a noise floor as on a phone line. None gives digital silence.

    Returns
    -------
    SynthCall
        Samples of shape (frames,) or (frames, 2) and the speech truth.
    """
    _check_call_arguments(duration_s, sample_rate, stereo, dead_channel)
    channels = 2 if stereo else 1
    total = round(duration_s * sample_rate)
    frame = round(FRAME_S * sample_rate)
    samples = np.zeros((total, channels), dtype=np.float32)
    prompts = _speech_prompt_paths(prompt_dir())
    if not prompts and PROMPT_DIR not in _warned_folders:
        # One warning per folder, because a demo spool builds hundreds of calls.
        _warned_folders.add(PROMPT_DIR)
        logger.warning(
            "Asterisk voice prompts not found in %s, so calls are built from "
            "synthetic voiced sounds instead of recorded speech",
            PROMPT_DIR,
        )
    placer = _Placer(samples, sample_rate, frame, dead_channel)

    position = _frames_to_samples(rng.uniform(0.2, 0.8), frame, sample_rate)
    notice_interval = None
    if notice:
        clip = load_notice(sample_rate)
        live = [ch for ch in range(channels) if ch != dead_channel]
        placed = placer.place(clip, position, live)
        if placed:
            notice_interval = (position / sample_rate, placed / sample_rate)
            position = placed
        position += _frames_to_samples(rng.uniform(0.5, 1.5), frame, sample_rate)

    party = int(rng.integers(2))
    while position < total:
        turn = _build_turn(rng, sample_rate, party, prompts)
        last_turn = position + len(turn) > total
        if last_turn:
            # The call ends with a one-utterance turn, cut off by the hang-up when
            # even that is too long. So short calls still contain speech.
            turn = _build_turn(rng, sample_rate, party, prompts, utterances=1)
        channel = party if stereo else 0
        gain = 10 ** (_PARTY_GAIN_DB[party] / 20)
        placer.place(turn * gain, position, [channel])
        if last_turn:
            break
        position += len(turn)
        position += _frames_to_samples(rng.uniform(0.5, 3.0), frame, sample_rate)
        party = 1 - party

    intervals, interval_channels = placer.speech_truth()
    if noise_dbfs is not None:
        sigma = np.float32(10 ** (noise_dbfs / 20))
        samples += rng.standard_normal(samples.shape, dtype=np.float32) * sigma
    np.clip(samples, -1.0, 1.0, out=samples)
    return SynthCall(
        samples=samples if stereo else samples[:, 0],
        sample_rate=sample_rate,
        speech_intervals=intervals,
        speech_channels=interval_channels,
        notice_interval=notice_interval,
        source="prompts" if prompts else "synthetic",
    )


def _check_call_arguments(
    duration_s: float, sample_rate: int, stereo: bool, dead_channel: int | None
) -> None:
    if duration_s <= 0:
        raise ConfigError(f"invalid duration_s={duration_s}: expected seconds > 0")
    if sample_rate < 4000:
        raise ConfigError(
            f"invalid sample_rate={sample_rate}: expected at least 4000 Hz"
        )
    if dead_channel is not None and (not stereo or dead_channel not in (0, 1)):
        raise ConfigError(
            f"invalid dead_channel={dead_channel}: expected 0 or 1 with stereo=True"
        )


def _frames_to_samples(seconds: float, frame: int, sample_rate: int) -> int:
    """Round a length in seconds to whole activity frames, returned in samples."""
    return round(seconds * sample_rate / frame) * frame


class _Placer:
    """Adds clips to a call buffer on frame boundaries and records the speech truth."""

    def __init__(
        self, samples: np.ndarray, sample_rate: int, frame: int, dead: int | None
    ):
        self.samples = samples
        self.sample_rate = sample_rate
        self.frame = frame
        self.dead = dead
        self.active = np.zeros((len(samples) // frame, samples.shape[1]), dtype=bool)

    def place(self, clip: np.ndarray, start: int, channels: list[int]) -> int:
        """Add ``clip`` at sample ``start`` on ``channels`` and return its end sample.

        The clip is cut at the end of the call. ``start`` must be a multiple of the
        frame length, so the clip's activity frames line up with the call's frames.
        """
        end = min(start + len(clip), len(self.samples))
        if end <= start:
            return start
        clip = clip[: end - start]
        first = start // self.frame
        clip_active = _active_frames(clip, self.sample_rate)
        for channel in channels:
            if channel == self.dead:
                continue
            self.samples[start:end, channel] += clip
            last = min(first + len(clip_active), len(self.active))
            self.active[first:last, channel] |= clip_active[: last - first]
        return end

    def speech_truth(self) -> tuple[list[tuple[float, float]], list[int]]:
        """Return runs of active frames per channel, sorted by start time."""
        runs = []
        for channel in range(self.active.shape[1]):
            edges = np.diff(
                np.concatenate(([0], self.active[:, channel].astype(np.int8), [0]))
            )
            starts = np.flatnonzero(edges == 1)
            ends = np.flatnonzero(edges == -1)
            for start, end in zip(starts, ends, strict=True):
                runs.append((int(start), int(end), channel))
        runs.sort()
        frame_s = self.frame / self.sample_rate
        intervals = [(start * frame_s, end * frame_s) for start, end, _ in runs]
        return intervals, [channel for _, _, channel in runs]


def _active_frames(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Apply the silence rule of ``pipeline.audio`` to whole 20 ms frames.

    A partial last frame is left out, so the result has ``len // frame`` entries.
    """
    frame = round(FRAME_S * sample_rate)
    whole = len(samples) - len(samples) % frame
    frames = samples[:whole].reshape(-1, frame)
    threshold = 10 ** (ACTIVITY_THRESHOLD_DBFS / 20)
    return frames.std(axis=1) >= threshold


def _trim_to_activity(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cut leading and trailing inactive frames, keeping whole frames only."""
    frame = round(FRAME_S * sample_rate)
    active = np.flatnonzero(_active_frames(samples, sample_rate))
    if not len(active):
        return samples[:0]
    return samples[active[0] * frame : (active[-1] + 1) * frame]


def _build_turn(
    rng: np.random.Generator,
    sample_rate: int,
    party: int,
    prompts: tuple[Path, ...],
    *,
    utterances: int | None = None,
) -> np.ndarray:
    """Join utterances (one to three unless given) with short pauses into a turn."""
    frame = round(FRAME_S * sample_rate)
    pieces = []
    for index in range(utterances or int(rng.integers(1, 4))):
        if index:
            gap = _frames_to_samples(rng.uniform(0.1, 0.4), frame, sample_rate)
            pieces.append(np.zeros(gap, dtype=np.float32))
        if prompts:
            path = prompts[int(rng.integers(len(prompts)))]
            pieces.append(_load_prompt(path, sample_rate))
        else:
            pieces.append(_synthetic_utterance(rng, sample_rate, party))
    return np.concatenate(pieces)


def _synthetic_utterance(
    rng: np.random.Generator, sample_rate: int, party: int
) -> np.ndarray:
    """Make a voiced phrase: harmonic syllables under raised-cosine envelopes.

    Each syllable is a harmonic series on a gliding fundamental (about 120 Hz for
    party 0 and 210 Hz for party 1), with harmonics up to 3.4 kHz, the top of the
    telephone band. Syllables last 120-300 ms, with 30-90 ms gaps between them.
    """
    base_f0 = (120.0, 210.0)[party]
    pieces = []
    for _ in range(int(rng.integers(3, 12))):
        length = round(rng.uniform(0.12, 0.30) * sample_rate)
        t = np.arange(length) / sample_rate
        f0 = base_f0 * rng.uniform(0.85, 1.2) * (1 + 0.1 * t / t[-1])
        phase = 2 * np.pi * np.cumsum(f0) / sample_rate
        harmonics = np.arange(1, int(3400 // (base_f0 * 1.4)) + 1)
        tone = (np.sin(np.outer(phase, harmonics)) / harmonics).sum(axis=1)
        envelope = np.hanning(length)
        syllable = 0.12 * rng.uniform(0.6, 1.0) * envelope * tone
        pieces.append(syllable.astype(np.float32))
        gap = round(rng.uniform(0.03, 0.09) * sample_rate)
        pieces.append(np.zeros(gap, dtype=np.float32))
    return _trim_to_activity(np.concatenate(pieces), sample_rate)


@functools.cache
def _synthetic_notice(sample_rate: int) -> np.ndarray:
    # A fixed seed makes the fallback notice the same in every call and process.
    return _synthetic_utterance(np.random.default_rng(2024), sample_rate, 1)


def write_audio(
    path: str | os.PathLike, samples: np.ndarray, sample_rate: int, codec: str
) -> None:
    """Write samples in one of the recorder codecs of ``CODECS``.

    pcm_16, mulaw, alaw and gsm are written as WAV, mp3 as MPEG audio (at 8 kHz
    libsndfile writes MPEG-2.5 Layer III). A (frames, 2) array gives a stereo file,
    except for gsm, which is mono only. Samples are clipped to [-1, 1] first because
    libsndfile 1.2.2 wraps out-of-range floats around in some codecs (1.5 written
    as mu-law reads back as 0.17).
    The file format comes from ``codec``, not from the file name, so a temporary name
    such as ``call.wav.part`` works.
    """
    if codec not in _WRITE_FORMATS:
        raise ConfigError(
            f"invalid codec {codec!r}: expected one of {', '.join(CODECS)}"
        )
    if codec == "gsm" and samples.ndim == 2 and samples.shape[1] != 1:
        raise ConfigError(
            f"invalid channel count {samples.shape[1]} for gsm: GSM 6.10 WAV is mono "
            "only; write stereo as pcm_16, mulaw or alaw"
        )
    if codec == "gsm" and sample_rate != 8000:
        raise ConfigError(
            f"invalid sample_rate={sample_rate} for gsm: GSM 6.10 is defined at 8000 Hz"
        )
    container, subtype = _WRITE_FORMATS[codec]
    clipped = np.clip(samples, -1.0, 1.0)
    sf.write(os.fspath(path), clipped, sample_rate, subtype=subtype, format=container)


# Prompts that share words or voice with the notice ("The conference is now being
# recorded"), which make the hardest negatives for notice detection.
_LOOKALIKE_PREFIXES = ("conf-", "vm-")


@functools.cache
def _lookalike_prompt_paths(folder: Path | None) -> tuple[Path, ...]:
    """List the conf-* and vm-* speech prompts, sorted so that a seed picks the same."""
    return tuple(
        path
        for path in _speech_prompt_paths(folder)
        if path.name.startswith(_LOOKALIKE_PREFIXES)
    )


def build_notice_call(
    *,
    rng: np.random.Generator,
    notice: bool,
    duration_s: float = 20.0,
    window_s: float = 15.0,
    snr_db: float | None = None,
    gain_db: float = 0.0,
) -> SynthCall:
    """Build a call for testing notice detection, with or without the notice.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every random choice.
    notice : bool
        Place the notice at a random frame-aligned offset, so that the whole
        notice ends within ``window_s``. Other speech fills the rest of the call.
    duration_s, window_s : float
        Call length and notice window, in seconds.
    snr_db : float or None
        Add white noise this many dB below the RMS of the call's active frames.
        None adds no noise.
    gain_db : float
        Gain applied to the whole call before noise, in dB.

    Returns
    -------
    SynthCall
        Mono samples at 8 kHz, with ``notice_interval`` set for a positive call.
        Half of the other utterances come from conf-* and vm-* prompts, the
        same voice as the notice and often the same words.
    """
    if prompt_dir() is None:
        raise ConfigError(
            f"notice test calls need the Asterisk prompts in {PROMPT_DIR}; install "
            "the Debian package asterisk-core-sounds-en-wav"
        )
    rate = PROMPT_RATE
    frame = round(FRAME_S * rate)
    total = round(duration_s * rate)
    samples = np.zeros((total, 1), dtype=np.float32)
    placer = _Placer(samples, rate, frame, None)
    prompts = _speech_prompt_paths(prompt_dir())
    lookalikes = _lookalike_prompt_paths(prompt_dir())

    notice_interval = None
    notice_start = notice_end = None
    if notice:
        clip = load_notice(rate)
        latest = max(0.0, window_s - len(clip) / rate)
        notice_start = _frames_to_samples(rng.uniform(0.0, latest), frame, rate)
        notice_start = min(notice_start, round(latest * rate) // frame * frame)
        notice_end = placer.place(clip, notice_start, [0])
        notice_interval = (notice_start / rate, notice_end / rate)

    position = _frames_to_samples(rng.uniform(0.0, 0.5), frame, rate)
    while position < total:
        pool = lookalikes if rng.random() < 0.5 and lookalikes else prompts
        utterance = _load_prompt(pool[int(rng.integers(len(pool)))], rate)
        end = position + len(utterance)
        gap = _frames_to_samples(rng.uniform(0.2, 0.8), frame, rate)
        if notice_start is not None and end + gap > notice_start > position - gap:
            # Keep the notice clear of other speech: cut the utterance short
            # before it and continue after it.
            cut = max(0, notice_start - gap - position) // frame * frame
            if cut:
                placer.place(utterance[:cut], position, [0])
            position = notice_end + gap
            notice_start = None
            continue
        placer.place(utterance, position, [0])
        position = end + gap

    intervals, channels = placer.speech_truth()
    mono = samples[:, 0] * np.float32(10 ** (gain_db / 20))
    if snr_db is not None:
        active = _active_frames(mono, rate)
        frames = mono[: len(active) * frame].reshape(-1, frame)[active]
        level = float(np.sqrt(np.mean(np.square(frames, dtype=np.float64))))
        sigma = np.float32(level * 10 ** (-snr_db / 20))
        mono = mono + rng.standard_normal(len(mono), dtype=np.float32) * sigma
    return SynthCall(
        samples=np.clip(mono, -1.0, 1.0),
        sample_rate=rate,
        speech_intervals=intervals,
        speech_channels=channels,
        notice_interval=notice_interval,
    )
