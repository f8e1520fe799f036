"""Writing files so that a kill at any instant leaves either the old or the new bytes."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import DiskFullError

CHUNK = 1 << 20
_UMASK = os.umask(0o022)  # read once, at import (umask is process-wide: no threads yet)
os.umask(_UMASK)
TEMP_PREFIX = ".assetgen-tmp-"  # so leftovers of a killed process can be told from users' files
# A new file of our own, in bytes: never an existing one, never inherited by a child.
NEW_FILE = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)
# The disk, or the user's quota, is full: the errors a write turns into DiskFullError.
FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_copies = itertools.count()
_pid = [os.getpid()]  # temp names carry it; copies come by the thousand, so not every time
if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork to follow
    os.register_at_fork(after_in_child=lambda: _pid.__setitem__(0, os.getpid()))


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory and a rename.

    ``durable`` fsyncs the file and its directory, so that after a power loss the
    rename is not visible without the bytes behind it.
    """
    with disk_full_as_error(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, durable=durable) as f:
        f.write(data)


@contextlib.contextmanager
def disk_full_as_error(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn ENOSPC/EDQUOT from the writes inside into a DiskFullError naming ``path``:
    the user's error to fix (free space, then run again), not a traceback."""
    try:
        yield
    except DiskFullError:
        raise
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:
            raise DiskFullError(path) from exc
        raise


@contextlib.contextmanager
def atomic_open(path: Path, *, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary file that replaces ``path`` on success and vanishes on failure."""
    with disk_full_as_error(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f"{TEMP_PREFIX}{path.name}.", suffix=".tmp", dir=path.parent
        )
        try:
            os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; outputs are for all who may read
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                if durable:
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)  # a full disk gets the partial file's space back
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


def write_all(fd: int, data: bytes | bytearray) -> None:
    """``os.write`` until every byte is written (a write may take fewer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_copy(path: str, data: bytes | bytearray) -> None:
    """``atomic_write`` without fsync, in the fewest system calls: for copies of bytes
    that live elsewhere (a remote cache), written by the thousand in a pull. Readers
    still never see part of a file: a temp file beside it, then a rename."""
    with disk_full_as_error(path):
        _write_copy(path, data)


def _write_copy(path: str, data: bytes | bytearray) -> None:
    directory, name = os.path.split(path)
    tmp = f"{directory}/{TEMP_PREFIX}{name}.{_pid[0]}-{next(_copies)}.tmp"
    try:
        fd = os.open(tmp, NEW_FILE, 0o666)  # the umask applies, as for any new file
    except FileNotFoundError:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(tmp, NEW_FILE, 0o666)
    try:
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
