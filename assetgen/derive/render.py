"""Render one derived file: a master's bytes and a canonical recipe in, the file's bytes out.

Deterministic: the same master, recipe and library versions give the same bytes.
Every encoder setting is named here (nothing is left to a library default that could
change quietly), nothing time-dependent is written, and with ``strip`` (the default)
no EXIF, XMP, ICC profile, text chunk or comment either: a master with a non-sRGB
ICC profile is converted to sRGB first, so stripping the profile keeps its colours.
AVIF is encoded on one thread (``max_threads=1``): the build runs one render per
core in a process pool, and a single-threaded encoder's output cannot depend on
scheduling.

Resampling is Lanczos, with Pillow's ``reducing_gap``: a large reduction first
averages whole blocks of pixels (``Image.reduce``), then resamples the last factor of
at most ``REDUCING_GAP`` with Lanczos. That is several times faster for a 2K master to
a 640 pixel width, and indistinguishable from a full Lanczos pass at these ratios.

Alpha: resizing premultiplies (Pillow resamples RGBA as RGBa), so transparent pixels
do not bleed their colour into edges. ``background`` flattens transparency onto that
colour in any format; JPEG, which has no alpha, is always flattened (on white unless
``background`` says otherwise). An image left fully opaque is written without an
alpha channel.
"""

from __future__ import annotations

import importlib
import io
import math
from collections.abc import Mapping
from typing import Any

from PIL import Image, ImageCms, features

from ..errors import IntegrityError
from ..imagesize import header_size
from .geometry import ALPHA_FORMATS, DeriveError, check_recipe, layout, output_size
from .templates import render_text

__all__ = [
    "AVIF_SPEED",
    "DEFAULT_QUALITY",
    "DeriveError",
    "check_recipe",
    "output_size",
    "render",
    "render_image",
    "render_text",
]

# Fixed encoder settings: changing any of them changes derived files' bytes (which
# the lock then shows as re-derived, never as a hand edit).
DEFAULT_QUALITY = {"jpeg": 85, "webp": 80, "avif": 60}
PNG_COMPRESS_LEVEL = 6
WEBP_METHOD = 4  # libwebp's default effort: 0 fastest .. 6 smallest
AVIF_SPEED = 6  # libavif/aom's default: 0 slowest .. 10 fastest
AVIF_CODEC = "aom"  # named, not "auto": which encoder runs decides the bytes
REDUCING_GAP = 3.0
_WHITE = (255, 255, 255)


def render(master: bytes, recipe: Mapping[str, Any]) -> bytes:
    """The bytes of the file ``recipe`` describes, made from ``master``.

    Text recipes need only the master's pixel size, which is read from its header.
    """
    if recipe.get("format") == "text":
        head = header_size(master)
        if head is None:
            raise IntegrityError("the master is not an image assetgen can read")
        return render_text(recipe, (head[1], head[2]))
    return render_image(master, recipe)


def render_image(master: bytes, recipe: Mapping[str, Any]) -> bytes:
    """Encode ``recipe`` (a canonical image recipe) from the image bytes ``master``.

    Raises:
        DeriveError: the recipe is impossible for this master (``check_recipe``'s
            reason), or its format cannot be written by this Pillow.
        IntegrityError: ``master`` does not decode.
    """
    fmt = str(recipe.get("format"))
    if fmt not in ("png", "jpeg", "webp", "avif", "ico"):
        raise DeriveError(f"{recipe.get('output')}: cannot render format {fmt!r}")
    if fmt == "avif" and not features.check("avif"):
        raise DeriveError(
            f"{recipe.get('output')}: this Pillow cannot write AVIF; "
            "install Pillow 11.2 or newer (its wheels include libavif)"
        )
    strip = bool(recipe.get("strip", True))
    decoded = _decode(master)
    why = check_recipe(decoded.size, recipe)
    if why is not None:
        raise DeriveError(f"{recipe.get('output')}: {why}")
    src, icc, exif = decoded.pixels(strip), decoded.icc, decoded.exif
    bg = _colour(recipe.get("background"))
    try:
        if fmt == "ico":
            sides = sorted(recipe.get("sizes") or [16, 32, 48])
            frames = [_compose(src, recipe, bg, fmt, side) for side in sides]
            out = io.BytesIO()
            big = frames[-1]
            big.save(out, "ICO", sizes=[f.size for f in frames], append_images=frames[:-1])
            return out.getvalue()
        im = _compose(src, recipe, bg, fmt, None)
        return _encode(im, recipe, fmt, None if strip else icc, None if strip else exif)
    except (OSError, ValueError) as exc:  # an encoder's refusal, e.g. a missing AVIF codec
        raise DeriveError(f"{recipe.get('output')}: the {fmt} encoder failed: {exc}") from None


class _Decoded:
    """A decoded master, kept for the next render in this process: a build sends one
    master's outputs one after another, and decoding a 2K PNG costs as much as
    encoding a WebP from it. Its images are never changed in place."""

    def __init__(self, master: bytes) -> None:
        try:
            im = Image.open(io.BytesIO(master))
            im.load()
        except Image.DecompressionBombError as exc:
            raise IntegrityError(f"the master is refused as a decompression bomb: {exc}") from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
            raise IntegrityError(f"the master does not decode: {exc}") from None
        self.master = master
        self.size: tuple[int, int] = im.size
        self.icc: bytes | None = im.info.get("icc_profile") or None
        self.exif: bytes | None = im.info.get("exif") or None
        self._raw = im
        self._pixels: dict[bool, Image.Image] = {}

    def pixels(self, strip: bool) -> Image.Image:
        """RGB or RGBA pixels, whatever the master's mode (P, L, LA, I;16, CMYK...);
        with ``strip``, converted to sRGB, since the profile will not be written."""
        im = self._pixels.get(strip)
        if im is None:
            im = self._raw
            if im.mode.startswith("I"):  # 16-bit grey: convert() would clip, not scale
                im = im.convert("I").point(lambda v: v * (1 / 257)).convert("L")
            mode = "RGBA" if im.has_transparency_data else "RGB"
            if im.mode != mode:
                im = im.convert(mode)
            if strip and self.icc and features.check("littlecms2"):
                im = _to_srgb(im, self.icc)
            im.info = {}  # what is written is named in _encode (self keeps icc and exif)
            self._pixels[strip] = im
        return im


_last: _Decoded | None = None


def _decode(master: bytes) -> _Decoded:
    global _last
    last = _last
    if last is not None and (last.master is master or last.master == master):
        return last
    _last = None  # free the previous master's pixels first
    _last = last = _Decoded(master)
    return last


def _to_srgb(im: Image.Image, icc: bytes) -> Image.Image:
    """The pixels converted from the embedded profile to sRGB (unchanged if it is sRGB or
    cannot be read): stripping a Display P3 profile without this would dull the colours."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = (ImageCms.getProfileDescription(source) or "").lower()
        if "srgb" in desc:
            return im
        srgb = ImageCms.createProfile("sRGB")
        out = ImageCms.profileToProfile(im, source, srgb, outputMode=im.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im
    return out if out is not None else im


def _colour(value: object) -> tuple[int, int, int] | None:
    if not isinstance(value, str) or len(value) != 7 or not value.startswith("#"):
        return None
    try:
        return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))
    except ValueError:
        return None


def _compose(
    src: Image.Image,
    recipe: Mapping[str, Any],
    bg: tuple[int, int, int] | None,
    fmt: str,
    square: int | None,
) -> Image.Image:
    """The output pixels: the master region resampled, placed on its canvas, flattened
    when the format or the recipe says so."""
    lay = layout(src.size, recipe, square)
    # Crop to whole pixels first: resampling with a fractional ``box`` would read the
    # filter's support from beyond the crop, bleeding what was cut off into the edges.
    x0, y0, x1, y1 = (math.floor(v + 0.5) for v in lay.box)
    whole = (x0, y0, x1, y1) == (0, 0, *src.size)
    content = src if whole else src.crop((x0, y0, x1, y1))
    if lay.content != content.size:
        content = content.resize(lay.content, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    if lay.content != lay.canvas:
        fill: tuple[int, ...]
        if bg is not None:
            fill = (*bg, 255)
        elif fmt in ALPHA_FORMATS:
            fill = (0, 0, 0, 0)
        else:
            fill = (*_WHITE, 255)
        canvas = Image.new("RGBA", lay.canvas, fill)
        canvas.alpha_composite(content.convert("RGBA"), lay.offset)
        content = canvas
    flatten_on = bg if bg is not None else (_WHITE if fmt not in ALPHA_FORMATS else None)
    if content.mode == "RGBA":
        lo, _ = content.getextrema()[3]  # type: ignore[misc]
        if lo == 255:
            content = content.convert("RGB")
        elif flatten_on is not None:
            flat = Image.new("RGBA", content.size, (*flatten_on, 255))
            flat.alpha_composite(content)
            content = flat.convert("RGB")
    return content


def _encode(
    im: Image.Image,
    recipe: Mapping[str, Any],
    fmt: str,
    icc: bytes | None,
    exif: bytes | None,
) -> bytes:
    out = io.BytesIO()
    meta: dict[str, Any] = {}
    if icc:
        meta["icc_profile"] = icc
    if exif:
        meta["exif"] = exif
    quality = int(recipe.get("quality", DEFAULT_QUALITY.get(fmt, 80)))
    lossless = bool(recipe.get("lossless", False))
    if fmt == "png":
        im.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False, **meta)
    elif fmt == "jpeg":
        im.save(
            out,
            "JPEG",
            quality=quality,
            subsampling=0 if quality >= 90 else 2,  # 4:4:4 at high quality, else 4:2:0
            optimize=False,
            progressive=False,
            **meta,
        )
    elif fmt == "webp":
        im.save(
            out,
            "WEBP",
            quality=100 if lossless else quality,
            lossless=lossless,
            method=WEBP_METHOD,
            exact=False,
            **meta,
        )
    else:
        im.save(
            out,
            "AVIF",
            quality=100 if lossless else quality,
            subsampling="4:4:4" if lossless else "4:2:0",
            speed=AVIF_SPEED,
            codec=_avif_codec(),
            max_threads=1,
            range="full",
            autotiling=False,
            **meta,
        )
    return out.getvalue()


def _avif_codec() -> str:
    """``AVIF_CODEC`` when this libavif has it, else libavif's own choice."""
    try:
        avif = importlib.import_module("PIL._avif")
        return AVIF_CODEC if avif.encoder_codec_available(AVIF_CODEC) else "auto"
    except (ImportError, AttributeError):
        return "auto"
