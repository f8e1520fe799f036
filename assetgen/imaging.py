"""Image checks and format conversion: every image goes through here before it is written.

``probe`` decodes the whole image, so truncated or corrupt bytes fail here and never
reach the cache, the lock or the output directory. ``convert`` keeps the bytes as
delivered when the format already matches, and otherwise re-encodes with fixed
settings, so the same input gives the same bytes on every run.
"""

from __future__ import annotations

import io
import multiprocessing
import multiprocessing.context
from dataclasses import dataclass

from PIL import Image, ImageFile, UnidentifiedImageError

from . import pngcheck
from .errors import IntegrityError

# Fixed encoder settings: changing any of them changes converted outputs' bytes.
PNG_COMPRESS_LEVEL = 6
WEBP_METHOD = 4
WEBP_QUALITY = 80  # in lossless mode: effort, not loss
JPEG_QUALITY = 95
JPEG_SUBSAMPLING = 0  # 4:4:4, so flat illustrations keep sharp colour edges

_PNG_END = b"IEND\xaeB`\x82"  # the IEND chunk type and its fixed CRC, which verify() skips
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I;16"})
_WHITE = (255, 255, 255)


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What decoding an image found: its format (Pillow's name, lower case) and pixel size."""

    format: str
    width: int
    height: int


def probe(data: bytes) -> ImageInfo:
    """Decode ``data`` completely and return its format and size.

    PNGs go through ``pngcheck``, which rejects exactly what a decoder would; other
    formats are decoded by Pillow.

    Raises:
        IntegrityError: the bytes are not an image Pillow can decode, are truncated or
            corrupt, or claim more pixels than ``Image.MAX_IMAGE_PIXELS``.
    """
    _check_header(data, None)
    return _decode(data)


def _decode(data: bytes) -> ImageInfo:
    # Never accept a partial decode: a cut download must fail, not be padded with grey.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")
    if data.startswith(pngcheck.SIGNATURE):
        # The common case, checked as completely as a decoder would, without building
        # pixels (see pngcheck); interlaced PNGs take Pillow's full decode below.
        try:
            header = pngcheck.check_png(data, Image.MAX_IMAGE_PIXELS)
        except pngcheck.PngError as exc:
            raise IntegrityError(str(exc)) from None
        if header is not None:
            return ImageInfo(format="png", width=header.width, height=header.height)
    try:
        # verify() checks what load() skips: the container, e.g. every PNG chunk CRC.
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
        with Image.open(io.BytesIO(data)) as im:
            fmt = (im.format or "").lower()
            width, height = im.size
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and width * height > limit:
                raise IntegrityError(
                    f"image is {width}x{height}, more than the {limit} pixels allowed"
                )
            im.load()
        if fmt == "png" and data.rfind(_PNG_END) == -1:
            raise IntegrityError("image is truncated: the PNG has no complete IEND chunk")
    except IntegrityError:
        raise
    except Image.DecompressionBombError as exc:
        raise IntegrityError(f"image refused as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise IntegrityError(f"not a recognised image ({len(data)} bytes)") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise IntegrityError(f"image is truncated or corrupt: {exc}") from exc
    return ImageInfo(format=fmt or "unknown", width=width, height=height)


def verify(data: bytes, width: int, height: int, what: str = "") -> ImageInfo:
    """Decode ``data`` and check that it is ``width`` x ``height`` pixels.

    Args:
        data: the encoded image.
        width: expected width in pixels.
        height: expected height in pixels.
        what: what the size was derived from, for the message (e.g. ``"1:1 at 1K"``).

    Raises:
        IntegrityError: the bytes do not decode, or decode to another size.
    """
    _check_header(data, (width, height), what)  # before any pixel is decoded
    info = _decode(data)
    if (info.width, info.height) != (width, height):
        why = f" for {what}" if what else ""
        raise IntegrityError(f"image is {info.width}x{info.height}, expected {width}x{height}{why}")
    return info


def header_size(data: bytes) -> tuple[int, int] | None:
    """The pixel size the header claims, read without decoding pixels; None if unreadable.

    A PNG's is in its IHDR; for other formats ``Image.open`` reads only the header
    (for a JPEG, up to its frame marker), and ``.size`` is known before ``load()``.
    """
    if data.startswith(pngcheck.SIGNATURE):
        if data[12:16] != b"IHDR" or len(data) < 24:
            return None
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            return int(width), int(height)
    except Image.DecompressionBombError as exc:
        raise IntegrityError(f"image refused as a decompression bomb: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError):
        return None  # probe says what is wrong


def _check_header(data: bytes, expected: tuple[int, int] | None, what: str = "") -> None:
    """Refuse, from the header alone, an image of another size than ``expected`` or of
    more than ``Image.MAX_IMAGE_PIXELS`` pixels: a 9400x9400 JPEG of 1.4 MB decodes
    to 265 MB, and 16 jobs at once would need 4 GB before any size check ran."""
    size = header_size(data)
    if size is None:
        return
    width, height = size
    if expected is not None and size != expected:
        why = f" for {what}" if what else ""
        raise IntegrityError(
            f"image is {width}x{height}, expected {expected[0]}x{expected[1]}{why}"
        )
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        raise IntegrityError(f"image is {width}x{height}, more than the {limit} pixels allowed")


def convert(data: bytes, info: ImageInfo, fmt: str) -> bytes:
    """Return ``data`` as ``fmt`` (``"png"``, ``"jpeg"`` or ``"webp"``).

    When ``info.format`` is already ``fmt`` the bytes are returned unchanged, as
    delivered. Otherwise the image is re-encoded deterministically: PNG and WebP
    lossless, JPEG at a fixed quality with transparency flattened onto white. Only
    the ICC colour profile is carried over; EXIF, XMP and text chunks are dropped.
    """
    if info.format == fmt:
        return data
    if fmt not in ("png", "jpeg", "webp"):
        raise ValueError(f"cannot convert to {fmt!r}: expected png, jpeg or webp")
    with Image.open(io.BytesIO(data)) as src:
        src.load()
        icc = src.info.get("icc_profile")
        im = _prepare(src, fmt)
        if im is src:
            im = src.copy()
    # Drop what decoding found (EXIF, XMP, text, comments, dpi), keeping only what the
    # pixels need; the save parameters below name everything that is written.
    keep = im.info.get("transparency") if fmt == "png" else None
    im.info = {} if keep is None else {"transparency": keep}
    out = io.BytesIO()
    params: dict[str, object] = {"icc_profile": icc} if icc else {}
    if fmt == "png":
        im.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False, **params)
    elif fmt == "webp":
        im.save(
            out,
            "WEBP",
            lossless=True,
            quality=WEBP_QUALITY,
            method=WEBP_METHOD,
            exact=True,
            **params,
        )
    else:
        im.save(
            out,
            "JPEG",
            quality=JPEG_QUALITY,
            subsampling=JPEG_SUBSAMPLING,
            optimize=False,
            progressive=False,
            **params,
        )
    return out.getvalue()


def _prepare(im: Image.Image, fmt: str) -> Image.Image:
    """The image in a mode the target format stores without loss (or flattened, for JPEG)."""
    transparent = im.has_transparency_data
    if fmt == "png":
        return im if im.mode in _PNG_MODES else im.convert("RGBA" if transparent else "RGB")
    if fmt == "webp":
        return im.convert("RGBA" if transparent else "RGB")
    if im.mode in ("L", "RGB") and not transparent:
        return im
    if not transparent:
        return im.convert("RGB")
    rgba = im.convert("RGBA")
    flat = Image.new("RGBA", rgba.size, (*_WHITE, 255))
    flat.alpha_composite(rgba)
    return flat.convert("RGB")


def worker_context() -> multiprocessing.context.BaseContext:
    """For the image codecs' process pools (derive, thumbnails): workers from a fork server (spawned where there is none), never forked from the
    build: the build has threads by then (anyio's, the cache's uploads), and a child
    forked while one of them holds a lock (malloc's, a logger's) waits on it forever."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)
