"""The ``draft`` provider: free, offline stand-ins at the exact pixel size of the request.

A draft shows the asset's name, prompt and request under a prominent DRAFT banner,
on a background whose colours and shapes come from the spec hash, so different
specs look different and the same spec always gives the same bytes (with the same
Pillow). It must never pass for a generated image.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import threading
import unicodedata

import anyio.to_thread
from PIL import Image, ImageDraw, ImageFont

from ..spec import AssetSpec
from .base import Generated, JobContext

# Changing any of these changes every draft's bytes.
PNG_COMPRESS_LEVEL = 3  # row filtering dominates encoding; levels 1-3 cost the same, 3 is smallest
BANNER = "DRAFT \u00b7 not a generated image"  # the built-in font has no em dash
ELLIPSIS = "\u2026"

_INK = (24, 24, 32)
_MUTED = (80, 80, 96)
_BANNER_BG = (196, 30, 45)
_STRIPE = (250, 204, 21)
# Punctuation the built-in font lacks, mapped to what it has.
_FALLBACKS = str.maketrans(
    {"\u2014": "-", "\u2013": "-", "\u2212": "-", "\u00d7": "x", "\u2022": "\u00b7"}
)
_local = threading.local()  # FreeType faces are not shared across threads


class DraftProvider:
    """Renders drafts locally, in a worker thread so several renders overlap."""

    name = "draft"
    remote = False

    async def generate(self, spec: AssetSpec, ctx: JobContext) -> Generated:
        """Render ``spec``'s draft; it costs nothing and never fails for a valid spec."""
        ctx.state("running")
        data = await anyio.to_thread.run_sync(render_draft, spec)
        return Generated(data=data, credits=0.0)

    async def aclose(self) -> None:
        """Nothing to release."""


def render_draft(spec: AssetSpec) -> bytes:
    """The PNG bytes of ``spec``'s draft: ``spec.width`` x ``spec.height``, deterministic."""
    w, h = spec.width, spec.height
    u = min(w, h)
    rand = _Bytes(spec.spec_hash)
    hue = rand.unit()
    top = _hsv(hue, 0.45, 0.85)
    bottom = _hsv(hue + 0.12 + 0.2 * rand.unit(), 0.55, 0.55)
    im = _gradient(w, h, top, bottom)
    draw = ImageDraw.Draw(im, "RGBA")
    _shapes(draw, rand, w, h, hue)

    margin = max(8, round(u * 0.05))
    banner_h = round(u * 0.12)
    stripe_h = max(6, round(u * 0.035))
    _banner(draw, w, banner_h, margin)
    _stripes(draw, w, h, stripe_h)
    _card(draw, spec, margin, banner_h, h - stripe_h)

    out = io.BytesIO()
    im.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False)
    return out.getvalue()


def _banner(draw: ImageDraw.ImageDraw, w: int, banner_h: int, margin: int) -> None:
    draw.rectangle((0, 0, w, banner_h), fill=_BANNER_BG)
    font = _fit(BANNER, round(banner_h * 0.5), w - 3 * margin)
    bold = max(1, round(font.size * 0.03))  # a faux bold: the built-in font has one weight
    white = (255, 255, 255)
    xy = (w / 2, banner_h / 2)
    draw.text(xy, BANNER, font=font, fill=white, anchor="mm", stroke_width=bold, stroke_fill=white)


def _card(draw: ImageDraw.ImageDraw, spec: AssetSpec, margin: int, top: int, bottom: int) -> None:
    """The name, the wrapped prompt and the request, on a light panel between top and bottom."""
    w, h = spec.width, spec.height
    u = min(w, h)
    name_font = _font(round(u * 0.06))
    prompt_font = _font(round(u * 0.036))
    meta_font = _font(round(u * 0.028))
    inner = w - 4 * margin
    meta = [
        f"{spec.size} \u00b7 {spec.quality} \u00b7 {w}x{h} \u00b7 seed {spec.seed}",
        f"{spec.model} \u00b7 {spec.spec_hash[:19]}",
    ]
    name = _truncate(_clean(spec.name), name_font, inner)
    name_lh = _line_height(name_font)
    prompt_lh = _line_height(prompt_font)
    meta_lh = _line_height(meta_font)
    gap = round(prompt_lh * 0.6)
    fixed = name_lh + 2 * gap + len(meta) * meta_lh
    room = bottom - top - 4 * margin - fixed
    prompt = _wrap(_clean(spec.prompt), prompt_font, inner, max(1, room // prompt_lh))

    panel_h = fixed + len(prompt) * prompt_lh + 2 * margin
    y = top + max(margin, (bottom - top - panel_h) // 2)
    panel = (margin, y, w - margin, y + panel_h)
    draw.rounded_rectangle(panel, radius=round(margin * 0.5), fill=(255, 255, 255, 224))

    x, y = 2 * margin, y + margin
    draw.text((x, y), name, font=name_font, fill=_INK)
    y += name_lh + gap
    for line in prompt:
        draw.text((x, y), line, font=prompt_font, fill=_INK)
        y += prompt_lh
    y += gap
    for line in meta:
        draw.text((x, y), line, font=meta_font, fill=_MUTED)
        y += meta_lh


class _Bytes:
    """A deterministic stream of numbers drawn from the spec hash (no global randomness)."""

    def __init__(self, seed: str) -> None:
        self._seed = seed.encode("utf-8")
        self._buf = b""
        self._block = 0

    def unit(self) -> float:
        if len(self._buf) < 2:
            self._buf += hashlib.sha256(self._seed + self._block.to_bytes(4, "big")).digest()
            self._block += 1
        value, self._buf = int.from_bytes(self._buf[:2], "big"), self._buf[2:]
        return value / 65536


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def _gradient(
    w: int, h: int, top: tuple[int, int, int], bottom: tuple[int, int, int]
) -> Image.Image:
    ramp = Image.linear_gradient("L").resize((1, h), Image.Resampling.BILINEAR)
    bands = [
        ramp.point([round(a + (b - a) * v / 255) for v in range(256)])
        for a, b in zip(top, bottom, strict=True)
    ]
    return Image.merge("RGB", bands).resize((w, h), Image.Resampling.NEAREST)


def _shapes(draw: ImageDraw.ImageDraw, rand: _Bytes, w: int, h: int, hue: float) -> None:
    u = min(w, h)
    for _ in range(7):
        kind = int(rand.unit() * 3)
        cx, cy = rand.unit() * w, rand.unit() * h
        r = u * (0.08 + 0.22 * rand.unit())
        colour = (*_hsv(hue + 0.5 * rand.unit() - 0.25, 0.5, 0.95), 110)
        if kind == 0:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
        elif kind == 1:
            draw.rectangle((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), fill=colour)
        else:
            draw.regular_polygon((cx, cy, r), 3, rotation=360 * rand.unit(), fill=colour)


def _stripes(draw: ImageDraw.ImageDraw, w: int, h: int, stripe_h: int) -> None:
    """Hazard stripes along the bottom edge, a second DRAFT cue that survives a crop of the top."""
    y0 = h - stripe_h
    draw.rectangle((0, y0, w, h), fill=_INK)
    step = stripe_h * 2
    for x in range(-step, w + step, step):
        draw.polygon(
            [(x, h), (x + stripe_h, y0), (x + 2 * stripe_h, y0), (x + stripe_h, h)], fill=_STRIPE
        )


def _font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's built-in scalable font (Aileron), with the basic layout for stable output."""
    cache: dict[int, ImageFont.FreeTypeFont] | None = getattr(_local, "fonts", None)
    if cache is None:
        cache = _local.fonts = {}
    size = max(8, size)
    font = cache.get(size)
    if font is None:
        base = ImageFont.load_default(size=size)
        if not isinstance(base, ImageFont.FreeTypeFont):  # Pillow without FreeType
            raise RuntimeError("the draft provider needs Pillow built with FreeType")
        font = cache[size] = base.font_variant(layout_engine=ImageFont.Layout.BASIC)
    return font


def _fit(text: str, size: int, width: int) -> ImageFont.FreeTypeFont:
    font = _font(size)
    length = font.getlength(text)
    return font if length <= width else _font(int(size * width / length))


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return round((ascent + descent) * 1.15)


def _clean(text: str) -> str:
    """Accents folded (the built-in font is ASCII-ish), control and format characters dropped."""
    out = []
    for ch in unicodedata.normalize("NFKD", text).translate(_FALLBACKS):
        if unicodedata.combining(ch):
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Zl", "Zp") or ch.isspace():
            out.append(" ")
        elif cat not in ("Cf", "Cs", "Co", "Cn"):
            out.append(ch)
    return " ".join("".join(out).split())


def _truncate(text: str, font: ImageFont.FreeTypeFont, width: int, *, cut: bool = False) -> str:
    """``text`` if it fits (and not ``cut``), else its longest fitting prefix plus an ellipsis."""
    if not cut and font.getlength(text) <= width:
        return text
    n = _fitting_prefix(text, font, width - font.getlength(ELLIPSIS))
    return text[:n].rstrip() + ELLIPSIS


def _fitting_prefix(text: str, font: ImageFont.FreeTypeFont, width: float) -> int:
    """The length of the longest prefix of ``text`` no wider than ``width``.

    Galloping then bisecting keeps every measured prefix under twice the answer, so a
    5,000-character word costs no more than a line's worth of measuring.
    """
    lo, hi = 0, 1
    while hi <= len(text) and font.getlength(text[:hi]) <= width:
        lo, hi = hi, hi * 2
    hi = min(hi, len(text) + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if font.getlength(text[:mid]) <= width:
            lo = mid
        else:
            hi = mid
    return lo


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap; over-long words are cut, and the last line ends in an ellipsis if cut."""
    lines: list[str] = []
    line = ""
    words = text.split(" ")
    i = 0
    while i < len(words) and len(lines) < max_lines:
        word = words[i]
        if not line:  # the first word of a line: cut it if it is wider than the line
            n = _fitting_prefix(word, font, width)
            if n >= len(word):
                line = word
                i += 1
            else:
                n = max(1, n)
                lines.append(word[:n])
                words[i] = word[n:]
        elif font.getlength(f"{line} {word}") <= width:
            line = f"{line} {word}"
            i += 1
        else:
            lines.append(line)
            line = ""
    if line and len(lines) < max_lines:
        lines.append(line)
        line = ""
    if i < len(words) or line:
        lines[-1] = _truncate(lines[-1], font, width, cut=True)
    return lines or [""]
