"""The content-addressed cache: spec hash -> image bytes and the metadata of their making.

Two tables, as in Bazel's remote cache: ``specs/`` maps a spec hash to a small JSON
record (pixel size, task id, credits, generated_at, and the digest of the bytes per
image format), and ``blobs/`` holds bytes by their own sha256. Every read is
verified against that digest; a corrupt blob is dropped and reported as a miss, so
the asset is regenerated rather than served wrong.

``Cache`` (records.py) is the interface the planner and the builder see; the local
directory is the default implementation, and ``tiered.TieredCache`` wraps one in
front of a shared remote store (``open_cache`` picks one or the other). This module
knows nothing of remotes: the Cache members a remote gives meaning to (lookahead,
prefetch, close, ...) keep the protocol's defaults here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..digests import CorruptRecord, is_sha256, is_spec_hash
from ..fsutil import atomic_write, write_copy
from .blobpacks import PackIndex, PackWriter, gc_packs, packed_sizes
from .recordpacks import RecordPacks
from .records import Cache, CacheRecord, replace_record, spec_hex

CACHE_ENV = "ASSETGEN_CACHE_DIR"
REMOTE_ENV = "ASSETGEN_REMOTE_CACHE"  # a remote cache URL; overrides the manifest's, `none`: off


class LocalCache(Cache):
    """A cache directory: ``.assetgen/cache`` by default, ``$ASSETGEN_CACHE_DIR`` when set."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._packs = RecordPacks(root / "packs")
        self._blob_packs = PackIndex(root / "blobpacks")
        self._dir = os.fspath(root)  # paths by string: a pull makes thousands

    @property
    def root(self) -> Path:
        return self._root

    # Paths are made only from checked digests (digests.py): a reader gets a miss for
    # anything else, and a writer, which has its digests from hashing, a ValueError.

    def _spec_file(self, spec_hash: str) -> str:
        if not is_spec_hash(spec_hash):
            raise ValueError("not a spec hash")  # a bug: readers check first
        h = spec_hex(spec_hash)
        return f"{self._dir}/specs/{h[:2]}/{h}.json"

    def _spec_path(self, spec_hash: str) -> Path:
        return Path(self._spec_file(spec_hash))

    def _blob_file(self, sha256: str) -> str:
        if not is_sha256(sha256):
            raise ValueError("not a blob digest")  # a bug: readers check first
        return f"{self._dir}/blobs/{sha256[:2]}/{sha256}"

    def _blob_path(self, sha256: str) -> Path:
        return Path(self._blob_file(sha256))

    def blob_path(self, sha256: str) -> Path:
        """Where the loose file of a blob lives (absent when not here, or packed)."""
        return self._blob_path(sha256)

    def has(self, spec_hash: str) -> bool:
        """Whether the cache can serve ``spec_hash``: a record that reads as one, with a blob
        present, so plan says "cached" only where build will not pay (asked only for the
        assets a plan would generate, never on a null plan)."""
        if not is_spec_hash(spec_hash):
            return False
        try:
            doc: Any = json.loads(self._spec_path(spec_hash).read_bytes())
        except FileNotFoundError:
            doc = self._packs.get(spec_hash)
        except (OSError, ValueError, RecursionError):
            return False
        record = None if doc is None else _record_or_none(doc)
        return record is not None and any(self.has_blob(sha) for sha, _ in record.blobs.values())

    def record(self, spec_hash: str) -> CacheRecord | None:
        if not is_spec_hash(spec_hash):
            return None
        path = self._spec_path(spec_hash)
        try:
            return CacheRecord.from_json(json.loads(path.read_bytes()))
        except FileNotFoundError:
            packed = self._packs.get(spec_hash)
            return None if packed is None else _record_or_none(packed)
        except (ValueError, KeyError, TypeError, IndexError, RecursionError):
            with contextlib.suppress(OSError):
                path.unlink()  # unreadable record: a miss, and the next put rewrites it
            return None

    def read_blob(self, sha256: str) -> bytes | None:
        if not is_sha256(sha256):
            return None
        path = self._blob_path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return self._read_packed(sha256)
        if hashlib.sha256(data).hexdigest() != sha256:
            with contextlib.suppress(OSError):
                path.unlink()  # damaged: a miss, and the next put or pull writes it again
            return self._read_packed(sha256)
        return data

    def _read_packed(self, sha256: str) -> bytes | None:
        """A pulled image (blobpacks.py), verified; a damaged copy is dropped: a miss."""
        data = self._blob_packs.read(sha256)
        if data is None:
            return None
        if hashlib.sha256(data).hexdigest() != sha256:
            self._blob_packs.discard(sha256)
            return None
        return data

    def put(
        self, record: CacheRecord, blobs: Mapping[str, bytes], *, replace: bool = False
    ) -> CacheRecord:
        """Store ``blobs`` (format -> bytes) and the record; returns what is now stored.

        ``replace``: a new generation, whose record replaces any older one. Otherwise an
        existing record keeps its facts and its images (restoring must reproduce the lock
        entry it was made for); only formats it lacks are added.
        """
        added: dict[str, tuple[str, int]] = {}
        for fmt, data in blobs.items():
            sha = hashlib.sha256(data).hexdigest()
            added[fmt] = (sha, len(data))
            path = self._blob_path(sha)
            if not path.exists():
                atomic_write(path, data)
        old = None if replace else self.record(record.spec_hash)
        if old is None:
            final = replace_record(record, {**record.blobs, **added})
        else:
            final = replace_record(old, {**added, **old.blobs})
        atomic_write(
            self._spec_path(final.spec_hash), json.dumps(final.to_json(), sort_keys=True).encode()
        )
        return final

    def add_blob(self, sha256: str, data: bytes | bytearray, *, durable: bool = True) -> None:
        """Store bytes the caller has already verified to have digest ``sha256``.

        ``durable=False`` is for copies of bytes that live elsewhere (a remote cache):
        every read verifies, so a copy torn by a power loss is a miss, fetched again.
        """
        path = self._blob_file(sha256)
        if not durable:
            write_copy(path, data)  # over a copy already there: the same bytes, by digest
        elif not os.path.exists(path):
            atomic_write(Path(path), bytes(data))

    def add_record(self, record: CacheRecord, *, durable: bool = True) -> CacheRecord:
        """Store ``record`` (whose blobs are already stored) without hashing anything.

        A record already here keeps its facts; only the formats it lacks are added,
        as in ``put``. Returns what is now stored.
        """
        old = self.record(record.spec_hash)
        final = record if old is None else replace_record(old, {**record.blobs, **old.blobs})
        if final != old:
            data = json.dumps(final.to_json(), sort_keys=True).encode()
            path = self._spec_path(final.spec_hash)
            if durable:
                atomic_write(path, data)
            else:
                write_copy(os.fspath(path), data)
        return final

    def add_records(self, records: Sequence[CacheRecord]) -> None:
        """Store many records (whose blobs are already stored) as one pack file.

        For a pull: see recordpacks.py. A record file of the same spec, older or newer,
        takes precedence over a packed record, so use ``add_record`` to extend one.
        """
        merged: dict[str, CacheRecord] = {}
        for rec in records:  # one spec locked in two formats: one record with both
            old = merged.get(rec.spec_hash)
            merged[rec.spec_hash] = (
                rec if old is None else replace_record(rec, {**old.blobs, **rec.blobs})
            )
        if merged:
            self._packs.add({r.spec_hash: r.to_json() for r in merged.values()})

    def has_blob(self, sha256: str) -> bool:
        """Whether a blob is there, loose or packed (unverified: ``read_blob`` verifies)."""
        if not is_sha256(sha256):
            return False
        return os.path.isfile(self._blob_file(sha256)) or self._blob_packs.get(sha256) is not None

    def pack_writer(self) -> PackWriter:
        """A new pack of blobs, for a pull (see blobpacks.py); ``commit()`` it when done."""
        return PackWriter(self.root / "blobpacks", self._blob_packs)

    # --- maintenance (`assetgen cache info|gc`) ---------------------------------------

    def iter_records(self) -> Iterator[tuple[Path, CacheRecord | None]]:
        """Record files, then packed records no record file shadows (path: the pack)."""
        seen: set[str] = set()
        for path in sorted((self.root / "specs").glob("*/*.json")):
            seen.add(path.stem)
            try:
                yield path, CacheRecord.from_json(json.loads(path.read_bytes()))
            except (OSError, ValueError, KeyError, TypeError, RecursionError):
                yield path, None
        for pack, records in reversed(list(self._packs.read_all())):  # newest first
            for spec_hash, doc in records.items():
                if spec_hex(spec_hash) not in seen:
                    seen.add(spec_hex(spec_hash))
                    yield pack, _record_or_none(doc)

    def info(self) -> dict[str, int]:
        entries = sum(1 for _ in self.iter_records())
        sizes = packed_sizes(self.root / "blobpacks")
        sizes.update((b.name, b.stat().st_size) for b in (self.root / "blobs").glob("*/*"))
        return {"entries": entries, "blobs": len(sizes), "bytes": sum(sizes.values())}

    def gc(
        self,
        keep: set[str],
        older_than_s: float | None = None,
        keep_blobs: Iterable[str] = (),
        *,
        include_locked: bool = False,
    ) -> dict[str, int]:
        """Drop records the lock does not reference (``keep``), then blobs no record uses,
        but for ``keep_blobs`` (adopted edits, which no record lists: see adopt.py).

        ``older_than_s`` narrows it to records and loose blobs cached longer ago than
        that: the mode for a cache shared by several checkouts, whose other locks this
        one cannot see, so what they stored recently stays (derived files too, which no
        record lists). ``include_locked`` (only with an age) drops old
        records this lock names too; they are the images a fresh clone restores, so
        only when asked."""
        now = time.time()
        dropped = 0
        live_blobs: set[str] = set(keep_blobs)
        packed: dict[Path, list[CacheRecord]] = {}
        listed = self._packs.files()  # a pack written after this (a pull elsewhere) is not ours
        for path, rec in self.iter_records():
            if rec is None:
                stale = True
            else:
                stale = include_locked or rec.spec_hash not in keep
                if stale and older_than_s is not None:
                    stale = now - path.stat().st_mtime > older_than_s
            if stale:
                dropped += 1
                if path.parent != self._packs.dir:
                    path.unlink(missing_ok=True)
            elif rec is not None:
                live_blobs.update(sha for sha, _ in rec.blobs.values())
            if path.parent == self._packs.dir:
                packed.setdefault(path, [])
                if not stale and rec is not None:
                    packed[path].append(rec)
        for pack in sorted(set(listed) | set(packed)):  # empty or unreadable ones go too
            self._packs.rewrite(pack, {r.spec_hash: r.to_json() for r in packed.get(pack, [])})
        freed = gc_packs(self.root / "blobpacks", live_blobs, self._blob_packs)
        for blob in (self.root / "blobs").glob("*/*"):
            if blob.name not in live_blobs:
                st = blob.stat()
                if older_than_s is not None and now - st.st_mtime <= older_than_s:
                    continue  # no record names it (a derived file, an adopted edit), but
                    # it is recent: another checkout of a shared cache may lock it
                freed += st.st_size
                blob.unlink(missing_ok=True)
        return {"dropped": dropped, "freed_bytes": freed}


def _record_or_none(doc: Any) -> CacheRecord | None:
    try:
        return CacheRecord.from_json(doc)
    except CorruptRecord:
        return None
