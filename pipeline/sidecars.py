"""Read sidecar files: per-call metadata that a recorder writes beside the audio.

A sidecar has the audio file's stem and the suffix ``.json`` or ``.xml``. A JSON
sidecar contains an object, and an XML sidecar contains the same keys as child
elements of its root element.
"""

from __future__ import annotations

import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from pipeline.errors import ProfileError

SIDECAR_SUFFIXES = (".json", ".xml")

# A per-call sidecar contains a handful of fields. A larger file is not a sidecar, and
# reading it whole for every recording would waste memory.
MAX_SIDECAR_BYTES = 1024 * 1024


def find_sidecar(path: Path) -> Path | None:
    """Return the ``.json`` or ``.xml`` file beside ``path`` with the same stem."""
    for suffix in SIDECAR_SUFFIXES:
        for candidate_suffix in (suffix, suffix.upper()):
            candidate = path.with_suffix(candidate_suffix)
            if candidate != path and candidate.is_file():
                return candidate
    return None


# Sidecar key -> CallMetadata field. The first key present wins.
_SIDECAR_KEYS = {
    "line": "line",
    "extension": "line",
    "other_party": "other_party",
    "number": "other_party",
    "direction": "direction",
    "mode": "mode",
    "call_id": "call_id",
    "start_time": "start_time",
    "department": "department",
}
_XML_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([\w.-]+)["']""")


def _decode(data: bytes, declared: str | None) -> str:
    """Decode sidecar bytes: the declared encoding, else UTF-8, else CP949."""
    if declared:
        return data.decode(declared)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Korean Windows recorders write their sidecars in the ANSI code page.
        return data.decode("cp949")


def _load_sidecar_json(data: bytes) -> Mapping[str, Any]:
    document = json.loads(_decode(data, None))
    if not isinstance(document, dict):
        raise ProfileError(
            f"expected a JSON object at the top level, found {type(document).__name__}"
        )
    return document


def _load_sidecar_xml(data: bytes) -> Mapping[str, Any]:
    declared = _XML_DECLARED_ENCODING.match(data)
    text = _decode(data, declared[1].decode("ascii") if declared else None)
    # defusedxml is not installed, and plain ElementTree is safe enough here. It
    # resolves no external entities and loads no external DTD, so a sidecar cannot
    # make it read other files. Expat 2.4.0 and later limit entity expansion
    # ("billion laughs"), and pyexpat.EXPAT_VERSION in this venv is 2.5.0.
    root = ET.fromstring(text)
    return {child.tag: (child.text or "").strip() for child in root}


def read_sidecar(path: Path, timezone: tzinfo) -> tuple[dict[str, Any], list[str]]:
    """Read a sidecar's call fields and return them with notes on invalid values.

    Returns ``(values, problems)``. ``values`` maps CallMetadata field names (line,
    other_party, direction, mode, call_id, start_time, department) to stripped NFC
    strings, except ``start_time``, which is an aware datetime. A start time without
    a UTC offset is taken as local time in ``timezone``. Direction and mode stay in
    the recorder's codes. ``problems`` describes values that were skipped because
    they are invalid. Raises :class:`ProfileError` when the file is larger than
    MAX_SIDECAR_BYTES or is not valid JSON or XML, and ``OSError`` when it cannot
    be read.
    """
    size = path.stat().st_size
    if size > MAX_SIDECAR_BYTES:
        raise ProfileError(
            f"sidecar is {size} bytes, more than the maximum of {MAX_SIDECAR_BYTES}"
        )
    data = path.read_bytes()
    try:
        if path.suffix.lower() == ".json":
            document = _load_sidecar_json(data)
        else:
            document = _load_sidecar_xml(data)
    except (ValueError, LookupError, ET.ParseError) as error:
        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors. LookupError is
        # an unknown declared encoding.
        raise ProfileError(f"not valid {path.suffix[1:].upper()}: {error}") from None

    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, field in _SIDECAR_KEYS.items():
        if field in values or key not in document:
            continue
        raw = document[key]
        if raw is None or raw == "":
            continue
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            problems.append(f"{key} is {raw!r}; expected a string")
            continue
        text = unicodedata.normalize("NFC", str(raw).strip())
        if field == "start_time":
            try:
                stamp = datetime.fromisoformat(text)
            except ValueError:
                problems.append(f"start_time {text!r} is not an ISO 8601 date and time")
                continue
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=timezone)
            values[field] = stamp
        else:
            values[field] = text
    return values, problems
