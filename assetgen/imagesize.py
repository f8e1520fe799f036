"""An image's format and pixel size from its header alone, for the lock entry of a restore.

A restore writes bytes from the cache, verified by digest but not decoded: what
their record says of them (pixel size, byte count) may come from a shared remote
and is not to be trusted. The lock states what was actually written, so its
``width``, ``height`` and ``bytes`` are read off the bytes themselves. Reading a
header costs microseconds (a PNG's IHDR is at a fixed place; for other formats
Pillow's ``open`` parses the header and decodes no pixels), where a full decode of
every restored image would cost milliseconds each.
"""

from __future__ import annotations

import io

from .pngcheck import SIGNATURE

_IHDR = b"\x00\x00\x00\x0dIHDR"


def header_size(data: bytes) -> tuple[str, int, int] | None:
    """``(format, width, height)`` as the header states them (format as Pillow names it,
    lower case: ``png``, ``jpeg``, ``webp``...); None when ``data`` is not an image."""
    if data.startswith(SIGNATURE):
        if data[8:16] != _IHDR or len(data) < 24:
            return None
        return "png", int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            return (im.format or "").lower(), width, height
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError, IndexError):
        return None  # UnidentifiedImageError is an OSError
