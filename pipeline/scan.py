"""Directory scans of recorder roots: which files are there, and their sizes.

A reconciliation compares a root with the catalog. ``list_tree`` reads only the
folders' entries, as ``find ROOT -type f`` does, which finds files added or
removed while nothing watched. ``scan_tree`` also reads each file's size and
modification time, which finds files rewritten in place. Both skip names that
match the ignore patterns. They list symbolic links without following them, and
FIFOs, sockets and device files without opening them, so that ingest gives each
of these entries a catalog row with the reason it was not read.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import os
import re
import stat
import struct
from collections.abc import Callable, Iterable
from pathlib import Path

from pipeline.analysis import open_regular, redact

logger = logging.getLogger(__name__)


def scan_tree(root: Path, ignore_patterns: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Return path -> (size, mtime_ns) for every candidate file below ``root``.

    The size is that of a regular file and 0 for any other entry, because
    ingest reads no bytes of links and special files and stores their size as 0.

    Each folder is read once with ``os.scandir`` on an open descriptor, and each
    file costs one ``lstat`` relative to that descriptor, so the kernel does not
    resolve the whole path again per file. On a 200,000-file tree (2 cores,
    benchmarks/scale.py) that took 0.78 s against 1.0 s with ``DirEntry.stat``.
    """
    found: dict[str, tuple[int, int]] = {}

    def add(folder: str, descriptor: int, names: list[str]) -> None:
        prefix = folder if folder.endswith("/") else folder + "/"
        for name in names:
            try:
                info = os.stat(name, dir_fd=descriptor, follow_symlinks=False)
            except FileNotFoundError:
                continue
            size = info.st_size if stat.S_ISREG(info.st_mode) else 0
            found[prefix + name] = (size, info.st_mtime_ns)

    _walk(root, ignore_patterns, add)
    return found


def list_tree(root: Path, ignore_patterns: Iterable[str]) -> set[str]:
    """Return the path of every candidate file below ``root``, without a stat.

    The folders' entries carry each entry's type, so this costs no system call
    per file, and takes about as long as ``find ROOT -type f``.
    """
    found: set[str] = set()

    def add(folder: str, descriptor: int, names: list[str]) -> None:
        prefix = folder if folder.endswith("/") else folder + "/"
        found.update(prefix + name for name in names)

    _walk(root, ignore_patterns, add)
    return found


def _walk(
    root: Path,
    ignore_patterns: Iterable[str],
    add: Callable[[str, int, list[str]], None],
) -> None:
    """Call ``add(folder, descriptor, file_names)`` for each folder below ``root``.

    ``file_names`` are the entries of the folder other than folders that no
    ignore pattern matches. The descriptor stays open during the call.
    """
    ignored = ignore_matcher(tuple(ignore_patterns))
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError:
            logger.warning("cannot read folder %s: permission denied", redact(folder))
            continue
        try:
            prefix = folder if folder.endswith("/") else folder + "/"
            names = []
            with os.scandir(descriptor) as entries:
                for entry in entries:
                    name = entry.name
                    if ignored(name):
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(prefix + name)
                        else:
                            # Links and special files are listed too, so that
                            # each gets a row with the reason it was not read.
                            names.append(name)
                    except FileNotFoundError:
                        continue
            add(folder, descriptor, names)
        finally:
            os.close(descriptor)


def folder_identity(path: Path) -> tuple[int, int] | None:
    """Return (st_dev, st_ino) of a folder, or None when it is not a folder."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode):
        return None
    return info.st_dev, info.st_ino


_GLOB_CHARACTERS = frozenset("*?[")


@functools.lru_cache(maxsize=16)
def ignore_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """Return a function telling whether a file name matches one of ``patterns``.

    The result equals ``fnmatch.fnmatchcase`` on each pattern. Patterns of the
    form ``*.ext`` and ``prefix*`` become one ``str.endswith`` and one
    ``str.startswith`` call, and the others one combined regular expression,
    because a scan matches every name in the tree. With the nine default
    patterns, 200,000 names took 0.64 s with one ``fnmatchcase`` call per
    pattern, 0.11 s with one regular expression and 0.04 s this way.
    """
    suffixes, prefixes, others = [], [], []
    for pattern in patterns:
        head, tail = pattern[:1], pattern[1:]
        if head == "*" and not _GLOB_CHARACTERS & set(tail):
            suffixes.append(tail)
        elif pattern.endswith("*") and not _GLOB_CHARACTERS & set(pattern[:-1]):
            prefixes.append(pattern[:-1])
        else:
            others.append(pattern)
    suffix_tuple, prefix_tuple = tuple(suffixes), tuple(prefixes)
    expression = (
        re.compile("|".join(fnmatch.translate(p) for p in others)) if others else None
    )

    def matches(name: str) -> bool:
        if name.endswith(suffix_tuple) or name.startswith(prefix_tuple):
            return True
        return expression is not None and expression.match(name) is not None

    return matches


def is_ignored(name: str, patterns: Iterable[str]) -> bool:
    """Return True when a file name matches one of the ignore patterns."""
    return ignore_matcher(tuple(patterns))(name)


def wav_header_incomplete(path: str, size: int) -> bool:
    """Return True when a RIFF header promises more bytes than the file has.

    Links and special files return False without being read.
    """
    try:
        with open_regular(path) as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return False
            header = handle.read(12)
    except OSError:
        return False
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return False
    (riff_size,) = struct.unpack("<I", header[4:8])
    # 0 and 0xFFFFFFFF are placeholders of recorders that stream and never come
    # back to fix the header; waiting would not change them.
    if riff_size in (0, 0xFFFFFFFF):
        return False
    return riff_size + 8 > size
