"""Per-frame speech activity of a call and the quality verdict built from it.

``pipeline.audio`` computes the RMS of every analysis frame (DC removed) while it
decodes a call in blocks, and hands each block of frames to ``FrameActivity``. The
accumulator keeps one RMS value and one speech decision per frame and channel, which
is about 1.8 MB for a one-hour stereo call at 20 ms frames, so it never stores the
samples themselves. ``FrameActivity.summary`` turns those arrays into the call's
speech, talk-over, noise floor, SNR and leading/trailing silence statistics, and
``judge_call`` gives the quality verdict.

Speech frames come from the WebRTC voice activity detector (package webrtcvad-wheels)
when the sample rate and frame length allow it. It runs on a third of the frames that
are not silent. Otherwise speech frames come from the energy rule alone, under which
a frame is speech when it is not silent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import _webrtcvad
import numpy as np
import webrtcvad

from pipeline.errors import ConfigError

logger = logging.getLogger(__name__)

DBFS_FLOOR = -120.0
"""Level in dBFS reported for digital silence, in place of -inf."""

# webrtcvad 2.0 accepts only these sample rates (Hz) and frame lengths (ms).
VAD_SAMPLE_RATES = (8000, 16000, 32000, 48000)
VAD_FRAME_MS = (10, 20, 30)

VAD_RUN_FRAMES = 10
VAD_MIN_PERIOD_FRAMES = 30
VAD_MAX_PERIOD_FRAMES = 240
"""webrtcvad checks runs of ``VAD_RUN_FRAMES`` consecutive active frames, one run
at the start of every period of active frames, and the frames between take the
last decision. A period starts at ``VAD_MIN_PERIOD_FRAMES``, doubles after each
run whose decisions were all the same, up to ``VAD_MAX_PERIOD_FRAMES``, and goes
back to the minimum after a run with both decisions. So steady talk or steady
noise is checked sparsely, and a change is checked densely again.

webrtcvad's C code costs about 1.4 us per 20 ms frame at 8 kHz, more than decoding
and hashing that frame. The runs are contiguous because its filters carry state from
frame to frame. Fed single frames with gaps between them, it took a steady 60 Hz hum
for speech, which it rejects in contiguous audio. On the 64 calls of the
benchmarks/audio.py corpus, the speech ratio differed by at most 0.018 from checking
every active frame, and the schedule made 5 % of the detector calls. A fixed period
of 30 differed by at most 0.017 and made 33 % of them. Tests hold steady 60 Hz and
120 Hz hums at the speech ratio of checking every active frame.
NOTE: not measured on recorder audio with real line noise."""

NOISE_FLOOR_PERCENTILE = 10.0
"""Percentile of frame RMS taken as the noise floor, because every call has pauses."""

VERDICTS = ("ok", "empty", "too_short", "all_silent", "one_way", "clipped", "noisy")
"""Possible quality verdicts, in the order ``judge_call`` checks them."""


@dataclass(frozen=True)
class QualityThresholds:
    """Limits that decide a call's quality verdict."""

    min_duration_s: float = 2.0
    """A call shorter than this, in seconds, is ``too_short``."""
    max_clipped_ratio: float = 0.001
    """A call with a larger share of samples at full scale is ``clipped``."""
    min_snr_db: float = 10.0
    """A call whose speech is less than this many dB above its noise floor is
    ``noisy``."""
    one_way_talk_ratio: float = 0.05
    """A stereo call where one channel has less than this share of the talk time is
    ``one_way``."""
    vad_aggressiveness: int = 3
    """webrtcvad mode from 0 (keeps most frames as speech) to 3 (drops most)."""

    def __post_init__(self) -> None:
        if self.min_duration_s < 0:
            raise ConfigError(
                f"invalid min_duration_s={self.min_duration_s}: expected seconds >= 0"
            )
        if not 0.0 <= self.max_clipped_ratio <= 1.0:
            raise ConfigError(
                f"invalid max_clipped_ratio={self.max_clipped_ratio}: expected a "
                "ratio from 0 to 1"
            )
        if not 0.0 <= self.one_way_talk_ratio < 0.5:
            raise ConfigError(
                f"invalid one_way_talk_ratio={self.one_way_talk_ratio}: expected a "
                "ratio from 0 to below 0.5"
            )
        if self.vad_aggressiveness not in (0, 1, 2, 3):
            raise ConfigError(
                f"invalid vad_aggressiveness={self.vad_aggressiveness}: expected "
                "0, 1, 2 or 3"
            )


def to_dbfs(amplitude: float) -> float:
    """Convert a linear amplitude (full scale 1.0) to dBFS, at least ``DBFS_FLOOR``."""
    if amplitude <= 10.0 ** (DBFS_FLOOR / 20.0):
        return DBFS_FLOOR
    return float(20.0 * np.log10(amplitude))


class FrameActivity:
    """Frame RMS and speech decisions of a call, accumulated block by block.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Number of channels.
    frame_length : int
        Samples per analysis frame.
    threshold : float
        Linear RMS below which a channel's frame is silent (full scale 1.0).
    vad_aggressiveness : int
        webrtcvad mode, 0 to 3.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        channels: int,
        frame_length: int,
        threshold: float,
        vad_aggressiveness: int = 3,
    ):
        self.sample_rate = sample_rate
        self.channels = channels
        self.frame_length = frame_length
        self.threshold = threshold
        frame_ms = frame_length * 1000 / sample_rate
        if sample_rate in VAD_SAMPLE_RATES and frame_ms in VAD_FRAME_MS:
            self.detector = "webrtcvad"
            self._vads = [webrtcvad.Vad(vad_aggressiveness) for _ in range(channels)]
            # One schedule per channel, so that the checked runs continue across
            # blocks.
            self._schedules = [_VadSchedule() for _ in range(channels)]
        else:
            # The energy rule still gives a speech ratio, only a less exact one.
            logger.debug(
                "webrtcvad does not take %d Hz with %.1f ms frames; speech frames "
                "come from the energy rule",
                sample_rate,
                frame_ms,
            )
            self.detector = "energy"
            self._vads = []
        self._rms: list[np.ndarray] = []
        self._speech: list[np.ndarray] = []

    def add_frames(
        self, frames: np.ndarray, frame_rms: np.ndarray, *, code_scale: float = 1.0
    ) -> None:
        """Add frames of shape (c, n, frame_length) and their RMS of shape (n, c).

        ``frames`` are floats in soundfile's scale, or int16 codes whose sample
        value is the code times ``code_scale``.
        """
        active = frame_rms >= self.threshold
        speech = active.copy()
        for channel, vad in enumerate(self._vads):
            speech[:, channel] = self._run_vad(
                channel, vad, frames[channel], active[:, channel], code_scale
            )
        self._rms.append(frame_rms.astype(np.float32))
        self._speech.append(speech)

    def add_partial_frame(self, frame_rms: np.ndarray) -> None:
        """Add a last frame shorter than ``frame_length``, judged by energy alone."""
        rms = np.asarray(frame_rms, dtype=np.float32).reshape(1, self.channels)
        self._rms.append(rms)
        self._speech.append(rms >= self.threshold)

    def _run_vad(
        self,
        channel: int,
        vad: webrtcvad.Vad,
        frames: np.ndarray,
        active: np.ndarray,
        code_scale: float = 1.0,
    ) -> np.ndarray:
        """Return webrtcvad's decision for the active frames, False for silent ones.

        Silent frames cannot be speech under the energy rule, so the detector runs
        only on active frames, and on those only in the runs that
        ``_VadSchedule`` picks.
        """
        speech = np.zeros(len(frames), dtype=bool)
        indices = np.flatnonzero(active)
        if not len(indices):
            return speech
        as_codes = frames.dtype == np.int16 and code_scale == 1.0 / 32768.0
        # In webrtcvad-wheels 2.0.14.post1, Vad.is_speech only checks the length,
        # which every slice here has, and then calls _webrtcvad.process on Vad._vad.
        process = _webrtcvad.process
        handle = vad._vad
        rate = self.sample_rate
        length = self.frame_length
        size = length * 2

        def detect(first: int, stop: int) -> list[bool]:
            # Only the frames of one run are gathered, because most active
            # frames are never checked.
            chosen = frames[indices[first:stop]]
            if not as_codes:
                # Scale as libsndfile does for 16-bit PCM, so a 16-bit file gives
                # back its own sample values.
                values = np.rint(chosen * (code_scale * 32768.0))
                chosen = np.clip(values, -32768, 32767).astype(np.int16)
            data = chosen.tobytes()
            return [
                process(handle, rate, data[offset : offset + size], length)
                for offset in range(0, len(data), size)
            ]

        speech[indices] = self._schedules[channel].decide(len(indices), detect)
        return speech

    def summary(self, *, frame_s: float, duration_s: float) -> dict:
        """Return the activity statistics of the whole call as plain Python values.

        ``frame_s`` is the frame length and ``duration_s`` the call length, both in
        seconds. Ratios are 0.0 and levels ``DBFS_FLOOR`` for a call without frames.
        ``snr_db`` is None for a channel without speech frames.
        """
        if self._rms:
            rms = np.concatenate(self._rms)
            speech = np.concatenate(self._speech)
        else:
            rms = np.zeros((0, self.channels), dtype=np.float32)
            speech = np.zeros((0, self.channels), dtype=bool)
        frames = len(rms)
        silent = (rms < self.threshold).all(axis=1)
        any_speech = speech.any(axis=1)
        speech_frames = int(np.count_nonzero(any_speech))
        both_speech = int(np.count_nonzero(speech.sum(axis=1) >= 2))

        channels = [
            _channel_activity(rms[:, channel], speech[:, channel], self.threshold)
            for channel in range(self.channels)
        ]
        talk_frames = sum(channel["speech_frames"] for channel in channels)
        for channel in channels:
            own = channel.pop("speech_frames")
            channel["talk_ratio"] = own / talk_frames if talk_frames else 0.0

        snrs = [
            channel["snr_db"] for channel in channels if channel["snr_db"] is not None
        ]
        leading, trailing = _edge_silence(silent, frame_s, duration_s)
        return {
            "speech_detector": self.detector,
            "speech_ratio": speech_frames / frames if frames else 0.0,
            "talk_over_ratio": both_speech / speech_frames if speech_frames else 0.0,
            "noise_floor_dbfs": max(
                (channel["noise_floor_dbfs"] for channel in channels),
                default=DBFS_FLOOR,
            ),
            # The worst channel decides, because one bad leg makes the call hard
            # to understand.
            "snr_db": min(snrs) if snrs else None,
            "leading_silence_s": leading,
            "trailing_silence_s": trailing,
            "channels_stats": channels,
        }


class _VadSchedule:
    """The schedule of webrtcvad checks over one channel's active frames.

    See ``VAD_RUN_FRAMES`` for the schedule. Positions count the channel's active
    frames from the start of the call, so runs and periods continue across blocks.
    """

    def __init__(self) -> None:
        self.seen = 0
        self.run_start = 0
        self.period = VAD_MIN_PERIOD_FRAMES
        self.last = False
        self.run_speech = 0
        self.run_checked = 0

    def decide(
        self, count: int, detect: Callable[[int, int], list[bool]]
    ) -> np.ndarray:
        """Return decisions for the next ``count`` active frames.

        ``detect(first, stop)`` runs webrtcvad on the block's active frames
        ``first`` to ``stop - 1`` and returns its decisions.
        """
        decisions = np.empty(count, dtype=bool)
        done = 0
        while done < count:
            position = self.seen + done
            run_end = self.run_start + VAD_RUN_FRAMES
            if position < run_end:
                stop = min(count, done + run_end - position)
                checked = detect(done, stop)
                decisions[done:stop] = checked
                self.last = bool(checked[-1])
                self.run_speech += sum(checked)
                self.run_checked += len(checked)
                if self.seen + stop == run_end:
                    self._end_run()
            else:
                next_start = self.run_start + self.period
                stop = min(count, done + next_start - position)
                decisions[done:stop] = self.last
                if self.seen + stop == next_start:
                    self.run_start = next_start
            done = stop
        self.seen += count
        return decisions

    def _end_run(self) -> None:
        steady = self.run_speech in (0, self.run_checked)
        if steady:
            self.period = min(2 * self.period, VAD_MAX_PERIOD_FRAMES)
        else:
            self.period = VAD_MIN_PERIOD_FRAMES
        self.run_speech = self.run_checked = 0


def _channel_activity(rms: np.ndarray, speech: np.ndarray, threshold: float) -> dict:
    """Return one channel's silence, speech, noise floor and SNR statistics."""
    frames = len(rms)
    speech_frames = int(np.count_nonzero(speech))
    if frames:
        noise_floor = to_dbfs(float(np.percentile(rms, NOISE_FLOOR_PERCENTILE)))
    else:
        noise_floor = DBFS_FLOOR
    snr = None
    if speech_frames:
        # Mean power over speech frames, so loud syllables weigh as they sound.
        speech_rms = float(np.sqrt(np.mean(np.square(rms[speech], dtype=np.float64))))
        snr = to_dbfs(speech_rms) - noise_floor
    return {
        "silence_ratio": float(np.mean(rms < threshold)) if frames else 0.0,
        "speech_ratio": speech_frames / frames if frames else 0.0,
        "noise_floor_dbfs": noise_floor,
        "snr_db": snr,
        "speech_frames": speech_frames,
    }


def _edge_silence(
    silent: np.ndarray, frame_s: float, duration_s: float
) -> tuple[float, float]:
    """Return the silence before the first and after the last non-silent frame."""
    active = np.flatnonzero(~silent)
    if not len(active):
        return duration_s, duration_s
    leading = float(active[0] * frame_s)
    trailing = max(0.0, duration_s - float((active[-1] + 1) * frame_s))
    return leading, trailing


def is_one_way(channels_stats: list[dict], thresholds: QualityThresholds) -> bool:
    """Return True when a stereo call has talk on one channel and almost none on
    another, as when one leg of the call was not captured."""
    if len(channels_stats) < 2:
        return False
    shares = [channel["talk_ratio"] for channel in channels_stats]
    if max(shares) == 0.0:
        return False
    return min(shares) < thresholds.one_way_talk_ratio


def judge_call(stats: dict, thresholds: QualityThresholds) -> str:
    """Return the first verdict of ``VERDICTS`` that the call's statistics meet.

    ``stats`` needs ``frames``, ``channels``, ``duration_s``, ``silence_ratio``,
    ``speech_ratio``, ``clipped_samples``, ``snr_db`` and ``channels_stats``.
    """
    if stats["frames"] == 0:
        return "empty"
    if stats["duration_s"] < thresholds.min_duration_s:
        return "too_short"
    if stats["silence_ratio"] == 1.0:
        return "all_silent"
    if is_one_way(stats["channels_stats"], thresholds):
        return "one_way"
    samples = stats["frames"] * stats["channels"]
    if stats["clipped_samples"] / samples > thresholds.max_clipped_ratio:
        return "clipped"
    # A call with sound but no speech frames is line noise or hum.
    if stats["snr_db"] is None or stats["snr_db"] < thresholds.min_snr_db:
        return "noisy"
    return "ok"
