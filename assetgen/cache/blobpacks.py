"""Pulled images stored many to a file: ``<cache>/blobpacks/*.pack``.

A pull of N images into loose files creates N files, each through a temp name and
a rename, and creating files, not moving bytes, is most of what such a pull costs
(on tmpfs as on ext4; benchmarks/remote_pull_bench.py). git keeps fetched objects
in packs for the same reason. Only pulls write packs (``cache pull``, and a build
fetching the images of its restores first: TieredCache.prefetch); they hold copies
of bytes that live on the remote. A build writes what it generates as loose blobs,
one file each, and a loose blob is looked up first.

A pack is the blobs back to back, then its index (JSON ``{sha256: [offset,
size]}``), then 16 bytes: the index's length (8 bytes, big-endian) and ``MAGIC``.
It is written under a temp name and renamed once whole, so a pack on disk always
has its index; what a killed pull leaves is a temp file that ``cache gc`` sweeps.
Nothing is fsynced (the bytes live on the remote too), and every read is verified
against its sha256 by the caller, as for loose blobs; a packed copy that fails is
dropped from its pack (``PackIndex.discard``), as a damaged loose file is deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import threading
import time
from pathlib import Path

from ..digests import is_sha256
from ..fsutil import NEW_FILE, TEMP_PREFIX, disk_full_as_error, write_all
from .dirindex import DirIndex

MAGIC = b"AGPACK01"
_TRAILER = 16
# A pull renames its pack into place every this many bytes and starts another, so a
# killed pull keeps most of what it fetched, and gc rewrites packs of a bounded size.
ROTATE_BYTES = 256 * 1024 * 1024
STALE_TEMP_S = 3600.0  # a temp pack older than this belongs to no running pull
_names = itertools.count()

Location = tuple[str, int, int]  # pack path, offset, size


class PackClosed(Exception):
    """An ``add`` after ``commit``: a stream still running when its pull ended."""


class PackWriter:
    """Appends blobs to a new pack; ``commit`` makes them readable.

    Thread-safe, so that a pull ending on ^C can commit while a straggling stream
    is still adding: the add either lands before the commit or is refused.
    """

    def __init__(self, directory: Path, on_commit: PackIndex | None = None) -> None:
        self.directory = directory
        self._on_commit = on_commit
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._tmp = self._final = ""
        self._index: dict[str, list[int]] = {}
        self._offset = 0
        self._closed = False
        self.committed: list[str] = []  # every sha renamed into place so far

    def add(self, sha256: str, data: bytes | bytearray) -> None:
        """Append bytes the caller has verified to have this digest."""
        with self._lock:
            if self._closed:
                raise PackClosed("the pull this pack belongs to has ended")
            try:
                with disk_full_as_error(self.directory):
                    if self._fd is None:
                        self._open()
                    assert self._fd is not None
                    write_all(self._fd, data)
            except OSError:
                self._abandon()  # a part-written blob: this pack's offsets are off from here
                raise
            self._index[sha256] = [self._offset, len(data)]
            self._offset += len(data)
            if self._offset >= ROTATE_BYTES:
                with disk_full_as_error(self.directory):
                    self._commit()

    def commit(self) -> list[str]:
        """Write the index and rename the pack into place; later adds are refused.
        Returns every sha this writer made readable (over all its rotations)."""
        with self._lock:
            self._closed = True
            with disk_full_as_error(self.directory):
                self._commit()
            return self.committed

    def _abandon(self) -> None:
        """Drop the pack being written (its blobs are copies; a later pull fetches them
        again) and refuse further adds."""
        self._closed = True
        fd, self._fd, self._index = self._fd, None, {}
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._tmp:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)

    def _open(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_names)}.pack"
        self._final = f"{self.directory}/{name}"
        self._tmp = f"{self.directory}/{TEMP_PREFIX}{name}.tmp"
        self._fd = os.open(self._tmp, NEW_FILE, 0o666)
        self._index, self._offset = {}, 0

    def _commit(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        index, self._index = self._index, {}
        path = self._final
        try:
            if index:
                data = json.dumps(index, separators=(",", ":")).encode()
                write_all(fd, data + len(data).to_bytes(8, "big") + MAGIC)
            closing, fd = fd, None
            os.close(closing)
            if index:
                os.replace(self._tmp, path)
            else:
                os.unlink(self._tmp)
        except BaseException:
            if fd is not None:  # closed once only: the number may be another file's since
                with contextlib.suppress(OSError):
                    os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            raise
        self.committed.extend(index)
        if self._on_commit is not None:
            self._on_commit.added(path, index)


class PackIndex(DirIndex[Location]):
    """Where each packed blob is, over every pack in ``directory`` (looked up after a
    loose blob was not found; see DirIndex for when it is read)."""

    def _read(self) -> dict[str, Location]:
        return {
            sha: (path, offset, size)
            for path, index in read_packs(self.directory)
            for sha, (offset, size) in index.items()
        }

    def read(self, sha256: str) -> bytes | None:
        """The packed bytes for ``sha256`` (unverified), or None."""
        for _ in range(2):
            where = self.get(sha256)
            if where is None:
                return None
            path, offset, size = where
            try:
                data = _read_at(path, offset, size)
            except FileNotFoundError:  # rewritten by a gc since: read the packs again
                self.forget()
                continue
            return data if len(data) == size else None
        return None

    def discard(self, sha256: str) -> None:
        """Drop a damaged copy: rewrite its pack without it (and without any other
        copy there that fails its digest), so the next pull fetches it again."""
        where = self.get(sha256)
        if where is not None:
            path = where[0]
            with contextlib.suppress(FileNotFoundError):  # another process got there first
                index = _read_index(path)
                if index is not None:
                    _rewrite(self.directory, path, index, set(index))
            self.forget()

    def added(self, path: str, index: dict[str, list[int]]) -> None:
        self.update({sha: (path, offset, size) for sha, (offset, size) in index.items()})


def read_packs(directory: Path) -> list[tuple[str, dict[str, list[int]]]]:
    """Every pack in ``directory`` with its index, oldest first; a file that is not a
    whole pack, or cannot be read just now, is skipped."""
    packs = []
    for name in sorted(n for n in _listdir(directory) if n.endswith(".pack")):
        path = f"{directory}/{name}"
        try:
            index = _read_index(path)
        except OSError:
            continue
        if index is not None:
            packs.append((path, index))
    return packs


def _read_index(path: str) -> dict[str, list[int]] | None:
    """The pack's index; None when the file is not a whole pack. Raises OSError when
    it cannot be read (which says nothing about the pack)."""
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
        raw = f.read(length)
    try:
        index = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    limit = end - _TRAILER - length
    if not isinstance(index, dict) or not all(
        is_sha256(sha) and _within(where, limit) for sha, where in index.items()
    ):
        return None
    return index


def _within(where: object, limit: int) -> bool:
    """Whether an index value is an [offset, size] inside the blob area."""
    if not (isinstance(where, list) and len(where) == 2):
        return False
    offset, size = where
    return type(offset) is int and type(size) is int and 0 <= offset <= offset + size <= limit


def _read_at(path: str, offset: int, size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(size)


def gc_packs(directory: Path, live: set[str], index: PackIndex) -> int:
    """Drop packed blobs not in ``live``: a pack with none left goes, one with some
    is rewritten without the others. Also removes files that are not whole packs and
    temp packs of pulls long dead. Returns the bytes freed."""
    freed = 0
    now = time.time()
    for name in sorted(_listdir(directory)):  # one listing: a pack committed since is not ours
        path = f"{directory}/{name}"
        try:
            if name.endswith(".pack"):
                entries = _read_index(path)
                if entries is None:  # not a whole pack: debris
                    freed += os.stat(path).st_size
                    os.unlink(path)
                elif dead := [sha for sha in entries if sha not in live]:
                    freed += sum(entries[sha][1] for sha in dead)
                    _rewrite(directory, path, entries, live)
            elif name.startswith(TEMP_PREFIX):
                st = os.stat(path)
                if now - st.st_mtime > STALE_TEMP_S:
                    os.unlink(path)
                    freed += st.st_size
        except OSError:  # unreadable just now, or gone with another gc: leave it
            continue
    index.forget()
    return freed


def _rewrite(directory: Path, path: str, entries: dict[str, list[int]], keep: set[str]) -> None:
    """Replace the pack at ``path`` by one holding only its blobs in ``keep`` that still
    match their digest (none: no pack at all)."""
    writer = PackWriter(directory)
    with open(path, "rb") as f:
        for sha, (offset, size) in entries.items():
            if sha in keep:
                f.seek(offset)
                data = f.read(size)
                if hashlib.sha256(data).hexdigest() == sha:
                    writer.add(sha, data)
    writer.commit()
    os.unlink(path)


def _listdir(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


def packed_sizes(directory: Path) -> dict[str, int]:
    """sha256 -> size of every packed blob (``cache info``)."""
    return {sha: size for _, index in read_packs(directory) for sha, (_, size) in index.items()}
