"""Size limits on what assetgen reads, kept apart so that checking one imports nothing heavy."""

from __future__ import annotations

import os

from ..errors import UsageError

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_BYTES_ENV = "ASSETGEN_MAX_MANIFEST_BYTES"
# A matrix multiplies: 1,000 x 1,000 values in a few lines would be a million specs
# (100 s and 1.7 GB to validate), so the count after expansion is capped as well.
MAX_ASSETS = 100_000
MAX_ASSETS_ENV = "ASSETGEN_MAX_ASSETS"


def max_manifest_bytes() -> int:
    """The manifest size limit: ``ASSETGEN_MAX_MANIFEST_BYTES``, else MAX_MANIFEST_BYTES."""
    return _positive_env(MAX_BYTES_ENV, MAX_MANIFEST_BYTES, "bytes")


def max_assets() -> int:
    """The most assets a manifest may expand to: ``ASSETGEN_MAX_ASSETS``, else MAX_ASSETS."""
    return _positive_env(MAX_ASSETS_ENV, MAX_ASSETS, "assets")


def _positive_env(name: str, default: int, unit: str) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise UsageError(f"{name}={raw!r} is not a positive number of {unit}")
    return value


# What a cache record, a pack index or a journal row may claim of one image. Anything
# past these is a corrupt record, never a number to allocate for or write to the lock.
MAX_IMAGE_BYTES = 256 * 1024 * 1024  # the largest body a remote cache may send (http11.py)
MAX_IMAGE_SIDE = 65535  # pixels: JPEG's own limit, far past any size a provider offers
