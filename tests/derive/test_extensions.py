"""One list of what a recipe writes: the derived-path rule (outpaths) accepts exactly
the image formats and text extensions the recipe module knows."""

from __future__ import annotations

import pytest

from assetgen.derive.recipe import IMAGE_FORMATS, TEXT_EXTENSIONS, RecipeError, canonical_recipe
from assetgen.outpaths import DERIVED_EXTENSIONS, derived_path_problem


def test_derived_extensions_are_the_recipe_modules() -> None:
    allowed = set(DERIVED_EXTENSIONS)
    assert allowed == set(IMAGE_FORMATS) | TEXT_EXTENSIONS
    # the set as it was written out before it was built from the recipe module
    assert allowed == {
        "png", "jpg", "jpeg", "webp", "avif", "ico", "json", "webmanifest", "html", "txt", "xml",
    }  # fmt: skip


@pytest.mark.parametrize("ext", sorted(DERIVED_EXTENSIONS))
def test_every_extension_the_path_rule_allows_is_one_a_recipe_takes(ext: str) -> None:
    assert derived_path_problem(f"assets/a.{ext}") is None
    assert derived_path_problem(f"assets/a.{ext.upper()}") is None
    if ext in TEXT_EXTENSIONS:
        with pytest.raises(RecipeError, match="name its `template`"):
            canonical_recipe({"output": f"a.{ext}"}, f"a.{ext}")
    else:
        assert canonical_recipe({"output": f"a.{ext}"}, f"a.{ext}")["format"] == IMAGE_FORMATS[ext]


def test_other_extensions_stay_refused() -> None:
    for name in ("a.gif", "a.svg", "a", "a.tmp"):
        assert derived_path_problem(f"assets/{name}") is not None
