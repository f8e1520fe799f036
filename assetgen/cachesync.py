"""Bulk copies between the local cache and a remote one: ``assetgen cache push|pull``.

Both take the entries of a lock and move them many at a time in a thread pool.
Unlike a build, they fail (``RemoteCacheError``) when the remote is down:
transferring is all they were asked to do.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .errors import RemoteCacheError
from .lock import LockEntry
from .remote import RemoteCorrupt, RemoteError, RemoteStore, get_blob
from .store import CacheRecord, LocalCache, spec_hex
from .tiered import upload_entry

# Transfers in flight: two per core, 4 to 16. A pull is bound by CPU (hashing, writing
# files, Python per request) as soon as the remote is close: on a two-core runner 4
# threads beat 8 and 16, which fight over the GIL (benchmarks/remote_pull_bench.py);
# more cores hash and write more at once.
DEFAULT_TRANSFER_JOBS = min(16, max(4, 2 * (os.cpu_count() or 2)))


@dataclass
class TransferStats:
    """What a push or pull did: entries copied, already there, or nowhere to be found."""

    copied: int = 0
    present: int = 0
    missing: int = 0  # not in the source cache (or its bytes did not verify)
    bytes: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


def record_from_entry(entry: LockEntry) -> CacheRecord:
    """The cache record a lock entry implies: its one image, and the facts of its making."""
    fmt = entry.image_format
    return CacheRecord(
        entry.spec_hash, entry.width, entry.height, {fmt: (entry.sha256, entry.bytes)},
        entry.task_id, entry.results, entry.credits, entry.generated_at, dict(entry.request),
    )  # fmt: skip


def pull_all(
    remote: RemoteStore,
    local: LocalCache,
    entries: Iterable[LockEntry],
    *,
    jobs: int = DEFAULT_TRANSFER_JOBS,
) -> TransferStats:
    """Copy the image of every lock entry from ``remote`` into ``local``, ``jobs`` at a time.

    The lock entry already names the bytes (sha256) and carries every fact of the
    record, so a pull is one verified GET of ``/cas/<sha>`` per image, and the
    records go to the local cache as one pack file at the end (see store._Packs).
    Nothing is fetched that the local cache has. Raises RemoteCacheError when the
    remote fails (what was pulled before is kept).
    """
    plain = LocalCache(local.root)
    todo = {(e.spec_hash, e.sha256): e for e in entries}
    packed: list[CacheRecord] = []  # list.append is atomic: no lock needed

    def pull_one(entry: LockEntry) -> tuple[str, int]:
        record = plain.record(entry.spec_hash)
        have_blob = plain.has_blob(entry.sha256)
        if have_blob and record is not None and entry.sha256 in _shas(record):
            return "present", 0
        size = 0
        if not have_blob:  # else a pull that was cut short left it
            try:
                data = get_blob(remote, entry.sha256)
            except RemoteCorrupt as exc:
                return f"corrupt: {exc}", 0
            if data is None:
                return "missing", 0
            plain.add_blob(entry.sha256, data, durable=False)
            size = len(data)
        if record is None:
            packed.append(record_from_entry(entry))
        else:  # a record file with other formats: extend it in place
            plain.add_record(record_from_entry(entry))
        return "copied", size

    try:
        return _transfer(remote, list(todo.values()), pull_one, jobs, "pull")
    finally:
        plain.add_records(packed)


def _shas(record: CacheRecord) -> set[str]:
    return {sha for sha, _ in record.blobs.values()}


def push_all(
    local: LocalCache,
    remote: RemoteStore,
    entries: Iterable[LockEntry],
    *,
    jobs: int = DEFAULT_TRANSFER_JOBS,
) -> TransferStats:
    """Upload every lock entry's record and bytes from ``local`` to ``remote``, ``jobs`` at a time.

    An entry whose record the remote already has is skipped (a record is uploaded only
    after its bytes, so it is complete). Raises RemoteCacheError when the remote fails.
    """
    plain = LocalCache(local.root)
    todo = {e.spec_hash: e for e in entries}

    def push_one(entry: LockEntry) -> tuple[str, int]:
        if remote.exists("ac", spec_hex(entry.spec_hash)):
            return "present", 0
        record = plain.record(entry.spec_hash) or record_from_entry(entry)
        given: dict[str, bytes] = {}
        for sha, _ in record.blobs.values():
            data = plain.read_blob(sha)
            if data is not None:
                given[sha] = data
        if not given or not upload_entry(remote, plain, record, given):
            return "missing", 0
        return "copied", sum(len(b) for b in given.values())

    return _transfer(remote, list(todo.values()), push_one, jobs, "push")


def _transfer(
    remote: RemoteStore,
    entries: list[LockEntry],
    one: Callable[[LockEntry], tuple[str, int]],
    jobs: int,
    verb: str,
) -> TransferStats:
    stats = TransferStats()
    stop = threading.Event()
    failure: list[RemoteError] = []
    started = time.monotonic()

    def run(entry: LockEntry) -> tuple[str, int]:
        if stop.is_set():
            return "stopped", 0
        try:
            return one(entry)
        except RemoteError as exc:
            stop.set()
            failure.append(exc)
            return "stopped", 0

    with ThreadPoolExecutor(max(1, jobs), f"assetgen-{verb}") as pool:
        # One at a time runs the very same path, without threads (and profiles).
        for outcome, size in pool.map(run, entries) if jobs > 1 else map(run, entries):
            if outcome == "copied":
                stats.copied += 1
                stats.bytes += size
            elif outcome == "present":
                stats.present += 1
            elif outcome != "stopped":
                stats.missing += 1
                if outcome.startswith("corrupt: "):
                    stats.problems.append(outcome.removeprefix("corrupt: "))
    stats.seconds = time.monotonic() - started
    if failure:
        raise RemoteCacheError(
            f"remote cache {remote.url}: {failure[0]}; {verb} stopped after "
            f"{stats.copied} of {len(entries)} entries\n"
            "  hint: check the URL, the server and the credentials, then run it again"
        )
    return stats
