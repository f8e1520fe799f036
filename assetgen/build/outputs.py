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

from ..errors import DiskFullError, OutputError
from ..fsutil import FULL_ERRNOS, atomic_write
from ..outpaths import shown, use_problem


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


def write_output(root: Path, rel: str, data: bytes, *, derived: bool = False) -> None:
    """Write an output atomically, or raise OutputError naming the path and the reason.

    The path is checked again here, whatever checked it before (outpaths.py): no
    symlink on the way, nothing a manifest or lock may not name."""
    problem = use_problem(root, rel, derived=derived)
    if problem is not None:
        raise OutputError(f"{shown(rel)}: not written: the path {problem}")
    try:
        atomic_write(root / rel, data)
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:  # not this output's problem: the build stops
            raise exc if isinstance(exc, DiskFullError) else DiskFullError(root / rel) from exc
        reason = exc.strerror or str(exc)
        if isinstance(exc, IsADirectoryError) or (root / rel).is_dir():
            reason = "a directory is in the way"
        elif (blocker := _file_in_the_way(root, rel)) is not None:  # mkdir says "File exists"
            raise OutputError(
                f"{rel}: cannot write the image: `{blocker}` is a file, not a folder "
                "(move or rename that file, or choose another output path)"
            ) from None
        raise OutputError(f"{rel}: cannot write the image ({reason})") from None


def _file_in_the_way(root: Path, rel: str) -> str | None:
    """The first folder on the way to ``rel`` that is something else (a file), if any."""
    parts = Path(rel).parts[:-1]
    for i in range(1, len(parts) + 1):
        path = root.joinpath(*parts[:i])
        if path.exists() and not path.is_dir():
            return Path(*parts[:i]).as_posix()
        if not path.exists():
            return None
    return None


def remove_if_unchanged(
    root: Path, rel: str, sha256: str, output_dir: str = ".", *, derived: bool = False
) -> bool:
    """Remove ``root/rel`` if it still has the locked bytes; True if it was removed.

    Never a path outside ``output_dir``, through a symlink, or one no output may have:
    a lock or journal row naming one was checked when read, and is checked again here."""
    path = root / rel
    if use_problem(root, rel, output_dir, derived=derived) is not None:
        return False
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
