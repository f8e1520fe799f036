"""An index of what the files in one directory hold, kept in memory and read again
only when needed: the pack indexes of the cache (blobpacks.py, recordpacks.py)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Generic, TypeVar

V = TypeVar("V")


class DirIndex(Generic[V]):
    """Key -> value over the files of ``directory``, as ``_read`` finds them.

    Read on the first lookup, and again when a lookup misses and the directory changed
    since (its mtime: another process wrote or rewrote a file there); what this process
    writes is added with ``update`` as it is.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._index: dict[str, V] | None = None
        self._seen: int | None = None  # the directory's mtime when read
        self._guard = threading.Lock()

    def _read(self) -> dict[str, V]:
        raise NotImplementedError

    def get(self, key: str) -> V | None:
        index = self._index
        if index is None or (key not in index and self._stamp() != self._seen):
            index = self._load()
        return index.get(key)

    def _stamp(self) -> int | None:
        try:
            return os.stat(self.directory).st_mtime_ns
        except OSError:
            return None

    def _load(self) -> dict[str, V]:
        with self._guard:
            seen = self._stamp()
            if self._index is not None and seen == self._seen:
                return self._index  # another thread read it while this one waited
            self._index, self._seen = self._read(), seen
            return self._index

    def update(self, entries: Mapping[str, V]) -> None:
        """Add what this process just wrote (nothing to do before the first read)."""
        with self._guard:
            if self._index is not None:
                self._index.update(entries)

    def forget(self) -> None:
        """Read the directory afresh on the next lookup."""
        with self._guard:
            self._index = None
