"""Writing files so that a kill at any instant leaves either the old or the new bytes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
_UMASK = os.umask(0o022)  # read once, at import (umask is process-wide: no threads yet)
os.umask(_UMASK)
TEMP_PREFIX = ".assetgen-tmp-"  # so leftovers of a killed process can be told from users' files


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory and a rename.

    ``durable`` fsyncs the file and its directory, so that after a power loss the
    rename is not visible without the bytes behind it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, durable=durable) as f:
        f.write(data)


@contextlib.contextmanager
def atomic_open(path: Path, *, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary file that replaces ``path`` on success and vanishes on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; outputs are for everyone who may read
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def _file_mode(path: Path) -> int:
    """The mode a plain new file would get (0666 less the umask), or the replaced file's."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return 0o666 & ~_UMASK


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not supported (Windows): the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sweep_temp_files(directories: Iterable[Path]) -> int:
    """Remove what a killed process left of ``atomic_open``; returns how many files."""
    removed = 0
    for d in directories:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.name.startswith(TEMP_PREFIX) and e.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    os.unlink(e.path)
                    removed += 1
    return removed
