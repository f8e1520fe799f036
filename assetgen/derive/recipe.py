"""Recipes: what one derived file is made of, in one canonical form, and its hash.

A recipe as written (``{output: og/home.jpg, width: 1200, height: 630}``) is checked
and turned into a canonical dict with every default filled in, so two spellings of
one recipe are the same dict and hash the same. The recipe hash covers the master's
sha256 and that canonical JSON: it changes exactly when the master's bytes or the
recipe change, which is when the file must be made again. Bump DERIVE_VERSION when
the canonical form changes (and only then: see the README on library upgrades).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from .params import params_problem

DERIVE_VERSION = 1

# Extension -> canonical image format.
IMAGE_FORMATS = {
    "png": "png",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "webp": "webp",
    "avif": "avif",
    "ico": "ico",
}
# Files a text template writes (Contents.json, site.webmanifest, a <picture> snippet).
TEXT_EXTENSIONS = frozenset({"json", "webmanifest", "html", "txt", "xml"})
TEXT_TEMPLATES = ("appiconset-contents", "webmanifest", "picture")
FITS = ("cover", "contain", "fill")
FOCUSES = ("center", "top", "bottom", "left", "right")
# Every key a recipe may have (``preset`` only alone: a reference to a preset).
RECIPE_KEYS = (
    "output",
    "scale",
    "width",
    "height",
    "fit",
    "focus",
    "quality",
    "lossless",
    "background",
    "strip",
    "upscale",
    "sizes",
    "padding",
    "template",
    "params",
)
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
MAX_EDGE = 16384


class RecipeError(Exception):
    """One problem with one recipe: the key it is about (None: the whole recipe), a hint,
    and ``where``, the path below that key (inside ``params``) when there is one."""

    def __init__(
        self,
        key: str | None,
        message: str,
        hint: str | None = None,
        where: tuple[str | int, ...] = (),
    ) -> None:
        super().__init__(message)
        self.key = key
        self.hint = hint
        self.where = where


def extension(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _int(raw: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RecipeError(
            key, f"`{key}` must be a whole number from {low} to {high}, not {value!r}"
        )
    return value


def _bool(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise RecipeError(key, f"`{key}` must be true or false, not {value!r}")
    return value


def _choice(raw: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if value not in choices:
        raise RecipeError(
            key,
            f"`{key}` must be one of {', '.join(choices)}, not {value!r}",
            _near(value, choices),
        )
    return str(value)


def _near(value: object, choices: tuple[str, ...]) -> str | None:
    import difflib  # error paths only

    close = difflib.get_close_matches(str(value), choices, n=1)
    return f"did you mean `{close[0]}`?" if close else None


def canonical_recipe(raw: Mapping[str, Any], output: str) -> dict[str, Any]:
    """The canonical form of ``raw``, whose ``output`` is already expanded and checked
    (relative to output_dir); raises RecipeError naming the key at fault."""
    unknown = [k for k in raw if k not in RECIPE_KEYS]
    if unknown:
        raise RecipeError(
            unknown[0], f"unknown recipe key `{unknown[0]}`", _near(unknown[0], RECIPE_KEYS)
        )
    ext = extension(output)
    if "template" in raw or ext in TEXT_EXTENSIONS:
        return _text_recipe(raw, output, ext)
    fmt = IMAGE_FORMATS.get(ext)
    if fmt is None:
        what = f"`.{ext}` is not a format assetgen derives" if ext else "has no extension"
        raise RecipeError(
            "output",
            f"output `{output}`: {what}",
            "end it with .png, .jpg, .webp, .avif or .ico (the extension picks the format), "
            "or .json/.webmanifest/.html with a `template`",
        )
    recipe: dict[str, Any] = {"output": output, "format": fmt}
    scale = raw.get("scale")
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)):
            raise RecipeError("scale", f"`scale` must be a number, not {scale!r}")
        if not 0 < scale <= 16 or math.isnan(scale):
            raise RecipeError("scale", f"`scale` must be above 0 and at most 16, not {scale!r}")
    width = _int(raw, "width", 1, MAX_EDGE)
    height = _int(raw, "height", 1, MAX_EDGE)
    if scale is not None and (width is not None or height is not None):
        raise RecipeError(
            "scale",
            "give `scale` or `width`/`height`, not both",
            "scale multiplies the master's size",
        )
    if scale is not None and float(scale) != 1.0:
        recipe["scale"] = float(scale)
    if width is not None:
        recipe["width"] = width
    if height is not None:
        recipe["height"] = height
    fit = _choice(raw, "fit", FITS)
    focus = _choice(raw, "focus", FOCUSES)
    both = width is not None and height is not None
    if (fit is not None or focus is not None) and not both:
        key = "fit" if fit is not None else "focus"
        raise RecipeError(
            key, f"`{key}` needs both `width` and `height`", "with one of them the aspect is kept"
        )
    if both:
        recipe["fit"] = fit or "cover"
        recipe["focus"] = focus or "center"
    quality = _int(raw, "quality", 1, 100)
    if quality is not None:
        if fmt in ("png", "ico"):
            raise RecipeError("quality", f"`quality` has no effect on {fmt} (it is lossless)")
        recipe["quality"] = quality
    if "lossless" in raw:
        lossless = _bool(raw, "lossless", False)
        if lossless and fmt not in ("webp", "avif"):
            raise RecipeError("lossless", f"`lossless` applies to webp and avif, not {fmt}")
        if lossless:
            recipe["lossless"] = True
    background = raw.get("background")
    if background is not None:
        if not isinstance(background, str) or not _COLOUR.fullmatch(background):
            raise RecipeError(
                "background", f'`background` must be a colour like "#ffffff", not {background!r}'
            )
        recipe["background"] = background.lower()
    recipe["strip"] = _bool(raw, "strip", True)
    recipe["upscale"] = _bool(raw, "upscale", False)
    sizes = raw.get("sizes")
    if sizes is not None:
        if fmt != "ico":
            raise RecipeError("sizes", "`sizes` applies to .ico files only")
        if (
            not isinstance(sizes, list)
            or not sizes
            or not all(
                isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 256 for s in sizes
            )
        ):
            raise RecipeError(
                "sizes", "`sizes` must list square sizes from 1 to 256, like [16, 32, 48]"
            )
        recipe["sizes"] = sorted(set(sizes))
    elif fmt == "ico":
        recipe["sizes"] = [16, 32, 48]
    padding = raw.get("padding")
    if padding is not None:
        if (
            isinstance(padding, bool)
            or not isinstance(padding, (int, float))
            or not 0 <= padding <= 0.5
        ):
            raise RecipeError(
                "padding", f"`padding` must be a number from 0 to 0.5, not {padding!r}"
            )
        if padding:
            recipe["padding"] = float(padding)
    if "params" in raw:
        raise RecipeError("params", "`params` belongs to text recipes (with a `template`)")
    return recipe


def _text_recipe(raw: Mapping[str, Any], output: str, ext: str) -> dict[str, Any]:
    template = raw.get("template")
    if template is None:
        raise RecipeError(
            "template",
            f"output `{output}` is a text file: name its `template`",
            f"templates: {', '.join(TEXT_TEMPLATES)}",
        )
    if template not in TEXT_TEMPLATES:
        raise RecipeError(
            "template",
            f"unknown template {template!r}",
            _near(template, TEXT_TEMPLATES) or f"templates: {', '.join(TEXT_TEMPLATES)}",
        )
    if ext not in TEXT_EXTENSIONS:
        raise RecipeError("output", f"a template writes text: `{output}` needs a text extension")
    extra = [k for k in raw if k not in ("output", "template", "params")]
    if extra:
        raise RecipeError(extra[0], f"`{extra[0]}` has no meaning for a text file")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise RecipeError("params", "`params` must be a mapping")
    try:
        params = json.loads(canonical_json(params))
    except (TypeError, ValueError):
        raise RecipeError(
            "params", "`params` must hold plain values (text, numbers, lists)"
        ) from None
    problem = params_problem(str(template), params)
    if problem is not None:
        raise RecipeError("params", problem.message, problem.hint, problem.where)
    return {"output": output, "format": "text", "template": template, "params": params}


def canonical_json(recipe: Mapping[str, Any]) -> str:
    """The recipe's canonical JSON: sorted keys, no spaces, UTF-8 text as is."""
    return json.dumps(recipe, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_PREFIX = f"assetgen-derive\0{DERIVE_VERSION}\0"
_sha256 = hashlib.sha256


def recipe_hash_json(master_sha256: str, canonical: str) -> str:
    """``recipe_hash`` of a recipe already in canonical JSON (what specs hold)."""
    text = f"{_PREFIX}{master_sha256}\0{canonical}"
    return "sha256:" + _sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def recipe_hash(master_sha256: str, canonical: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` over the master's sha256 and the canonical recipe."""
    return recipe_hash_json(master_sha256, canonical_json(canonical))
