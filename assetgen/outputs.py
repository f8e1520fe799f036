"""The output tree: reading, writing and removing images beside the manifest.

Every write goes through a temp file and a rename; every removal first checks that
the file still has the bytes the lock recorded, so a file edited by hand is never
deleted; and file-system refusals (a directory where an image should be, a
read-only folder) become located errors for that one asset, not crashes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from .errors import DiskFullError, OutputError
from .fsutil import FULL_ERRNOS, atomic_write


def file_sha256(root: Path, rel: str) -> str | None:
    """The sha256 of ``root/rel``, or None when there is no readable file there."""
    try:
        return hashlib.sha256((root / rel).read_bytes()).hexdigest()
    except OSError:
        return None


def read_verified(root: Path, rel: str, sha256: str) -> bytes | None:
    """The bytes at ``root/rel`` if they still hash to ``sha256``."""
    try:
        data = (root / rel).read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def write_output(root: Path, rel: str, data: bytes) -> None:
    """Write an output atomically, or raise OutputError naming the path and the reason."""
    try:
        atomic_write(root / rel, data)
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:  # not this output's problem: the build stops
            raise exc if isinstance(exc, DiskFullError) else DiskFullError(root / rel) from exc
        reason = exc.strerror or str(exc)
        if isinstance(exc, IsADirectoryError) or (root / rel).is_dir():
            reason = "a directory is in the way"
        raise OutputError(f"{rel}: cannot write the image ({reason})") from None


def remove_if_unchanged(root: Path, rel: str, sha256: str) -> bool:
    """Remove ``root/rel`` if it still has the locked bytes; True if it was removed."""
    path = root / rel
    if read_verified(root, rel, sha256) is None:
        return False
    try:
        path.unlink()
    except OSError:
        return False
    prune_empty_dirs(path.parent, root)
    return True


def prune_empty_dirs(directory: Path, root: Path) -> None:
    """Remove now-empty folders between ``directory`` and ``root`` (exclusive)."""
    root = root.resolve()
    d = directory.resolve()
    while d != root and root in d.parents:
        with contextlib.suppress(OSError):
            if any(os.scandir(d)):
                return
            d.rmdir()
        d = d.parent
