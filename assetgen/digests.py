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
from collections.abc import Mapping
from typing import Any, TypeGuard

from .schema.limits import MAX_IMAGE_BYTES, MAX_IMAGE_SIDE

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SPEC_HASH = re.compile(r"sha256:[0-9a-f]{64}")
_FORMAT = re.compile(r"[a-z0-9]{1,16}")  # an image format as Pillow names it, lower case
# A provider's task id names a journal row, a URL path and a lock field: bounded, plain.
MAX_TASK_ID_LENGTH = 128
_TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def is_sha256(value: object) -> TypeGuard[str]:
    """64 lowercase hex digits: a blob's digest as the cache names it."""
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def is_spec_hash(value: object) -> TypeGuard[str]:
    """``sha256:`` and 64 lowercase hex digits: a spec hash as the lock writes it."""
    return isinstance(value, str) and _SPEC_HASH.fullmatch(value) is not None


def is_task_id(value: object) -> TypeGuard[str]:
    """At most 128 letters, digits and ``. _ : -``, starting with a letter or digit."""
    return isinstance(value, str) and _TASK_ID.fullmatch(value) is not None


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


class CorruptRecord(ValueError):
    """A cache record that assetgen could not have written: it is not used."""


def record_fields(d: object) -> dict[str, Any]:
    """The fields of the cache record in ``d`` (parsed JSON from a record file, a pack
    or a remote), checked: ``store.CacheRecord.from_json``, the one way a record is
    read back, makes its record of them.

    Raises:
        CorruptRecord: ``d`` is not a record assetgen could have written.
    """
    if not isinstance(d, Mapping):
        raise CorruptRecord("not a JSON object")
    spec_hash, width, height = d.get("spec_hash"), d.get("width"), d.get("height")
    if not is_spec_hash(spec_hash):
        raise CorruptRecord("its spec_hash is not sha256:<64 hex digits>")
    if not (is_side(width) and is_side(height)):
        raise CorruptRecord(f"its width or height is not a whole number 1-{MAX_IMAGE_SIDE}")
    raw_blobs = d.get("blobs")
    if not isinstance(raw_blobs, Mapping):
        raise CorruptRecord("its blobs are not an object")
    blobs: dict[str, tuple[str, int]] = {}
    for fmt, blob in raw_blobs.items():
        if not (is_format(fmt) and isinstance(blob, (list, tuple)) and len(blob) == 2):
            raise CorruptRecord("a blob is not a format and [sha256, size]")
        if not is_sha256(blob[0]):
            raise CorruptRecord("a blob digest is not 64 lowercase hex digits")
        if not is_byte_count(blob[1]):
            raise CorruptRecord(f"a blob size is not a whole number 0-{MAX_IMAGE_BYTES}")
        blobs[fmt] = (blob[0], blob[1])
    task_id, generated_at = d.get("task_id"), d.get("generated_at")
    credits, request = d.get("credits") or 0.0, d.get("request") or {}
    if not (task_id is None or is_task_id(task_id)):
        raise CorruptRecord("its task_id is not a task id (at most 128 plain characters)")
    if not (generated_at is None or (isinstance(generated_at, str) and len(generated_at) <= 64)):
        raise CorruptRecord("its generated_at is not a time")
    if not is_credits(credits):
        raise CorruptRecord("its credits are not a finite, non-negative number")
    if not isinstance(request, Mapping):
        raise CorruptRecord("its request is not an object")
    return {
        "spec_hash": spec_hash,
        "width": width,
        "height": height,
        "blobs": blobs,
        "task_id": task_id,
        "results": (),  # result links expire and may carry a token: an old record's are dropped
        "credits": float(credits),
        "generated_at": generated_at,
        "request": dict(request),
    }
