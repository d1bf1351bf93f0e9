"""Recorder naming profiles: turn a recording's path into call metadata.

A recorder encodes the call's start time, line, other party and direction in the file
name and sometimes in the folders above it. A naming profile parses that path, and
:func:`read_metadata` then merges the optional sidecar file (``.json`` or ``.xml`` with
the same stem) that some recorders write beside the audio.

A name or sidecar that does not fit never raises. The result carries flags and notes
that the catalog stores, so that one odd file cannot stop ingest. Only an invalid
profile definition raises, as :class:`~pipeline.errors.ConfigError`, at startup.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path, PurePath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.errors import ConfigError, ProfileError
from pipeline.name_templates import TEXT_FIELDS, TIME_FIELDS, compile_name_template
from pipeline.sidecars import find_sidecar, read_sidecar

logger = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Seoul"
DIRECTIONS = ("in", "out", "internal")
MODES = ("full", "selective", "unknown")
# Codecs of headerless files, as pipeline.audio.RawFormat names them.
RAW_CODECS = ("mulaw", "alaw", "pcm_16")
# A sidecar written by the recorder's database can carry sub-second start times, while
# names carry whole seconds. Instants closer than this count as the same.
START_TIME_TOLERANCE = timedelta(seconds=1)

FLAG_NAME_UNPARSED = "name_unparsed"
FLAG_FOLDER_DATE_MISMATCH = "folder_date_mismatch"
FLAG_FOLDER_FIELD_MISMATCH = "folder_field_mismatch"
FLAG_DIRECTION_UNMAPPED = "direction_unmapped"
FLAG_MODE_UNMAPPED = "mode_unmapped"
FLAG_RAW_CODEC_MISMATCH = "raw_codec_mismatch"
FLAG_SIDECAR_MISMATCH = "sidecar_mismatch"
FLAG_SIDECAR_INVALID = "sidecar_invalid"

# Suffixes of headerless audio, with the G.711 law that the suffix itself names.
# None means that only the profile's raw_codec names the law of the file.
RAW_SUFFIX_CODECS: dict[str, str | None] = {
    "ulaw": "mulaw",
    "ul": "mulaw",
    "mulaw": "mulaw",
    "pcmu": "mulaw",
    "alaw": "alaw",
    "al": "alaw",
    "pcma": "alaw",
    "g711": None,
    "raw": None,
    "pcm": None,
    "sln": "pcm_16",  # Asterisk's signed linear: 16-bit PCM, 8 kHz unless sln16
}


@dataclass(frozen=True)
class CallMetadata:
    """Call metadata read from a recording's path and sidecar."""

    profile: str
    start_time: datetime | None = None
    start_time_source: str = "none"
    line: str | None = None
    other_party: str | None = None
    direction: str | None = None
    mode: str = "unknown"
    call_id: str | None = None
    department: str | None = None
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    raw_format: dict | None = None

    def to_dict(self) -> dict:
        """Return the fields as JSON-friendly values (ISO 8601 time, lists)."""
        data = dataclasses.asdict(self)
        data["start_time"] = self.start_time.isoformat() if self.start_time else None
        data["flags"] = list(self.flags)
        data["notes"] = list(self.notes)
        return data


class _Draft:
    """Mutable field values and flags while a path is being parsed."""

    def __init__(self, profile: str):
        self.profile = profile
        self.fields: dict[str, Any] = {}
        self.flags: list[str] = []
        self.notes: list[str] = []

    def flag(self, flag: str, note: str) -> None:
        if flag not in self.flags:
            self.flags.append(flag)
        self.notes.append(note)

    def build(self) -> CallMetadata:
        fields = dict(self.fields)
        if fields.get("start_time") is not None:
            fields.setdefault("start_time_source", "name")
        return CallMetadata(
            profile=self.profile,
            flags=tuple(self.flags),
            notes=tuple(self.notes),
            **fields,
        )


class NamingProfile(ABC):
    """Base class of the naming profiles; subclasses implement :meth:`parse`.

    ``timezone`` is the zone of the recorder's local times in names. ``raw_codec``,
    when set, declares that files with a headerless suffix such as ``.ulaw`` or
    ``.raw`` contain audio in that codec at ``raw_sample_rate`` Hz with
    ``raw_channels`` channels. ``raw_format`` then has the fields of
    :class:`pipeline.audio.RawFormat`.
    """

    def __init__(
        self,
        name: str,
        *,
        sidecar: bool = True,
        raw_codec: str | None = None,
        raw_sample_rate: int = 8000,
        raw_channels: int = 1,
        timezone: str = DEFAULT_TIMEZONE,
    ):
        self.name = name
        self.sidecar = sidecar
        self.raw_codec = raw_codec
        self.raw_sample_rate = raw_sample_rate
        self.raw_channels = raw_channels
        self.timezone = ZoneInfo(timezone)
        # Recorder codes for direction and mode, such as {"I": "in"}.
        self.direction_map: dict[str, str] = {}
        self.mode_map: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @abstractmethod
    def parse(self, path: Path, root: Path) -> CallMetadata:
        """Parse ``path``, a file below ``root``, into call metadata.

        A name that does not fit the profile gives flags and notes, never an error.
        """

    def _set_raw_format(self, draft: _Draft, suffix: str) -> None:
        """Set ``raw_format`` for a headerless suffix when the profile sets a codec."""
        suffix = suffix.lower().lstrip(".")
        if self.raw_codec is None or suffix not in RAW_SUFFIX_CODECS:
            return
        codec = self.raw_codec
        suffix_codec = RAW_SUFFIX_CODECS[suffix]
        if suffix_codec is not None and suffix_codec != codec:
            # The suffix is written by the recorder for each file, so it is the more
            # specific statement of the law than one profile-wide setting.
            draft.flag(
                FLAG_RAW_CODEC_MISMATCH,
                f"file suffix .{suffix} means {suffix_codec}, but profile "
                f"{self.name!r} declares raw_codec {codec!r}; decoding as "
                f"{suffix_codec}",
            )
            codec = suffix_codec
        draft.fields["raw_format"] = {
            "codec": codec,
            "sample_rate": self.raw_sample_rate,
            "channels": self.raw_channels,
        }

    def _localize(self, naive: datetime) -> datetime:
        return naive.replace(tzinfo=self.timezone)


def _relative_parts(path: Path, root: Path) -> tuple[str, ...]:
    """Return the path's parts below ``root`` in Unicode NFC."""
    try:
        relative = PurePath(path).relative_to(root)
    except ValueError:
        # A path outside the root still has a name to parse. The folder checks then
        # see the last folders of the absolute path.
        relative = PurePath(path)
    # The root itself has no parts, and an empty name matches no profile.
    parts = relative.parts or ("",)
    return tuple(unicodedata.normalize("NFC", part) for part in parts)


_FOLDER_DATE_PARTS = (re.compile(r"\d{4}"), re.compile(r"\d{2}"), re.compile(r"\d{2}"))


def _check_folder_date(
    draft: _Draft, folders: tuple[str, ...], name_date: date
) -> None:
    """Flag a ``YYYY/MM/DD`` folder layout whose date differs from the name's date."""
    if len(folders) < 3:
        return
    year, month, day = folders[-3:]
    patterns_match = all(
        pattern.fullmatch(part)
        for pattern, part in zip(_FOLDER_DATE_PARTS, (year, month, day), strict=True)
    )
    if not patterns_match:
        return
    folder_text = f"{year}/{month}/{day}"
    if folder_text != name_date.strftime("%Y/%m/%d"):
        draft.flag(
            FLAG_FOLDER_DATE_MISMATCH,
            f"folder date {folder_text} differs from the date "
            f"{name_date.isoformat()} in the file name",
        )


# FreePBX builds the name as CALLFILENAME.MIXMON_FORMAT, where CALLFILENAME is
# "{kind}-{a}-{b}-{YYYYMMDD}-{HHMMSS}-{uniqueid}". The parties part is matched as a
# whole and split at its first hyphen, because a caller number may contain hyphens
# while an extension does not.
_FREEPBX_NAME = re.compile(
    r"(?P<kind>in|out|exten|internal|external|force|q|g|rg|ondemand)"
    r"-(?P<parties>.*)"
    r"-(?P<date>\d{8})-(?P<time>\d{6})"
    r"-(?P<uniqueid>\d+(?:\.\d+)*)"
    r"\.(?P<ext>(?i:wav|gsm|mp3|ulaw|alaw|sln))"
)
_FREEPBX_EXPECTED = (
    "KIND-LINE-NUMBER-YYYYMMDD-HHMMSS-UNIQUEID.EXT with KIND one of in, out, exten, "
    "internal, external, force, q, g, rg, ondemand and EXT one of wav, gsm, mp3, "
    "ulaw, alaw, sln"
)

# kind -> (direction, mode). Queues (q) and ring groups (g, rg) receive inbound calls
# for a group number. "ondemand" starts when the official presses the record key, so
# it is selective recording; every other kind records automatically.
# NOTE: the direction of "force" and "external" recordings is not stated by the name,
# so it stays None until a sidecar or the CDR supplies it.
_FREEPBX_KINDS: dict[str, tuple[str | None, str]] = {
    "in": ("in", "full"),
    "out": ("out", "full"),
    "exten": ("internal", "full"),
    "internal": ("internal", "full"),
    "q": ("in", "full"),
    "g": ("in", "full"),
    "rg": ("in", "full"),
    "force": (None, "full"),
    "external": (None, "full"),
    "ondemand": (None, "selective"),
}


class FreePBXProfile(NamingProfile):
    """FreePBX / Asterisk MixMonitor names in ``YYYY/MM/DD/`` folders.

    Names look like ``in-2101-0200001234-20261203-141501-1764812345.42.wav``. For
    every kind, the first party is our line and the second the other party.
    """

    def parse(self, path: Path, root: Path) -> CallMetadata:
        parts = _relative_parts(path, root)
        draft = _Draft(self.name)
        match = _FREEPBX_NAME.fullmatch(parts[-1])
        if match is None or "-" not in match["parties"]:
            draft.fields["mode"] = "unknown"
            draft.flag(
                FLAG_NAME_UNPARSED,
                f"file name does not match naming profile {self.name!r}: expected "
                f"{_FREEPBX_EXPECTED}",
            )
            return draft.build()

        line, other_party = match["parties"].split("-", 1)
        direction, mode = _FREEPBX_KINDS[match["kind"]]
        draft.fields.update(
            line=line or None,
            other_party=other_party or None,
            direction=direction,
            mode=mode,
            call_id=match["uniqueid"],
        )
        self._set_raw_format(draft, match["ext"])

        try:
            naive = datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S")
        except ValueError:
            draft.flag(
                FLAG_NAME_UNPARSED,
                f"date and time {match['date']}-{match['time']} in the file name "
                "are not a valid calendar date and time (expected YYYYMMDD-HHMMSS)",
            )
            return draft.build()
        draft.fields["start_time"] = self._localize(naive)
        _check_folder_date(draft, parts[:-1], naive.date())
        return draft.build()


class TemplateProfile(NamingProfile):
    """A profile defined by a name template with named fields.

    Fields: ``{date:FMT}``, ``{time:FMT}``, ``{datetime:FMT}`` (strftime formats),
    ``{extension}`` or ``{line}``, ``{number}``, ``{direction}``, ``{mode}``,
    ``{call_id}``, ``{ext}``, and ``{*}`` or ``{ignore}`` for a skipped part.
    ``folder`` is an optional template for the folders above the file, such as
    ``{extension}/{date:%Y-%m-%d}``. A template without ``{ext}`` and without a dot in
    its file-name part is matched against the name without its suffix.

    ``direction_map`` and ``mode_map`` translate the recorder's codes. ``mode`` is the
    recording mode of every file when the template has no ``{mode}`` field. A field
    given twice (in the folder and in the name) takes the file name's value, and a
    disagreement sets ``folder_date_mismatch`` or ``folder_field_mismatch``.
    """

    def __init__(
        self,
        name: str,
        template: str,
        *,
        folder: str | None = None,
        direction_map: Mapping[str, str] | None = None,
        mode: str | None = None,
        mode_map: Mapping[str, str] | None = None,
        **options: Any,
    ):
        super().__init__(name, **options)
        where = f"profiles.{name}"
        if folder:
            folder = folder.strip("/")
            full_template = f"{folder}/{template}"
            where_template = f"{where}.folder + {where}.template"
        else:
            full_template = template
            where_template = f"{where}.template"
        self.template = template
        self.folder = folder
        self._compiled = compile_name_template(full_template, where_template)
        fields = {field for _, field, _ in self._compiled.groups}
        if mode is not None and "mode" in fields:
            raise ConfigError(
                f"invalid setting {where}.mode = {mode!r}: the template also has a "
                "{mode} field; set either mode (one mode for every file) or the "
                "{mode} field with mode_map, not both"
            )
        self.direction_map = dict(direction_map or {})
        self.mode = mode or "unknown"
        self.mode_map = dict(mode_map or {})

    def parse(self, path: Path, root: Path) -> CallMetadata:
        parts = _relative_parts(path, root)
        draft = _Draft(self.name)
        compiled = self._compiled
        suffix = PurePath(parts[-1]).suffix
        name = parts[-1] if compiled.has_extension else PurePath(parts[-1]).stem

        match = None
        if len(parts) >= compiled.component_count:
            covered = (*parts[-compiled.component_count : -1], name)
            match = compiled.regex.fullmatch("/".join(covered))
        if match is None:
            draft.fields["mode"] = "unknown"
            expected = (
                f"{self.folder}/{self.template}" if self.folder else self.template
            )
            draft.flag(
                FLAG_NAME_UNPARSED,
                f"path does not match naming profile {self.name!r}: expected "
                f"{expected}",
            )
            return draft.build()

        values: dict[str, list[str]] = {}
        formats: dict[str, list[str]] = {}
        for group, field, spec in compiled.groups:
            values.setdefault(field, []).append(match[group])
            formats.setdefault(field, []).append(spec)

        self._set_text_fields(draft, values)
        self._set_start_time(draft, values, formats)
        if "ext" in values or suffix:
            self._set_raw_format(draft, values.get("ext", [suffix])[-1])
        # Without folder fields, a YYYY/MM/DD folder layout is still checked.
        if compiled.component_count == 1 and draft.fields.get("start_time"):
            _check_folder_date(draft, parts[:-1], draft.fields["start_time"].date())
        return draft.build()

    def _set_text_fields(self, draft: _Draft, values: dict[str, list[str]]) -> None:
        for field, target in TEXT_FIELDS.items():
            if target is None or target == "ext" or field not in values:
                continue
            found = values[field]
            value = found[-1]
            if any(earlier != value for earlier in found[:-1]):
                draft.flag(
                    FLAG_FOLDER_FIELD_MISMATCH,
                    f"field {field} is {found[0]!r} in the folder but {value!r} in "
                    "the file name; using the file name's value",
                )
            draft.fields[target] = value or None

        mode = self.mode
        if "mode" in values:
            code = draft.fields.pop("mode") or ""
            mode = self._translate(draft, code, self.mode_map, MODES, "mode")
            mode = mode or "unknown"
        draft.fields["mode"] = mode

        if "direction" in values:
            code = draft.fields.pop("direction") or ""
            direction = self._translate(
                draft, code, self.direction_map, DIRECTIONS, "direction"
            )
            draft.fields["direction"] = direction

    def _translate(
        self,
        draft: _Draft,
        code: str,
        mapping: Mapping[str, str],
        allowed: tuple[str, ...],
        field: str,
    ) -> str | None:
        """Translate a recorder code through ``mapping``; flag a code it lacks."""
        if code in mapping:
            return mapping[code]
        if code in allowed:
            return code
        if not code:
            return None
        flag = FLAG_DIRECTION_UNMAPPED if field == "direction" else FLAG_MODE_UNMAPPED
        draft.flag(
            flag,
            f"{field} code {code!r} in the name is not in {field}_map of profile "
            f"{self.name!r} (known codes: {', '.join(sorted(mapping)) or 'none'})",
        )
        return None

    def _set_start_time(
        self,
        draft: _Draft,
        values: dict[str, list[str]],
        formats: dict[str, list[str]],
    ) -> None:
        parsed: dict[str, list[Any]] = {}
        for field in TIME_FIELDS:
            for value, spec in zip(
                values.get(field, ()), formats.get(field, ()), strict=True
            ):
                try:
                    stamp = datetime.strptime(value, spec)
                except ValueError:
                    draft.flag(
                        FLAG_NAME_UNPARSED,
                        f"{field} {value!r} in the path is not a valid {field} "
                        f"for format {spec}",
                    )
                    return
                if field == "date":
                    parsed.setdefault(field, []).append(stamp.date())
                elif field == "time":
                    parsed.setdefault(field, []).append(stamp.time())
                else:
                    parsed.setdefault(field, []).append(stamp)

        for field, found in parsed.items():
            if any(earlier != found[-1] for earlier in found[:-1]):
                draft.flag(
                    FLAG_FOLDER_DATE_MISMATCH,
                    f"{field} {found[0]} in the folder differs from {found[-1]} in "
                    "the file name; using the file name's value",
                )

        naive: datetime | None = None
        if "datetime" in parsed:
            naive = parsed["datetime"][-1]
        elif "date" in parsed and "time" in parsed:
            day: date = parsed["date"][-1]
            clock: time = parsed["time"][-1]
            naive = datetime.combine(day, clock)
        # A date without a time, or a time without a date, is no instant. The caller
        # falls back to the file's mtime, as for a name without any time.
        if naive is not None:
            draft.fields["start_time"] = self._localize(naive)


BUILTIN_PROFILES: dict[str, NamingProfile] = {
    "freepbx": FreePBXProfile("freepbx"),
}

_COMMON_KEYS = ("kind", "sidecar", "raw_codec", "raw_sample_rate", "raw_channels")
_KIND_KEYS = {
    "freepbx": (*_COMMON_KEYS, "timezone"),
    "template": (
        *_COMMON_KEYS,
        "timezone",
        "template",
        "folder",
        "direction_map",
        "mode",
        "mode_map",
    ),
}


def _invalid(where: str, key: str, value: Any, expected: str) -> ConfigError:
    return ConfigError(
        f"invalid setting {where}.{key} = {value!r}: expected {expected}"
    )


def _optional_str(table: Mapping[str, Any], where: str, key: str) -> str | None:
    value = table.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _invalid(where, key, value, "a non-empty string")
    return value


def _choice(
    table: Mapping[str, Any], where: str, key: str, allowed: tuple[str, ...]
) -> str | None:
    value = table.get(key)
    if value is not None and value not in allowed:
        raise _invalid(where, key, value, "one of " + ", ".join(allowed))
    return value


def _code_map(
    table: Mapping[str, Any], where: str, key: str, allowed: tuple[str, ...]
) -> dict[str, str]:
    value = table.get(key, {})
    if not isinstance(value, Mapping):
        raise _invalid(
            where,
            key,
            value,
            f'a table of recorder codes, such as {{I = "{allowed[0]}"}}',
        )
    for code, target in value.items():
        if target not in allowed:
            raise _invalid(
                where, f"{key}.{code}", target, "one of " + ", ".join(allowed)
            )
    return dict(value)


def _positive_int(table: Mapping[str, Any], where: str, key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _invalid(where, key, value, "a whole number greater than 0")
    return value


def _common_options(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate the keys that every profile kind accepts."""
    sidecar = table.get("sidecar", True)
    if not isinstance(sidecar, bool):
        raise _invalid(where, "sidecar", sidecar, "true or false")
    timezone = table.get("timezone", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, TypeError, ValueError):
        raise _invalid(
            where, "timezone", timezone, 'an IANA time zone name such as "Asia/Seoul"'
        ) from None
    return {
        "sidecar": sidecar,
        "raw_codec": _choice(table, where, "raw_codec", RAW_CODECS),
        "raw_sample_rate": _positive_int(table, where, "raw_sample_rate", 8000),
        "raw_channels": _positive_int(table, where, "raw_channels", 1),
        "timezone": timezone,
    }


def profile_from_config(name: str, table: Mapping[str, Any] | None) -> NamingProfile:
    """Build the naming profile ``name`` from its ``[profiles.NAME]`` config table.

    With no table, ``name`` must be a built-in profile. A table's ``kind`` is
    ``"template"`` or ``"freepbx"``, and defaults to the name when the name is
    built in. Raises :class:`ConfigError` naming the key, the value and what is
    expected.
    """
    if table is None:
        if name in BUILTIN_PROFILES:
            return BUILTIN_PROFILES[name]
        raise ConfigError(
            f"unknown naming profile {name!r}: expected one of "
            f"{', '.join(sorted(BUILTIN_PROFILES))} or a [profiles.{name}] table in "
            "the config file"
        )
    where = f"profiles.{name}"
    if not isinstance(table, Mapping):
        raise ConfigError(
            f"invalid setting {where} = {table!r}: expected a [{where}] table"
        )

    kind = table.get("kind", name if name in BUILTIN_PROFILES else None)
    if kind not in _KIND_KEYS:
        raise _invalid(where, "kind", kind, "one of " + ", ".join(sorted(_KIND_KEYS)))
    unknown = sorted(set(table) - set(_KIND_KEYS[kind]))
    if unknown:
        raise ConfigError(
            f"unknown setting {where}.{unknown[0]}: a {kind} profile accepts "
            f"{', '.join(_KIND_KEYS[kind])}"
        )

    options = _common_options(table, where)
    if kind == "freepbx":
        return FreePBXProfile(name, **options)

    template = _optional_str(table, where, "template")
    if template is None:
        raise ConfigError(
            f"missing setting {where}.template: a template profile needs a name "
            'template such as "{date:%Y%m%d}_{time:%H%M%S}_{extension}.{ext}"'
        )
    return TemplateProfile(
        name,
        template,
        folder=_optional_str(table, where, "folder"),
        direction_map=_code_map(table, where, "direction_map", DIRECTIONS),
        mode=_choice(table, where, "mode", MODES),
        mode_map=_code_map(table, where, "mode_map", MODES),
        **options,
    )


def _same_value(field: str, name_value: Any, sidecar_value: Any) -> bool:
    if field == "start_time":
        return abs(name_value - sidecar_value) < START_TIME_TOLERANCE
    if field in ("line", "other_party"):
        # Compare numbers by their digits, so 02-0000-1234 equals 0200001234.
        name_digits = re.sub(r"[\s().-]", "", name_value)
        sidecar_digits = re.sub(r"[\s().-]", "", sidecar_value)
        return name_digits == sidecar_digits
    return name_value == sidecar_value


def merge_sidecar(
    metadata: CallMetadata, values: Mapping[str, Any], sidecar_name: str
) -> CallMetadata:
    """Fill missing fields from sidecar values and flag values that disagree.

    Where both the name and the sidecar give a field, the name's value is kept.
    """
    updates: dict[str, Any] = {}
    flags = list(metadata.flags)
    notes = list(metadata.notes)
    for field, sidecar_value in values.items():
        name_value = getattr(metadata, field)
        missing = name_value is None or (field == "mode" and name_value == "unknown")
        if missing:
            updates[field] = sidecar_value
            if field == "start_time":
                updates["start_time_source"] = "sidecar"
            continue
        if _same_value(field, name_value, sidecar_value):
            continue
        if FLAG_SIDECAR_MISMATCH not in flags:
            flags.append(FLAG_SIDECAR_MISMATCH)
        name_text, sidecar_text = (
            value.isoformat() if isinstance(value, datetime) else value
            for value in (name_value, sidecar_value)
        )
        notes.append(
            f"{field} is {name_text!r} in the name but {sidecar_text!r} in sidecar "
            f"{sidecar_name}; keeping the name's value"
        )
    return dataclasses.replace(
        metadata, flags=tuple(flags), notes=tuple(notes), **updates
    )


def _translate_sidecar_codes(
    values: dict[str, Any], problems: list[str], profile: NamingProfile
) -> None:
    """Translate sidecar direction and mode codes through the profile's maps."""
    for field, allowed in (("direction", DIRECTIONS), ("mode", MODES)):
        if field not in values:
            continue
        code = values[field]
        mapping = getattr(profile, f"{field}_map")
        translated = mapping.get(code, code)
        if translated in allowed:
            values[field] = translated
            continue
        del values[field]
        problems.append(
            f"{field} {code!r} is not one of {', '.join(allowed)} and not a code in "
            f"{field}_map of profile {profile.name!r}"
        )


def _with_flag(metadata: CallMetadata, flag: str, note: str) -> CallMetadata:
    flags = metadata.flags if flag in metadata.flags else (*metadata.flags, flag)
    return dataclasses.replace(metadata, flags=flags, notes=(*metadata.notes, note))


def read_metadata(path: Path, root: Path, profile: NamingProfile) -> CallMetadata:
    """Parse a recording's path with ``profile`` and merge its sidecar, if any.

    Looks for ``.json`` first, then ``.xml``, beside the file with the same stem. A
    sidecar that is invalid or cannot be read sets the ``sidecar_invalid`` flag, so a
    bad name or sidecar never raises.
    """
    # TODO: per-day sidecars, with one CSV or XML file for every call of a day, are
    # not read. Add them when a configured recorder writes them.
    metadata = profile.parse(path, root)
    if not profile.sidecar:
        return metadata
    try:
        sidecar = find_sidecar(path)
    except OSError as error:
        logger.warning(
            "failed to look for a sidecar (profile %s): %s",
            profile.name,
            error.strerror,
        )
        return metadata
    if sidecar is None:
        return metadata

    try:
        values, problems = read_sidecar(sidecar, profile.timezone)
    except OSError as error:
        # The recorder may delete or rewrite the sidecar while it is read.
        logger.warning(
            "failed to read a %s sidecar (profile %s): %s",
            sidecar.suffix,
            profile.name,
            error.strerror,
        )
        return _with_flag(
            metadata,
            FLAG_SIDECAR_INVALID,
            f"sidecar {sidecar.name} could not be read: {error.strerror}",
        )
    except ProfileError as error:
        # Paths and sidecar contents may hold phone numbers, so the log gets neither.
        logger.debug(
            "ignored an invalid %s sidecar (profile %s)", sidecar.suffix, profile.name
        )
        return _with_flag(
            metadata,
            FLAG_SIDECAR_INVALID,
            f"sidecar {sidecar.name} is invalid: {error}",
        )

    _translate_sidecar_codes(values, problems, profile)
    merged = merge_sidecar(metadata, values, sidecar.name)
    for problem in problems:
        merged = _with_flag(
            merged,
            FLAG_SIDECAR_INVALID,
            f"sidecar {sidecar.name}: {problem}; the field was ignored",
        )
    return merged
