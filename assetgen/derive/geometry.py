"""The pixel arithmetic of a recipe: what size it makes, what part of the master it uses,
and whether this master can make it at all.

Pure functions of the master's size and the canonical recipe, so the planner can show
a derived file's size (and refuse an impossible recipe) before any pixel is decoded,
and the renderer uses exactly the same numbers.

Recipes never enlarge the master unless they say ``upscale: true``. A recipe whose
result would need more pixels than the master has (a ``scale`` above 1, a ``width``
wider than the master, a ``width`` + ``height`` crop that the master cannot fill, an
``.ico`` size above the master's short edge) is impossible: ``check_recipe`` says why
and how to fix it, and the manifest reports it as a located error. It is never
silently clamped, so a file named for 2560 pixels is 2560 pixels wide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import AssetgenError

# Largest edges the encoders accept (WebP's limit is the tightest of the web formats).
MAX_EDGE = {"png": 65535, "jpeg": 65500, "webp": 16383, "avif": 65535, "ico": 256}
ALPHA_FORMATS = frozenset({"png", "webp", "avif", "ico"})


class DeriveError(AssetgenError):
    """A derived file cannot be made from this master or these params: fails that
    output (and its asset), not the whole build."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the pixels go: the output canvas, the master region read (``box``, in master
    pixels, fractional), and the size and offset it is drawn at on the canvas."""

    canvas: tuple[int, int]
    box: tuple[float, float, float, float]
    content: tuple[int, int]
    offset: tuple[int, int]
    factor: float  # content pixels per master pixel (above 1: an enlargement)


def _round(x: float) -> int:
    """Round half up, at least 1: the same on every platform (no banker's rounding)."""
    return max(1, math.floor(x + 0.5))


def _pad(canvas: tuple[int, int], padding: float) -> tuple[int, int, int, int]:
    """The inner box (x, y, w, h) left inside ``canvas`` by a ``padding`` margin."""
    mx, my = math.floor(canvas[0] * padding + 0.5), math.floor(canvas[1] * padding + 0.5)
    return mx, my, max(1, canvas[0] - 2 * mx), max(1, canvas[1] - 2 * my)


def layout(master: tuple[int, int], recipe: Mapping[str, Any], square: int | None = None) -> Layout:
    """The layout of ``recipe`` on a master of size ``master``.

    ``square`` (for one size of an ``.ico``) asks for a ``square`` x ``square`` cover
    crop whatever the recipe's own size keys say.
    """
    w, h = master
    width: int | None
    height: int | None
    if square is not None:
        width, height, fit = square, square, "cover"
    else:
        width, height = recipe.get("width"), recipe.get("height")
        fit = recipe.get("fit", "cover")
        if recipe.get("format") == "ico" and width is None and height is None:
            side = max(recipe.get("sizes") or [16, 32, 48])
            width, height, fit = side, side, "cover"
    focus = recipe.get("focus", "center")
    padding = float(recipe.get("padding", 0.0))
    if width is not None and height is not None:
        canvas = (int(width), int(height))
    elif width is not None:
        canvas = (int(width), _round(h * int(width) / w))
        fit = "fill"
    elif height is not None:
        canvas = (_round(w * int(height) / h), int(height))
        fit = "fill"
    else:
        scale = float(recipe.get("scale", 1.0))
        canvas = (_round(w * scale), _round(h * scale))
        fit = "fill"
    ix, iy, iw, ih = _pad(canvas, padding) if padding else (0, 0, *canvas)
    box: tuple[float, float, float, float] = (0.0, 0.0, float(w), float(h))
    if fit == "fill":
        content = (iw, ih)
        factor = max(iw / w, ih / h)
        offset = (ix, iy)
    elif fit == "cover":
        factor = max(iw / w, ih / h)
        cw, ch = iw / factor, ih / factor
        x0 = {"left": 0.0, "right": w - cw}.get(focus, (w - cw) / 2)
        y0 = {"top": 0.0, "bottom": h - ch}.get(focus, (h - ch) / 2)
        box = (x0, y0, x0 + cw, y0 + ch)
        content = (iw, ih)
        offset = (ix, iy)
    else:  # contain: the whole master inside the box, the rest background
        factor = min(iw / w, ih / h)
        content = (min(iw, _round(w * factor)), min(ih, _round(h * factor)))
        dx, dy = iw - content[0], ih - content[1]
        ox = {"left": 0, "right": dx}.get(focus, dx // 2)
        oy = {"top": 0, "bottom": dy}.get(focus, dy // 2)
        offset = (ix + ox, iy + oy)
    return Layout(canvas=canvas, box=box, content=content, offset=offset, factor=factor)


def output_size(master_size: tuple[int, int], recipe: Mapping[str, Any]) -> tuple[int, int] | None:
    """The pixel size ``recipe`` makes from a master of ``master_size``; None for text.

    An ``.ico`` holds several sizes: this is its largest. The size is what the recipe
    asks for even when ``check_recipe`` refuses it (so a message can quote it).
    """
    if recipe.get("format") == "text":
        return None
    return layout(master_size, recipe).canvas


def check_recipe(master_size: tuple[int, int], recipe: Mapping[str, Any]) -> str | None:
    """Why ``recipe`` cannot be made from a master of ``master_size``, with the fix; None
    when it can. Text recipes are always possible here (their params are checked when
    they are rendered)."""
    fmt = recipe.get("format")
    if fmt == "text":
        return None
    w, h = master_size
    if w < 1 or h < 1:
        return f"the master is {w}x{h}: there is nothing to derive from"
    upscale = bool(recipe.get("upscale", False))
    if fmt == "ico":
        sizes = list(recipe.get("sizes") or [16, 32, 48])
        if any(k in recipe for k in ("scale", "width", "height")):
            return "an .ico takes `sizes` (like [16, 32, 48]), not scale/width/height"
        if max(sizes) > 256:
            return f"an .ico holds sizes up to 256, not {max(sizes)}"
        if not upscale and max(sizes) > min(w, h):
            return (
                f"the .ico size {max(sizes)} is larger than the master's short edge "
                f"({w}x{h}); use smaller `sizes` or add `upscale: true`"
            )
        return None
    lay = layout(master_size, recipe)
    cw, ch = lay.canvas
    limit = MAX_EDGE.get(str(fmt), 65535)
    if max(cw, ch) > limit:
        return f"{cw}x{ch} is too large for {fmt} (at most {limit} pixels a side)"
    if not upscale and lay.factor > 1 + 1e-9:
        what = _what(recipe)
        return (
            f"{what} would enlarge the {w}x{h} master {lay.factor:.2f}x "
            f"(to {cw}x{ch}); ask for at most the master's size or add `upscale: true`"
        )
    return None


def _what(recipe: Mapping[str, Any]) -> str:
    if "scale" in recipe:
        return f"scale {recipe['scale']:g}"
    width, height = recipe.get("width"), recipe.get("height")
    if width is not None and height is not None:
        pad = f" with padding {recipe['padding']:g}" if recipe.get("padding") else ""
        return f"a {width}x{height} {recipe.get('fit', 'cover')}{pad}"
    if width is not None:
        return f"width {width}"
    if height is not None:
        return f"height {height}"
    return "padding" if recipe.get("padding") else "this recipe"
