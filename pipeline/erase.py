"""Unrecoverable file deletion: overwrite the bytes in place, then unlink."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable

logger = logging.getLogger(__name__)

OVERWRITE_BLOCK_BYTES = 1 << 20


def overwrite_and_unlink(path: str) -> None:
    """Overwrite a regular file's bytes with zeros, fsync it and unlink it.

    The file is opened without following a symbolic link, so a path swapped for a
    link after planning raises ``OSError`` instead of reaching another file.
    """
    # NOTE: the tests check the overwrite on ext4, through a second hard link. On
    # copy-on-write file systems (btrfs, ZFS), with snapshots, or on SSDs that
    # remap blocks, old copies of the bytes can survive below the file system.
    flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} is not a regular file")
        zeros = memoryview(bytes(OVERWRITE_BLOCK_BYTES))
        remaining = info.st_size
        while remaining > 0:
            remaining -= os.write(descriptor, zeros[: min(remaining, len(zeros))])
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.unlink(path)


def fsync_folders(paths: Iterable[str]) -> None:
    """Make the unlinks durable by syncing each folder that contained a file."""
    for folder in sorted({os.path.dirname(path) for path in paths}):
        try:
            descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            continue
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
