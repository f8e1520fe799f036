"""LocalCache.gc: what a shared cache keeps when another checkout may need it."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from assetgen.cache.derived import put_derived, read_derived
from assetgen.cache.store import LocalCache

RECIPE = "sha256:" + "c" * 64


def _age(cache: LocalCache, sha: str, seconds: float) -> None:
    (blob,) = (cache.root / "blobs").glob(f"*/{sha}")
    old = time.time() - seconds
    os.utime(blob, (old, old))


def test_gc_older_than_keeps_a_recent_blob_no_record_names(tmp_path: Path) -> None:
    """A derived file another checkout made a minute ago survives `gc --older-than`;
    one older than the age goes; plain `gc` (this lock is the only one) drops both."""
    cache = LocalCache(tmp_path / "cache")
    fresh = put_derived(cache, RECIPE, b"fresh bytes")
    old = hashlib.sha256(b"old bytes").hexdigest()
    cache.add_blob(old, b"old bytes")
    _age(cache, old, 3 * 86400)
    got = cache.gc(set(), older_than_s=86400)
    assert cache.has_blob(fresh) and read_derived(cache, RECIPE) == b"fresh bytes"
    assert not cache.has_blob(old)
    assert got["freed_bytes"] == len(b"old bytes")
    cache.gc(set())
    assert not cache.has_blob(fresh)
