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
