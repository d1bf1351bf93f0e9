"""Tests for pipeline.notice: finding the recording notice at the start of a call."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import RATE, write_wav

from pipeline import notice, synth
from pipeline.audio import analyze_file
from pipeline.errors import ConfigError

pytestmark = pytest.mark.skipif(
    synth.prompt_dir() is None, reason="asterisk-core-sounds-en-wav is not installed"
)

CLIP = synth.PROMPT_DIR / synth.NOTICE_PROMPT


def _write_call(tmp_path, call: synth.SynthCall, codec: str, name: str = "call"):
    path = tmp_path / f"{name}.{codec}"
    synth.write_audio(path, call.samples, call.sample_rate, codec)
    return path


# -- the labelled set at 20 dB SNR --------------------------------------------------


@pytest.fixture(scope="module")
def labelled_results(tmp_path_factory) -> list[tuple[bool, dict, synth.SynthCall]]:
    """Detect the notice in 60 calls with it and 60 without, at 20 dB SNR.

    Calls cycle through every codec and through gains of -10, 0 and +10 dB.
    """
    folder = tmp_path_factory.mktemp("notice-set")
    rng = np.random.default_rng(2026)
    results = []
    for index in range(120):
        positive = index % 2 == 0
        codec = synth.CODECS[(index // 2) % len(synth.CODECS)]
        gain_db = (-10.0, 0.0, 10.0)[(index // 10) % 3]
        call = synth.build_notice_call(
            rng=rng, notice=positive, snr_db=20.0, gain_db=gain_db
        )
        path = _write_call(folder, call, codec, name=f"call-{index}")
        found = notice.detect_notice_in_file(path, CLIP)
        results.append((positive, found, call))
    return results


def test_labelled_set_precision(labelled_results):
    true_positives = sum(p and r["found"] for p, r, _ in labelled_results)
    false_positives = sum(not p and r["found"] for p, r, _ in labelled_results)

    assert false_positives == 0
    assert true_positives / (true_positives + false_positives) >= 0.99


def test_labelled_set_recall(labelled_results):
    positives = [result for positive, result, _ in labelled_results if positive]
    found = sum(result["found"] for result in positives)

    assert len(positives) == 60
    assert found / len(positives) >= 0.98


def test_labelled_set_offsets(labelled_results):
    for positive, result, call in labelled_results:
        if positive and result["found"]:
            start = call.notice_interval[0]
            assert result["offset_s"] == pytest.approx(start, abs=0.05)


def test_labelled_set_negatives_no_offset(labelled_results):
    for positive, result, _ in labelled_results:
        if not positive:
            assert result["offset_s"] is None
            assert result["score"] < notice.DEFAULT_THRESHOLD


# -- single cases -------------------------------------------------------------------


def test_clean_notice_found_exactly(tmp_path):
    call = synth.build_notice_call(rng=np.random.default_rng(1), notice=True)
    path = _write_call(tmp_path, call, "pcm_16")

    result = notice.detect_notice_in_file(path, CLIP)

    assert result["found"] is True
    assert result["score"] > 0.9
    assert result["offset_s"] == pytest.approx(call.notice_interval[0], abs=0.02)


def test_notice_after_window_missed(tmp_path):
    clip = synth.load_notice()
    rng = np.random.default_rng(2)
    samples = rng.normal(0.0, 1e-3, size=25 * RATE).astype(np.float32)
    samples[18 * RATE : 18 * RATE + len(clip)] += clip
    path = write_wav(tmp_path / "late.wav", samples)

    early = notice.detect_notice_in_file(path, CLIP)
    wide = notice.detect_notice_in_file(path, CLIP, window_s=25.0)

    assert early["found"] is False
    assert wide["found"] is True
    assert wide["offset_s"] == pytest.approx(18.0, abs=0.02)


def test_call_shorter_than_clip(tmp_path):
    path = write_wav(tmp_path / "short.wav", np.zeros(RATE // 2))

    result = notice.detect_notice_in_file(path, CLIP)

    assert result == {"found": False, "offset_s": None, "score": 0.0}


def test_empty_samples_not_found():
    result = notice.detect_notice(np.zeros((0, 1), dtype=np.float32), RATE, CLIP)

    assert result["found"] is False
    assert result["score"] == 0.0


def test_notice_on_one_stereo_channel(tmp_path):
    call = synth.build_notice_call(rng=np.random.default_rng(3), notice=True)
    other = synth.build_notice_call(rng=np.random.default_rng(4), notice=False)
    path = tmp_path / "stereo.wav"
    synth.write_audio(
        path, np.column_stack([other.samples, call.samples]), RATE, "alaw"
    )

    result = notice.detect_notice_in_file(path, CLIP)

    assert result["found"] is True
    assert result["offset_s"] == pytest.approx(call.notice_interval[0], abs=0.02)


def test_wideband_call_uses_resampled_clip(tmp_path):
    import librosa

    call = synth.build_notice_call(rng=np.random.default_rng(5), notice=True)
    wideband = librosa.resample(call.samples, orig_sr=RATE, target_sr=16000)
    path = tmp_path / "wideband.wav"
    sf.write(path, wideband, 16000, subtype="PCM_16")

    result = notice.detect_notice_in_file(path, CLIP)

    assert result["found"] is True
    assert result["offset_s"] == pytest.approx(call.notice_interval[0], abs=0.02)


def test_reference_features_cached():
    first = notice.reference_features(CLIP, RATE)
    second = notice.reference_features(CLIP, RATE)

    assert first is second
    assert first.shape[0] == notice.MEL_BANDS
    assert not first.flags.writeable
    np.testing.assert_allclose(first.mean(axis=1), 0.0, atol=1e-4)


def test_reference_reread_after_change(tmp_path):
    clip_copy = tmp_path / "notice.wav"
    clip_copy.write_bytes(CLIP.read_bytes())
    before = notice.reference_features(clip_copy, RATE)
    samples, rate = sf.read(clip_copy)
    sf.write(clip_copy, samples[: len(samples) // 2], rate, subtype="PCM_16")

    after = notice.reference_features(clip_copy, RATE)

    assert after.shape[1] < before.shape[1]


def test_missing_clip_rejected(tmp_path):
    with pytest.raises(ConfigError, match="notice clip not found: .*absent.wav"):
        notice.reference_features(tmp_path / "absent.wav", RATE)


def test_silent_clip_rejected(tmp_path):
    path = write_wav(tmp_path / "quiet.wav", np.zeros(RATE))

    with pytest.raises(ConfigError, match="contains no sound"):
        notice.reference_features(path, RATE)


def test_text_clip_rejected(tmp_path):
    path = tmp_path / "notice.wav"
    path.write_text("not audio", encoding="utf-8")

    with pytest.raises(ConfigError, match="invalid notice clip: libsndfile cannot"):
        notice.reference_features(path, RATE)


def test_window_invalid():
    with pytest.raises(ConfigError, match="invalid notice window_s=0"):
        notice.detect_notice(np.zeros(RATE), RATE, CLIP, window_s=0)


def test_match_scores_shape_and_peak():
    rng = np.random.default_rng(6)
    reference = notice._normalise_bands(rng.normal(size=(notice.MEL_BANDS, 50)))
    query = rng.normal(size=(notice.MEL_BANDS, 300))
    query[:, 120:170] = 3.0 * reference - 20.0

    scores = notice.match_scores(query, reference)

    assert scores.shape == (251,)
    assert int(np.argmax(scores)) == 120
    assert scores[120] == pytest.approx(1.0)


def test_match_scores_query_too_short():
    reference = np.ones((notice.MEL_BANDS, 50))

    assert notice.match_scores(np.ones((notice.MEL_BANDS, 49)), reference).size == 0


def test_warm_up_prepares_reference():
    notice.warm_up(CLIP)

    hits_before = notice._reference_features.cache_info().hits
    notice.reference_features(CLIP, RATE)

    assert notice._reference_features.cache_info().hits == hits_before + 1


# -- through analyze_file ------------------------------------------------------------


@pytest.mark.parametrize("codec", [pytest.param(c, id=c) for c in synth.CODECS])
def test_analyze_file_reports_notice(tmp_path, codec):
    call = synth.build_notice_call(
        rng=np.random.default_rng(7), notice=True, snr_db=20.0, gain_db=-10.0
    )
    path = _write_call(tmp_path, call, codec)

    result = analyze_file(path, notice_clip=CLIP)

    assert result["notice"]["found"] is True
    assert result["notice"]["offset_s"] == pytest.approx(
        call.notice_interval[0], abs=0.05
    )
    assert result["notice"]["score"] >= notice.DEFAULT_THRESHOLD


def test_analyze_file_without_notice(tmp_path):
    call = synth.build_notice_call(rng=np.random.default_rng(8), notice=False)
    path = _write_call(tmp_path, call, "mulaw")

    with_clip = analyze_file(path, notice_clip=CLIP)
    without_clip = analyze_file(path)

    assert with_clip["notice"]["found"] is False
    assert with_clip["notice"]["offset_s"] is None
    assert without_clip["notice"] is None


def test_analyze_file_window_and_threshold(tmp_path):
    call = synth.build_notice_call(
        rng=np.random.default_rng(9), notice=True, snr_db=20.0
    )
    path = _write_call(tmp_path, call, "pcm_16")
    notice_end = call.notice_interval[1]

    short = analyze_file(path, notice_clip=CLIP, notice_window_s=notice_end - 0.5)
    strict = analyze_file(path, notice_clip=CLIP, notice_threshold=0.99)

    assert short["notice"]["found"] is False
    assert strict["notice"]["found"] is False
    assert strict["notice"]["score"] > notice.DEFAULT_THRESHOLD


def test_analyze_file_window_invalid(tmp_path):
    path = write_wav(tmp_path / "call.wav", np.zeros(RATE))

    with pytest.raises(ConfigError, match="invalid notice_window_s=-1"):
        analyze_file(path, notice_clip=CLIP, notice_window_s=-1)


def test_analyze_empty_file_with_clip(tmp_path):
    path = write_wav(tmp_path / "header.wav", np.zeros(0))

    result = analyze_file(path, notice_clip=CLIP)

    assert result["verdict"] == "empty"
    assert result["notice"] == {"found": False, "offset_s": None, "score": 0.0}


# -- agreement with librosa -----------------------------------------------------------


@pytest.mark.parametrize(
    "sample_rate", [pytest.param(r, id=f"{r}") for r in (8000, 16000)]
)
def test_mel_filter_bank_matches_librosa(sample_rate):
    import librosa

    n_fft, _ = notice.frame_sizes(sample_rate)
    expected = librosa.filters.mel(
        sr=sample_rate,
        n_fft=n_fft,
        n_mels=notice.MEL_BANDS,
        fmin=notice.FMIN_HZ,
        fmax=notice.FMAX_HZ,
    )

    np.testing.assert_allclose(
        notice.mel_filter_bank(sample_rate, n_fft), expected, rtol=1e-5, atol=1e-8
    )


def test_log_mel_matches_librosa():
    import librosa

    samples = synth.load_notice()
    n_fft, hop = notice.frame_sizes(RATE)
    mel = librosa.feature.melspectrogram(
        y=samples,
        sr=RATE,
        n_fft=n_fft,
        hop_length=hop,
        n_mels=notice.MEL_BANDS,
        fmin=notice.FMIN_HZ,
        fmax=notice.FMAX_HZ,
    )
    expected = librosa.power_to_db(mel, ref=np.max, amin=1e-10, top_db=60.0)

    np.testing.assert_allclose(notice.log_mel(samples, RATE), expected, atol=1e-3)


def test_trim_matches_librosa():
    import librosa

    samples, _ = sf.read(CLIP, dtype="float32")
    n_fft, hop = notice.frame_sizes(RATE)
    expected, _ = librosa.effects.trim(
        samples, top_db=notice.TRIM_TOP_DB, frame_length=n_fft, hop_length=hop
    )

    trimmed = notice._trim_silence(samples, n_fft, hop)

    assert len(trimmed) == len(expected)
    np.testing.assert_array_equal(trimmed, expected)
