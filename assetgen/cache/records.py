"""The cache's value types: the record of an image's making, and the Cache protocol."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..digests import record_fields

if TYPE_CHECKING:
    from pathlib import Path

    from ..lock.model import LockEntry


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
            "credits": self.credits,
            "generated_at": self.generated_at,
            "request": dict(self.request),
        }

    @classmethod
    def from_json(cls, d: Any) -> CacheRecord:
        """The record in ``d`` (parsed JSON from a file, a pack or a remote), checked.

        The one way a record is read back: every digest, spec hash and size in it is
        checked (digests.py) before anything can make a path of it or lock it.

        Raises:
            CorruptRecord: ``d`` is not a record assetgen could have written.
        """
        return cls(**record_fields(d))


class Cache(Protocol):
    """What plan, build, views and sharing need from a cache, local or tiered.

    Two implementations: ``store.LocalCache`` (the directory) and
    ``tiered.TieredCache`` (a LocalCache in front of a remote store, by composition).
    The members with a body below are what a cache that answers every question at
    once, from its own directory, does for them: such a cache takes them by naming
    this protocol as its base (as LocalCache does) instead of carrying hooks of its
    own. A tiered cache gives each its remote meaning.
    """

    # Where a tiered cache reports its one remote warning (default: stderr); a
    # command sets it once its reporter exists. Nothing reports through it otherwise.
    on_warning: Callable[[str], None] | None = None

    def has(self, spec_hash: str) -> bool: ...

    def has_blob(self, sha256: str) -> bool:
        """Whether a blob is here, locally (unverified: ``read_blob`` verifies)."""
        ...

    def record(self, spec_hash: str) -> CacheRecord | None: ...

    def read_blob(self, sha256: str) -> bytes | None:
        """The bytes with this digest, verified; None when absent or corrupt."""
        ...

    def put(
        self, record: CacheRecord, blobs: Mapping[str, bytes], *, replace: bool = False
    ) -> CacheRecord:
        """Store bytes per format and the record (see LocalCache.put)."""
        ...

    def add_blob(self, sha256: str, data: bytes | bytearray, *, durable: bool = True) -> None:
        """Store bytes already verified to have digest ``sha256`` (see LocalCache.add_blob)."""
        ...

    @property
    def root(self) -> Path:
        """The local cache's directory (what stays local: the derived files' index)."""
        ...

    @property
    def local(self) -> Cache:
        """The local directory alone, asking no remote: "is it here yet?"."""
        return self

    def lookahead(self) -> Callable[[list[str]], set[str]] | None:
        """What a plan should call first with every spec it will ask ``has`` about (see
        Project.plan); None: ``has`` answers each at once."""
        return None

    def prefetch(self, entries: Sequence[LockEntry]) -> None:
        """Before a build restores ``entries``: fetch at once what only a remote has."""
        return None

    def record_for(self, spec_hash: str, fmt: str) -> CacheRecord | None:
        """The record of ``spec_hash`` for a restore in image format ``fmt``: the record,
        with an image in ``fmt`` from the remote where one has it and this one does not."""
        return self.record(spec_hash)

    def close(self) -> None:
        """Wait for uploads still in flight, then release threads and connections."""
        return None

    def abandon(self) -> None:
        """Drop queued uploads and stop waiting for any: for an interrupted process."""
        return None


def replace_record(record: CacheRecord, blobs: Mapping[str, tuple[str, int]]) -> CacheRecord:
    return CacheRecord(
        record.spec_hash, record.width, record.height, dict(blobs), record.task_id, record.results,
        record.credits, record.generated_at, record.request,
    )  # fmt: skip


def record_from_entry(entry: LockEntry) -> CacheRecord:
    """The cache record a lock entry implies: its one image, and the facts of its making."""
    fmt = entry.image_format
    return CacheRecord(
        entry.spec_hash, entry.width, entry.height, {fmt: (entry.sha256, entry.bytes)},
        entry.task_id, entry.results, entry.credits, entry.generated_at, dict(entry.request),
    )  # fmt: skip


def spec_hex(spec_hash: str) -> str:
    """``sha256:<hex>`` -> ``<hex>``: the key of a spec in a cache."""
    return spec_hash.split(":", 1)[-1]
