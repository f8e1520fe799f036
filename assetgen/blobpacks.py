"""Pulled images stored many to a file: ``<cache>/blobpacks/*.pack``.

A pull of N images into loose files creates N files, each through a temp name and
a rename, and creating files, not moving bytes, is most of what such a pull costs
(on tmpfs as on ext4; benchmarks/remote_pull_bench.py). git keeps fetched objects
in packs for the same reason. Only ``cache pull`` writes packs: they hold copies of
bytes that live on the remote. A build writes loose blobs, one file each, and a
loose blob is looked up first.

A pack is the blobs back to back, then its index (JSON ``{sha256: [offset,
size]}``), then 16 bytes: the index's length (8 bytes, big-endian) and ``MAGIC``.
It is written under a temp name and renamed once whole, so a pack on disk always
has its index; what a killed pull leaves is a temp file that ``cache gc`` sweeps.
Nothing is fsynced (the bytes live on the remote too), and every read is verified
against its sha256 by the caller, as for loose blobs.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from .fsutil import TEMP_PREFIX

MAGIC = b"AGPACK01"
_TRAILER = 16
# A pull renames its pack into place every this many bytes and starts another, so a
# killed pull keeps most of what it fetched, and gc rewrites packs of a bounded size.
ROTATE_BYTES = 256 * 1024 * 1024
STALE_TEMP_S = 3600.0  # a temp pack older than this belongs to no running pull
_names = itertools.count()

Location = tuple[str, int, int]  # pack path, offset, size


class PackWriter:
    """Appends blobs to a new pack; ``commit`` makes them readable. One thread at a time."""

    def __init__(self, directory: Path, on_commit: PackIndex | None = None) -> None:
        self.directory = directory
        self._on_commit = on_commit
        self._fd: int | None = None
        self._tmp = ""
        self._index: dict[str, list[int]] = {}
        self._offset = 0

    def add(self, sha256: str, data: bytes | bytearray) -> None:
        """Append bytes the caller has verified to have this digest."""
        if self._fd is None:
            self._open()
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        self._index[sha256] = [self._offset, len(data)]
        self._offset += len(data)
        if self._offset >= ROTATE_BYTES:
            self.commit()

    def _open(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_names)}.pack"
        self._tmp = f"{self.directory}/{TEMP_PREFIX}{name}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self._tmp, flags, 0o666)
        self._index, self._offset = {}, 0

    def commit(self) -> None:
        """Write the index, rename the pack into place; nothing to do when empty."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if not self._index:
                os.close(fd)
                os.unlink(self._tmp)
                return
            index = json.dumps(self._index, separators=(",", ":")).encode()
            tail = index + len(index).to_bytes(8, "big") + MAGIC
            view = memoryview(tail)
            while view:
                view = view[os.write(fd, view) :]
            os.close(fd)
            final = self._tmp.removeprefix(f"{self.directory}/{TEMP_PREFIX}").removesuffix(".tmp")
            path = f"{self.directory}/{final}"
            os.replace(self._tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            raise
        if self._on_commit is not None:
            self._on_commit.added(path, self._index)


class PackIndex:
    """Where each packed blob is, over every pack in ``directory``.

    Read once per process, on the first lookup (a lookup comes after a loose blob
    was not found); packs this process commits are added as they are.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._where: dict[str, Location] | None = None
        self._guard = threading.Lock()

    def get(self, sha256: str) -> Location | None:
        where = self._where
        if where is None:
            with self._guard:
                if self._where is None:
                    loaded: dict[str, Location] = {}
                    for path, index in read_packs(self.directory):
                        for sha, (offset, size) in index.items():
                            loaded[sha] = (path, offset, size)
                    self._where = loaded
                where = self._where
        return where.get(sha256)

    def read(self, sha256: str) -> bytes | None:
        """The packed bytes for ``sha256`` (unverified), or None."""
        where = self.get(sha256)
        if where is None:
            return None
        path, offset, size = where
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:  # rewritten by a gc since: look again next time
            self.forget()
            return None
        try:
            data = os.pread(fd, size, offset)
        finally:
            os.close(fd)
        return data if len(data) == size else None

    def added(self, path: str, index: dict[str, list[int]]) -> None:
        with self._guard:
            if self._where is not None:
                for sha, (offset, size) in index.items():
                    self._where[sha] = (path, offset, size)

    def forget(self) -> None:
        """Read the packs afresh on the next lookup (after gc rewrote them)."""
        with self._guard:
            self._where = None


def read_packs(directory: Path) -> list[tuple[str, dict[str, list[int]]]]:
    """Every pack in ``directory`` with its index, oldest first; a file that is not a
    whole pack is skipped (``gc`` removes it)."""
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".pack"))
    except OSError:
        return []
    packs = []
    for name in names:
        path = f"{directory}/{name}"
        index = _read_index(path)
        if index is not None:
            packs.append((path, index))
    return packs


def _read_index(path: str) -> dict[str, list[int]] | None:
    try:
        with open(path, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            if end < _TRAILER:
                return None
            f.seek(end - _TRAILER)
            trailer = f.read(_TRAILER)
            length = int.from_bytes(trailer[:8], "big")
            if trailer[8:] != MAGIC or length > end - _TRAILER:
                return None
            f.seek(end - _TRAILER - length)
            index = json.loads(f.read(length))
    except (OSError, ValueError):
        return None
    limit = end - _TRAILER - length
    if not isinstance(index, dict) or not all(_within(v, limit) for v in index.values()):
        return None
    return index


def _within(where: object, limit: int) -> bool:
    """Whether an index value is an [offset, size] inside the blob area."""
    if not (isinstance(where, list) and len(where) == 2):
        return False
    offset, size = where
    return (
        type(offset) is int
        and type(size) is int
        and offset >= 0
        and size >= 0
        and offset + size <= limit
    )


def gc_packs(directory: Path, live: set[str], index: PackIndex) -> int:
    """Drop packed blobs not in ``live``: a pack with none left goes, one with some
    is rewritten without the others. Also sweeps temp packs of pulls long dead and
    files that are not whole packs. Returns the bytes freed."""
    freed = 0
    packs = read_packs(directory)
    whole = {path for path, _ in packs}
    now = time.time()
    for name in _listdir(directory):  # first the debris, then the rewrites (not debris)
        path = f"{directory}/{name}"
        broken = name.endswith(".pack") and path not in whole
        with contextlib.suppress(OSError):
            st = os.stat(path)
            if broken or (name.startswith(TEMP_PREFIX) and now - st.st_mtime > STALE_TEMP_S):
                os.unlink(path)
                freed += st.st_size
    for path, entries in packs:
        dead = [sha for sha in entries if sha not in live]
        if not dead:
            continue
        freed += sum(entries[sha][1] for sha in dead)
        keep = [sha for sha in entries if sha in live]
        if keep:
            _copy_pack(directory, path, entries, keep)
        os.unlink(path)
    index.forget()
    return freed


def _copy_pack(
    directory: Path, path: str, entries: dict[str, list[int]], keep: Iterable[str]
) -> None:
    writer = PackWriter(directory)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        for sha in keep:
            offset, size = entries[sha]
            data = os.pread(fd, size, offset)
            if hashlib.sha256(data).hexdigest() == sha:  # a damaged copy is not worth keeping
                writer.add(sha, data)
    finally:
        os.close(fd)
    writer.commit()


def _listdir(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


def packed_sizes(directory: Path) -> dict[str, int]:
    """sha256 -> size of every packed blob (``cache info``)."""
    return {sha: size for _, index in read_packs(directory) for sha, (_, size) in index.items()}
