"""Size limits on what assetgen reads, kept apart so that checking one imports nothing heavy."""

from __future__ import annotations

import os

from .errors import UsageError

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_BYTES_ENV = "ASSETGEN_MAX_MANIFEST_BYTES"


def max_manifest_bytes() -> int:
    """The manifest size limit: ``ASSETGEN_MAX_MANIFEST_BYTES``, else MAX_MANIFEST_BYTES."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return MAX_MANIFEST_BYTES
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise UsageError(f"{MAX_BYTES_ENV}={raw!r} is not a positive number of bytes")
    return value


# What a cache record, a pack index or a journal row may claim of one image. Anything
# past these is a corrupt record, never a number to allocate for or write to the lock.
MAX_IMAGE_BYTES = 256 * 1024 * 1024  # the largest body a remote cache may send (http11.py)
MAX_IMAGE_SIDE = 65535  # pixels: JPEG's own limit, far past any size a provider offers
