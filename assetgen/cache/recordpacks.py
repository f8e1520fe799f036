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
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..fsutil import atomic_write
from .dirindex import DirIndex

_names = itertools.count()


class RecordPacks(DirIndex[Any]):
    """The packs in one directory, and an index of their records by spec hash (see
    DirIndex for when it is read)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.dir = directory

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

    def _read(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for _, records in self.read_all():  # oldest first: a newer record wins
            merged.update(records)
        return merged

    def add(self, docs: Mapping[str, Any]) -> None:
        """Write ``docs`` (spec hash -> record JSON) as a new pack."""
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_names)}.json"
        atomic_write(self.dir / name, json.dumps({"records": docs}, sort_keys=True).encode())
        self.update(docs)

    def rewrite(self, pack: Path, docs: Mapping[str, Any]) -> None:
        """Keep only ``docs`` in ``pack`` (gc); an empty pack goes."""
        self.forget()
        if not docs:
            pack.unlink(missing_ok=True)
            return
        try:
            current = json.loads(pack.read_bytes())["records"]
        except (OSError, ValueError, KeyError, TypeError):
            current = None
        if current != docs:
            atomic_write(pack, json.dumps({"records": docs}, sort_keys=True).encode())
