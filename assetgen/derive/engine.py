"""The seam between the recipe side and the pixel side: render and presets, by name.

``render`` (the renderer) and ``presets`` (the built-in recipe sets) are their own
modules; until they are present, a small stand-in (``_standin``) answers for both,
with the same functions. Everything else imports them from here, lazily: a null
plan never imports an image library.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"assetgen.derive.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"assetgen.derive.{name}":
            raise
        return importlib.import_module("assetgen.derive._standin")


def render(master: bytes, recipe: Mapping[str, Any]) -> bytes:
    """The derived file's bytes (an image, or a text file for a ``text`` recipe)."""
    data: bytes = _module("render").render(master, recipe)
    return data


def output_size(master_size: tuple[int, int], recipe: Mapping[str, Any]) -> tuple[int, int] | None:
    """The pixel size ``recipe`` makes from a master of ``master_size`` (None: text)."""
    size: tuple[int, int] | None = _module("render").output_size(master_size, recipe)
    return size


def check_recipe(master_size: tuple[int, int], recipe: Mapping[str, Any]) -> str | None:
    """Why ``recipe`` cannot be made from a master of ``master_size``, or None."""
    reason: str | None = _module("render").check_recipe(master_size, recipe)
    return reason


def builtin_presets() -> Mapping[str, list[dict[str, Any]]]:
    presets: Mapping[str, list[dict[str, Any]]] = _module("presets").BUILTIN_PRESETS
    return presets


def expand_preset(
    name: str, project_presets: Mapping[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The raw recipes preset ``name`` stands for (ValueError: unknown, or a cycle)."""
    recipes: list[dict[str, Any]] = _module("presets").expand_preset(name, project_presets)
    return recipes
