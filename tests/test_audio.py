"""Tests for pipeline.audio: decoding, level and silence statistics, damaged files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import unicodedata
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import (
    RATE,
    WAV_HEADER_BYTES,
    set_wav_sizes,
    sine,
    square,
    wav_with_format_tag,
    write_wav,
)

from pipeline import audio
from pipeline.audio import DBFS_FLOOR, RawFormat, analyze_file
from pipeline.errors import AudioError, ConfigError, UnsupportedCodecError

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
    reason="ffmpeg and ffprobe are not on PATH",
)


@pytest.fixture
def no_ffmpeg(tmp_path, monkeypatch):
    """Hide ffmpeg by pointing PATH at an empty folder."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.fixture
def ten_second_blocks(monkeypatch):
    """Decode in 10 s blocks, so that short test files span several blocks."""
    monkeypatch.setattr(audio, "BLOCK_SECONDS", 10.0)


# -- signals with known levels ----------------------------------------------------


@pytest.mark.parametrize(
    ("signal", "rms", "peak", "silence_ratio"),
    [
        pytest.param(sine(2.0), -9.03, -6.02, 0.0, id="sine-0.5"),
        pytest.param(square(2.0), -6.02, -6.02, 0.0, id="square-0.5"),
        # The frame mean is removed before the silence test, so DC alone is silent.
        pytest.param(np.full(2 * RATE, 0.5), -6.02, -6.02, 1.0, id="dc-0.5"),
        pytest.param(np.zeros(2 * RATE), DBFS_FLOOR, DBFS_FLOOR, 1.0, id="zeros"),
    ],
)
def test_known_signal_levels(tmp_path, signal, rms, peak, silence_ratio):
    path = write_wav(tmp_path / "signal.wav", signal)

    result = analyze_file(path)

    assert result["rms_dbfs"] == pytest.approx(rms, abs=0.01)
    assert result["peak_dbfs"] == pytest.approx(peak, abs=0.01)
    assert result["silence_ratio"] == silence_ratio
    assert result["frames"] == 2 * RATE
    assert result["duration_s"] == 2.0
    assert result["clipped_samples"] == 0


def test_result_format_fields(tmp_path):
    path = write_wav(tmp_path / "call.wav", sine(1.0))

    result = analyze_file(path)

    assert result["sample_rate"] == RATE
    assert result["channels"] == 1
    assert result["codec"] == "pcm_16"
    assert result["container"] == "wav"
    assert result["decoder"] == "numpy"
    assert result["flags"] == []
    assert isinstance(result["frames"], int)
    assert isinstance(result["clipped_samples"], int)
    json.dumps(result, allow_nan=False)


def test_digital_silence_flags(tmp_path):
    path = write_wav(tmp_path / "silence.wav", np.zeros(3 * RATE))

    result = analyze_file(path)

    assert result["silence_ratio"] == 1.0
    assert result["longest_silence_s"] == pytest.approx(3.0)
    assert result["rms_dbfs"] == DBFS_FLOOR
    assert result["peak_dbfs"] == DBFS_FLOOR
    assert result["flags"] == ["all_silent"]
    json.dumps(result, allow_nan=False)


def test_clipped_pcm16_count_exact(tmp_path):
    rng = np.random.default_rng(7)
    samples = rng.integers(-20000, 20000, size=4 * RATE, dtype=np.int16)
    positions = rng.choice(len(samples), size=123, replace=False)
    samples[positions[:100]] = 32767
    samples[positions[100:]] = -32768
    path = tmp_path / "clipped.wav"
    sf.write(path, samples, RATE, subtype="PCM_16")

    result = analyze_file(path)

    assert result["clipped_samples"] == 123
    assert result["peak_dbfs"] == 0.0


def test_clipped_sine_overdriven(tmp_path):
    overdriven = np.clip(sine(1.0, amplitude=2.0), -1.0, 1.0)
    expected = int(np.count_nonzero(np.abs(overdriven) >= 1.0))
    path = write_wav(tmp_path / "overdriven.wav", overdriven)

    result = analyze_file(path)

    assert expected > 0
    assert result["clipped_samples"] == expected


@pytest.mark.parametrize(
    "subtype",
    [pytest.param("ULAW", id="mulaw"), pytest.param("ALAW", id="alaw")],
)
def test_g711_clipping_at_codec_maximum(tmp_path, subtype):
    # A G.711 code never decodes to 1.0, so full scale is the largest code's value.
    path = write_wav(tmp_path / "loud.wav", square(1.0, amplitude=1.0), subtype=subtype)

    result = analyze_file(path)

    assert result["clipped_samples"] == RATE


def test_g711_moderate_level_not_clipped(tmp_path):
    path = write_wav(tmp_path / "speech.wav", sine(1.0, amplitude=0.9), subtype="ULAW")

    result = analyze_file(path)

    assert result["clipped_samples"] == 0


# -- silence runs ------------------------------------------------------------------


def test_silence_ratio_and_longest_run(tmp_path):
    signal = np.concatenate(
        [sine(1.0), np.zeros(2 * RATE), sine(1.0), np.zeros(RATE // 2)]
    )
    path = write_wav(tmp_path / "pauses.wav", signal)

    result = analyze_file(path)

    assert result["silence_ratio"] == pytest.approx(2.5 / 4.5)
    assert result["longest_silence_s"] == pytest.approx(2.0)
    assert result["flags"] == []


def test_silence_run_across_blocks(tmp_path, ten_second_blocks):
    # This 5 s pause spans the boundary between the first two blocks.
    signal = np.concatenate([sine(8.0), np.zeros(5 * RATE), sine(2.0)])
    path = write_wav(tmp_path / "long-pause.wav", signal)

    result = analyze_file(path)

    assert result["longest_silence_s"] == pytest.approx(5.0)
    assert result["silence_ratio"] == pytest.approx(5.0 / 15.0)


def test_line_noise_counts_as_silence(tmp_path):
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 10 ** (-70 / 20), size=2 * RATE)
    path = write_wav(tmp_path / "noise.wav", noise)

    result = analyze_file(path)

    assert result["silence_ratio"] == 1.0
    assert result["rms_dbfs"] == pytest.approx(-70.0, abs=1.0)
    assert "all_silent" in result["flags"]


def test_threshold_and_frame_length_used(tmp_path):
    path = write_wav(tmp_path / "quiet.wav", sine(1.0, amplitude=0.001))

    default = analyze_file(path)
    lenient = analyze_file(path, silence_threshold_dbfs=-70.0, frame_ms=10)

    assert default["silence_ratio"] == 1.0
    assert lenient["silence_ratio"] == 0.0


def test_stereo_one_silent_channel(tmp_path):
    left = np.concatenate([sine(1.0), np.zeros(RATE)])
    right = np.zeros(2 * RATE)
    path = write_wav(tmp_path / "stereo.wav", np.column_stack([left, right]))

    result = analyze_file(path)

    assert result["channels"] == 2
    assert result["frames"] == 2 * RATE
    assert result["silence_ratio"] == pytest.approx(0.5)
    assert result["longest_silence_s"] == pytest.approx(1.0)


def test_native_rate_kept(tmp_path):
    signal = sine(1.0, rate=16000)
    path = tmp_path / "wideband.wav"
    sf.write(path, signal, 16000, subtype="PCM_16")

    result = analyze_file(path)

    assert result["sample_rate"] == 16000
    assert result["frames"] == 16000


# -- codecs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subtype", "codec", "tolerance_db"),
    [
        pytest.param("PCM_U8", "pcm_u8", 0.1, id="pcm_u8"),
        pytest.param("PCM_16", "pcm_16", 0.01, id="pcm_16"),
        pytest.param("PCM_24", "pcm_24", 0.01, id="pcm_24"),
        pytest.param("PCM_32", "pcm_32", 0.01, id="pcm_32"),
        pytest.param("FLOAT", "float", 0.01, id="float"),
        pytest.param("DOUBLE", "double", 0.01, id="double"),
        pytest.param("ULAW", "mulaw", 0.2, id="mulaw"),
        pytest.param("ALAW", "alaw", 0.2, id="alaw"),
        pytest.param("GSM610", "gsm", 1.0, id="gsm"),
    ],
)
def test_wav_codecs_decoded(tmp_path, subtype, codec, tolerance_db):
    path = write_wav(tmp_path / "call.wav", sine(2.0), subtype=subtype)

    result = analyze_file(path)

    assert result["codec"] == codec
    assert result["container"] == "wav"
    assert result["rms_dbfs"] == pytest.approx(-9.03, abs=tolerance_db)
    # GSM 6.10 pads the last 320-sample block, so it may decode a little more.
    assert 2 * RATE <= result["frames"] < 2 * RATE + 320


def test_mp3_decoded(tmp_path):
    path = tmp_path / "call.mp3"
    sf.write(path, sine(2.0), RATE, format="MP3")

    result = analyze_file(path)

    assert result["codec"] == "mp3"
    assert result["container"] == "mp3"
    assert result["flags"] == []
    assert result["duration_s"] == pytest.approx(2.0, abs=0.1)
    assert result["rms_dbfs"] == pytest.approx(-9.03, abs=1.0)


def test_raw_mulaw_with_profile_format(tmp_path):
    path = tmp_path / "call.ul"
    sf.write(path, sine(1.5), RATE, format="RAW", subtype="ULAW")

    result = analyze_file(path, raw_format=RawFormat("mulaw", RATE))

    assert result["container"] == "raw"
    assert result["codec"] == "mulaw"
    assert result["frames"] == 12000
    assert result["rms_dbfs"] == pytest.approx(-9.03, abs=0.2)


def test_raw_without_profile_rejected(tmp_path):
    path = tmp_path / "call.ul"
    sf.write(path, sine(1.5), RATE, format="RAW", subtype="ULAW")

    with pytest.raises(AudioError, match="not audio: .*match no known audio format"):
        analyze_file(path)


@pytest.mark.parametrize(
    ("codec", "sample_rate", "channels"),
    [
        pytest.param("g729", 8000, 1, id="codec"),
        pytest.param("mulaw", 0, 1, id="rate"),
        pytest.param("alaw", 8000, 0, id="channels"),
    ],
)
def test_raw_format_invalid(codec, sample_rate, channels):
    with pytest.raises(ConfigError, match="invalid raw"):
        RawFormat(codec, sample_rate, channels)


def test_frame_ms_invalid(tmp_path):
    path = write_wav(tmp_path / "call.wav", sine(1.0))

    with pytest.raises(ConfigError, match="invalid frame_ms=0"):
        analyze_file(path, frame_ms=0)


@needs_ffmpeg
def test_g722_decoded_with_ffmpeg(tmp_path):
    path = tmp_path / "wideband.wav"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=2:sample_rate=16000",
        ]
        + ["-c:a", "g722", str(path)],
        check=True,
    )

    result = analyze_file(path)

    assert result["decoder"] == "ffmpeg"
    assert result["codec"] == "g722"
    assert result["sample_rate"] == 16000
    assert result["frames"] == 32000


@needs_ffmpeg
def test_g722_without_ffmpeg_unsupported(tmp_path, no_ffmpeg):
    path = wav_with_format_tag(tmp_path / "g722.wav", 0x028F, bytes(800))

    with pytest.raises(UnsupportedCodecError, match="0x028F.*Install ffmpeg") as info:
        analyze_file(path)

    assert info.value.flags == ("unsupported_codec",)


@needs_ffmpeg
def test_unknown_format_tag_unsupported(tmp_path):
    path = wav_with_format_tag(tmp_path / "odd.wav", 0x1234, bytes(800))

    with pytest.raises(UnsupportedCodecError, match="format tag 0x1234"):
        analyze_file(path)


# -- bad inputs --------------------------------------------------------------------


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.touch()

    with pytest.raises(AudioError, match="empty file: .*has 0 bytes") as info:
        analyze_file(path)

    assert info.value.flags == ("empty",)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="not found: .*gone.wav") as info:
        analyze_file(tmp_path / "gone.wav")

    assert info.value.flags == ("missing",)


def test_text_named_wav(tmp_path):
    path = tmp_path / "note.wav"
    path.write_text("recorder log: disk full\n", encoding="utf-8")

    with pytest.raises(AudioError, match="not audio: .*contains text") as info:
        analyze_file(path)

    assert info.value.flags == ("not_audio",)


def test_korean_text_named_wav(tmp_path):
    path = tmp_path / "메모.wav"
    path.write_text("통화 녹음 실패\n", encoding="utf-8")

    with pytest.raises(AudioError, match="contains text"):
        analyze_file(path)


def test_random_bytes_named_wav(tmp_path):
    rng = np.random.default_rng(11)
    path = tmp_path / "noise.wav"
    path.write_bytes(b"\x00\x01" + rng.bytes(4000))

    with pytest.raises(AudioError, match="not audio: .*00 01"):
        analyze_file(path)


def test_mp3_named_wav(tmp_path):
    mp3 = tmp_path / "call.mp3"
    sf.write(mp3, sine(2.0), RATE, format="MP3")
    renamed = tmp_path / "call.wav"
    mp3.rename(renamed)

    result = analyze_file(renamed)

    assert result["codec"] == "mp3"
    assert result["container"] == "mp3"
    assert result["flags"] == ["extension_mismatch"]
    assert result["duration_s"] == pytest.approx(2.0, abs=0.1)


def test_wav_named_mp3(tmp_path):
    path = write_wav(tmp_path / "call.mp3", sine(1.0))

    result = analyze_file(path)

    assert result["container"] == "wav"
    assert result["flags"] == ["extension_mismatch"]


@pytest.mark.parametrize(
    "size",
    [pytest.param(0, id="zero"), pytest.param(0xFFFFFFFF, id="ffffffff")],
)
def test_placeholder_sizes(tmp_path, size):
    path = write_wav(tmp_path / "recording.wav", sine(3.0))
    set_wav_sizes(path, riff_size=size, data_size=size)

    result = analyze_file(path)

    assert result["flags"] == ["header_incomplete"]
    assert result["frames"] == 3 * RATE
    assert result["duration_s"] == 3.0
    assert result["rms_dbfs"] == pytest.approx(-9.03, abs=0.01)


def test_placeholder_data_size_only(tmp_path):
    path = write_wav(tmp_path / "recording.wav", sine(1.0))
    set_wav_sizes(path, data_size=0)

    result = analyze_file(path)

    assert result["flags"] == ["header_incomplete"]
    assert result["frames"] == RATE


def test_riff_size_inconsistent(tmp_path):
    path = write_wav(tmp_path / "recording.wav", sine(1.0))
    set_wav_sizes(path, riff_size=1000)

    result = analyze_file(path)

    assert result["flags"] == ["header_incomplete"]
    assert result["frames"] == RATE


@pytest.mark.parametrize(
    ("kept_bytes", "frames"),
    [
        pytest.param(8000, 4000, id="whole-samples"),
        pytest.param(8001, 4000, id="half-sample"),
    ],
)
def test_truncated_wav(tmp_path, kept_bytes, frames):
    path = write_wav(tmp_path / "cut.wav", sine(2.0))
    data = path.read_bytes()
    path.write_bytes(data[: WAV_HEADER_BYTES + kept_bytes])

    result = analyze_file(path)

    assert result["flags"] == ["truncated"]
    assert result["frames"] == frames
    assert result["duration_s"] == frames / RATE


def test_header_only_wav(tmp_path):
    path = write_wav(tmp_path / "header.wav", np.zeros(0))

    result = analyze_file(path)

    assert path.stat().st_size == WAV_HEADER_BYTES
    assert result["flags"] == ["empty"]
    assert result["frames"] == 0
    assert result["duration_s"] == 0.0
    assert result["rms_dbfs"] == DBFS_FLOOR
    json.dumps(result, allow_nan=False)


def test_wav_without_data_chunk(tmp_path):
    path = write_wav(tmp_path / "no-data.wav", sine(1.0))
    data = bytearray(path.read_bytes()[:36])
    data[4:8] = (28).to_bytes(4, "little")
    path.write_bytes(bytes(data))

    result = analyze_file(path)

    assert result["flags"] == ["empty"]
    assert result["codec"] == "pcm_16"
    assert result["frames"] == 0


def test_header_cut_inside_fmt(tmp_path):
    path = write_wav(tmp_path / "stub.wav", sine(1.0))
    path.write_bytes(path.read_bytes()[:24])

    with pytest.raises(AudioError, match="no complete fmt chunk") as info:
        analyze_file(path)

    assert info.value.flags == ("truncated",)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            unicodedata.normalize("NFC", "민원봉사과 통화.wav"), id="korean-nfc"
        ),
        pytest.param(
            unicodedata.normalize("NFD", "민원봉사과 통화.wav"), id="korean-nfd"
        ),
        pytest.param('it\'s "quoted" call.wav', id="quotes-spaces"),
        pytest.param("-leading dash $HOME;.wav", id="shell-characters"),
        pytest.param(
            "in-2101-0200001234-20250101-093000-1735691400.7.WAV", id="upper-ext"
        ),
    ],
)
def test_unusual_file_names(tmp_path, name):
    path = write_wav(tmp_path / name, sine(1.0))

    result = analyze_file(str(path))

    assert name in os.listdir(tmp_path)
    assert result["frames"] == RATE
    assert result["flags"] == []


@needs_ffmpeg
def test_unusual_name_through_ffmpeg(tmp_path):
    source = tmp_path / "source.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=1:sample_rate=16000"]
        + ["-c:a", "g722", str(source)],
        check=True,
    )
    name = unicodedata.normalize("NFD", "-건축과 'a:b' 통화.wav")
    path = source.rename(tmp_path / name)

    result = analyze_file(path)

    assert result["decoder"] == "ffmpeg"
    assert result["frames"] == 16000


def test_errors_and_results_cross_processes(tmp_path):
    good = write_wav(tmp_path / "good.wav", sine(1.0))
    empty = tmp_path / "empty.wav"
    empty.touch()

    with ProcessPoolExecutor(max_workers=1) as pool:
        result = pool.submit(analyze_file, good).result()
        with pytest.raises(AudioError, match="empty file") as info:
            pool.submit(analyze_file, empty).result()

    assert result["frames"] == RATE
    assert info.value.flags == ("empty",)


def test_zero_sample_rate_header(tmp_path):
    path = write_wav(tmp_path / "broken.wav", sine(1.0))
    data = bytearray(path.read_bytes())
    data[24:28] = bytes(4)
    path.write_bytes(bytes(data))

    with pytest.raises(AudioError, match="declares 0 Hz") as info:
        analyze_file(path)

    assert info.value.flags == ("header_incomplete",)


def test_long_file_frames_exact(tmp_path, ten_second_blocks):
    rng = np.random.default_rng(5)
    signal = rng.uniform(-0.5, 0.5, size=(25 * RATE + 37, 2))
    path = write_wav(tmp_path / "long.wav", signal)

    result = analyze_file(path)

    assert result["frames"] == 25 * RATE + 37
    assert result["duration_s"] == pytest.approx(25.0 + 37 / RATE)
    assert result["silence_ratio"] == 0.0


def test_silence_runs_match_frame_pattern(tmp_path):
    rng = np.random.default_rng(13)
    frame = RATE // 50
    pattern = rng.random(35 * 50) < 0.7
    tone = sine(frame / RATE, freq=400.0)
    signal = np.concatenate([np.zeros(frame) if quiet else tone for quiet in pattern])
    longest = run = 0
    for quiet in pattern:
        run = run + 1 if quiet else 0
        longest = max(longest, run)
    path = write_wav(tmp_path / "pattern.wav", signal)

    result = analyze_file(path)

    assert result["silence_ratio"] == pytest.approx(pattern.mean())
    assert result["longest_silence_s"] == pytest.approx(longest * 0.02)


def test_mp3_blocks_match_whole_read(tmp_path, ten_second_blocks):
    rng = np.random.default_rng(17)
    path = tmp_path / "long.mp3"
    sf.write(path, rng.uniform(-0.5, 0.5, size=25 * RATE), RATE, format="MP3")
    whole, _ = sf.read(path, dtype="float32")

    result = analyze_file(path)

    expected_rms = 20 * np.log10(np.sqrt(np.mean(whole.astype(np.float64) ** 2)))
    expected_peak = 20 * np.log10(np.abs(whole).max())
    assert result["frames"] == len(whole)
    assert result["rms_dbfs"] == pytest.approx(expected_rms, abs=1e-4)
    assert result["peak_dbfs"] == pytest.approx(expected_peak, abs=1e-4)


def _id3v2_tag(title: str) -> bytes:
    """Return an ID3v2.3 tag with one TIT2 (title) frame."""
    text = b"\x00" + title.encode("latin-1")
    frame = b"TIT2" + len(text).to_bytes(4, "big") + b"\x00\x00" + text
    size = len(frame)
    # The tag size is "syncsafe": four 7-bit groups.
    syncsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x03\x00\x00" + syncsafe + frame


def test_mp3_with_id3_tags(tmp_path):
    plain = tmp_path / "plain.mp3"
    sf.write(plain, sine(3.0), RATE, format="MP3")
    id3v1 = b"TAG" + b"made-up call".ljust(30, b"\x00") + bytes(95)
    tagged = tmp_path / "tagged.mp3"
    tagged.write_bytes(_id3v2_tag("call 2101") + plain.read_bytes() + id3v1)

    result = analyze_file(tagged)
    expected = analyze_file(plain)

    assert result["codec"] == "mp3"
    assert result["container"] == "mp3"
    assert result["sample_rate"] == RATE
    assert result["frames"] == expected["frames"]
    assert result["duration_s"] == pytest.approx(3.0, abs=0.03)
    assert result["rms_dbfs"] == pytest.approx(expected["rms_dbfs"], abs=0.01)


@pytest.mark.parametrize(
    ("subtype", "codec"),
    [
        pytest.param("PCM_16", "pcm_16", id="pcm16"),
        pytest.param("PCM_24", "pcm_24", id="pcm24"),
        pytest.param("FLOAT", "float", id="float"),
        pytest.param("ULAW", "mulaw", id="mulaw"),
    ],
)
def test_wave_format_extensible(tmp_path, subtype, codec):
    path = tmp_path / "extensible.wav"
    stereo = np.column_stack([sine(2.0), sine(2.0, amplitude=0.25)])
    sf.write(path, stereo, RATE, subtype=subtype, format="WAVEX")
    assert int.from_bytes(path.read_bytes()[20:22], "little") == 0xFFFE

    result = analyze_file(path)

    assert result["codec"] == codec
    assert result["channels"] == 2
    assert result["frames"] == 2 * RATE
    left, right = result["channels_stats"]
    assert left["rms_dbfs"] == pytest.approx(-9.03, abs=0.2)
    assert right["rms_dbfs"] == pytest.approx(-15.05, abs=0.2)


@needs_ffmpeg
def test_ffmpeg_fallback_stats_match(tmp_path):
    # G.726 WAV is one of the codecs that libsndfile 1.2.2 rejects.
    path = tmp_path / "g726.wav"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=3:sample_rate=8000",
        ]
        + ["-c:a", "g726", "-b:a", "32k", str(path)],
        check=True,
    )

    result = analyze_file(path)

    assert result["decoder"] == "ffmpeg"
    assert result["codec"] == "g726"
    assert result["duration_s"] == pytest.approx(3.0, abs=0.01)
    assert result["speech_detector"] == "webrtcvad"
    assert len(result["channels_stats"]) == 1


# -- the NumPy decoder for 16-bit PCM and decoding from bytes in memory ------------

_DECODER_KEYS = {"decoder", "container"}


def _without(result: dict, keys: set[str]) -> dict:
    return {key: value for key, value in result.items() if key not in keys}


@pytest.mark.parametrize(
    "channels", [pytest.param(1, id="mono"), pytest.param(2, id="stereo")]
)
def test_pcm16_numpy_matches_libsndfile(tmp_path, channels, ten_second_blocks):
    rng = np.random.default_rng(41)
    # 23.5 s crosses two decode blocks and ends in a partial frame.
    signal = rng.normal(0.0, 0.05, (round(23.5 * RATE), channels))
    signal[RATE : 3 * RATE] = 0.0
    signal[5 * RATE] = 1.0
    wav = write_wav(tmp_path / "call.wav", signal)
    raw = tmp_path / "call.raw"
    raw.write_bytes(wav.read_bytes()[WAV_HEADER_BYTES:])

    from_numpy = analyze_file(wav)
    from_libsndfile = analyze_file(raw, raw_format=RawFormat("pcm_16", RATE, channels))

    assert from_numpy["decoder"] == "numpy"
    assert from_libsndfile["decoder"] == "soundfile"
    assert _without(from_numpy, _DECODER_KEYS) == _without(
        from_libsndfile, _DECODER_KEYS
    )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("call.wav", id="pcm16-wav"),
        pytest.param("call.mulaw.wav", id="mulaw-wav"),
        pytest.param("call.raw", id="raw-mulaw"),
    ],
)
def test_content_bytes_match_path(tmp_path, name):
    path = tmp_path / name
    signal = sine(12.0, amplitude=0.3)
    if name == "call.raw":
        sf.write(path, signal, RATE, subtype="ULAW", format="RAW")
        raw_format = RawFormat("mulaw", RATE)
    else:
        subtype = "ULAW" if "mulaw" in name else "PCM_16"
        write_wav(path, signal, subtype=subtype)
        raw_format = None

    from_path = analyze_file(path, raw_format=raw_format)
    from_bytes = analyze_file(path, raw_format=raw_format, content=path.read_bytes())

    assert from_bytes == from_path


def test_content_bytes_with_patched_sizes(tmp_path):
    path = write_wav(tmp_path / "placeholder.wav", sine(3.0))
    set_wav_sizes(path, riff_size=0, data_size=0)

    result = analyze_file(path, content=path.read_bytes())

    assert result["frames"] == 3 * RATE
    assert "header_incomplete" in result["flags"]


def test_content_empty_bytes_rejected(tmp_path):
    path = write_wav(tmp_path / "call.wav", sine(1.0))

    with pytest.raises(AudioError, match="empty file"):
        analyze_file(path, content=b"")


def test_run_job_reads_new_file_once(tmp_path):
    from pipeline.analysis import Job, run_job, sha256_file

    path = write_wav(tmp_path / "call.wav", sine(5.0))
    job = Job(path=str(path), root=str(tmp_path), profile_name="freepbx")

    new = run_job(job)
    known = run_job(
        Job(
            path=str(path),
            root=str(tmp_path),
            profile_name="freepbx",
            known_sha256="0" * 64,
        )
    )

    assert new.sha256 == sha256_file(path)
    assert new.stats == analyze_file(path)
    assert known.sha256 == new.sha256
    assert known.stats == new.stats


def test_pcm16_odd_block_align_uses_libsndfile(tmp_path):
    path = write_wav(tmp_path / "call.wav", sine(2.0))
    data = bytearray(path.read_bytes())
    # block_align sits at byte 32 of the canonical header, 2 for 16-bit mono.
    data[32:34] = (0).to_bytes(2, "little")
    path.write_bytes(bytes(data))

    result = analyze_file(path)

    assert result["decoder"] == "soundfile"
    assert result["frames"] == 2 * RATE
    assert result["rms_dbfs"] == pytest.approx(-9.03, abs=0.01)
