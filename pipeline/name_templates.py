"""Compile recorder name templates such as ``{date:%Y%m%d}_{extension}.{ext}``.

A template is literal text with named fields in braces, in the syntax of
:meth:`str.format`. :func:`compile_name_template` turns it into a regular expression
whose groups capture the fields, for :class:`pipeline.profiles.TemplateProfile`.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

from pipeline.errors import ConfigError

# strftime directive -> regular expression for the text it produces. Numeric fields
# are matched at their zero-padded width, which is how recorders write them.
_STRFTIME_PATTERNS = {
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "m": r"\d{2}",
    "d": r"\d{2}",
    "H": r"\d{2}",
    "I": r"\d{2}",
    "M": r"\d{2}",
    "S": r"\d{2}",
    "j": r"\d{3}",
    "f": r"\d{1,6}",
    "p": r"(?:AM|PM|am|pm)",
    "b": r"[A-Za-z]{3}",
    "%": "%",
}
TIME_FIELDS = ("date", "time", "datetime")
# Template field -> CallMetadata field. "*" and "ignore" skip a part of the name.
TEXT_FIELDS = {
    "extension": "line",
    "line": "line",
    "number": "other_party",
    "other_party": "other_party",
    "direction": "direction",
    "mode": "mode",
    "call_id": "call_id",
    "ext": "ext",
    "*": None,
    "ignore": None,
}


def _strftime_to_regex(spec: str, where: str, field: str) -> str:
    """Translate a strftime format into a regex for the text it produces."""
    pieces = []
    index = 0
    while index < len(spec):
        char = spec[index]
        if char != "%":
            pieces.append(re.escape(char))
            index += 1
            continue
        directive = spec[index + 1 : index + 2]
        if directive not in _STRFTIME_PATTERNS:
            raise ConfigError(
                f"invalid setting {where} = {{{field}:{spec}}}: strftime directive "
                f"%{directive} is not supported; expected directives from "
                f"{', '.join('%' + key for key in _STRFTIME_PATTERNS)}"
            )
        pieces.append(_STRFTIME_PATTERNS[directive])
        index += 2
    return "".join(pieces)


@dataclass(frozen=True)
class CompiledTemplate:
    regex: re.Pattern[str]
    groups: tuple[tuple[str, str, str], ...]  # (group name, template field, format)
    component_count: int  # path components the template covers, the name included
    has_extension: bool


def compile_name_template(text: str, where: str) -> CompiledTemplate:
    """Compile a template such as ``{date:%Y%m%d}_{extension}.{ext}`` to a regex.

    Literal text is escaped. Text fields match as little as possible up to the next
    literal and never cross a ``/``, so two text fields need literal text between
    them.
    """
    text = unicodedata.normalize("NFC", text)
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise ConfigError(
            f"invalid setting {where} = {text!r}: {error}; write a literal brace as "
            "{{ or }}"
        ) from None

    pieces = []
    groups = []
    slash_count = 0
    previous_was_text_field = False
    for literal, field, spec, conversion in parsed:
        pieces.append(re.escape(literal))
        slash_count += literal.count("/")
        if literal:
            previous_was_text_field = False
        if field is None:
            continue
        if conversion is not None:
            raise ConfigError(
                f"invalid setting {where} = {text!r}: field {{{field}!{conversion}}} "
                "has a conversion; remove the !" + conversion
            )
        group = f"g{len(groups)}"
        if field in TIME_FIELDS:
            if not spec:
                raise ConfigError(
                    f"invalid setting {where} = {text!r}: field {{{field}}} needs a "
                    f"strftime format, for example {{{field}:%Y%m%d}}"
                )
            pieces.append(f"(?P<{group}>{_strftime_to_regex(spec, where, field)})")
            slash_count += spec.count("/")
            groups.append((group, field, spec))
            previous_was_text_field = False
            continue
        if field not in TEXT_FIELDS:
            raise ConfigError(
                f"invalid setting {where} = {text!r}: unknown field {{{field}}}; "
                f"expected one of {', '.join(TIME_FIELDS + tuple(TEXT_FIELDS))}"
            )
        if spec:
            raise ConfigError(
                f"invalid setting {where} = {text!r}: field {{{field}}} takes no "
                f"format, but {spec!r} was given"
            )
        if previous_was_text_field:
            raise ConfigError(
                f"invalid setting {where} = {text!r}: field {{{field}}} follows "
                "another text field with no literal text between them, so the name "
                "cannot be split; put a separator such as _ or - between them"
            )
        previous_was_text_field = True
        if field in ("*", "ignore"):
            pieces.append(r"[^/]*?")
            continue
        if field == "ext":
            pieces.append(f"(?P<{group}>[^/.]+)")
        else:
            pieces.append(f"(?P<{group}>[^/]*?)")
        groups.append((group, field, ""))

    if not groups:
        raise ConfigError(
            f"invalid setting {where} = {text!r}: the template has no fields; expected "
            "at least one of {date:...}, {time:...}, {datetime:...}, {extension}, "
            "{number}"
        )
    name_part = string.Formatter().parse(text.rsplit("/", 1)[-1])
    has_extension = any(
        field == "ext" or "." in literal for literal, field, _, _ in name_part
    )
    return CompiledTemplate(
        regex=re.compile("".join(pieces)),
        groups=tuple(groups),
        component_count=slash_count + 1,
        has_extension=has_extension,
    )
