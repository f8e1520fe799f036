"""Bulk copies between the local cache and a remote one: ``assetgen cache push|pull``.

Both take the entries of a lock and move them many at a time: a pull through
``RemoteStore.get_each`` (pipelined streams over HTTP, fan-out threads otherwise),
a push on ``remote.fanout``'s daemon threads. Either is a command the user waits
on, whose workers spend their time blocked on sockets, so a ^C must not wait for
the requests in flight: what was copied before is kept (a record goes up only
after its bytes), and running it again copies the rest. Unlike a build, they fail
(``RemoteCacheError``) when the remote is down: transferring is all they were
asked to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ..errors import RemoteCacheError
from ..lock.model import LockEntry
from .blobpacks import PackClosed, PackWriter
from .records import CacheRecord, record_from_entry, replace_record, spec_hex
from .remote.fanout import Feed, run_workers
from .remote.stores import Blob, RemoteError, RemoteStore
from .store import LocalCache

# Uploads in flight: two per core, 4 to 16. A push is bound by CPU (hashing, Python
# per request) as soon as the remote is close: on a two-core runner 4 threads beat 8
# and 16, which fight over the GIL; more cores do more at once.
DEFAULT_TRANSFER_JOBS = min(16, max(4, 2 * (os.cpu_count() or 2)))
# Pull streams (pipelined connections over HTTP, threads otherwise): one per core, 2
# to 8. Each stream hashes and writes what it receives, so the streams overlap their
# waits on the disk; past one per core they only fight over the GIL
# (benchmarks/remote_pull_bench.py).
DEFAULT_PULL_STREAMS = min(8, max(2, os.cpu_count() or 2))


@dataclass
class TransferStats:
    """What a push or pull did: entries copied, already there, nowhere to be found, or
    found with bytes that do not match their digest (corrupt: a damaged remote, not a
    missing push, so told apart)."""

    copied: int = 0
    fetched: int = 0  # images received (copied counts entries: an image may serve several)
    to_fetch: int = 0  # images the local cache lacked
    present: int = 0
    missing: int = 0  # not in the source cache
    corrupt: int = 0  # in the remote, but its bytes do not match their digest (not kept)
    bytes: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


def pull_all(
    remote: RemoteStore,
    local: LocalCache,
    entries: Iterable[LockEntry],
    *,
    jobs: int | None = None,
) -> TransferStats:
    """Copy the image of every lock entry from ``remote`` into ``local``.

    The lock entry already names the bytes (sha256) and carries every fact of the
    record, so a pull is one verified GET of ``/cas/<sha>`` per image that the local
    cache lacks (``RemoteStore.get_each``, ``jobs`` at a time: pipelined streams over
    HTTP, threads otherwise). Each stream appends what it receives to a pack of its
    own (blobpacks.py); the records of what the packs hold go to the local cache as
    one pack file (recordpacks.py) once those are in place. Raises RemoteCacheError
    when the remote fails; what was pulled before is kept, on ^C too.
    """
    stats = TransferStats()
    try:
        fetch_into(remote, local, entries, stats, jobs=jobs)
    except RemoteError as exc:
        raise _stopped(remote, exc, "pull", f"{stats.fetched} of {stats.to_fetch} images") from None
    return stats


def fetch_into(
    remote: RemoteStore,
    local: LocalCache,
    entries: Iterable[LockEntry],
    stats: TransferStats,
    *,
    jobs: int | None = None,
) -> None:
    """``pull_all``'s work, counted in ``stats`` as it goes; raises RemoteError."""
    from .remote.http import HttpRemote

    if jobs is None:
        jobs = DEFAULT_PULL_STREAMS if isinstance(remote, HttpRemote) else DEFAULT_TRANSFER_JOBS
    started = time.monotonic()
    done: list[LockEntry] = []  # entries whose image is here already, only not recorded
    wanted: dict[str, list[LockEntry]] = {}  # sha -> the entries whose image it is
    for entry in {(e.spec_hash, e.sha256): e for e in entries}.values():
        if not local.has_blob(entry.sha256):
            wanted.setdefault(entry.sha256, []).append(entry)
            continue
        record = local.record(entry.spec_hash)
        if record is not None and entry.sha256 in _shas(record):
            stats.present += 1
        else:  # a pull cut short left the image: just record it
            done.append(entry)
            stats.copied += 1
    guard = threading.Lock()  # for ``stats`` and ``writers``, shared by the receiving threads
    streams = threading.local()  # each receiving thread's pack
    writers: list[PackWriter] = []
    ended = False  # set once the packs are being committed
    stats.to_fetch = len(wanted)

    def receive(sha: str, data: Blob | None) -> None:
        problem = None
        if data is not None and hashlib.sha256(data).hexdigest() != sha:
            problem, data = f"cas/{sha} does not match its digest", None
        if data is not None:
            writer = getattr(streams, "writer", None)
            if writer is None:
                with guard:
                    if ended:  # a stream still running after ^C: its pack would never commit
                        raise PackClosed("the pull has ended")
                    writer = streams.writer = local.pack_writer()
                    writers.append(writer)
            writer.add(sha, data)
        with guard:
            if problem:
                stats.corrupt += len(wanted[sha])
                stats.problems.append(problem)
            elif data is None:
                stats.missing += len(wanted[sha])
            else:
                stats.fetched += 1
                stats.copied += len(wanted[sha])
                stats.bytes += len(data)

    try:
        remote.get_each("cas", list(wanted), receive, jobs=jobs)
    finally:  # keep what was pulled, on a failure or ^C too: the packs, then their records
        with guard:
            ended = True
        stats.seconds = time.monotonic() - started
        _commit(writers, wanted, done, local)


def _commit(
    writers: list[PackWriter],
    wanted: dict[str, list[LockEntry]],
    done: list[LockEntry],
    plain: LocalCache,
) -> None:
    """Commit every pack, then record what the packs that made it hold; raise the first
    failure (a full disk, say) after that."""
    error: BaseException | None = None
    for writer in writers:
        try:
            writer.commit()
        except BaseException as exc:
            error = error or exc
        done.extend(entry for sha in writer.committed for entry in wanted[sha])
    _keep_records(plain, done)
    if error is not None:
        raise error


def _keep_records(plain: LocalCache, entries: list[LockEntry]) -> None:
    """Record the images of ``entries``, now stored: as one new pack of records, except
    where a spec already has a record here (in another format), which is extended."""
    packed = []
    for entry in entries:
        if plain.has(entry.spec_hash):
            plain.add_record(record_from_entry(entry))
        else:
            packed.append(record_from_entry(entry))
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
    todo = {e.spec_hash: e for e in entries}

    def push_one(entry: LockEntry) -> tuple[str, int]:
        if remote.exists("ac", spec_hex(entry.spec_hash)):
            return "present", 0
        record = local.record(entry.spec_hash) or record_from_entry(entry)
        given: dict[str, bytes] = {}
        for sha, _ in record.blobs.values():
            data = local.read_blob(sha)
            if data is not None:
                given[sha] = data
        if not given or not upload_entry(remote, local, record, given):
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
    failure: list[RemoteError] = []
    guard = threading.Lock()  # for ``stats``, shared by the workers
    feed = Feed(entries)
    started = time.monotonic()

    def work(stop: threading.Event) -> None:
        while not stop.is_set() and (batch := feed.take(1)):
            try:
                outcome, size = one(batch[0])
            except RemoteError as exc:
                failure.append(exc)
                stop.set()
                return
            with guard:
                if outcome == "copied":
                    stats.copied += 1
                    stats.bytes += size
                elif outcome == "present":
                    stats.present += 1
                else:
                    stats.missing += 1

    # One job runs the very same path in the calling thread alone (and profiles).
    run_workers(work, max(1, jobs), f"assetgen-{verb}")
    stats.seconds = time.monotonic() - started
    if failure:
        raise _stopped(remote, failure[0], verb, f"{stats.copied} of {len(entries)} entries")
    return stats


def _stopped(remote: RemoteStore, exc: RemoteError, verb: str, done: str) -> RemoteCacheError:
    return RemoteCacheError(
        f"remote cache {remote.url}: {exc}; {verb} stopped after {done}\n"
        "  hint: check the URL, the server and the credentials, then run it again"
    )


def upload_entry(
    remote: RemoteStore, local: LocalCache, record: CacheRecord, given: Mapping[str, bytes]
) -> bool:
    """Upload ``record``'s blobs, then the record; False if no blob could be found.

    ``given`` maps sha256 -> bytes already in memory; other blobs are read from
    ``local`` (verified) unless the remote has them. The record uploaded lists only
    the formats whose bytes the remote now has.
    """
    have: dict[str, tuple[str, int]] = {}
    for fmt, (sha, size) in record.blobs.items():
        data = given.get(sha)
        if data is None:
            if remote.exists("cas", sha):
                have[fmt] = (sha, size)
                continue
            data = local.read_blob(sha)
            if data is None:
                continue
        remote.put("cas", sha, data)
        have[fmt] = (sha, size)
    if not have:
        return False
    body = json.dumps(replace_record(record, have).to_json(), sort_keys=True).encode()
    remote.put("ac", spec_hex(record.spec_hash), body)
    return True
