"""The local cache in front of a shared remote one.

``TieredCache`` is what ``open.open_cache`` returns when a remote cache is set
(``cache: {remote: URL}`` in the manifest, or ``$ASSETGEN_REMOTE_CACHE``): plan and
build see the same ``Cache`` protocol (records.py) as for the local directory alone.
It wraps a ``LocalCache`` and a ``RemoteStore``; it is neither. The remote is a
help, never a dependency: any failure of it degrades to one warning. Bulk copies
between the two (``assetgen cache push|pull``) are in sync.py.

Uploads run on a ThreadPoolExecutor, not on the daemon threads of
``remote.fanout``: they are background work that outlives the ``put`` that queued
it, ``flush``/``close`` wait on a future per upload, and a process that ends
without ``close`` should still finish them (the pool's threads are joined at
exit), which daemon threads would cut short. A ^C in a build calls ``abandon``:
queued uploads are dropped, and ``cache push`` sends them later. A plan's
``has_many`` is foreground work a caller waits on: fan-out threads.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING

from ..digests import CorruptRecord, is_sha256, is_spec_hash
from ..errors import UsageError
from .records import Cache, CacheRecord, replace_record, spec_hex
from .remote.fanout import Feed, run_workers
from .remote.stores import RemoteCorrupt, RemoteError, RemoteStore, UploadRefused, get_blob
from .store import LocalCache

if TYPE_CHECKING:
    from ..lock.model import LockEntry


class TieredCache(Cache):
    """A local cache in front of a shared remote cache (see remote/).

    Reads go local first, then remote; a remote hit is verified by sha256 and copied
    into the local directory, so the next read is local. ``put`` stores locally and,
    unless ``push`` is False, uploads to the remote in background threads: blobs
    first, then the record, so a record others can see always has its bytes. Call
    ``flush()`` to wait for uploads, and ``close()`` once a build is over (it
    flushes first; a process that exits without it still finishes the uploads).

    The remote never fails a build. Its first failure (unreachable, timed out, 5xx,
    auth refused) is reported once, through ``on_warning`` (called from any thread;
    default: a line on stderr) and in ``warnings``, and the remote is then off for
    the rest of the process, so no asset waits on its timeout again. A remote that
    refuses uploads (read-only credentials) keeps serving reads. Bytes that do not
    match their digest are never used, and warned about. Thread-safe: the builder
    calls it from worker threads.
    """

    def __init__(
        self,
        local: LocalCache,
        remote: RemoteStore,
        *,
        push: bool = True,
        on_warning: Callable[[str], None] | None = None,
        push_jobs: int = 4,
    ) -> None:
        self._local = local
        self.remote = remote
        self.on_warning = on_warning
        self.warnings: list[str] = []  # what the remote reported, as warned
        self.pushed = 0  # records uploaded by this process
        self._down = False
        self._push_off = not push
        self._known: dict[str, bool] = {}  # spec hash -> on the remote: one HEAD per spec
        self._guard = threading.Lock()
        self._push_jobs = push_jobs
        self._pool: ThreadPoolExecutor | None = None
        self._pending: set[Future[None]] = set()
        self._backlog = threading.BoundedSemaphore(64)  # uploads queued or running

    @property
    def local(self) -> LocalCache:
        """The local cache, asking no remote."""
        return self._local

    @property
    def root(self) -> Path:
        """The local cache's directory."""
        return self._local.root

    def has_blob(self, sha256: str) -> bool:
        """Whether the bytes are here locally: the remote is never asked."""
        return self._local.has_blob(sha256)

    def add_blob(self, sha256: str, data: bytes | bytearray, *, durable: bool = True) -> None:
        self._local.add_blob(sha256, data, durable=durable)

    def add_record(self, record: CacheRecord, *, durable: bool = True) -> CacheRecord:
        return self._local.add_record(record, durable=durable)

    @property
    def online(self) -> bool:
        """False once the remote failed: from then on this is the local cache alone."""
        return not self._down

    def has(self, spec_hash: str) -> bool:
        return self._local.has(spec_hash) or self._remote_has(spec_hash)

    def has_many(self, spec_hashes: Iterable[str], *, jobs: int = 16) -> set[str]:
        """Those of ``spec_hashes`` the cache can serve, asking the remote ``jobs`` at a time.

        For a plan with many assets to check: call it first, and ``has`` then answers
        from memory instead of one round trip per asset in turn.
        """
        wanted = list(dict.fromkeys(spec_hashes))
        found = {h for h in wanted if self._local.has(h)}
        rest = [h for h in wanted if h not in found]
        if not rest or self._down:
            return found
        feed = Feed(rest)

        def work(stop: threading.Event) -> None:
            while not stop.is_set() and not self._down and (batch := feed.take(1)):
                if self._remote_has(batch[0]):
                    found.add(batch[0])  # set.add is atomic

        run_workers(work, max(1, jobs), "assetgen-has")
        return found

    def prefetch(self, entries: Sequence[LockEntry]) -> None:
        """Fetch the images of the restores only the remote can serve, with records made
        from their lock entries, all at once as ``cache pull`` does (pipelined over
        HTTP): a fresh clone's CI build would otherwise fetch them one by one, first
        while staging, then while restoring. After a remote failure or a bad
        pipelining setting, a warning, and the restores go on alone.

        A spec that two entries lock with different facts (one forced since, say) is
        left to the restores, which take the remote's own record.
        """
        if self._down:
            return
        facts: dict[str, set[tuple[object, ...]]] = {}
        for e in entries:
            facts.setdefault(e.spec_hash, set()).add(
                (e.task_id, e.results, e.credits, e.generated_at, e.width, e.height)
            )
        wanted = [
            e
            for e in entries
            if len(facts[e.spec_hash]) == 1 and not self._local.has_blob(e.sha256)
        ]
        if len({e.sha256 for e in wanted}) < 2:  # one round trip or none either way
            return
        from .sync import TransferStats, fetch_into

        try:
            fetch_into(self.remote, self._local, wanted, TransferStats())
        except RemoteError as exc:
            # Not the remote turned off: the restores ask it one request at a time, which
            # works where a pipeline broke (a proxy that mishandles them), and a remote
            # really down says so at their first request. Turning it off here would
            # leave them to generate, and pay.
            message = f"remote cache {self.remote.url}: {exc}; restoring the rest one by one"
            (self.on_warning or _warn_stderr)(message)
        except UsageError as exc:  # ASSETGEN_REMOTE_PIPELINE: say so, fetch one by one
            (self.on_warning or _warn_stderr)(f"{exc}; restoring one by one")

    def record_for(self, spec_hash: str, fmt: str) -> CacheRecord | None:
        """The record of ``spec_hash``, with the remote's image in ``fmt`` when the local
        record lacks one: a pull records only what the lock names, and converting
        here what the remote has as delivered would re-encode it."""
        found = self.record(spec_hash)
        if found is None or fmt in found.blobs or self._down:
            return found
        try:
            return self._fetch_record(spec_hash) or found
        except RemoteError as exc:
            self._fail(exc)
            return found

    def lookahead(self) -> Callable[[list[str]], set[str]] | None:
        """``has_many``: a fresh clone's plan asks the remote about every asset at once."""
        return None if self._down else self.has_many

    def _remote_has(self, spec_hash: str) -> bool:
        known = self._known.get(spec_hash)
        if known is None and not self._down and is_spec_hash(spec_hash):
            try:
                known = self.remote.exists("ac", spec_hex(spec_hash))
            except RemoteError as exc:
                self._fail(exc)
                return False
            self._known[spec_hash] = known
        return bool(known)

    def record(self, spec_hash: str) -> CacheRecord | None:
        found = self._local.record(spec_hash)
        if found is not None or self._down or self._known.get(spec_hash) is False:
            return found
        if not is_spec_hash(spec_hash):
            return None
        try:
            return self._fetch_record(spec_hash)
        except RemoteError as exc:
            self._fail(exc)
            return None

    def _fetch_record(self, spec_hash: str) -> CacheRecord | None:
        """The remote record and its bytes, copied here; only formats whose bytes verify."""
        data = self.remote.get("ac", spec_hex(spec_hash))
        if data is None:
            self._known[spec_hash] = False
            return None
        record = parse_remote_record(data, spec_hash)
        have: dict[str, tuple[str, int]] = {}
        for fmt, (sha, size) in record.blobs.items():
            if not self._local.has_blob(sha):
                try:
                    blob = get_blob(self.remote, sha)
                except RemoteCorrupt as exc:
                    self._fail(exc)
                    continue
                if blob is None:
                    continue
                self._local.add_blob(sha, blob, durable=False)
                size = len(blob)  # what was received, not what the record claims
            have[fmt] = (sha, size)
        if not have:
            return None
        return self._local.add_record(replace_record(record, have), durable=False)

    def read_blob(self, sha256: str) -> bytes | None:
        data = self._local.read_blob(sha256)
        if data is not None or self._down or not is_sha256(sha256):
            return data
        try:
            blob = get_blob(self.remote, sha256)
        except RemoteError as exc:
            self._fail(exc)
            return None
        if blob is None:
            return None
        self._local.add_blob(sha256, blob, durable=False)
        return bytes(blob)

    def put(
        self, record: CacheRecord, blobs: Mapping[str, bytes], *, replace: bool = False
    ) -> CacheRecord:
        final = self._local.put(record, blobs, replace=replace)
        if not (self._push_off or self._down):
            # A slow remote slows the writers down rather than piling images up in memory.
            self._backlog.acquire()
            with self._guard:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self._push_jobs, "assetgen-push")
                future = self._pool.submit(self._upload, final, tuple(blobs.values()))
                self._pending.add(future)
            future.add_done_callback(self._uploaded)
        return final

    def _uploaded(self, future: Future[None]) -> None:
        self._pending.discard(future)
        self._backlog.release()
        if not future.cancelled() and future.exception() is not None:
            exc = future.exception()
            self._fail(RemoteError(f"upload failed: {type(exc).__name__}: {exc}"))

    def _upload(self, record: CacheRecord, given: tuple[bytes, ...]) -> None:
        if self._push_off or self._down:
            return
        from .sync import upload_entry

        by_sha = {hashlib.sha256(b).hexdigest(): b for b in given}
        try:
            upload_entry(self.remote, self._local, record, by_sha)
        except RemoteError as exc:
            self._fail(exc)
            return
        self._known[record.spec_hash] = True
        with self._guard:
            self.pushed += 1

    def flush(self) -> None:
        """Wait until every upload started so far has finished (or failed: a warning)."""
        while self._pending:
            wait(list(self._pending))

    def close(self) -> None:
        """Flush, then release threads and connections. The cache still reads locally.

        A ^C while waiting drops the uploads not yet started (``assetgen cache push``
        sends them later) instead of waiting on each one's timeouts.
        """
        try:
            self.flush()
        except KeyboardInterrupt:
            self.abandon()
            raise
        with self._guard:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self.remote.close()

    def abandon(self) -> None:
        """Drop queued uploads and stop waiting for any: for an interrupted process."""
        with self._guard:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> TieredCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, exc: RemoteError) -> None:
        where = f"remote cache {self.remote.url}"
        with self._guard:
            if isinstance(exc, RemoteCorrupt):
                message = f"{where}: {exc}; not used"
            elif isinstance(exc, UploadRefused):
                if self._push_off:
                    return
                self._push_off = True
                message = f"{where}: upload refused ({exc}); reading from it, not pushing"
            else:
                if self._down:
                    return
                self._down = True
                message = f"{where}: {exc}; continuing with the local cache only"
            self.warnings.append(message)
        (self.on_warning or _warn_stderr)(message)


def _warn_stderr(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


def parse_remote_record(data: bytes | bytearray, spec_hash: str) -> CacheRecord:
    """A record fetched for ``spec_hash``, checked (``CacheRecord.from_json``);
    RemoteCorrupt when it is not one, so that nothing of it is used or copied here."""
    key = f"ac/{spec_hex(spec_hash)}"
    try:
        record = CacheRecord.from_json(json.loads(data))
    except CorruptRecord as exc:
        raise RemoteCorrupt(f"{key} is a corrupt record ({exc})") from None
    except (ValueError, RecursionError):  # not JSON (or nested past what json reads)
        raise RemoteCorrupt(f"{key} is not a record (not JSON)") from None
    if spec_hex(record.spec_hash) != spec_hex(spec_hash):
        raise RemoteCorrupt(f"{key} is not a record for this spec")
    return record
