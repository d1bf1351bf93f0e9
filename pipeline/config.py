"""Settings: one table declares every setting, loading reads TOML and validates it.

A deployment describes itself in one TOML file, given with ``--config`` or the
``RECWATCH_CONFIG`` environment variable. With neither, recwatch runs on the embedded
default: a demo recorder spool and catalog under the repository's ``data/`` folder.

Every setting is declared once in :data:`SETTINGS` with its default, unit and help.
:func:`load_config` rejects unknown keys and invalid values before any work starts,
with a message that names the key, the value found and what is expected.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.errors import ConfigError

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
EMBEDDED_DATA_DIR = PROJECT_DIR / "data"
CONFIG_ENV_VAR = "RECWATCH_CONFIG"
DEMO_NOTICE_CLIP = Path(
    "/usr/share/asterisk/sounds/en_US_f_Allison/conf-now-recording.wav"
)


# TOML's names for the types of the defaults, which users write in the file.
_TYPE_NAMES = {
    int: "a whole number",
    float: "a number",
    str: "text in quotes",
    bool: "true or false",
    list: "a list in brackets",
}


# Units that read well after a number in a message, and those that do not.
_UNIT_WORDS = {"s": "seconds"}
_UNITLESS = {"", "0-3", "ratio", "score"}


@dataclass(frozen=True)
class Setting:
    """One configuration key: its TOML name, default, unit and check."""

    key: str
    default: Any
    help: str
    unit: str = ""
    check: Callable[[Any], str | None] | None = None

    def validate(self, value: Any) -> Any:
        expected_type = type(self.default)
        if (
            expected_type is float
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            value = float(value)
        if not isinstance(value, expected_type) or (
            expected_type is int and isinstance(value, bool)
        ):
            kind = _TYPE_NAMES.get(expected_type, expected_type.__name__)
            raise ConfigError(
                f"invalid setting {self.key} = {value!r}: expected {kind}"
                f"{' of' if self._in_unit() else ''}{self._in_unit()} ({self.help})"
            )
        if self.check is not None:
            problem = self.check(value)
            if problem:
                raise ConfigError(
                    f"invalid setting {self.key} = {value!r}: expected {problem}"
                    f"{self._in_unit()}"
                )
        return value

    def _in_unit(self) -> str:
        """Return the unit to name after an expected value, with a leading space."""
        if self.unit in _UNITLESS:
            return ""
        return " " + _UNIT_WORDS.get(self.unit, self.unit)


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"a value from {low} to {high}"

    return check


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in choices else "one of " + ", ".join(choices)

    return check


def _timezone(value: Any) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return "an IANA time zone name such as Asia/Seoul"
    return None


def _patterns(value: Any) -> str | None:
    if all(isinstance(item, str) and item for item in value):
        return None
    return "a list of non-empty glob patterns such as '*.part'"


def _clock_time(value: Any) -> str | None:
    parts = value.split(":")
    if (
        len(parts) == 2
        and all(part.isdigit() for part in parts)
        and int(parts[0]) < 24
        and int(parts[1]) < 60
    ):
        return None
    return "a local time of day as HH:MM, such as 02:30"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir",
        "",
        "folder for the catalog, snapshots and keys; "
        "relative paths are relative to the config file",
    ),
    Setting("catalog_path", "", "DuckDB catalog file; default DATA_DIR/catalog.duckdb"),
    Setting(
        "catalog_memory_mb",
        512,
        "memory DuckDB may use for the catalog before it spills to disk",
        unit="MB",
        check=_between(512, 65536),
    ),
    Setting(
        "timezone",
        "Asia/Seoul",
        "time zone of recorder file names and of the UI",
        check=_timezone,
    ),
    Setting(
        "retention.days",
        30,
        "days a recording is kept after its start time",
        unit="days",
        check=_between(1, 3650),
    ),
    Setting(
        "retention.due_soon_days",
        3,
        "days before expiry when a recording counts as due",
        unit="days",
        check=_between(0, 30),
    ),
    Setting(
        "retention.purge_time",
        "02:30",
        "local time of the daily purge",
        check=_clock_time,
    ),
    Setting(
        "ingest.stable_s",
        2.0,
        "time a file's size and mtime must stay unchanged "
        "before it is taken, when no close-after-write event was seen",
        unit="s",
        check=_between(0.1, 3600),
    ),
    Setting(
        "ingest.incomplete_grace_s",
        30.0,
        "extra time to wait for a WAV whose "
        "header promises more data than the file holds",
        unit="s",
        check=_between(0, 86400),
    ),
    Setting(
        "ingest.reconcile_interval_s",
        300.0,
        "period of the full directory scan that catches files whose events were lost",
        unit="s",
        check=_between(5, 86400),
    ),
    Setting(
        "ingest.poll_interval_s",
        0.25,
        "how often pending files are checked",
        unit="s",
        check=_between(0.01, 10),
    ),
    Setting(
        "ingest.workers",
        2,
        "analysis worker processes",
        unit="processes",
        check=_between(1, 64),
    ),
    Setting(
        "ingest.ignore_patterns",
        [
            ".*",
            "*.part",
            "*.tmp",
            "*.crdownload",
            "*.json",
            "*.xml",
            "*.csv",
            "*.txt",
            "*.md",
        ],
        "file name patterns never cataloged as recordings (partial files, "
        "sidecars, notes)",
        check=_patterns,
    ),
    Setting(
        "audio.silence_threshold_dbfs",
        -45.0,
        "a frame whose DC-removed RMS is below this level is silent",
        unit="dBFS",
        check=_between(-120, 0),
    ),
    Setting(
        "audio.frame_ms",
        20,
        "frame length for silence and level statistics",
        unit="ms",
        check=_between(5, 200),
    ),
    Setting(
        "audio.notice_clip",
        "",
        "WAV file of the announcement that tells callers the call is recorded; "
        "empty turns notice detection off",
    ),
    Setting(
        "audio.notice_window_s",
        15.0,
        "the announcement must start within this many seconds of the call's start",
        unit="s",
        check=_between(1, 600),
    ),
    Setting(
        "audio.notice_threshold",
        0.65,
        "minimum match score for a found announcement",
        unit="score",
        check=_between(-1, 1),
    ),
    Setting(
        "audio.min_duration_s",
        2.0,
        "shorter calls get the verdict too_short",
        unit="s",
        check=_between(0, 3600),
    ),
    Setting(
        "audio.max_clipped_ratio",
        0.001,
        "a larger share of samples at full scale gives the verdict clipped",
        unit="ratio",
        check=_between(0, 1),
    ),
    Setting(
        "audio.min_snr_db",
        10.0,
        "a lower speech-to-noise ratio gives the verdict noisy",
        unit="dB",
        check=_between(-20, 100),
    ),
    Setting(
        "audio.one_way_talk_ratio",
        0.05,
        "a stereo channel with a smaller share of the talk time gives the "
        "verdict one_way",
        unit="ratio",
        check=_between(0, 0.49),
    ),
    Setting(
        "audio.vad_aggressiveness",
        3,
        "webrtcvad mode; higher keeps fewer frames as speech",
        unit="0-3",
        check=_between(0, 3),
    ),
    Setting(
        "snapshots.interval_s",
        3600.0,
        "period of the read-only catalog snapshot that auditors' notebooks open",
        unit="s",
        check=_between(60, 86400),
    ),
    Setting(
        "snapshots.keep",
        48,
        "snapshots kept; older ones are deleted",
        unit="snapshots",
        check=_between(1, 10000),
    ),
    Setting("demo.enabled", False, "generate a demo recorder spool on first start"),
    Setting(
        "demo.days",
        40,
        "days of demo calls generated on first start",
        unit="days",
        check=_between(1, 365),
    ),
    Setting(
        "demo.live_interval_s",
        10.0,
        "period of the new demo call written into "
        "the spool to show live ingest; 0 turns it off",
        unit="s",
        check=_between(0, 3600),
    ),
    Setting(
        "security.users_file",
        "",
        "users and their password hashes (JSON); default DATA_DIR/users.json",
    ),
    Setting(
        "security.access_log_head_file",
        "",
        "file that the access log's chain head is appended to; default "
        "DATA_DIR/access-log-heads.txt, better on another disk than the catalog",
    ),
    Setting(
        "security.session_idle_minutes",
        30,
        "minutes without a request after which a dashboard login ends",
        unit="minutes",
        check=_between(1, 1440),
    ),
    Setting(
        "security.copy_keep_minutes",
        60,
        "minutes a protected copy waits on the server for its download",
        unit="minutes",
        check=_between(1, 10080),
    ),
    Setting(
        "security.max_privileged_users",
        5,
        "largest number of users holding a role that can see or hand over recordings",
        unit="users",
        check=_between(1, 1000),
    ),
    Setting(
        "dashboard.language", "ko", "default UI language", check=_one_of("ko", "en")
    ),
    Setting(
        "dashboard.refresh_ms",
        2000,
        "how often open pages look for new data",
        unit="ms",
        check=_between(250, 600000),
    ),
    Setting(
        "dashboard.page_size",
        50,
        "rows per page in recording tables",
        unit="rows",
        check=_between(10, 1000),
    ),
)

SETTINGS_BY_KEY = {setting.key: setting for setting in SETTINGS}


@dataclass(frozen=True)
class RecorderRoot:
    """A recorder's spool folder and the naming profile of its files."""

    root: Path
    profile: str = "freepbx"


@dataclass(frozen=True)
class Config:
    """Validated settings; look values up with ``config["ingest.stable_s"]``."""

    values: Mapping[str, Any]
    recorders: tuple[RecorderRoot, ...]
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: Path | None = None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def data_dir(self) -> Path:
        return Path(self.values["data_dir"])

    @property
    def catalog_path(self) -> Path:
        return Path(self.values["catalog_path"])

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.values["timezone"])

    @property
    def is_embedded_default(self) -> bool:
        return self.source is None


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and key not in SETTINGS_BY_KEY:
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def _resolve(path_text: str, base: Path) -> Path:
    path = Path(path_text).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _parse_recorders(raw: Any, base: Path, profiles: Mapping[str, Any]) -> tuple:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            f"invalid setting recorders = {raw!r}: expected at least one "
            '[[recorders]] table with root = "/path/to/spool"'
        )
    known_profiles = {"freepbx", *profiles}
    recorders = []
    for index, table in enumerate(raw):
        where = f"recorders[{index}]"
        if not isinstance(table, dict) or not isinstance(table.get("root"), str):
            raise ConfigError(
                f"invalid setting {where} = {table!r}: expected a table with "
                'root = "/path/to/spool"'
            )
        unknown = set(table) - {"root", "profile"}
        if unknown:
            raise ConfigError(
                f"unknown setting {where}.{sorted(unknown)[0]}: expected only "
                "root and profile"
            )
        profile = table.get("profile", "freepbx")
        if profile not in known_profiles:
            raise ConfigError(
                f"invalid setting {where}.profile = {profile!r}: expected one of "
                f"{', '.join(sorted(known_profiles))}; define others under "
                "[profiles.NAME]"
            )
        recorders.append(RecorderRoot(_resolve(table["root"], base), profile))
    return tuple(recorders)


def _check_profiles(profiles: Mapping[str, Any], timezone: str) -> None:
    # Built here, at start, so that a bad template stops startup instead of
    # failing in every analysis worker.
    from pipeline.profiles import profile_from_config

    for name, table in profiles.items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"invalid setting profiles.{name} = {table!r}: expected a table"
            )
        profile_from_config(name, {"timezone": timezone, **table})


def _check_notice_clip(path: str) -> None:
    # Read once at start, so that a missing or unreadable clip stops startup
    # instead of failing in every analysis worker.
    from pipeline.notice import reference_features

    if not Path(path).is_file():
        raise ConfigError(
            f"invalid setting audio.notice_clip = {path!r}: expected an existing "
            "WAV file of the recording announcement"
        )
    reference_features(path, 8000)


def build_config(
    table: Mapping[str, Any], *, base: Path, source: Path | None = None
) -> Config:
    """Validate a parsed TOML table and fill in defaults.

    Raises :class:`ConfigError` naming the first unknown key or invalid value.
    """
    table = dict(table)
    recorders_raw = table.pop("recorders", None)
    profiles = table.pop("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(
            f"invalid setting profiles = {profiles!r}: expected [profiles.NAME] tables"
        )

    values = {setting.key: setting.default for setting in SETTINGS}
    for key, value in _flatten(table).items():
        setting = SETTINGS_BY_KEY.get(key)
        if setting is None:
            raise ConfigError(
                f"unknown setting {key} in {source or 'the configuration'}: check the "
                "spelling; the README lists every setting"
            )
        values[key] = setting.validate(value)

    data_dir = _resolve(values["data_dir"] or "data", base)
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(
            f"invalid setting data_dir = {values['data_dir']!r}: {data_dir} is a "
            "file. Expected a folder, or a path where one can be created"
        )
    values["data_dir"] = str(data_dir)
    catalog = values["catalog_path"]
    values["catalog_path"] = str(
        _resolve(catalog, base) if catalog else data_dir / "catalog.duckdb"
    )
    for key, file_name in (
        ("security.users_file", "users.json"),
        ("security.access_log_head_file", "access-log-heads.txt"),
    ):
        values[key] = str(
            _resolve(values[key], base) if values[key] else data_dir / file_name
        )
    if values["audio.notice_clip"]:
        values["audio.notice_clip"] = str(_resolve(values["audio.notice_clip"], base))
        _check_notice_clip(values["audio.notice_clip"])
    if recorders_raw is None and source is None:
        recorders_raw = [{"root": str(data_dir / "spool")}]
    recorders = _parse_recorders(recorders_raw, base, profiles)
    _check_profiles(profiles, values["timezone"])
    return Config(values=values, recorders=recorders, profiles=profiles, source=source)


def embedded_default() -> Config:
    """Return the embedded default: demo spool and catalog under ``data/``."""
    table: dict[str, Any] = {"demo": {"enabled": True}}
    # The demo's full-mode calls open with this announcement from the Asterisk
    # prompts package, so the demo can show calls that lack it.
    if DEMO_NOTICE_CLIP.is_file():
        table["audio"] = {"notice_clip": str(DEMO_NOTICE_CLIP)}
    return build_config(table, base=PROJECT_DIR, source=None)


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load the configuration from ``path``, ``$RECWATCH_CONFIG`` or the default.

    A path given both as an argument and in the environment must agree, so that a
    forgotten environment variable never silently overrides a command line.
    """
    env_value = os.environ.get(CONFIG_ENV_VAR) or None
    if path and env_value and Path(path).resolve() != Path(env_value).resolve():
        raise ConfigError(
            f"conflicting configuration: --config {path} and {CONFIG_ENV_VAR}="
            f"{env_value}; give only one"
        )
    chosen = path or env_value
    if not chosen:
        return embedded_default()

    config_path = Path(chosen).expanduser().resolve()
    try:
        with config_path.open("rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"configuration file not found: {config_path}; check --config or "
            f"{CONFIG_ENV_VAR}"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"invalid TOML in {config_path}: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"invalid TOML in {config_path}: byte {error.object[error.start]:#04x} at "
            f"offset {error.start} is not UTF-8. Save the file as UTF-8 text"
        ) from None
    except OSError as error:
        raise ConfigError(
            f"configuration file {config_path} could not be read: {error.strerror}. "
            f"Pass a readable TOML file with --config or {CONFIG_ENV_VAR}"
        ) from None
    config = build_config(table, base=config_path.parent, source=config_path)
    logger.info("loaded configuration from %s", config_path)
    return config
