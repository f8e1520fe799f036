"""Derived files in the local cache, by recipe hash: switching a branch back re-derives nothing.

A derived file's bytes are a blob like any other (by sha256); a small index file
``derived/<hh>/<hex>`` maps its recipe hash to that digest. Reads verify the blob,
so a damaged or missing one is a miss (and the file is rendered again).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from pathlib import Path

from ..digests import is_sha256
from ..fsutil import atomic_write
from .records import Cache


def _index(cache: Cache, recipe_hash: str) -> Path | None:
    hexpart = recipe_hash[7:] if recipe_hash.startswith("sha256:") else ""
    if not is_sha256(hexpart):
        return None
    return cache.root / "derived" / hexpart[:2] / hexpart


def derived_digest(cache: Cache, recipe_hash: str) -> str | None:
    """The sha256 the cache holds for ``recipe_hash`` (unverified), or None."""
    path = _index(cache, recipe_hash)
    if path is None:
        return None
    try:
        sha = path.read_text("ascii").strip()
    except (OSError, ValueError):
        return None
    return sha if is_sha256(sha) else None


def has_derived(cache: Cache, recipe_hash: str) -> bool:
    """Whether the cache can serve ``recipe_hash`` (asked only for files a plan derives)."""
    sha = derived_digest(cache, recipe_hash)
    return sha is not None and cache.has_blob(sha)


def recipe_lookup(cache: Cache) -> Callable[[str], bool]:
    """``has_derived`` on ``cache``, as the planner's ``has_recipe``."""
    return lambda recipe_hash: has_derived(cache, recipe_hash)


def read_derived(cache: Cache, recipe_hash: str) -> bytes | None:
    sha = derived_digest(cache, recipe_hash)
    return None if sha is None else cache.read_blob(sha)


def put_derived(cache: Cache, recipe_hash: str, data: bytes) -> str:
    """Keep ``data`` under ``recipe_hash``; returns its sha256."""
    sha = hashlib.sha256(data).hexdigest()
    path = _index(cache, recipe_hash)
    if path is None:
        raise ValueError("not a recipe hash")  # a bug: hashes are made by recipe.py
    cache.add_blob(sha, data)
    if derived_digest(cache, recipe_hash) != sha:
        with contextlib.suppress(OSError):
            atomic_write(path, sha.encode("ascii"), durable=False)
    return sha
