"""Find the recording notice (the announcement that a call is recorded) in a call.

The IT team configures a reference clip: the announcement exactly as callers hear
it. For each call, ``detect_notice`` looks for the clip in the first seconds by
sliding the clip's log-mel spectrogram along the call's and computing, at every
offset, the Pearson correlation of each mel band with the clip, averaged over the
bands. Correlating each band after removing its mean and dividing by its standard
deviation makes the score independent of level and of a steady spectral tilt, so it
survives G.711, GSM 6.10 and MP3 coding, gain changes and moderate line noise.

Features are computed at the call's own sample rate (32 ms FFT windows and 10 ms
hops, which is n_fft 256 and hop 80 at 8 kHz) over the telephone band, because
resampling an 8 kHz call to librosa's default 22.05 kHz costs time and adds nothing.
The reference clip's features are cached per process and per sample rate.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.errors import AudioError, ConfigError

logger = logging.getLogger(__name__)

DEFAULT_WINDOW_S = 15.0
"""Seconds from the start of a call in which the notice must be heard."""

DEFAULT_THRESHOLD = 0.65
"""Minimum score for a match. On the labelled set of benchmarks/notice.py, calls
with the notice at 20 dB SNR score 0.79 or more and calls without it 0.54 or less."""

FFT_SECONDS = 0.032
HOP_SECONDS = 0.01
MEL_BANDS = 40
# The mel bands cover the telephone band (300-3400 Hz) with some margin on each side.
FMIN_HZ = 100.0
FMAX_HZ = 3800.0
# Log-mel values more than this far below the spectrogram's maximum are raised to
# it, so digital silence and very quiet noise do not dominate the correlation.
DYNAMIC_RANGE_DB = 60.0
# A reference clip is trimmed to the region louder than its peak minus this.
TRIM_TOP_DB = 40.0


def frame_sizes(sample_rate: int) -> tuple[int, int]:
    """Return (n_fft, hop_length) in samples for a sample rate in Hz."""
    n_fft = 1 << int(round(np.log2(FFT_SECONDS * sample_rate)))
    return n_fft, max(1, round(HOP_SECONDS * sample_rate))


def log_mel(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Compute the log-mel spectrogram used for matching.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono signal of shape (n,), full scale 1.0.
    sample_rate : int
        Sample rate in Hz; no resampling happens.

    Returns
    -------
    numpy.ndarray
        float32 array of shape (MEL_BANDS, frames) in dB, with frame ``t`` centred
        on sample ``t * hop_length``.
    """
    import librosa  # imported on first use, so that only analysis workers pay for it

    n_fft, hop = frame_sizes(sample_rate)
    mel = librosa.feature.melspectrogram(
        y=np.ascontiguousarray(samples, dtype=np.float32),
        sr=sample_rate,
        n_fft=n_fft,
        hop_length=hop,
        n_mels=MEL_BANDS,
        fmin=FMIN_HZ,
        fmax=min(FMAX_HZ, sample_rate / 2),
        power=2.0,
    )
    return librosa.power_to_db(
        mel, ref=np.max, amin=1e-10, top_db=DYNAMIC_RANGE_DB
    ).astype(np.float32)


def _file_key(path: str | os.PathLike) -> tuple[str, int, int]:
    """Return (absolute path, size, mtime_ns), so an edited clip is read again."""
    resolved = str(Path(path).expanduser().resolve())
    try:
        status = os.stat(resolved)
    except FileNotFoundError:
        raise ConfigError(
            f"notice clip not found: {resolved}; set the announcement clip to an "
            "existing WAV file"
        ) from None
    return resolved, status.st_size, status.st_mtime_ns


def reference_features(clip: str | os.PathLike, sample_rate: int) -> np.ndarray:
    """Return the clip's per-band normalised log-mel features at ``sample_rate``.

    The result, of shape (MEL_BANDS, frames), is cached per process, keyed by the
    file's path, size and modification time. Raises ConfigError when the clip is
    missing, unreadable or silent.
    """
    return _reference_features(*_file_key(clip), sample_rate)


@functools.lru_cache(maxsize=8)
def _reference_features(
    path: str, size: int, mtime_ns: int, sample_rate: int
) -> np.ndarray:
    import librosa

    try:
        samples, clip_rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError) as error:
        raise ConfigError(
            f"invalid notice clip: libsndfile cannot read {path} ({error}); "
            "expected a WAV file of the announcement"
        ) from error
    mono = samples.mean(axis=1)
    if clip_rate != sample_rate:
        # Only the short reference is resampled, once per rate, never the calls.
        mono = librosa.resample(mono, orig_sr=clip_rate, target_sr=sample_rate)
    n_fft, hop = frame_sizes(sample_rate)
    trimmed, _ = librosa.effects.trim(
        mono, top_db=TRIM_TOP_DB, frame_length=n_fft, hop_length=hop
    )
    # librosa's trim measures against the clip's own peak, so it keeps all of a
    # digitally silent clip. The peak test catches that case.
    if len(trimmed) < n_fft or np.abs(mono).max(initial=0.0) < 1e-4:
        raise ConfigError(
            f"invalid notice clip: {path} contains no sound above its noise; "
            "expected a recording of the announcement"
        )
    features = log_mel(trimmed, sample_rate)
    normalised = _normalise_bands(features)
    logger.info(
        "notice reference computed: %.2f s of audio at %d Hz, %d frames",
        len(trimmed) / sample_rate,
        sample_rate,
        normalised.shape[1],
    )
    normalised.setflags(write=False)
    return normalised


def _normalise_bands(features: np.ndarray) -> np.ndarray:
    """Give each band (row) zero mean and unit standard deviation."""
    centred = features - features.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    # A band that never changes carries no shape, so it scores 0 everywhere.
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 1e-6)


def match_scores(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Correlate the reference with every window of the query.

    Parameters
    ----------
    query : numpy.ndarray
        Log-mel features of the call, shape (bands, T).
    reference : numpy.ndarray
        Normalised reference features from ``reference_features``, shape
        (bands, L).

    Returns
    -------
    numpy.ndarray
        Shape (T - L + 1,): for each offset in frames, the Pearson correlation of
        each band of the query window with the reference, averaged over bands,
        from -1 to 1. Empty when T < L.
    """
    from scipy.signal import fftconvolve

    bands, length = reference.shape
    frames = query.shape[1]
    if frames < length:
        return np.zeros(0, dtype=np.float64)
    query = query.astype(np.float64)
    # The reference rows have zero mean, so the window mean drops out of the
    # numerator and only the window's standard deviation is needed.
    products = fftconvolve(query, reference[:, ::-1], mode="valid", axes=1)
    sums = np.cumsum(np.pad(query, ((0, 0), (1, 0))), axis=1)
    squares = np.cumsum(np.pad(query**2, ((0, 0), (1, 0))), axis=1)
    window_sum = sums[:, length:] - sums[:, :-length]
    window_squares = squares[:, length:] - squares[:, :-length]
    variance = np.maximum(window_squares / length - (window_sum / length) ** 2, 0.0)
    spread = np.sqrt(variance)
    correlation = np.divide(
        products / length,
        spread,
        out=np.zeros_like(products),
        where=spread > 1e-3,
    )
    return correlation.mean(axis=0)


def detect_notice(
    samples: np.ndarray,
    sample_rate: int,
    clip: str | os.PathLike,
    *,
    window_s: float = DEFAULT_WINDOW_S,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict:
    """Decide whether the notice clip is heard within the first ``window_s`` seconds.

    Parameters
    ----------
    samples : numpy.ndarray
        The start of the call, shape (n,) or (n, channels), full scale 1.0. Samples
        past ``window_s`` are ignored. Each channel is searched and the best
        channel counts, because a recorder may capture the notice on one leg only.
    sample_rate : int
        Sample rate in Hz.
    clip : str or os.PathLike
        The reference recording of the notice.
    window_s : float
        The whole notice must lie within this many seconds from the start.
    threshold : float
        Minimum score, from -1 to 1, for ``found``.

    Returns
    -------
    dict
        ``found`` (bool), ``offset_s`` (start of the best match in seconds, None
        when not found) and ``score`` (best score, 0.0 for a call shorter than
        the clip).
    """
    if window_s <= 0:
        raise ConfigError(f"invalid notice window_s={window_s}: expected seconds > 0")
    reference = reference_features(clip, sample_rate)
    head = samples[: round(window_s * sample_rate)]
    if head.ndim == 1:
        head = head[:, np.newaxis]
    n_fft, hop = frame_sizes(sample_rate)

    best_score, best_offset = 0.0, None
    for channel in range(head.shape[1] if len(head) >= n_fft else 0):
        scores = match_scores(log_mel(head[:, channel], sample_rate), reference)
        if not len(scores):
            continue
        index = int(np.argmax(scores))
        if best_offset is None or scores[index] > best_score:
            best_score, best_offset = float(scores[index]), index * hop / sample_rate
    found = best_offset is not None and best_score >= threshold
    return {
        "found": bool(found),
        "offset_s": best_offset if found else None,
        "score": round(best_score, 4),
    }


def detect_notice_in_file(
    path: str | os.PathLike,
    clip: str | os.PathLike,
    *,
    window_s: float = DEFAULT_WINDOW_S,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict:
    """Decode only the first ``window_s`` seconds of a file and run ``detect_notice``.

    Reads any format that libsndfile opens. ``pipeline.audio.analyze_file`` reuses
    its own decoded blocks instead, so it also covers the ffmpeg fallback.
    """
    try:
        with sf.SoundFile(os.fspath(path)) as snd:
            frames = round(window_s * snd.samplerate)
            samples = snd.read(frames, dtype="float32", always_2d=True)
            sample_rate = snd.samplerate
    except sf.SoundFileError as error:
        raise AudioError(
            f"decode failed: libsndfile cannot read {path} ({error}); analyse the "
            "file with analyze_file, which also tries ffmpeg",
            flags=("decode_error",),
        ) from error
    return detect_notice(
        samples, sample_rate, clip, window_s=window_s, threshold=threshold
    )


def warm_up(clip: str | os.PathLike | None, sample_rate: int = 8000) -> None:
    """Import librosa and compute the reference features once, before any file."""
    silence = np.zeros(sample_rate, dtype=np.float32)
    # The first melspectrogram call also builds librosa's mel filter bank and
    # compiles its numba functions, which is most of the first-file cost.
    log_mel(silence, sample_rate)
    if clip is not None:
        reference_features(clip, sample_rate)
