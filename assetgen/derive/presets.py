"""Built-in recipe sets, and the expansion of ``{preset: name}`` items.

Presets are lists of recipes as a user writes them in YAML; their ``output`` (and
text params) use ``${stem}``, the master's output path without its extension, and the
srcset fallback ``${ext}``, the master's extension, so derived files land beside
their master. Layout of each built-in, for a master ``icons/app.png``::

    ios-appicon       icons/app/ios/AppIcon.appiconset/Contents.json, icon-<pixels>.png
                      (1024 single size + the legacy iPhone/iPad/marketing slots; opaque)
    android-launcher  icons/app/android/res/mipmap-{m,h,xh,xxh,xxxh}dpi/ic_launcher.png
                      (48, 72, 96, 144, 192) and icons/app/android/ic_launcher-playstore.png (512)
    favicon           icons/app/favicon/favicon.ico (16, 32, 48), apple-touch-icon.png (180),
                      icon-192.png, icon-512.png, icon-maskable-512.png, site.webmanifest
    srcset            icons/app-{25,50,75,100}.{avif,webp,png} and icons/app.picture.html

The srcset ladder is a ladder of scales (a quarter, half, three quarters and all of
the master's width), not of fixed pixel widths: every rung is possible for any
master, so the recipes stay canonical and master-independent, nothing has to be
skipped (a file the plan cannot predict) or enlarged, the full resolution is always
offered, and the snippet's ``w`` widths are computed exactly from the master's size.

The folder is named ``AppIcon.appiconset``, Xcode's default icon set name, so copying
it into ``Assets.xcassets`` needs no build setting; the Android files sit in a ``res/``
tree to merge into ``app/src/main/res``.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from typing import Any

from .templates import IOS_LEGACY, appiconset_images, ios_filename, ios_pixels

__all__ = ["BUILTIN_PRESETS", "MAX_DERIVED", "expand_preset", "preset_size"]

# Derived files one asset may have after its presets are expanded: presets that list
# presets can otherwise multiply (ten presets of ten, nested four deep, are 10,000).
MAX_DERIVED = 1000

SRCSET_SCALES = (0.25, 0.5, 0.75, 1.0)
ANDROID_DENSITIES = (("mdpi", 48), ("hdpi", 72), ("xhdpi", 96), ("xxhdpi", 144), ("xxxhdpi", 192))
WHITE = "#ffffff"


def _square(output: str, side: int, **extra: Any) -> dict[str, Any]:
    return {"output": output, "width": side, "height": side, "fit": "cover", **extra}


def _ios() -> list[dict[str, Any]]:
    folder = "${stem}/ios/AppIcon.appiconset"
    pixels = sorted({1024} | {ios_pixels(p, s) for p, s, _ in IOS_LEGACY})
    # The App Store refuses an icon with an alpha channel: every size is flattened.
    recipes = [_square(f"{folder}/{ios_filename(px)}", px, background=WHITE) for px in pixels]
    recipes.append(
        {
            "output": f"{folder}/Contents.json",
            "template": "appiconset-contents",
            "params": {"images": appiconset_images()},
        }
    )
    return recipes


def _android() -> list[dict[str, Any]]:
    recipes = [
        _square(f"${{stem}}/android/res/mipmap-{dpi}/ic_launcher.png", side)
        for dpi, side in ANDROID_DENSITIES
    ]
    recipes.append(_square("${stem}/android/ic_launcher-playstore.png", 512))
    return recipes


def _favicon() -> list[dict[str, Any]]:
    folder = "${stem}/favicon"
    return [
        {"output": f"{folder}/favicon.ico", "sizes": [16, 32, 48]},
        # iOS puts black behind a transparent touch icon: flatten it.
        _square(f"{folder}/apple-touch-icon.png", 180, background=WHITE),
        _square(f"{folder}/icon-192.png", 192),
        _square(f"{folder}/icon-512.png", 512),
        # Maskable: full bleed, the artwork inside the central 80% safe zone.
        _square(f"{folder}/icon-maskable-512.png", 512, padding=0.1, background=WHITE),
        {
            "output": f"{folder}/site.webmanifest",
            "template": "webmanifest",
            "params": {
                "name": "${name}",
                "short_name": "${name}",
                "icons": [
                    {"src": "icon-192.png", "sizes": "192x192", "type": "image/png"},
                    {"src": "icon-512.png", "sizes": "512x512", "type": "image/png"},
                    {
                        "src": "icon-maskable-512.png",
                        "sizes": "512x512",
                        "type": "image/png",
                        "purpose": "maskable",
                    },
                ],
                "theme_color": WHITE,
                "background_color": WHITE,
                "display": "standalone",
            },
        },
    ]


def srcset_output(scale: float, ext: str) -> str:
    """The file of one rung: ``${stem}-50.webp`` for half the master's width."""
    return f"${{stem}}-{round(scale * 100)}.{ext}"


def _srcset() -> list[dict[str, Any]]:
    recipes: list[dict[str, Any]] = []
    images = []
    for ext, quality in (("avif", 60), ("webp", 80), ("${ext}", None)):
        for scale in SRCSET_SCALES:
            recipe: dict[str, Any] = {"output": srcset_output(scale, ext)}
            if scale != 1.0:
                recipe["scale"] = scale
            if quality is not None:
                recipe["quality"] = quality
            recipes.append(recipe)
            images.append({"src": recipe["output"], "scale": scale})
    recipes.append(
        {
            "output": "${stem}.picture.html",
            "template": "picture",
            "params": {"images": images, "alt": "", "sizes": "100vw"},
        }
    )
    return recipes


BUILTIN_PRESETS: Mapping[str, list[dict[str, Any]]] = {
    "ios-appicon": _ios(),
    "android-launcher": _android(),
    "favicon": _favicon(),
    "srcset": _srcset(),
}


class TooManyRecipes(ValueError):
    """An expansion past its limit (``count`` is a lower bound when it stopped early)."""

    def __init__(self, name: str, count: int, limit: int) -> None:
        super().__init__(f"preset `{name}` expands to more than {limit} recipes")
        self.count = count
        self.limit = limit


Frame = tuple[str, bool]  # (name, from the project?): see _frame


def expand_preset(
    name: str,
    project_presets: Mapping[str, list[dict[str, Any]]],
    *,
    limit: int = MAX_DERIVED,
) -> list[dict[str, Any]]:
    """The recipes of preset ``name``, with every ``{preset: other}`` item replaced by
    that preset's recipes, in order (deep copies: the caller may change them).

    Names are looked up in the project's presets first, then the built-in ones: a
    project preset shadows a built-in of the same name for the whole project. Inside a
    project preset named like a built-in, ``{preset: <its own name>}`` means the
    built-in, so ``favicon: [{preset: favicon}, {output: ...}]`` extends it.

    Raises:
        ValueError: an unknown name (with the nearest known one), a cycle (named
            ``a -> b -> a``), or an item that is neither a recipe nor ``{preset: name}``.
        TooManyRecipes: more than ``limit`` recipes (found by counting first, so
            nothing is copied for a preset that would expand to millions).
    """
    count = preset_size(name, project_presets)
    if count > limit:
        raise TooManyRecipes(name, count, limit)
    return _expand(name, project_presets, ())


def preset_size(name: str, project_presets: Mapping[str, list[dict[str, Any]]]) -> int:
    """How many recipes preset ``name`` expands to, without expanding it: each preset
    is counted once (nested presets that would expand exponentially cost one pass over
    the presets). Raises ValueError like ``expand_preset``."""
    return _size(name, project_presets, (), {})


def _frame(
    name: str, project: Mapping[str, list[dict[str, Any]]], stack: tuple[Frame, ...]
) -> tuple[Frame, list[Any]]:
    """The frame ``name`` is in this ``stack``, and its items (ValueError: a cycle, an
    unknown name, not a list)."""
    # A frame is (name, from the project?): the built-in reached from its own shadow is
    # another preset than the shadow, and no cycle.
    shadow_of_self = bool(stack) and stack[-1] == (name, True) and name in BUILTIN_PRESETS
    in_project = name in project and not shadow_of_self
    frame = (name, in_project)
    if frame in stack:
        cycle = [n for n, _ in stack[stack.index(frame) :]] + [name]
        raise ValueError(f"presets form a cycle: {' -> '.join(cycle)}")
    if in_project:
        items: Any = project[name]
    elif name in BUILTIN_PRESETS:
        items = BUILTIN_PRESETS[name]
    else:
        known = sorted(set(project) | set(BUILTIN_PRESETS))
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else f" (known: {', '.join(known)})"
        raise ValueError(f"unknown preset `{name}`{hint}")
    if not isinstance(items, list):
        raise ValueError(f"preset `{name}` must be a list of recipes")
    return frame, items


def _reference(name: str, item: Any) -> str | None:
    """The preset ``item`` names, None for a recipe (ValueError: neither)."""
    if not isinstance(item, Mapping):
        raise ValueError(f"preset `{name}`: each item is a recipe or {{preset: name}}")
    if "preset" not in item:
        return None
    ref = item["preset"]
    if len(item) != 1 or not isinstance(ref, str):
        raise ValueError(
            f"preset `{name}`: `preset` stands alone in its item, like {{preset: web}}"
        )
    return ref


def _size(
    name: str,
    project: Mapping[str, list[dict[str, Any]]],
    stack: tuple[Frame, ...],
    memo: dict[Frame, int],
) -> int:
    frame, items = _frame(name, project, stack)
    if frame in memo:  # a frame's items, and so its count, depend on the frame alone
        return memo[frame]
    total = 0
    for item in items:
        ref = _reference(name, item)
        total += 1 if ref is None else _size(ref, project, (*stack, frame), memo)
    memo[frame] = total
    return total


def _expand(
    name: str,
    project: Mapping[str, list[dict[str, Any]]],
    stack: tuple[Frame, ...],
) -> list[dict[str, Any]]:
    frame, items = _frame(name, project, stack)
    out: list[dict[str, Any]] = []
    for item in items:
        ref = _reference(name, item)
        if ref is not None:
            out.extend(_expand(ref, project, (*stack, frame)))
        else:
            out.append(copy.deepcopy(dict(item)))
    return out
