"""The seam between the recipe side and the pixel side.

Sizes and feasibility come from ``geometry`` (pure arithmetic) and the built-in
recipe sets from ``presets``; only ``render`` loads the image library, and it is
imported on first use: a plan, which checks recipes but makes no bytes, never pays
for Pillow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import geometry, presets


def render(master: bytes, recipe: Mapping[str, Any]) -> bytes:
    """The derived file's bytes (an image, or a text file for a ``text`` recipe)."""
    from . import render as pixels

    return pixels.render(master, recipe)


def output_size(master_size: tuple[int, int], recipe: Mapping[str, Any]) -> tuple[int, int] | None:
    """The pixel size ``recipe`` makes from a master of ``master_size`` (None: text)."""
    return geometry.output_size(master_size, recipe)


def check_recipe(master_size: tuple[int, int], recipe: Mapping[str, Any]) -> str | None:
    """Why ``recipe`` cannot be made from a master of ``master_size``, or None."""
    return geometry.check_recipe(master_size, recipe)


def builtin_presets() -> Mapping[str, list[dict[str, Any]]]:
    return presets.BUILTIN_PRESETS


def expand_preset(
    name: str, project_presets: Mapping[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The raw recipes preset ``name`` stands for (ValueError: unknown, a cycle, or
    more than MAX_DERIVED recipes)."""
    return presets.expand_preset(name, project_presets)


MAX_DERIVED = presets.MAX_DERIVED


def preset_size(name: str, project_presets: Mapping[str, list[dict[str, Any]]]) -> int:
    """How many recipes preset ``name`` stands for, counted without expanding it
    (ValueError: unknown, or a cycle)."""
    return presets.preset_size(name, project_presets)
