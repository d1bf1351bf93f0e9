"""Command-line value types shared by the benchmark scripts.

argparse turns the ``ArgumentTypeError`` these raise into a usage message that
names the option, so a bad value stops a script before it generates any data.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def positive_float(text: str) -> float:
    """Parse a command-line quantity that must be above 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a number above 0"
        )
    return value


def positive_int(text: str) -> int:
    """Parse a command-line count that must be 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"invalid count {text!r}: expected a whole number of at least 1"
        )
    return value


def folder_path(text: str) -> Path:
    """Parse a folder path that may not exist yet but must not be a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"invalid folder {text!r}: it is a file, expected a folder or a path "
            "where one can be made"
        )
    return path
