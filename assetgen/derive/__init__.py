"""The derive room: files made locally from a generated (or adopted) master, for free.

``recipe`` turns the manifest's ``derive:`` items into canonical recipes and hashes
them with their master (what the lock records and the cache is keyed by); ``presets``
holds the built-in recipe sets (ios-appicon, android-launcher, favicon, srcset);
``render`` makes the bytes. ``engine`` picks those two modules (see its docstring).
Nothing here imports build/: build runs the renders, in a process pool.
"""

from __future__ import annotations

from .recipe import (
    DERIVE_VERSION,
    TEXT_TEMPLATES,
    RecipeError,
    canonical_json,
    canonical_recipe,
    recipe_hash,
    recipe_hash_json,
)

__all__ = [
    "DERIVE_VERSION",
    "TEXT_TEMPLATES",
    "RecipeError",
    "canonical_json",
    "canonical_recipe",
    "recipe_hash",
    "recipe_hash_json",
]
