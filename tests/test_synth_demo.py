"""Tests for pipeline.synth (calls from speech) and pipeline.demo (the demo spool)."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline import demo, synth
from pipeline.audio import analyze_file
from pipeline.catalog import Catalog
from pipeline.errors import AudioError, ConfigError

RATE = 8000
NOW = datetime(2026, 12, 4, 15, 30, tzinfo=demo.SEOUL)
MIXMONITOR_NAME = re.compile(
    r"(?P<kind>in|out|exten|ondemand)-(?P<line>\d{4})-(?P<other>\d+)"
    r"-(?P<date>\d{8})-(?P<time>\d{6})-(?P<uniqueid>\d+\.\d+)\.(?P<ext>wav|WAV|mp3)"
)
OTHER_PARTY = re.compile(r"020000\d{4}|0100000\d{4}|2\d{3}")

needs_prompts = pytest.mark.skipif(
    synth.prompt_dir() is None, reason="asterisk-core-sounds-en-wav is not installed"
)


@pytest.fixture
def no_prompts(tmp_path, monkeypatch):
    """Point the prompt folder at an empty directory, as on a host without them."""
    empty = tmp_path / "no-prompts"
    empty.mkdir()
    monkeypatch.setattr(synth, "PROMPT_DIR", empty)


@pytest.fixture(scope="module")
def spool(tmp_path_factory) -> tuple[Path, list[Path]]:
    """A 40-day demo spool with two calls a day, written once for this module."""
    root = tmp_path_factory.mktemp("spool")
    return root, demo.write_demo_spool(root, days=40, calls_per_day=2, now=NOW)


def _silent_fraction_of_truth(call: synth.SynthCall) -> float:
    """Return the share of 20 ms frames that no speech interval covers."""
    frames = int(call.duration_s / 0.02)
    covered = np.zeros(frames, dtype=bool)
    for start, end in call.speech_intervals:
        covered[round(start / 0.02) : round(end / 0.02)] = True
    return 1.0 - covered.mean()


# -- synth: calls ------------------------------------------------------------------


@needs_prompts
def test_build_call_deterministic():
    first = synth.build_call(20.0, rng=np.random.default_rng(1), notice=True)
    second = synth.build_call(20.0, rng=np.random.default_rng(1), notice=True)

    assert np.array_equal(first.samples, second.samples)
    assert first.speech_intervals == second.speech_intervals


@needs_prompts
def test_build_call_mono_shape():
    call = synth.build_call(12.5, rng=np.random.default_rng(2))

    assert call.samples.shape == (100_000,)
    assert call.samples.dtype == np.float32
    assert call.sample_rate == RATE
    assert call.source == "prompts"
    assert call.duration_s == 12.5


@needs_prompts
def test_speech_intervals_ordered_and_bounded():
    call = synth.build_call(60.0, rng=np.random.default_rng(3))

    starts = [start for start, _ in call.speech_intervals]
    assert call.speech_intervals
    assert starts == sorted(starts)
    for start, end in call.speech_intervals:
        assert 0.0 <= start < end <= 60.0
    assert set(call.speech_channels) == {0}


@needs_prompts
@pytest.mark.parametrize(
    "sample_rate",
    [pytest.param(8000, id="8k"), pytest.param(16000, id="16k-resampled")],
)
def test_truth_matches_silence_ratio(tmp_path, sample_rate):
    call = synth.build_call(
        45.0, rng=np.random.default_rng(4), sample_rate=sample_rate, notice=True
    )
    path = tmp_path / "call.wav"
    synth.write_audio(path, call.samples, sample_rate, "pcm_16")

    result = analyze_file(path)

    assert result["sample_rate"] == sample_rate
    assert result["silence_ratio"] == pytest.approx(
        _silent_fraction_of_truth(call), abs=0.02
    )


@needs_prompts
def test_pauses_between_turns():
    call = synth.build_call(120.0, rng=np.random.default_rng(5))

    gaps = [
        next_start - end
        for (_, end), (next_start, _) in zip(
            call.speech_intervals, call.speech_intervals[1:], strict=False
        )
    ]
    # Turns are placed 0.5-3 s apart. A measured gap can be a few frames longer
    # because the far party's quieter edge frames fall below the threshold.
    assert max(gaps) <= 3.2
    assert sum(gap >= 0.5 for gap in gaps) >= 10


@needs_prompts
def test_notice_at_call_start():
    call = synth.build_call(15.0, rng=np.random.default_rng(6), notice=True)
    notice = synth.load_notice()

    start, end = call.notice_interval
    first = round(start * RATE)
    assert 0.2 <= start <= 0.8
    assert end - start == pytest.approx(len(notice) / RATE)
    assert call.speech_intervals[0][0] == pytest.approx(start, abs=0.1)
    residual = call.samples[first : first + len(notice)] - notice
    assert np.abs(residual).max() < 10 ** (-70 / 20) * 8


@needs_prompts
def test_no_notice_by_default():
    call = synth.build_call(15.0, rng=np.random.default_rng(6))

    assert call.notice_interval is None


def test_line_noise_level():
    call = synth.build_call(30.0, rng=np.random.default_rng(7), noise_dbfs=-60.0)
    # Every call starts with at least 0.2 s of line noise before the first speech.
    lead_in = call.samples[: RATE // 5].astype(np.float64)

    level = 20 * np.log10(np.sqrt(np.mean(lead_in**2)))
    assert call.speech_intervals[0][0] >= 0.2
    assert level == pytest.approx(-60.0, abs=0.5)


def test_digital_silence_without_noise():
    call = synth.build_call(10.0, rng=np.random.default_rng(8), noise_dbfs=None)

    assert np.abs(call.samples[: RATE // 5]).max() == 0.0
    assert np.count_nonzero(call.samples) > 0


@pytest.mark.parametrize("seed", range(5))
def test_short_call_has_speech(seed):
    call = synth.build_call(3.0, rng=np.random.default_rng(seed))

    assert call.speech_intervals
    assert call.speech_intervals[-1][1] <= 3.0


@needs_prompts
def test_stereo_parties_on_channels():
    call = synth.build_call(90.0, rng=np.random.default_rng(9), stereo=True)

    assert call.samples.shape == (90 * RATE, 2)
    assert set(call.speech_channels) == {0, 1}
    for (start, end), channel in zip(
        call.speech_intervals, call.speech_channels, strict=True
    ):
        piece = call.samples[round(start * RATE) : round(end * RATE)]
        own = np.sqrt(np.mean(piece[:, channel] ** 2))
        other = np.sqrt(np.mean(piece[:, 1 - channel] ** 2))
        assert own > other


@needs_prompts
@pytest.mark.parametrize(
    "dead", [pytest.param(0, id="left"), pytest.param(1, id="right")]
)
def test_stereo_dead_channel(dead):
    call = synth.build_call(
        40.0, rng=np.random.default_rng(10), stereo=True, dead_channel=dead, notice=True
    )

    level = 20 * np.log10(np.sqrt(np.mean(call.samples[:, dead] ** 2)))
    assert level == pytest.approx(-70.0, abs=0.5)
    assert dead not in call.speech_channels
    assert call.speech_channels


def test_fallback_without_prompts(no_prompts, caplog):
    with caplog.at_level(logging.WARNING, logger="pipeline.synth"):
        call = synth.build_call(20.0, rng=np.random.default_rng(11), notice=True)

    assert call.source == "synthetic"
    assert call.speech_intervals
    assert call.notice_interval is not None
    assert "voice prompts not found" in caplog.text


def test_fallback_truth_matches_silence_ratio(tmp_path, no_prompts):
    call = synth.build_call(40.0, rng=np.random.default_rng(12))
    path = tmp_path / "call.wav"
    synth.write_audio(path, call.samples, RATE, "pcm_16")

    result = analyze_file(path)

    assert result["silence_ratio"] == pytest.approx(
        _silent_fraction_of_truth(call), abs=0.02
    )


def test_fallback_notice_fixed(no_prompts):
    first = synth.load_notice()
    second = synth.load_notice()

    assert len(first) > RATE // 2
    assert np.array_equal(first, second)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"duration_s": 0.0}, "invalid duration_s=0.0", id="duration"),
        pytest.param({"sample_rate": 100}, "invalid sample_rate=100", id="rate"),
        pytest.param({"dead_channel": 0}, "invalid dead_channel=0", id="dead-mono"),
        pytest.param(
            {"dead_channel": 2, "stereo": True}, "invalid dead_channel=2", id="dead-2"
        ),
    ],
)
def test_build_call_invalid_arguments(arguments, message):
    arguments = {"duration_s": 5.0, **arguments}

    with pytest.raises(ConfigError, match=message):
        synth.build_call(rng=np.random.default_rng(0), **arguments)


# -- synth: writing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "channels"),
    [
        pytest.param("pcm_16", 1, id="pcm_16"),
        pytest.param("pcm_16", 2, id="pcm_16-stereo"),
        pytest.param("mulaw", 1, id="mulaw"),
        pytest.param("alaw", 1, id="alaw"),
        pytest.param("gsm", 1, id="gsm"),
        pytest.param("mp3", 1, id="mp3"),
        pytest.param("mp3", 2, id="mp3-stereo"),
    ],
)
def test_write_audio_codecs(tmp_path, codec, channels):
    call = synth.build_call(
        8.0, rng=np.random.default_rng(13), stereo=channels == 2, notice=True
    )
    path = tmp_path / "call.bin"

    synth.write_audio(path, call.samples, RATE, codec)
    result = analyze_file(path)

    assert result["codec"] == codec
    assert result["channels"] == channels
    assert result["duration_s"] == pytest.approx(8.0, abs=0.1)


def test_write_audio_mp3_is_mpeg25(tmp_path):
    path = tmp_path / "call.mp3"
    synth.write_audio(path, np.zeros(RATE, dtype=np.float32), RATE, "mp3")

    header = path.read_bytes()[:2]
    # Bits 4-3 of the second header byte are the MPEG version, and 00 is MPEG-2.5.
    assert header[0] == 0xFF
    assert (header[1] >> 3) & 0b11 == 0b00


def test_write_audio_clips_overload(tmp_path):
    path = tmp_path / "loud.wav"
    samples = np.array([1.5, -1.5, 0.25] * 100, dtype=np.float32)

    synth.write_audio(path, samples, RATE, "mulaw")
    read, _ = sf.read(path, dtype="float32")

    assert read[0] == pytest.approx(32124 / 32768)
    assert read[1] == pytest.approx(-32124 / 32768)


def test_write_audio_gsm_stereo_rejected(tmp_path):
    with pytest.raises(ConfigError, match="GSM 6.10 WAV is mono only"):
        synth.write_audio(tmp_path / "a.wav", np.zeros((RATE, 2)), RATE, "gsm")


def test_write_audio_unknown_codec(tmp_path):
    with pytest.raises(ConfigError, match="invalid codec 'opus'"):
        synth.write_audio(tmp_path / "a.wav", np.zeros(RATE), RATE, "opus")


# -- demo: lines -------------------------------------------------------------------


def test_demo_lines_csv_roundtrip(tmp_path):
    path = tmp_path / "lines.csv"

    demo.write_demo_lines_csv(path)
    with open(path, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))

    assert tuple(rows[0]) == demo.LINE_COLUMNS
    assert len(rows) == len(demo.DEMO_LINES)
    assert rows[0]["department"] == "민원봉사과"
    assert rows[0]["approval_doc"] == "정보통신과-1234"


def test_demo_lines_include_violations():
    full = [line for line in demo.DEMO_LINES if line["mode"] == "full"]
    without = [line for line in full if not line.get("approval_doc")]
    expired = [line for line in full if line.get("valid_to", "9999") < "2026-01-01"]

    assert len(without) >= 2
    assert len(expired) >= 1
    assert any(line["mode"] == "selective" for line in demo.DEMO_LINES)
    for line in demo.DEMO_LINES:
        assert re.fullmatch(r"2\d{3}", line["number"])


def test_demo_lines_load_into_catalog(tmp_path):
    with Catalog(tmp_path / "catalog.duckdb") as catalog:
        first = catalog.write(demo.load_demo_lines)
        second = catalog.write(demo.load_demo_lines)
        rows = catalog.query(
            "SELECT number, department, mode, approval_doc, valid_to FROM lines "
            "ORDER BY number"
        )

    assert first == second == len(demo.DEMO_LINES)
    assert len(rows) == len(demo.DEMO_LINES)
    assert rows[0][:4] == ("2101", "민원봉사과", "full", "정보통신과-1234")
    assert rows[4][3] is None


# -- demo: spool -------------------------------------------------------------------


def _audio(paths: list[Path]) -> list[Path]:
    return [path for path in paths if path.suffix != ".json"]


def test_spool_names_and_folders(spool):
    root, paths = spool

    for path in _audio(paths):
        match = MIXMONITOR_NAME.fullmatch(path.name)
        assert match, path.name
        assert path.parent.relative_to(root).as_posix() == (
            f"{match['date'][:4]}/{match['date'][4:6]}/{match['date'][6:]}"
        )
        assert OTHER_PARTY.fullmatch(match["other"]), match["other"]


def test_spool_retention_states(spool):
    _, paths = spool
    ages = []
    for path in _audio(paths):
        match = MIXMONITOR_NAME.fullmatch(path.name)
        start = datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S")
        ages.append(NOW - start.replace(tzinfo=demo.SEOUL))

    assert max(ages) <= timedelta(days=41)
    assert min(ages) > timedelta(0)
    assert any(age < timedelta(days=27) for age in ages)
    assert any(timedelta(days=27) <= age <= timedelta(days=30) for age in ages)
    assert any(age > timedelta(days=30) for age in ages)


def test_spool_codec_mix(spool):
    _, paths = spool
    results = {}
    for path in _audio(paths):
        try:
            results[path] = analyze_file(path)
        except AudioError:
            continue
    codecs = {result["codec"] for result in results.values()}
    durations = [result["duration_s"] for result in results.values()]

    assert {"pcm_16", "mulaw", "alaw", "gsm", "mp3"} <= codecs
    assert any(result["channels"] == 2 for result in results.values())
    assert min(durations) >= 19.9
    assert max(durations) <= 240.5
    mismatched = [p for p, r in results.items() if "extension_mismatch" in r["flags"]]
    assert len(mismatched) == 1
    assert mismatched[0].suffix == ".wav"


def test_spool_broken_files(spool):
    _, paths = spool
    errors = []
    for path in _audio(paths):
        try:
            analyze_file(path)
        except AudioError as error:
            errors.append(error.flags)

    assert sorted(errors) == [("empty",), ("not_audio",)]


def test_spool_sidecars(spool):
    _, paths = spool
    sidecars = [path for path in paths if path.suffix == ".json"]
    disagreeing = []
    for sidecar in sidecars:
        document = json.loads(sidecar.read_text(encoding="utf-8"))
        assert set(document) == {"line", "other_party", "direction", "department"}
        assert document["direction"] in ("in", "out", "internal")
        audio = [p for p in paths if p.stem == sidecar.stem and p != sidecar]
        assert len(audio) == 1
        match = MIXMONITOR_NAME.fullmatch(audio[0].name)
        assert document["other_party"] == match["other"]
        if document["line"] != match["line"]:
            disagreeing.append(sidecar)

    assert len(sidecars) >= 2
    assert len(disagreeing) == 1


def test_spool_no_partial_files(spool):
    root, paths = spool

    on_disk = {path for path in root.rglob("*") if path.is_file()}

    assert on_disk == set(paths)


def test_spool_deterministic(tmp_path):
    def digest(root: Path) -> dict[str, str]:
        paths = demo.write_demo_spool(root, days=3, calls_per_day=2, now=NOW, seed=5)
        return {
            path.relative_to(root).as_posix(): hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
            for path in paths
        }

    first = digest(tmp_path / "a")
    second = digest(tmp_path / "b")
    other_seed = demo.write_demo_spool(
        tmp_path / "c", days=3, calls_per_day=2, now=NOW, seed=6
    )

    assert first == second
    assert sorted(first) != sorted(
        p.relative_to(tmp_path / "c").as_posix() for p in other_seed
    )


def test_demo_call_live_utc_start(tmp_path):
    start = datetime(2026, 12, 3, 16, 0, 0, tzinfo=UTC)

    path = demo.write_demo_call(tmp_path, start, rng=np.random.default_rng(14))

    assert path.parent.relative_to(tmp_path).as_posix() == "2026/12/04"
    assert "-20261204-010000-" in path.name
    assert MIXMONITOR_NAME.fullmatch(path.name)
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert analyze_file(path)["frames"] > 0


def test_demo_call_with_sidecar(tmp_path):
    start = datetime(2026, 12, 4, 10, 0, 0)

    path = demo.write_demo_call(
        tmp_path, start, rng=np.random.default_rng(15), sidecar=True
    )

    document = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert path.parent.relative_to(tmp_path).as_posix() == "2026/12/04"
    assert document["line"] == MIXMONITOR_NAME.fullmatch(path.name)["line"]


@needs_prompts
@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(5)])
def test_notice_call_notice_in_window(seed):
    call = synth.build_notice_call(rng=np.random.default_rng(seed), notice=True)
    clip = synth.load_notice()
    start, end = call.notice_interval

    assert start >= 0.0
    assert end <= 15.0
    assert end - start == pytest.approx(len(clip) / RATE)
    assert call.duration_s == 20.0
    # The notice is clear of other speech, so its samples equal the clip.
    segment = call.samples[round(start * RATE) : round(end * RATE)]
    np.testing.assert_array_equal(segment, clip)


@needs_prompts
def test_notice_call_negative_has_speech():
    call = synth.build_notice_call(rng=np.random.default_rng(9), notice=False)

    assert call.notice_interval is None
    assert call.speech_s > 5.0


@needs_prompts
def test_notice_call_noise_and_gain():
    rng_seed = 10
    clean = synth.build_notice_call(rng=np.random.default_rng(rng_seed), notice=True)
    quieter = synth.build_notice_call(
        rng=np.random.default_rng(rng_seed), notice=True, gain_db=-10.0
    )
    noisy = synth.build_notice_call(
        rng=np.random.default_rng(rng_seed), notice=True, snr_db=20.0
    )
    start, end = (round(t * RATE) for t in clean.notice_interval)

    assert np.allclose(quieter.samples, clean.samples * 10 ** (-0.5), atol=1e-6)
    residual = noisy.samples - clean.samples
    assert 0.0 < residual.std() < 0.2 * clean.samples[start:end].std()
