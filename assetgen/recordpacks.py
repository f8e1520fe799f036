"""Cache records written many at a time: ``<cache>/packs/*.json``, one file per pull.

A pull of N small images would otherwise create N record files besides the images
(which go to blobpacks.py), and creating files, not moving bytes, is most of what
such a pull costs. A pack is ``{"records": {spec_hash: record JSON}}``, written by
temp file and rename; its name starts with the time, so packs read oldest first
and a newer record of a spec wins. A record file (``specs/``) of the same spec
takes precedence over any pack: store.LocalCache looks there first.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .fsutil import atomic_write

_names = itertools.count()


class RecordPacks:
    """The packs in one directory, and an index of their records by spec hash.

    The index is read on the first lookup, and again when a lookup misses and the
    directory changed since (another process pulled); packs this process writes
    are added to it as they are.
    """

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self._index: dict[str, Any] | None = None
        self._seen: int | None = None  # the directory's mtime when read
        self._guard = threading.Lock()

    def files(self) -> list[Path]:
        try:
            return sorted(p for p in self.dir.iterdir() if p.suffix == ".json")
        except OSError:
            return []

    def read_all(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Every pack, oldest first, with its records (JSON documents, unchecked)."""
        for pack in self.files():
            try:
                records = json.loads(pack.read_bytes())["records"]
            except (OSError, ValueError, KeyError, TypeError):
                records = None
            yield pack, records if isinstance(records, dict) else {}

    def get(self, spec_hash: str) -> Any:
        """The record document of ``spec_hash`` in the newest pack that has one, or None."""
        index = self._index
        if index is None or (spec_hash not in index and self._stamp() != self._seen):
            with self._guard:
                seen = self._stamp()
                if self._index is not None and seen == self._seen:
                    return self._index.get(spec_hash)  # another thread read them meanwhile
                loaded: dict[str, Any] = {}
                for _, records in self.read_all():
                    loaded.update(records)
                self._index, self._seen = loaded, seen
                index = loaded
        return index.get(spec_hash)

    def _stamp(self) -> int | None:
        try:
            return os.stat(self.dir).st_mtime_ns
        except OSError:
            return None

    def forget(self) -> None:
        """Read the packs afresh on the next lookup (another cache object wrote some)."""
        with self._guard:
            self._index = None

    def add(self, docs: Mapping[str, Any]) -> None:
        """Write ``docs`` (spec hash -> record JSON) as a new pack."""
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_names)}.json"
        atomic_write(self.dir / name, json.dumps({"records": docs}, sort_keys=True).encode())
        with self._guard:
            if self._index is not None:
                self._index.update(docs)

    def rewrite(self, pack: Path, docs: Mapping[str, Any]) -> None:
        """Keep only ``docs`` in ``pack`` (gc); an empty pack goes."""
        with self._guard:
            self._index = None
        if not docs:
            pack.unlink(missing_ok=True)
            return
        try:
            current = json.loads(pack.read_bytes())["records"]
        except (OSError, ValueError, KeyError, TypeError):
            current = None
        if current != docs:
            atomic_write(pack, json.dumps({"records": docs}, sort_keys=True).encode())
