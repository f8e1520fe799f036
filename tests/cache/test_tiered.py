"""The cache seam: a TieredCache wraps a LocalCache and a remote store; local questions stay local."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from assetgen.cache.records import CacheRecord
from assetgen.cache.remote.stores import FileRemote, Kind
from assetgen.cache.store import LocalCache
from assetgen.cache.sync import push_all
from assetgen.cache.tiered import TieredCache
from assetgen.lock.model import LockEntry

SPEC = "sha256:" + "ab" * 32


class Untouchable(FileRemote):
    """A remote any question to which is a failure of the test."""

    def exists(self, kind: Kind, key: str) -> bool:
        raise AssertionError(f"the remote was asked about {kind}/{key}")

    def get(self, kind: Kind, key: str) -> bytes | None:
        raise AssertionError(f"the remote was asked for {kind}/{key}")


def test_local_questions_never_reach_the_remote(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    local = LocalCache(tmp_path / "local")
    cache = TieredCache(local, Untouchable((tmp_path / "shared").as_uri()), push=False)
    data = b"image"
    sha = hashlib.sha256(data).hexdigest()
    assert not cache.has_blob(sha) and not cache.local.has(SPEC)
    cache.add_blob(sha, data)
    cache.add_record(CacheRecord(SPEC, 1, 1, {"png": (sha, len(data))}))
    assert cache.local is local and cache.root == local.root
    assert local.has(SPEC) and cache.has(SPEC) and cache.read_blob(sha) == data  # all local
    cache.close()


def test_a_local_cache_has_nothing_to_look_ahead_prefetch_or_wait_for(tmp_path: Path) -> None:
    """The Cache protocol's members a remote gives meaning to, on the local directory."""
    cache = LocalCache(tmp_path)
    record = cache.put(CacheRecord(SPEC, 1, 1, {}), {"png": b"x"})
    assert cache.lookahead() is None and cache.local is cache
    assert cache.record_for(SPEC, "webp") == record  # no remote to have another format
    cache.prefetch([])
    cache.close()
    cache.abandon()
    assert cache.read_blob(hashlib.sha256(b"x").hexdigest()) == b"x"  # still usable


class Hung(FileRemote):
    """Requests from worker threads block until ``release`` (a server that accepted and
    never answers); the calling thread's, once another is blocked, is hit by a ^C."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.release = threading.Event()
        self.blocked = threading.Event()

    def exists(self, kind: Kind, key: str) -> bool:
        if threading.current_thread() is threading.main_thread():
            self.blocked.wait(60)
            raise KeyboardInterrupt
        self.blocked.set()
        self.release.wait()
        return True


def test_a_ctrl_c_during_a_push_waits_for_no_request_in_flight(tmp_path: Path) -> None:
    """``cache push`` fans out on daemon threads, the calling one among them: a ^C there
    is raised while the other worker is still blocked in its request (remote.fanout)."""
    (tmp_path / "shared").mkdir()
    remote = Hung((tmp_path / "shared").as_uri())
    local = LocalCache(tmp_path / "local")
    entries = []
    for n in range(4):
        data = bytes([n]) * 64
        sha = hashlib.sha256(data).hexdigest()
        spec = f"sha256:{n:064x}"
        local.put(CacheRecord(spec, 1, 1, {}), {"png": data})
        entries.append(LockEntry(spec, {}, f"{n}.png", sha, len(data), 1, 1, "png"))
    guard = threading.Timer(60, remote.release.set)  # never hang the suite, whatever happens
    guard.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            push_all(local, remote, entries, jobs=2)
        assert not remote.release.is_set()  # raised with the other request still hung
    finally:
        remote.release.set()
        guard.cancel()
