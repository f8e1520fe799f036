"""The content-addressed cache: spec hash -> image bytes and the metadata of their making.

Two tables, as in Bazel's remote cache: ``specs/`` maps a spec hash to a small JSON
record (pixel size, task id, credits, generated_at, and the digest of the bytes per
image format), and ``blobs/`` holds bytes by their own sha256. Every read is
verified against that digest; a corrupt blob is dropped and reported as a miss, so
the asset is regenerated rather than served wrong.

``Cache`` is the interface the planner and the builder see; the local directory is
the default implementation, and a shared remote store can sit behind the same one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .fsutil import atomic_write

if TYPE_CHECKING:
    from .project import Project

CACHE_ENV = "ASSETGEN_CACHE_DIR"


@dataclass(frozen=True)
class CacheRecord:
    """What the cache knows about one spec: enough to rebuild its lock entry exactly."""

    spec_hash: str
    width: int
    height: int
    blobs: Mapping[str, tuple[str, int]]  # image format -> (sha256, size)
    task_id: str | None = None
    results: tuple[str, ...] = ()
    credits: float = 0.0
    generated_at: str | None = None
    request: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "spec_hash": self.spec_hash,
            "width": self.width,
            "height": self.height,
            "blobs": {k: list(v) for k, v in sorted(self.blobs.items())},
            "task_id": self.task_id,
            "results": list(self.results),
            "credits": self.credits,
            "generated_at": self.generated_at,
            "request": dict(self.request),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CacheRecord:
        return cls(
            spec_hash=str(d["spec_hash"]),
            width=int(d["width"]),
            height=int(d["height"]),
            blobs={str(k): (str(v[0]), int(v[1])) for k, v in d["blobs"].items()},
            task_id=d.get("task_id"),
            results=tuple(d.get("results") or ()),
            credits=float(d.get("credits") or 0.0),
            generated_at=d.get("generated_at"),
            request=dict(d.get("request") or {}),
        )


class Cache(Protocol):
    """What plan and build need from a cache, local or remote."""

    def has(self, spec_hash: str) -> bool: ...

    def record(self, spec_hash: str) -> CacheRecord | None: ...

    def read_blob(self, sha256: str) -> bytes | None:
        """The bytes with this digest, verified; None when absent or corrupt."""
        ...

    def put(
        self, record: CacheRecord, blobs: Mapping[str, bytes], *, replace: bool = False
    ) -> CacheRecord:
        """Store bytes per format and the record (see LocalCache.put)."""
        ...


def replace_record(record: CacheRecord, blobs: Mapping[str, tuple[str, int]]) -> CacheRecord:
    return CacheRecord(
        record.spec_hash, record.width, record.height, dict(blobs), record.task_id, record.results,
        record.credits, record.generated_at, record.request,
    )  # fmt: skip


def _hex(spec_hash: str) -> str:
    return spec_hash.split(":", 1)[-1]


class LocalCache:
    """A cache directory: ``.assetgen/cache`` by default, ``$ASSETGEN_CACHE_DIR`` when set."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _spec_path(self, spec_hash: str) -> Path:
        h = _hex(spec_hash)
        return self.root / "specs" / h[:2] / f"{h}.json"

    def _blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def has(self, spec_hash: str) -> bool:
        return self._spec_path(spec_hash).is_file()

    def record(self, spec_hash: str) -> CacheRecord | None:
        path = self._spec_path(spec_hash)
        try:
            return CacheRecord.from_json(json.loads(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, IndexError):
            with contextlib.suppress(OSError):
                path.unlink()  # unreadable record: a miss, and the next put rewrites it
            return None

    def read_blob(self, sha256: str) -> bytes | None:
        path = self._blob_path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if hashlib.sha256(data).hexdigest() != sha256:
            with contextlib.suppress(OSError):
                path.unlink()
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

    # --- maintenance (`assetgen cache info|gc`) ---------------------------------------

    def iter_records(self) -> Iterator[tuple[Path, CacheRecord | None]]:
        for path in sorted((self.root / "specs").glob("*/*.json")):
            try:
                yield path, CacheRecord.from_json(json.loads(path.read_bytes()))
            except (OSError, ValueError, KeyError, TypeError):
                yield path, None

    def info(self) -> dict[str, int]:
        specs = sum(1 for _ in (self.root / "specs").glob("*/*.json"))
        blobs = list((self.root / "blobs").glob("*/*"))
        return {
            "entries": specs,
            "blobs": len(blobs),
            "bytes": sum(b.stat().st_size for b in blobs),
        }

    def gc(self, keep: set[str], older_than_s: float | None = None) -> dict[str, int]:
        """Drop records the lock does not reference or, with ``older_than_s``, records cached
        longer ago than that (the mode for a cache shared by several checkouts, whose
        other locks this one cannot see); then drop blobs no record uses."""
        now = time.time()
        dropped = 0
        live_blobs: set[str] = set()
        for path, rec in self.iter_records():
            if rec is None:
                stale = True
            elif older_than_s is not None:
                stale = now - path.stat().st_mtime > older_than_s
            else:
                stale = rec.spec_hash not in keep
            if stale:
                path.unlink(missing_ok=True)
                dropped += 1
            elif rec is not None:
                live_blobs.update(sha for sha, _ in rec.blobs.values())
        freed = 0
        for blob in (self.root / "blobs").glob("*/*"):
            if blob.name not in live_blobs:
                freed += blob.stat().st_size
                blob.unlink(missing_ok=True)
        return {"dropped": dropped, "freed_bytes": freed}


def cache_root(project: Project) -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else project.state_dir / "cache"


def open_cache(project: Project) -> LocalCache:
    return LocalCache(cache_root(project))
