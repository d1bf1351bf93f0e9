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

The log-mel spectrogram equals librosa 0.11's melspectrogram and power_to_db with
the same parameters (tests compare them), but is computed with NumPy. With
librosa's filters, STFT and trim, which load scipy.signal and numba, a worker used
about 300 MB after warm-up, against 38 MB now (VmHWM, librosa 0.11), and an analysis
worker may use 200 MB in all.
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

# TODO: at 10 dB SNR, calls with the notice score 0.51-0.59, below this threshold,
# so recall there is about 5 % (benchmarks/notice.py). A noise-robust feature or
# a threshold that follows the call's SNR would be needed to find them.
DEFAULT_THRESHOLD = 0.65
"""Minimum score for a match. In the 800 calls of benchmarks/notice.py, calls with
the notice at 20 dB SNR or better score 0.78 or more, and calls without it score
at most 0.57 at any SNR."""

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
    n_fft, hop = frame_sizes(sample_rate)
    mel = mel_filter_bank(sample_rate, n_fft) @ _power_spectrogram(samples, n_fft, hop)
    # The same as librosa.power_to_db(mel, ref=np.max, amin=1e-10, top_db=60).
    decibels = 10.0 * np.log10(np.maximum(mel, 1e-10))
    decibels -= decibels.max(initial=-100.0)
    return np.maximum(decibels, -DYNAMIC_RANGE_DB).astype(np.float32)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Convert Hz to the Slaney mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    logarithmic = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27)
    return np.where(hz >= 1000.0, logarithmic, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Convert Slaney mel values back to Hz."""
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3)
    logarithmic = 1000.0 * np.exp((np.log(6.4) / 27) * (mel - 15.0))
    return np.where(mel >= 15.0, logarithmic, linear)


@functools.cache
def mel_filter_bank(sample_rate: int, n_fft: int) -> np.ndarray:
    """Return the mel filter bank, shape (MEL_BANDS, n_fft // 2 + 1), float32.

    The same triangular, area-normalised filters on the Slaney mel scale as
    ``librosa.filters.mel`` (librosa 0.11 defaults), which a test checks. It is
    written with NumPy because importing librosa.filters loads scipy.signal and
    numba, about 140 MB of resident memory in each analysis worker.
    """
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    fmax = min(FMAX_HZ, sample_rate / 2)
    edges = _mel_to_hz(
        np.linspace(_hz_to_mel(FMIN_HZ), _hz_to_mel(fmax), MEL_BANDS + 2)
    )
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, fft_hz)
    rising = -ramps[:-2] / widths[:-1, np.newaxis]
    falling = ramps[2:] / widths[1:, np.newaxis]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, np.newaxis]
    return weights.astype(np.float32)


def _power_spectrogram(samples: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Return |STFT|^2 of shape (n_fft // 2 + 1, frames), as librosa.stft centres it.

    Written with NumPy because librosa.stft imports scipy.signal and numba, which
    would take most of an analysis worker's memory budget (see mel_filter_bank).
    """
    signal = np.asarray(samples, dtype=np.float32)
    # Zero padding by half a window on each side, as librosa 0.11 does by default.
    padded = np.pad(signal, n_fft // 2)
    if len(padded) < n_fft:
        padded = np.pad(padded, (0, n_fft - len(padded)))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    # The periodic Hann window, which librosa uses for FFT analysis.
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    spectrum = np.fft.rfft(frames * window, axis=1)
    return (np.abs(spectrum) ** 2).T.astype(np.float32)


def _trim_silence(samples: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Cut the frames quieter than the loudest frame minus ``TRIM_TOP_DB``.

    This does what librosa.effects.trim does, with NumPy for the same memory
    reason as in mel_filter_bank.
    """
    if len(samples) < n_fft:
        return samples[:0]
    # Frame t is centred on sample t * hop, as in librosa.
    padded = np.pad(samples, n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (-TRIM_TOP_DB / 20))
    if not len(loud) or rms.max() == 0.0:
        return samples[:0]
    return samples[loud[0] * hop : min(len(samples), (loud[-1] + 1) * hop)]


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
        # librosa is imported here only, because it is large (see mel_filter_bank).
        import librosa

        mono = librosa.resample(mono, orig_sr=clip_rate, target_sr=sample_rate)
    n_fft, hop = frame_sizes(sample_rate)
    trimmed = _trim_silence(mono, n_fft, hop)
    # The trim measures against the clip's own peak, so the peak test is what
    # rejects a clip of faint noise.
    if len(trimmed) < n_fft or np.abs(mono).max(initial=0.0) < 1e-4:
        raise ConfigError(
            f"invalid notice clip: {path} contains no sound above its noise; "
            "expected a recording of the announcement"
        )
    features = log_mel(trimmed, sample_rate)
    normalised = _normalise_bands(features)
    logger.debug(
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
    bands, length = reference.shape
    frames = query.shape[1]
    if frames < length:
        return np.zeros(0, dtype=np.float64)
    query = query.astype(np.float64)
    # The reference rows have zero mean, so the window mean drops out of the
    # numerator and only the window's standard deviation is needed.
    # Cross-correlation through the FFT, with NumPy for the same memory reason as
    # in mel_filter_bank (scipy.signal.fftconvolve would do the same).
    size = 1 << int(np.ceil(np.log2(frames + length)))
    spectra = np.fft.rfft(query, size, axis=1) * np.conj(
        np.fft.rfft(reference, size, axis=1)
    )
    products = np.fft.irfft(spectra, size, axis=1)[:, : frames - length + 1]
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
    """Build the mel filter bank and the reference features once, before any file."""
    log_mel(np.zeros(sample_rate, dtype=np.float32), sample_rate)
    if clip is not None:
        reference_features(clip, sample_rate)
