"""What the cache serves for a derived file is checked before it is written: the
lock's own bytes first, then the recipe index, each only when it is that recipe's
file (format and pixel size from its header)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from assetgen import find_project
from assetgen.build.derive import served_size
from assetgen.cache.derived import put_derived
from assetgen.cache.open import project_cache
from assetgen.lock.read import read_lock
from tests.derive.test_build_derive import check, project
from tests.pages import build

JPEG_RECIPE = json.dumps({"format": "jpeg", "width": 600, "height": 315, "fit": "cover"})


def encoded(fmt: str, size: tuple[int, int], colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def test_served_size_takes_only_that_recipes_file() -> None:
    """Right format and size: its size; another format, another size or text: None."""
    master = (1344, 768)
    assert served_size(encoded("JPEG", (600, 315)), JPEG_RECIPE, master) == (600, 315)
    assert served_size(encoded("WEBP", (600, 315)), JPEG_RECIPE, master) is None
    assert served_size(encoded("JPEG", (640, 336)), JPEG_RECIPE, master) is None
    assert served_size(b"<html></html>", JPEG_RECIPE, master) is None
    text = json.dumps({"format": "text", "template": "x"})
    assert served_size(b"{}\n", text, master) == (0, 0)
    assert served_size(encoded("PNG", (4, 4)), text, master) is None
    assert served_size(b"\xff\xfe\xfa", text, master) is None


def _jpeg(root: Path) -> tuple[Path, str, str]:
    """A built project: the social card's path, its locked sha256 and recipe hash."""
    build(root)
    entry = read_lock(root / "assetgen.lock").entries["hero"]
    card = next(d for d in entry.derived if d.path == "assets/og/hero.jpg")
    return root / card.path, card.sha256, card.recipe


def _cache(root: Path):  # type: ignore[no-untyped-def]
    proj = find_project(root)
    return project_cache(proj, proj.load_manifest("draft", remember=False), push=False)


def test_a_restore_takes_the_locked_bytes_over_the_index(tmp_path: Path) -> None:
    """The recipe index names other valid bytes (another checkout's, another Pillow):
    the restore still writes the lock's, so check is clean."""
    root = project(tmp_path)
    target, locked_sha, recipe = _jpeg(root)
    locked_bytes = target.read_bytes()
    put_derived(_cache(root), recipe, encoded("JPEG", (600, 315)))  # same size, other bytes
    target.unlink()
    build(root)
    assert target.read_bytes() == locked_bytes and check(root) == 0
    assert read_lock(root / "assetgen.lock").entries["hero"].derived[1].sha256 == locked_sha


def test_an_index_naming_another_format_is_a_miss_and_renders(tmp_path: Path) -> None:
    """A tampered index maps the JPEG's recipe to a WebP blob (and the locked blob is
    gone): the build renders the JPEG again rather than writing a WebP as .jpg."""
    root = project(tmp_path)
    target, locked_sha, recipe = _jpeg(root)
    cache = _cache(root)
    blob = next(p for p in cache.root.rglob(locked_sha) if p.is_file())
    blob.unlink()  # only the index can serve it now
    put_derived(cache, recipe, encoded("WEBP", (600, 315)))
    target.unlink()
    build(root)
    with Image.open(target) as im:
        assert (im.format, im.size) == ("JPEG", (600, 315))
    assert check(root) == 0


def test_other_cached_bytes_of_the_recipe_are_not_called_rendered(tmp_path: Path) -> None:
    """The locked blob is gone and the index serves other valid bytes of the same
    recipe: the file is restored from the cache, and the build does not say it was
    rendered again under another image library."""
    root = project(tmp_path)
    target, locked_sha, recipe = _jpeg(root)
    cache = _cache(root)
    next(p for p in cache.root.rglob(locked_sha) if p.is_file()).unlink()
    other = encoded("JPEG", (600, 315))
    put_derived(cache, recipe, other)
    target.unlink()
    out = build(root)
    assert target.read_bytes() == other
    assert "rendered to other bytes" not in out and "1 from cache" in out


def test_a_build_makes_no_action_for_up_to_date_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that restores one asset's file reads only the plan's changes: the other
    asset's up-to-date files stay one UpToDate, never made into actions."""
    from assetgen.cli import main
    from assetgen.plan import actions
    from tests.derive.test_derived_memo import built as memo_built

    root = memo_built(tmp_path, monkeypatch)  # hero and icon, signatures recorded
    made: list[str] = []
    real = actions.UpToDate.actions

    def counting(self: actions.UpToDate) -> list[actions.DerivedAction]:
        made.append(self.name)
        return real(self)

    monkeypatch.setattr(actions.UpToDate, "actions", counting)
    target = root / "assets/og/hero.jpg"
    target.unlink()
    assert main(["-C", str(root), "build"]) == 0
    assert target.is_file() and made == []
    assert main(["-C", str(root), "plan", "--json"]) == 0
    assert made == ["hero", "icon"]  # the JSON lists every file: made there, and only there
