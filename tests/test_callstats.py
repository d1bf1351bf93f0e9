"""Tests for the call statistics and quality verdict that analyze_file returns."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import webrtcvad
from audio_fixtures import RATE, sine, square, write_wav
from typer.testing import CliRunner

from pipeline import synth
from pipeline.audio import DBFS_FLOOR, analyze_file
from pipeline.callstats import VERDICTS, QualityThresholds, judge_call
from pipeline.config import CONFIG_ENV_VAR
from pipeline.errors import ConfigError

needs_prompts = pytest.mark.skipif(
    synth.prompt_dir() is None, reason="asterisk-core-sounds-en-wav is not installed"
)

NEW_KEYS = (
    "speech_ratio",
    "talk_over_ratio",
    "dc_offset",
    "noise_floor_dbfs",
    "snr_db",
    "leading_silence_s",
    "trailing_silence_s",
    "channels_stats",
    "verdict",
    "notice",
    "decoder",
)
CHANNEL_KEYS = {
    "channel",
    "rms_dbfs",
    "peak_dbfs",
    "dc_offset",
    "silence_ratio",
    "speech_ratio",
    "talk_ratio",
    "noise_floor_dbfs",
    "snr_db",
}


def _noise(seconds: float, dbfs: float, *, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 10 ** (dbfs / 20), size=round(seconds * RATE))


def _truth_speech_ratio(call: synth.SynthCall) -> float:
    """Return the share of 20 ms frames that a speech interval covers."""
    frames = int(call.duration_s / 0.02)
    covered = np.zeros(frames, dtype=bool)
    for start, end in call.speech_intervals:
        covered[round(start / 0.02) : round(end / 0.02)] = True
    return float(covered.mean())


# -- signals with known values -----------------------------------------------------


def test_sine_over_noise_stats(tmp_path):
    signal = sine(3.0, amplitude=0.1) + _noise(3.0, -60.0, seed=1)
    signal = np.concatenate(
        [_noise(1.0, -60.0, seed=2), signal, _noise(2.0, -60, seed=3)]
    )
    path = write_wav(tmp_path / "tone.wav", signal)

    result = analyze_file(path)

    # A steady tone is not speech to webrtcvad, but it is active, so the energy
    # rule keeps the call out of all_silent.
    assert result["leading_silence_s"] == pytest.approx(1.0)
    assert result["trailing_silence_s"] == pytest.approx(2.0)
    # The 10th percentile of frame RMS sits a little below the noise RMS.
    assert result["noise_floor_dbfs"] == pytest.approx(-60.0, abs=1.0)
    assert result["silence_ratio"] == pytest.approx(0.5)
    assert result["talk_over_ratio"] == 0.0
    assert result["speech_detector"] == "webrtcvad"


def test_digital_silence_stats(tmp_path):
    path = write_wav(tmp_path / "silence.wav", np.zeros(3 * RATE))

    result = analyze_file(path)

    assert result["speech_ratio"] == 0.0
    assert result["noise_floor_dbfs"] == DBFS_FLOOR
    assert result["snr_db"] is None
    assert result["leading_silence_s"] == pytest.approx(3.0)
    assert result["trailing_silence_s"] == pytest.approx(3.0)
    assert result["dc_offset"] == 0.0
    assert result["verdict"] == "all_silent"
    json.dumps(result, allow_nan=False)


@pytest.mark.parametrize(
    ("offset", "subtype"),
    [
        pytest.param(0.25, "PCM_16", id="positive-pcm16"),
        pytest.param(-0.125, "PCM_24", id="negative-pcm24"),
        pytest.param(0.1, "FLOAT", id="float"),
    ],
)
def test_dc_offset_measured(tmp_path, offset, subtype):
    path = write_wav(
        tmp_path / "dc.wav", sine(2.0, amplitude=0.2) + offset, subtype=subtype
    )

    result = analyze_file(path)

    assert result["dc_offset"] == pytest.approx(offset, abs=1e-4)
    assert result["channels_stats"][0]["dc_offset"] == pytest.approx(offset, abs=1e-4)


def test_dither_noise_floor(tmp_path):
    # TPDF dither, the sum of two uniform values of +-1 16-bit step, has an RMS of
    # sqrt(2/3) steps, which is -92.1 dBFS.
    rng = np.random.default_rng(21)
    step = 1 / 32768
    dither = rng.uniform(-step, step, 4 * RATE) + rng.uniform(-step, step, 4 * RATE)
    path = write_wav(tmp_path / "dither.wav", dither, subtype="FLOAT")

    result = analyze_file(path)

    assert result["noise_floor_dbfs"] == pytest.approx(-92.1, abs=1.0)
    assert result["verdict"] == "all_silent"


def test_square_clipped_verdict(tmp_path):
    path = write_wav(tmp_path / "square.wav", square(3.0, amplitude=1.0))

    result = analyze_file(path)

    assert result["clipped_samples"] == 3 * RATE
    assert result["clipped_ratio"] == 1.0
    assert result["verdict"] == "clipped"


def test_clipped_ratio_threshold(tmp_path):
    signal = sine(4.0, amplitude=0.3) + _noise(4.0, -70.0, seed=4)
    signal[::1000] = 1.0
    path = write_wav(tmp_path / "spikes.wav", signal)

    strict = analyze_file(path, max_clipped_ratio=0.0001)
    lenient = analyze_file(path, max_clipped_ratio=0.01)

    assert strict["clipped_samples"] == 32
    assert strict["verdict"] == "clipped"
    assert lenient["verdict"] != "clipped"


def test_short_call_verdict(tmp_path):
    path = write_wav(tmp_path / "short.wav", sine(1.5))

    assert analyze_file(path)["verdict"] == "too_short"
    assert analyze_file(path, min_duration_s=1.0)["verdict"] != "too_short"


def test_empty_call_verdict(tmp_path):
    path = write_wav(tmp_path / "header.wav", np.zeros(0))

    result = analyze_file(path)

    assert result["verdict"] == "empty"
    assert result["channels_stats"][0]["snr_db"] is None
    assert result["leading_silence_s"] == 0.0
    json.dumps(result, allow_nan=False)


def test_loud_noise_verdict_noisy(tmp_path):
    path = write_wav(tmp_path / "hiss.wav", _noise(5.0, -20.0, seed=5))

    result = analyze_file(path)

    assert result["silence_ratio"] == 0.0
    assert result["verdict"] == "noisy"


def test_energy_rule_when_vad_cannot(tmp_path):
    # webrtcvad takes 10, 20 or 30 ms frames only.
    path = write_wav(tmp_path / "tone.wav", np.concatenate([sine(2.0), np.zeros(RATE)]))

    result = analyze_file(path, frame_ms=25)

    assert result["speech_detector"] == "energy"
    assert result["speech_ratio"] == pytest.approx(2.0 / 3.0, abs=0.01)


def test_energy_rule_at_odd_rate(tmp_path):
    path = tmp_path / "11k.wav"
    write_wav(path, sine(2.0, rate=11025), rate=11025)

    result = analyze_file(path)

    assert result["speech_detector"] == "energy"
    assert result["speech_ratio"] == 1.0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"min_duration_s": -1.0}, "min_duration_s=-1.0", id="duration"),
        pytest.param({"max_clipped_ratio": 2.0}, "max_clipped_ratio=2.0", id="clip"),
        pytest.param({"one_way_talk_ratio": 0.5}, "one_way_talk_ratio", id="one-way"),
        pytest.param({"vad_aggressiveness": 4}, "vad_aggressiveness=4", id="vad"),
    ],
)
def test_thresholds_invalid(changes, message):
    with pytest.raises(ConfigError, match=message):
        QualityThresholds(**changes)


def _stats(**changes) -> dict:
    base = {
        "frames": 10 * RATE,
        "channels": 2,
        "duration_s": 10.0,
        "silence_ratio": 0.4,
        "speech_ratio": 0.6,
        "clipped_samples": 0,
        "snr_db": 30.0,
        "channels_stats": [{"talk_ratio": 0.5}, {"talk_ratio": 0.5}],
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        pytest.param({}, "ok", id="ok"),
        pytest.param({"frames": 0, "duration_s": 0.0}, "empty", id="empty"),
        pytest.param({"duration_s": 1.9}, "too_short", id="too-short"),
        pytest.param({"silence_ratio": 1.0}, "all_silent", id="all-silent"),
        pytest.param(
            {"channels_stats": [{"talk_ratio": 0.98}, {"talk_ratio": 0.02}]},
            "one_way",
            id="one-way",
        ),
        pytest.param({"clipped_samples": 2 * RATE}, "clipped", id="clipped"),
        pytest.param({"snr_db": 9.9}, "noisy", id="noisy"),
        pytest.param({"snr_db": None}, "noisy", id="no-speech"),
        # The order of VERDICTS decides when several apply.
        pytest.param({"duration_s": 1.0, "snr_db": 1.0}, "too_short", id="order"),
    ],
)
def test_judge_call_table(changes, verdict):
    assert judge_call(_stats(**changes), QualityThresholds()) == verdict
    assert verdict in VERDICTS


# -- real speech with known intervals ----------------------------------------------


@pytest.fixture(scope="module")
def speech_call() -> synth.SynthCall:
    return synth.build_call(47.3, rng=np.random.default_rng(31))


@needs_prompts
@pytest.mark.parametrize("codec", [pytest.param(c, id=c) for c in synth.CODECS])
def test_speech_call_against_truth(tmp_path, speech_call, codec):
    path = tmp_path / f"call.{codec}"
    synth.write_audio(path, speech_call.samples, RATE, codec)
    first_start = speech_call.speech_intervals[0][0]
    last_end = speech_call.speech_intervals[-1][1]
    truth = _truth_speech_ratio(speech_call)

    result = analyze_file(path)

    if codec == "mp3":
        assert result["duration_s"] == pytest.approx(47.3, abs=0.03)
    elif codec == "gsm":
        # GSM 6.10 WAV pads the end to whole 320-sample blocks.
        assert 0 <= result["duration_s"] - 47.3 < 0.1
    else:
        assert result["duration_s"] == pytest.approx(47.3, abs=0.001)
    assert result["silence_ratio"] == pytest.approx(1.0 - truth, abs=0.02)
    assert result["speech_ratio"] == pytest.approx(truth, abs=0.03)
    assert result["leading_silence_s"] == pytest.approx(first_start, abs=0.041)
    assert result["trailing_silence_s"] == pytest.approx(
        result["duration_s"] - last_end, abs=0.041
    )
    assert result["snr_db"] > 40.0
    assert result["noise_floor_dbfs"] == pytest.approx(-70.0, abs=6.0)
    assert result["verdict"] == "ok"
    assert result["one_way"] is False


@needs_prompts
@pytest.mark.parametrize(
    "dead", [pytest.param(0, id="left-dead"), pytest.param(1, id="right-dead")]
)
def test_stereo_dead_channel_one_way(tmp_path, dead):
    call = synth.build_call(
        40.0, rng=np.random.default_rng(32), stereo=True, dead_channel=dead
    )
    path = tmp_path / "call.wav"
    synth.write_audio(path, call.samples, RATE, "pcm_16")

    result = analyze_file(path)

    channels = result["channels_stats"]
    assert len(channels) == 2
    assert channels[dead]["talk_ratio"] == 0.0
    assert channels[1 - dead]["talk_ratio"] == 1.0
    assert channels[dead]["speech_ratio"] == 0.0
    assert channels[dead]["snr_db"] is None
    assert result["one_way"] is True
    assert result["verdict"] == "one_way"


@needs_prompts
def test_stereo_both_parties_stats(tmp_path):
    call = synth.build_call(40.0, rng=np.random.default_rng(33), stereo=True)
    path = tmp_path / "call.wav"
    synth.write_audio(path, call.samples, RATE, "alaw")
    speech_s = [0.0, 0.0]
    for (start, end), channel in zip(
        call.speech_intervals, call.speech_channels, strict=True
    ):
        speech_s[channel] += end - start

    result = analyze_file(path)

    channels = result["channels_stats"]
    assert [channel["channel"] for channel in channels] == [0, 1]
    assert set(channels[0]) == CHANNEL_KEYS
    for channel in (0, 1):
        expected_share = speech_s[channel] / sum(speech_s)
        assert channels[channel]["talk_ratio"] == pytest.approx(
            expected_share, abs=0.03
        )
        expected_ratio = speech_s[channel] / call.duration_s
        assert channels[channel]["speech_ratio"] == pytest.approx(
            expected_ratio, abs=0.03
        )
    assert channels[0]["talk_ratio"] + channels[1]["talk_ratio"] == pytest.approx(1.0)
    # Turns alternate in synthetic calls, so the parties never talk at once.
    assert result["talk_over_ratio"] == 0.0
    assert result["one_way"] is False
    assert result["verdict"] == "ok"


@needs_prompts
def test_stereo_talk_over_ratio(tmp_path):
    first = synth.build_call(30.0, rng=np.random.default_rng(34))
    second = synth.build_call(30.0, rng=np.random.default_rng(35))
    path = tmp_path / "call.wav"
    synth.write_audio(
        path, np.column_stack([first.samples, second.samples]), RATE, "pcm_16"
    )
    frames = int(30.0 / 0.02)
    covered = np.zeros((frames, 2), dtype=bool)
    for channel, call in enumerate((first, second)):
        for start, end in call.speech_intervals:
            covered[round(start / 0.02) : round(end / 0.02), channel] = True
    expected = covered.all(axis=1).sum() / covered.any(axis=1).sum()

    result = analyze_file(path)

    assert expected > 0.2
    assert result["talk_over_ratio"] == pytest.approx(expected, abs=0.03)


@needs_prompts
def test_noisy_speech_call_verdict(tmp_path):
    call = synth.build_call(30.0, rng=np.random.default_rng(36), noise_dbfs=-25.0)
    path = tmp_path / "call.wav"
    synth.write_audio(path, call.samples, RATE, "pcm_16")

    result = analyze_file(path)

    assert result["noise_floor_dbfs"] == pytest.approx(-25.0, abs=1.0)
    assert result["snr_db"] < 10.0
    assert result["verdict"] == "noisy"


# -- command line ------------------------------------------------------------------


@needs_prompts
def test_cli_analyze_json_fields(tmp_path, monkeypatch):
    from pipeline.cli import app

    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    config = tmp_path / "recwatch.toml"
    config.write_text(
        'data_dir = "state"\n[[recorders]]\nroot = "spool"\nprofile = "freepbx"\n',
        encoding="utf-8",
    )
    call = synth.build_call(20.0, rng=np.random.default_rng(37), notice=True)
    path = tmp_path / "call.wav"
    synth.write_audio(path, call.samples, RATE, "mulaw")

    outcome = CliRunner().invoke(
        app, ["analyze", str(path), "--format", "json", "--config", str(config)]
    )

    assert outcome.exit_code == 0, outcome.output
    result = json.loads(outcome.output)
    for key in NEW_KEYS:
        assert key in result, key
    assert isinstance(result["channels_stats"], list)
    assert set(result["channels_stats"][0]) == CHANNEL_KEYS
    assert result["verdict"] == "ok"
    assert result["decoder"] == "soundfile"
    # NOTE: the command passes no announcement clip yet, so notice is None here.
    # With audio.notice_clip in the configuration it must hold found/offset_s/score.
    if result["notice"] is not None:
        assert set(result["notice"]) >= {"found", "offset_s", "score"}


# -- webrtcvad on a subset of the active frames ------------------------------------


def _speech_ratio_every_active_frame(samples: np.ndarray, mode: int = 3) -> float:
    """Run webrtcvad on every active 20 ms frame, in order, as the reference."""
    frame = RATE // 50
    count = len(samples) // frame
    pcm = np.clip(np.rint(samples[: count * frame] * 32768.0), -32768, 32767)
    frames = pcm.astype(np.int16).reshape(count, frame)
    scaled = frames / 32768.0
    rms = np.sqrt(np.mean(np.square(scaled - scaled.mean(axis=1, keepdims=True)), 1))
    vad = webrtcvad.Vad(mode)
    speech = [
        vad.is_speech(frames[index].tobytes(), RATE)
        for index in np.flatnonzero(rms >= 10 ** (-45.0 / 20.0))
    ]
    return sum(speech) / count


@pytest.mark.parametrize(
    "hum_hz", [pytest.param(60, id="60-hz"), pytest.param(120, id="120-hz")]
)
def test_steady_hum_not_speech(tmp_path, hum_hz):
    # webrtcvad rejects these hums only when it sees contiguous audio. Fed every
    # third frame alone, it took them for speech in nearly every frame.
    hum = sine(20.0, amplitude=0.3, freq=hum_hz)
    path = write_wav(tmp_path / "hum.wav", hum)

    result = analyze_file(path)

    assert result["silence_ratio"] == 0.0
    assert result["speech_detector"] == "webrtcvad"
    assert result["speech_ratio"] < 0.02
    assert result["speech_ratio"] == pytest.approx(
        _speech_ratio_every_active_frame(hum), abs=0.01
    )


@needs_prompts
def test_vad_subset_matches_every_frame(tmp_path):
    call = synth.build_call(90.0, rng=np.random.default_rng(44))
    path = tmp_path / "call.wav"
    synth.write_audio(path, call.samples, RATE, "pcm_16")
    samples, _ = sf.read(path, dtype="float64")

    result = analyze_file(path)

    reference = _speech_ratio_every_active_frame(samples)
    assert result["speech_ratio"] == pytest.approx(reference, abs=0.02)
