"""Tests for recorder naming profiles, name templates and sidecar metadata."""

import json
import unicodedata
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import soundfile as sf

from pipeline.errors import ConfigError
from pipeline.profiles import (
    BUILTIN_PROFILES,
    MODES,
    CallMetadata,
    FreePBXProfile,
    TemplateProfile,
    profile_from_config,
    read_metadata,
)
from pipeline.sidecars import MAX_SIDECAR_BYTES, find_sidecar

SEOUL = ZoneInfo("Asia/Seoul")
FREEPBX = BUILTIN_PROFILES["freepbx"]


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


def write_wav(path: Path) -> Path:
    """Write a short 8 kHz sine tone, as a recorder would, and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(800) / 8000)
    noise = 0.001 * rng.standard_normal(800)
    sf.write(path, tone + noise, 8000, subtype="PCM_16")
    return path


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


# --- FreePBX -----------------------------------------------------------------------

FREEPBX_NAMES = [
    pytest.param(
        "in-2101-0200001234-20261203-141501-1764812345.42.wav",
        {"line": "2101", "other_party": "0200001234", "direction": "in"},
        "full",
        id="in",
    ),
    pytest.param(
        "out-2101-0200001234-20261203-141501-1764812345.42.wav",
        {"line": "2101", "other_party": "0200001234", "direction": "out"},
        "full",
        id="out",
    ),
    pytest.param(
        "exten-2101-2102-20261203-141501-1764812345.42.wav",
        {"line": "2101", "other_party": "2102", "direction": "internal"},
        "full",
        id="exten",
    ),
    pytest.param(
        "internal-2101-2102-20261203-141501-1764812345.42.wav",
        {"line": "2101", "other_party": "2102", "direction": "internal"},
        "full",
        id="internal",
    ),
    pytest.param(
        "q-600-0200001234-20261203-141501-1764812345.42.wav",
        {"line": "600", "other_party": "0200001234", "direction": "in"},
        "full",
        id="queue",
    ),
    pytest.param(
        "g-601-0200001234-20261203-141501-1764812345.42.wav",
        {"line": "601", "direction": "in"},
        "full",
        id="group",
    ),
    pytest.param(
        "rg-602-0200001234-20261203-141501-1764812345.42.wav",
        {"line": "602", "direction": "in"},
        "full",
        id="ring-group",
    ),
    pytest.param(
        "force-2101-0200001234-20261203-141501-1764812345.42.wav",
        {"line": "2101", "other_party": "0200001234", "direction": None},
        "full",
        id="force",
    ),
    pytest.param(
        "ondemand-2101-0200001234-20261203-141501-1764812345.42.wav",
        {"line": "2101", "other_party": "0200001234", "direction": None},
        "selective",
        id="ondemand",
    ),
    pytest.param(
        "external-2101-0200001234-20261203-141501-1764812345.42.wav",
        {"line": "2101", "other_party": "0200001234"},
        "full",
        id="external",
    ),
    pytest.param(
        "in--0200001234-20261203-141501-1764812345.42.wav",
        {"line": None, "other_party": "0200001234"},
        "full",
        id="empty-line",
    ),
    pytest.param(
        "in-2101--20261203-141501-1764812345.42.wav",
        {"line": "2101", "other_party": None},
        "full",
        id="empty-number",
    ),
    pytest.param(
        "in---20261203-141501-1764812345.42.wav",
        {"line": None, "other_party": None},
        "full",
        id="both-empty",
    ),
    pytest.param(
        "in-2101-anonymous-20261203-141501-1764812345.42.wav",
        {"line": "2101", "other_party": "anonymous"},
        "full",
        id="anonymous",
    ),
    pytest.param(
        "in-2101-02-0000-1234-20261203-141501-1764812345.42.wav",
        {"line": "2101", "other_party": "02-0000-1234"},
        "full",
        id="hyphenated-number",
    ),
    pytest.param(
        "in-2101-0200001234-20261203-141501-1764812345.42.WAV",
        {"call_id": "1764812345.42"},
        "full",
        id="upper-wav",
    ),
    pytest.param(
        "in-2101-0200001234-20261203-141501-1764812345.gsm",
        {"call_id": "1764812345"},
        "full",
        id="gsm-plain-uniqueid",
    ),
    pytest.param(
        "in-2101-0200001234-20261203-141501-1764812345.42.mp3",
        {"raw_format": None},
        "full",
        id="mp3",
    ),
]


@pytest.mark.parametrize(("name", "expected", "mode"), FREEPBX_NAMES)
def test_freepbx_name_fields(tmp_path, name, expected, mode):
    path = tmp_path / "2026" / "12" / "03" / name
    metadata = FREEPBX.parse(path, tmp_path)

    assert metadata.flags == ()
    assert metadata.profile == "freepbx"
    assert metadata.mode == mode
    assert metadata.start_time == seoul(2026, 12, 3, 14, 15, 1)
    assert metadata.start_time_source == "name"
    for field, value in expected.items():
        assert getattr(metadata, field) == value, field


def test_freepbx_start_time_is_seoul_instant(tmp_path):
    path = tmp_path / "in-2101-0200001234-20261203-001501-1.wav"
    metadata = FREEPBX.parse(path, tmp_path)

    assert metadata.start_time.utcoffset().total_seconds() == 9 * 3600
    assert metadata.start_time.isoformat() == "2026-12-03T00:15:01+09:00"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("20261203-141501.wav", id="no-kind"),
        pytest.param("in-2101-20261203-141501-1.wav", id="one-party"),
        pytest.param("call-2101-0200-20261203-141501-1.wav", id="unknown-kind"),
        pytest.param("in-2101-0200001234-2026120-141501-1.wav", id="short-date"),
        pytest.param("in-2101-0200001234-20261203-141501-1.flac", id="flac"),
        pytest.param("in-2101-0200001234-20261203-141501-1.wav.part", id="partial"),
        pytest.param("in-2101-0200001234-20261203-141501-abc.wav", id="bad-uniqueid"),
        pytest.param(".wav", id="only-suffix"),
    ],
)
def test_freepbx_unparsed_name(tmp_path, name):
    metadata = FREEPBX.parse(tmp_path / name, tmp_path)

    assert metadata.flags == ("name_unparsed",)
    assert metadata.mode == "unknown"
    assert metadata.start_time is None
    assert metadata.start_time_source == "none"
    assert "'freepbx'" in metadata.notes[0]
    assert "YYYYMMDD-HHMMSS" in metadata.notes[0]


@pytest.mark.parametrize(
    "stamp",
    [
        pytest.param("20261399-141501", id="month-13"),
        pytest.param("20260230-141501", id="february-30"),
        pytest.param("20261203-256001", id="hour-25"),
    ],
)
def test_freepbx_invalid_date_flags(tmp_path, stamp):
    path = tmp_path / f"in-2101-0200001234-{stamp}-1764812345.42.wav"
    metadata = FREEPBX.parse(path, tmp_path)

    assert metadata.flags == ("name_unparsed",)
    assert metadata.start_time is None
    assert stamp in metadata.notes[0]
    assert metadata.line == "2101"
    assert metadata.direction == "in"


@pytest.mark.parametrize(
    ("folders", "flags"),
    [
        pytest.param(("2026", "12", "03"), (), id="same-date"),
        pytest.param(("2026", "12", "04"), ("folder_date_mismatch",), id="next-day"),
        pytest.param(("2025", "12", "03"), ("folder_date_mismatch",), id="other-year"),
        pytest.param(("archive",), (), id="no-date-folders"),
        pytest.param((), (), id="root"),
        pytest.param(("2026", "12"), (), id="month-only"),
    ],
)
def test_freepbx_folder_date(tmp_path, folders, flags):
    path = tmp_path.joinpath(*folders, "in-2101-0200001234-20261203-141501-1.wav")
    metadata = FREEPBX.parse(path, tmp_path)

    assert metadata.flags == flags


def test_freepbx_folder_mismatch_note(tmp_path):
    path = tmp_path / "2026/12/04/in-2101-0200001234-20261203-141501-1.wav"
    metadata = FREEPBX.parse(path, tmp_path)

    assert metadata.notes == (
        "folder date 2026/12/04 differs from the date 2026-12-03 in the file name",
    )


def test_freepbx_path_outside_root(tmp_path):
    path = tmp_path / "elsewhere" / "out-2101-0200001234-20261203-141501-1.wav"
    metadata = FREEPBX.parse(path, tmp_path / "spool")

    assert metadata.flags == ()
    assert metadata.direction == "out"


@pytest.mark.parametrize(
    ("suffix", "raw_codec", "expected", "flags"),
    [
        pytest.param("ulaw", "mulaw", "mulaw", (), id="ulaw"),
        pytest.param("alaw", "alaw", "alaw", (), id="alaw"),
        pytest.param("ulaw", None, None, (), id="no-raw-codec"),
        pytest.param("wav", "mulaw", None, (), id="wav-has-header"),
        pytest.param("sln", "pcm_16", "pcm_16", (), id="signed-linear"),
        pytest.param(
            "alaw", "mulaw", "alaw", ("raw_codec_mismatch",), id="suffix-wins"
        ),
    ],
)
def test_freepbx_raw_format(tmp_path, suffix, raw_codec, expected, flags):
    profile = FreePBXProfile("pbx", raw_codec=raw_codec, raw_sample_rate=8000)
    path = tmp_path / f"in-2101-0200001234-20261203-141501-1.{suffix}"
    metadata = profile.parse(path, tmp_path)

    assert metadata.flags == flags
    if expected is None:
        assert metadata.raw_format is None
    else:
        assert metadata.raw_format == {
            "codec": expected,
            "sample_rate": 8000,
            "channels": 1,
        }


def test_freepbx_name_with_spaces_and_quotes(tmp_path):
    root = tmp_path / "spool 'main' \"A\""
    path = root / "2026/12/03/in-2101-0200001234-20261203-141501-1.wav"
    metadata = FREEPBX.parse(path, root)

    assert metadata.flags == ()
    assert metadata.line == "2101"


# --- Template profiles -------------------------------------------------------------

TEMPLATE_CASES = [
    pytest.param(
        {
            "template": "{date:%Y%m%d}_{time:%H%M%S}_{extension}_{number}_{direction}"
            ".{ext}",
            "direction_map": {"I": "in", "O": "out"},
            "mode": "full",
        },
        "20261203_141501_2101_0200001234_I.wav",
        {
            "start_time": seoul(2026, 12, 3, 14, 15, 1),
            "line": "2101",
            "other_party": "0200001234",
            "direction": "in",
            "mode": "full",
        },
        id="underscore-fields",
    ),
    pytest.param(
        {
            "folder": "{extension}/{date:%Y-%m-%d}",
            "template": "{time:%H%M%S}-{number}.{ext}",
        },
        "2101/2026-12-03/141501-0200001234.mp3",
        {
            "start_time": seoul(2026, 12, 3, 14, 15, 1),
            "line": "2101",
            "other_party": "0200001234",
            "direction": None,
            "mode": "unknown",
        },
        id="extension-and-date-folders",
    ),
    pytest.param(
        {
            "template": "녹취_{datetime:%Y-%m-%d %H.%M.%S}_내선{extension}_{direction}"
            "_{number}.{ext}",
            "direction_map": {"수신": "in", "발신": "out", "내선": "internal"},
            "mode": "full",
        },
        "녹취_2026-12-03 14.15.01_내선2101_발신_0200001234.wav",
        {
            "start_time": seoul(2026, 12, 3, 14, 15, 1),
            "line": "2101",
            "other_party": "0200001234",
            "direction": "out",
        },
        id="korean-labels",
    ),
    pytest.param(
        {
            "template": "REC-{call_id}-{*}-{datetime:%Y%m%d%H%M%S}-{mode}.{ext}",
            "mode_map": {"A": "full", "S": "selective"},
        },
        "REC-7f3a9c-station 4-20261203141501-S.wav",
        {
            "start_time": seoul(2026, 12, 3, 14, 15, 1),
            "call_id": "7f3a9c",
            "mode": "selective",
            "line": None,
        },
        id="call-id-and-mode-codes",
    ),
    pytest.param(
        {
            "template": "{line}_{date:%d.%m.%Y}_{time:%I-%M-%S%p}_{ignore}",
            "mode": "selective",
        },
        "2101_03.12.2026_02-15-01PM_x9.wav",
        {
            "start_time": seoul(2026, 12, 3, 14, 15, 1),
            "line": "2101",
            "mode": "selective",
        },
        id="twelve-hour-no-ext-field",
    ),
    pytest.param(
        {"template": "{date:%Y/%m/%d}/{number}-{time:%H%M%S}.wav"},
        "2026/12/03/0200001234-141501.wav",
        {"start_time": seoul(2026, 12, 3, 14, 15, 1), "other_party": "0200001234"},
        id="slashes-in-date-format",
    ),
]


@pytest.mark.parametrize(("table", "relative", "expected"), TEMPLATE_CASES)
def test_template_fields(tmp_path, table, relative, expected):
    profile = profile_from_config("vendor", {"kind": "template", **table})
    metadata = profile.parse(tmp_path / relative, tmp_path)

    assert metadata.flags == ()
    assert metadata.profile == "vendor"
    for field, value in expected.items():
        assert getattr(metadata, field) == value, field


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_template_korean_nfc_and_nfd(tmp_path, form):
    profile = TemplateProfile(
        "vendor",
        "녹취_{date:%Y%m%d}_{time:%H%M%S}_{extension}_{direction}.{ext}",
        direction_map={"수신": "in", "발신": "out"},
    )
    name = unicodedata.normalize(form, "녹취_20261203_141501_2101_수신.wav")
    folder = unicodedata.normalize(form, "민원과")
    metadata = profile.parse(tmp_path / folder / name, tmp_path)

    assert metadata.flags == ()
    assert metadata.direction == "in"
    assert metadata.line == "2101"


def test_template_nfd_template_matches_nfc_name(tmp_path):
    template = unicodedata.normalize("NFD", "녹취_{datetime:%Y%m%d%H%M%S}.{ext}")
    profile = TemplateProfile("vendor", template)
    metadata = profile.parse(tmp_path / "녹취_20261203141501.wav", tmp_path)

    assert metadata.start_time == seoul(2026, 12, 3, 14, 15, 1)


@pytest.mark.parametrize(
    "relative",
    [
        pytest.param("20261203_141501_2101.wav", id="missing-fields"),
        pytest.param("call.wav", id="other-name"),
        pytest.param("2026-12-03/141501-0200001234.mp3", id="missing-folder"),
    ],
)
def test_template_unparsed_name(tmp_path, relative):
    profile = TemplateProfile(
        "vendor",
        "{time:%H%M%S}-{number}.{ext}",
        folder="{extension}/{date:%Y-%m-%d}",
    )
    metadata = profile.parse(tmp_path / relative, tmp_path)

    assert metadata.flags == ("name_unparsed",)
    assert metadata.mode == "unknown"
    assert metadata.start_time is None
    assert "'vendor'" in metadata.notes[0]
    assert (
        "{extension}/{date:%Y-%m-%d}/{time:%H%M%S}-{number}.{ext}"
        in (metadata.notes[0])
    )


def test_template_invalid_date_flags(tmp_path):
    profile = TemplateProfile("vendor", "{date:%Y%m%d}_{time:%H%M%S}.{ext}")
    metadata = profile.parse(tmp_path / "20261399_141501.wav", tmp_path)

    assert metadata.flags == ("name_unparsed",)
    assert metadata.start_time is None
    assert "'20261399'" in metadata.notes[0]


def test_template_date_without_time(tmp_path):
    profile = TemplateProfile("vendor", "{date:%Y%m%d}_{extension}.{ext}")
    metadata = profile.parse(tmp_path / "20261203_2101.wav", tmp_path)

    assert metadata.flags == ()
    assert metadata.start_time is None
    assert metadata.start_time_source == "none"
    assert metadata.line == "2101"


@pytest.mark.parametrize(
    ("code", "direction", "flags"),
    [
        pytest.param("I", "in", (), id="mapped"),
        pytest.param("out", "out", (), id="already-standard"),
        pytest.param("X", None, ("direction_unmapped",), id="unknown-code"),
    ],
)
def test_template_direction_map(tmp_path, code, direction, flags):
    profile = TemplateProfile(
        "vendor", "{extension}_{direction}.{ext}", direction_map={"I": "in"}
    )
    metadata = profile.parse(tmp_path / f"2101_{code}.wav", tmp_path)

    assert metadata.direction == direction
    assert metadata.flags == flags


def test_template_unmapped_mode_flags(tmp_path):
    profile = TemplateProfile(
        "vendor", "{extension}_{mode}.{ext}", mode_map={"A": "full"}
    )
    metadata = profile.parse(tmp_path / "2101_Q.wav", tmp_path)

    assert metadata.mode == "unknown"
    assert metadata.flags == ("mode_unmapped",)
    assert "'Q'" in metadata.notes[0]


def test_template_folder_date_disagrees(tmp_path):
    profile = TemplateProfile(
        "vendor",
        "{date:%Y%m%d}_{time:%H%M%S}.{ext}",
        folder="{date:%Y-%m-%d}",
    )
    metadata = profile.parse(tmp_path / "2026-12-04/20261203_141501.wav", tmp_path)

    assert metadata.flags == ("folder_date_mismatch",)
    assert metadata.start_time == seoul(2026, 12, 3, 14, 15, 1)


def test_template_folder_field_disagrees(tmp_path):
    profile = TemplateProfile(
        "vendor",
        "{extension}_{datetime:%Y%m%d%H%M%S}.{ext}",
        folder="{extension}",
    )
    metadata = profile.parse(tmp_path / "2101/2102_20261203141501.wav", tmp_path)

    assert metadata.flags == ("folder_field_mismatch",)
    assert metadata.line == "2102"


def test_template_checks_date_folders(tmp_path):
    profile = TemplateProfile("vendor", "{datetime:%Y%m%d%H%M%S}_{extension}.{ext}")
    path = tmp_path / "2026/12/05/20261203141501_2101.wav"
    metadata = profile.parse(path, tmp_path)

    assert metadata.flags == ("folder_date_mismatch",)


def test_template_raw_format(tmp_path):
    profile = profile_from_config(
        "vendor",
        {
            "kind": "template",
            "template": "{datetime:%Y%m%d%H%M%S}_{extension}.{ext}",
            "raw_codec": "alaw",
            "raw_sample_rate": 16000,
        },
    )
    metadata = profile.parse(tmp_path / "20261203141501_2101.raw", tmp_path)

    assert metadata.raw_format == {"codec": "alaw", "sample_rate": 16000, "channels": 1}


def test_template_other_timezone(tmp_path):
    profile = profile_from_config(
        "vendor",
        {
            "kind": "template",
            "template": "{datetime:%Y%m%d%H%M%S}.{ext}",
            "timezone": "UTC",
        },
    )
    metadata = profile.parse(tmp_path / "20261203051501.wav", tmp_path)

    assert metadata.start_time == seoul(2026, 12, 3, 14, 15, 1)


# --- Configuration -----------------------------------------------------------------


def test_config_none_returns_builtin():
    assert profile_from_config("freepbx", None) is FREEPBX


def test_config_freepbx_table_options(tmp_path):
    profile = profile_from_config("freepbx", {"raw_codec": "mulaw", "sidecar": False})

    assert isinstance(profile, FreePBXProfile)
    assert profile.sidecar is False
    assert profile.raw_codec == "mulaw"


VALID_TEMPLATE = "{date:%Y%m%d}_{time:%H%M%S}_{extension}.{ext}"

CONFIG_ERRORS = [
    pytest.param("custom", None, r"unknown naming profile 'custom'", id="no-table"),
    pytest.param("custom", ["x"], r"expected a \[profiles.custom\] table", id="list"),
    pytest.param(
        "custom",
        {"template": VALID_TEMPLATE},
        r"profiles.custom.kind = None",
        id="kind",
    ),
    pytest.param(
        "custom",
        {"kind": "vendor", "template": VALID_TEMPLATE},
        r"kind = 'vendor': expected one of freepbx, template",
        id="bad-kind",
    ),
    pytest.param(
        "custom",
        {"kind": "template"},
        r"missing setting profiles.custom.template",
        id="no-template",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": ""},
        r"template = '': expected a non-empty string",
        id="empty-template",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": VALID_TEMPLATE, "templte": "x"},
        r"unknown setting profiles.custom.templte",
        id="typo-key",
    ),
    pytest.param(
        "freepbx",
        {"template": VALID_TEMPLATE},
        r"unknown setting profiles.freepbx.template",
        id="freepbx-template",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": "{date}_{extension}.{ext}"},
        r"\{date\} needs a strftime format",
        id="date-without-format",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": "{date:%Y%m%d%Q}.{ext}"},
        r"directive %Q is not supported",
        id="bad-directive",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": "{caller}_{date:%Y%m%d}.{ext}"},
        r"unknown field \{caller\}",
        id="unknown-field",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": "{extension}{number}.{ext}"},
        r"no literal text between them",
        id="adjacent-fields",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": "{extension:>5}.{ext}"},
        r"takes no format",
        id="format-on-text",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": "{extension!r}.{ext}"},
        r"has a conversion",
        id="conversion",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": "{extension.wav"},
        r"literal brace",
        id="unclosed-brace",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": "recording.wav"},
        r"the template has no fields",
        id="no-fields",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": VALID_TEMPLATE, "direction_map": ["I"]},
        r"direction_map = \['I'\]: expected a table of recorder codes",
        id="map-not-table",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": VALID_TEMPLATE, "direction_map": {"I": "up"}},
        r"direction_map.I = 'up': expected one of in, out, internal",
        id="map-bad-direction",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": VALID_TEMPLATE, "mode": "always"},
        r"mode = 'always': expected one of full, selective, unknown",
        id="bad-mode",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": "{extension}_{mode}.{ext}", "mode": "full"},
        r"set either mode",
        id="mode-and-field",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": VALID_TEMPLATE, "mode_map": {"S": "sel"}},
        r"mode_map.S = 'sel'",
        id="mode-map-bad",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": VALID_TEMPLATE, "sidecar": "yes"},
        r"sidecar = 'yes': expected true or false",
        id="sidecar-not-bool",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": VALID_TEMPLATE, "raw_codec": "gsm"},
        r"raw_codec = 'gsm': expected one of mulaw, alaw, pcm_16",
        id="raw-codec",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": VALID_TEMPLATE, "raw_sample_rate": 0},
        r"raw_sample_rate = 0: expected a whole number greater than 0",
        id="sample-rate-zero",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": VALID_TEMPLATE, "raw_sample_rate": True},
        r"raw_sample_rate = True",
        id="sample-rate-bool",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": VALID_TEMPLATE, "raw_channels": 1.5},
        r"raw_channels = 1.5",
        id="channels-float",
    ),
    pytest.param(
        "custom",
        {"kind": "template", "template": VALID_TEMPLATE, "timezone": "Seoul"},
        r"timezone = 'Seoul': expected an IANA time zone name",
        id="timezone",
    ),
]


@pytest.mark.parametrize(("name", "table", "message"), CONFIG_ERRORS)
def test_config_invalid_table(name, table, message):
    with pytest.raises(ConfigError, match=message):
        profile_from_config(name, table)


# --- Sidecars ----------------------------------------------------------------------

FREEPBX_NAME = "2026/12/03/in-2101-0200001234-20261203-141501-1764812345.42.wav"
BARE_NAME = "2026/12/03/call-0001.wav"  # a name the freepbx profile cannot parse


def test_no_sidecar_keeps_name_fields(tmp_path):
    audio = write_wav(tmp_path / FREEPBX_NAME)
    metadata = read_metadata(audio, tmp_path, FREEPBX)

    assert metadata == FREEPBX.parse(audio, tmp_path)


def test_json_sidecar_fills_missing(tmp_path):
    audio = write_wav(tmp_path / BARE_NAME)
    sidecar = {
        "extension": "2101",
        "number": "0200001234",
        "direction": "out",
        "mode": "selective",
        "call_id": "abc-1",
        "start_time": "2026-12-03T14:15:01+09:00",
        "department": "민원봉사과",
        "recorder_channel": 7,
    }
    write_text(audio.with_suffix(".json"), json.dumps(sidecar, ensure_ascii=False))
    metadata = read_metadata(audio, tmp_path, FREEPBX)

    assert metadata.flags == ("name_unparsed",)
    assert metadata.line == "2101"
    assert metadata.other_party == "0200001234"
    assert metadata.direction == "out"
    assert metadata.mode == "selective"
    assert metadata.call_id == "abc-1"
    assert metadata.department == "민원봉사과"
    assert metadata.start_time == seoul(2026, 12, 3, 14, 15, 1)
    assert metadata.start_time_source == "sidecar"


def test_xml_sidecar_fills_missing(tmp_path):
    audio = write_wav(tmp_path / BARE_NAME)
    write_text(
        audio.with_suffix(".xml"),
        "<?xml version='1.0' encoding='utf-8'?>\n<call>\n"
        "  <line>2101</line>\n  <other_party>0200001234</other_party>\n"
        "  <direction>in</direction>\n  <start_time>2026-12-03 14:15:01</start_time>\n"
        "  <department>정보통신과</department>\n</call>\n",
    )
    metadata = read_metadata(audio, tmp_path, FREEPBX)

    assert metadata.line == "2101"
    assert metadata.other_party == "0200001234"
    assert metadata.direction == "in"
    assert metadata.department == "정보통신과"
    assert metadata.start_time == seoul(2026, 12, 3, 14, 15, 1)
    assert "sidecar_invalid" not in metadata.flags


@pytest.mark.parametrize(
    ("suffix", "text", "encoding"),
    [
        pytest.param(
            ".xml",
            '<?xml version="1.0" encoding="euc-kr"?><call>'
            "<department>민원과</department></call>",
            "euc-kr",
            id="xml-euc-kr",
        ),
        pytest.param(
            ".xml",
            "<call><department>민원과</department></call>",
            "cp949",
            id="xml-cp949-undeclared",
        ),
        pytest.param(".json", '{"department": "민원과"}', "cp949", id="json-cp949"),
        pytest.param(".json", '{"department": "민원과"}', "utf-8-sig", id="json-bom"),
    ],
)
def test_sidecar_korean_encodings(tmp_path, suffix, text, encoding):
    audio = write_wav(tmp_path / FREEPBX_NAME)
    write_text(audio.with_suffix(suffix), text, encoding)
    metadata = read_metadata(audio, tmp_path, FREEPBX)

    assert metadata.flags == ()
    assert metadata.department == "민원과"


@pytest.mark.parametrize(
    ("sidecar", "field"),
    [
        pytest.param({"line": "2102"}, "line", id="line"),
        pytest.param({"number": "0200009999"}, "other_party", id="number"),
        pytest.param({"direction": "out"}, "direction", id="direction"),
        pytest.param({"mode": "selective"}, "mode", id="mode"),
        pytest.param({"call_id": "1764812345.43"}, "call_id", id="call-id"),
        pytest.param(
            {"start_time": "2026-12-03T14:20:01+09:00"}, "start_time", id="start-time"
        ),
    ],
)
def test_sidecar_mismatch_keeps_name_value(tmp_path, sidecar, field):
    audio = write_wav(tmp_path / FREEPBX_NAME)
    write_text(audio.with_suffix(".json"), json.dumps(sidecar))
    from_name = FREEPBX.parse(audio, tmp_path)
    metadata = read_metadata(audio, tmp_path, FREEPBX)

    assert metadata.flags == ("sidecar_mismatch",)
    assert getattr(metadata, field) == getattr(from_name, field)
    assert metadata.notes[0].startswith(f"{field} is ")
    assert audio.with_suffix(".json").name in metadata.notes[0]


def test_sidecar_mismatch_note_has_both_values(tmp_path):
    audio = write_wav(tmp_path / FREEPBX_NAME)
    write_text(audio.with_suffix(".json"), json.dumps({"line": "2102"}))
    metadata = read_metadata(audio, tmp_path, FREEPBX)

    assert "'2101' in the name but '2102' in sidecar" in metadata.notes[0]


@pytest.mark.parametrize(
    "sidecar",
    [
        pytest.param({"line": "2101", "direction": "in"}, id="same-values"),
        pytest.param({"number": "02-0000-1234"}, id="hyphenated-number"),
        pytest.param({"line": 2101}, id="integer-line"),
        pytest.param({"start_time": "2026-12-03T05:15:01Z"}, id="same-instant-utc"),
        pytest.param({"start_time": "2026-12-03T14:15:01.600+09:00"}, id="subsecond"),
        pytest.param({"department": ""}, id="empty-value"),
        pytest.param({"line": None}, id="null-value"),
    ],
)
def test_sidecar_agreeing_values_not_flagged(tmp_path, sidecar):
    audio = write_wav(tmp_path / FREEPBX_NAME)
    write_text(audio.with_suffix(".json"), json.dumps(sidecar))
    metadata = read_metadata(audio, tmp_path, FREEPBX)

    assert metadata.flags == ()
    assert metadata.notes == ()


@pytest.mark.parametrize(
    ("suffix", "text", "note"),
    [
        pytest.param(".json", '{"line": "2101"', "not valid JSON", id="json-truncated"),
        pytest.param(".json", "", "not valid JSON", id="json-empty"),
        pytest.param(".json", '["2101"]', "found list", id="json-array"),
        pytest.param(".xml", "<call><line>2101</call>", "not valid XML", id="xml-bad"),
        pytest.param(".xml", "", "not valid XML", id="xml-empty"),
        pytest.param(
            ".xml",
            '<?xml version="1.0" encoding="no-such-codec"?><call/>',
            "not valid XML",
            id="xml-unknown-encoding",
        ),
        pytest.param(
            ".xml",
            '<!DOCTYPE call [<!ENTITY secret SYSTEM "file:///etc/hostname">]>'
            "<call><department>&secret;</department></call>",
            "not valid XML",
            id="xml-external-entity",
        ),
    ],
)
def test_sidecar_invalid_flags(tmp_path, suffix, text, note):
    audio = write_wav(tmp_path / FREEPBX_NAME)
    write_text(audio.with_suffix(suffix), text)
    metadata = read_metadata(audio, tmp_path, FREEPBX)

    assert metadata.flags == ("sidecar_invalid",)
    assert note in metadata.notes[0]
    assert metadata.line == "2101"
    assert metadata.department is None


@pytest.mark.parametrize(
    ("sidecar", "note"),
    [
        pytest.param({"line": ["2101"]}, "line is ['2101']", id="list-value"),
        pytest.param({"line": True}, "line is True", id="bool-value"),
        pytest.param(
            {"start_time": "yesterday"}, "'yesterday' is not an ISO 8601", id="time"
        ),
        pytest.param({"direction": "sideways"}, "'sideways' is not one of", id="dir"),
        pytest.param({"mode": "partial"}, "'partial' is not one of", id="mode"),
    ],
)
def test_sidecar_invalid_field_skipped(tmp_path, sidecar, note):
    audio = write_wav(tmp_path / BARE_NAME)
    write_text(
        audio.with_suffix(".json"), json.dumps({**sidecar, "department": "총무과"})
    )
    metadata = read_metadata(audio, tmp_path, FREEPBX)

    assert metadata.flags == ("name_unparsed", "sidecar_invalid")
    assert note in metadata.notes[1]
    assert metadata.department == "총무과"


def test_sidecar_codes_use_profile_maps(tmp_path):
    profile = TemplateProfile(
        "vendor",
        "{datetime:%Y%m%d%H%M%S}.{ext}",
        direction_map={"수신": "in"},
        mode_map={"S": "selective"},
    )
    audio = write_wav(tmp_path / "20261203141501.wav")
    sidecar = {"direction": "수신", "mode": "S"}
    write_text(audio.with_suffix(".json"), json.dumps(sidecar, ensure_ascii=False))
    metadata = read_metadata(audio, tmp_path, profile)

    assert metadata.direction == "in"
    assert metadata.mode == "selective"
    assert metadata.flags == ()


def test_sidecar_too_large_flags(tmp_path):
    audio = write_wav(tmp_path / FREEPBX_NAME)
    padding = " " * MAX_SIDECAR_BYTES
    write_text(audio.with_suffix(".json"), '{"line": "2101"}' + padding)
    metadata = read_metadata(audio, tmp_path, FREEPBX)

    assert metadata.flags == ("sidecar_invalid",)
    assert "maximum" in metadata.notes[0]


def test_sidecar_disabled_is_ignored(tmp_path):
    profile = FreePBXProfile("pbx", sidecar=False)
    audio = write_wav(tmp_path / FREEPBX_NAME)
    write_text(audio.with_suffix(".json"), json.dumps({"line": "2102"}))
    metadata = read_metadata(audio, tmp_path, profile)

    assert metadata.flags == ()
    assert metadata.line == "2101"


def test_sidecar_json_preferred_over_xml(tmp_path):
    audio = write_wav(tmp_path / FREEPBX_NAME)
    write_text(audio.with_suffix(".json"), json.dumps({"department": "A과"}))
    write_text(audio.with_suffix(".xml"), "<call><department>B과</department></call>")

    assert find_sidecar(audio) == audio.with_suffix(".json")
    assert read_metadata(audio, tmp_path, FREEPBX).department == "A과"


def test_sidecar_upper_case_suffix(tmp_path):
    audio = write_wav(tmp_path / FREEPBX_NAME)
    write_text(audio.with_suffix(".XML"), "<call><department>A과</department></call>")

    assert read_metadata(audio, tmp_path, FREEPBX).department == "A과"


def test_sidecar_beside_path_with_quotes(tmp_path):
    root = tmp_path / 'it\'s "spool" dir'
    audio = write_wav(root / FREEPBX_NAME)
    write_text(audio.with_suffix(".json"), json.dumps({"department": "총무과"}))
    metadata = read_metadata(audio, root, FREEPBX)

    assert metadata.department == "총무과"
    assert metadata.flags == ()


def test_sidecar_for_nfd_korean_name(tmp_path):
    profile = TemplateProfile(
        "vendor", "녹취_{datetime:%Y%m%d%H%M%S}_{extension}.{ext}"
    )
    name = unicodedata.normalize("NFD", "녹취_20261203141501_2101.wav")
    audio = write_wav(tmp_path / name)
    write_text(audio.with_suffix(".json"), json.dumps({"line": "2101"}))
    metadata = read_metadata(audio, tmp_path, profile)

    assert metadata.flags == ()
    assert metadata.line == "2101"


# --- CallMetadata ------------------------------------------------------------------


def test_to_dict_is_json_ready(tmp_path):
    profile = FreePBXProfile("pbx", raw_codec="mulaw")
    path = tmp_path / "2026/12/04/in-2101-0200001234-20261203-141501-1.ulaw"
    data = profile.parse(path, tmp_path).to_dict()

    assert json.loads(json.dumps(data)) == data
    assert data["start_time"] == "2026-12-03T14:15:01+09:00"
    assert data["flags"] == ["folder_date_mismatch"]
    assert data["raw_format"] == {"codec": "mulaw", "sample_rate": 8000, "channels": 1}


def test_to_dict_without_start_time():
    data = CallMetadata(profile="freepbx").to_dict()

    assert data["start_time"] is None
    assert data["mode"] in MODES
    assert data["flags"] == []


def test_sidecar_read_error_flags(tmp_path, monkeypatch):
    audio = write_wav(tmp_path / FREEPBX_NAME)
    sidecar = write_text(audio.with_suffix(".json"), json.dumps({"line": "2101"}))

    def read_bytes_fails(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", read_bytes_fails)
    metadata = read_metadata(audio, tmp_path, FREEPBX)

    assert metadata.flags == ("sidecar_invalid",)
    assert metadata.notes == (
        f"sidecar {sidecar.name} could not be read: Permission denied",
    )
    assert metadata.line == "2101"


def test_parse_root_itself_unparsed(tmp_path):
    template = TemplateProfile("vendor", "{datetime:%Y%m%d%H%M%S}.{ext}")

    assert FREEPBX.parse(tmp_path, tmp_path).flags == ("name_unparsed",)
    assert template.parse(tmp_path, tmp_path).flags == ("name_unparsed",)
