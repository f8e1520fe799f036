"""What a digest, a spec hash and a size read back from disk or a remote may be.

A cache record, a pack index or a journal row is input from outside: a shared remote
cache is written by anyone with access to it, and a local file by anything on the
machine. A digest in a record names a file (``blobs/<sha[:2]>/<sha>``, which a read
that misses its hash deletes), so a digest like ``../../etc/passwd`` must never get
that far; and sizes end up in the lock. Every reader checks with these, once, where
it turns JSON into a value (``store.CacheRecord.from_json``, ``journal.py``), and the
cache's path builders check again, so that no path is ever made from anything else.
"""

from __future__ import annotations

import math
import re
from typing import TypeGuard

from .limits import MAX_IMAGE_BYTES, MAX_IMAGE_SIDE

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SPEC_HASH = re.compile(r"sha256:[0-9a-f]{64}")
_FORMAT = re.compile(r"[a-z0-9]{1,16}")  # an image format as Pillow names it, lower case


def is_sha256(value: object) -> TypeGuard[str]:
    """64 lowercase hex digits: a blob's digest as the cache names it."""
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def is_spec_hash(value: object) -> TypeGuard[str]:
    """``sha256:`` and 64 lowercase hex digits: a spec hash as the lock writes it."""
    return isinstance(value, str) and _SPEC_HASH.fullmatch(value) is not None


def is_format(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _FORMAT.fullmatch(value) is not None


def is_byte_count(value: object) -> TypeGuard[int]:
    """A whole number of bytes one image may have (not a bool, not a float)."""
    return type(value) is int and 0 <= value <= MAX_IMAGE_BYTES


def is_side(value: object) -> TypeGuard[int]:
    """A whole number of pixels an image side may have."""
    return type(value) is int and 1 <= value <= MAX_IMAGE_SIDE


def is_credits(value: object) -> bool:
    """A finite, non-negative number of credits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value)) and value >= 0
    except OverflowError:  # an int of thousands of digits
        return False
