"""Derived files in a build (draft provider): made, verified, locked, cached, kept."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from assetgen import find_project
from assetgen.build.adopt import adopt
from assetgen.commands import project as commands
from assetgen.lock.read import read_lock
from tests.pages import build, edit

MANIFEST = """version: 1
provider: draft
assets:
  hero:
    prompt: a city skyline
    size: "16:9"
    derive:
      - {output: "${name}@1x.webp", scale: 0.5}
      - {output: "og/${name}.jpg", width: 600, height: 315}
      - {output: "${name}.ico", sizes: [16, 32]}
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "assetgen.yaml").write_text(MANIFEST)
    return tmp_path


def check(root: Path) -> int:
    return commands.plan(find_project(root), check=True, out=io.StringIO())


def plan_json(root: Path) -> dict[str, object]:
    out = io.StringIO()
    commands.plan(find_project(root), as_json=True, out=out)
    doc: dict[str, object] = json.loads(out.getvalue())
    return doc


def test_build_derives_verifies_and_locks(tmp_path: Path) -> None:
    """Each derived file is written at its recipe's size and recorded in the lock."""
    root = project(tmp_path)
    out = build(root)
    assert "3 derived files written" in out
    with Image.open(root / "assets/hero@1x.webp") as im:
        assert im.size == (672, 384)
    with Image.open(root / "assets/og/hero.jpg") as im:
        assert (im.format, im.size) == ("JPEG", (600, 315))
    entry = read_lock(root / "assetgen.lock").entries["hero"]
    assert [(d.path, d.width, d.height) for d in entry.derived] == [
        ("assets/hero@1x.webp", 672, 384),
        ("assets/og/hero.jpg", 600, 315),
        ("assets/hero.ico", 32, 32),
    ]
    assert check(root) == 0
    assert not list(root.rglob("*.tmp*"))  # temp files renamed into place


def test_changing_one_recipe_rederives_only_its_file(tmp_path: Path) -> None:
    """A width edit re-derives one file; the master and the other files stay."""
    root = project(tmp_path)
    build(root)
    before = {p: p.stat().st_mtime_ns for p in (root / "assets").rglob("*") if p.is_file()}
    edit(root / "assetgen.yaml", "width: 600", "width: 640")
    doc = plan_json(root)
    assert doc["derived_summary"] == {
        "derive": 1, "restore": 0, "delete": 0, "modified": 0, "noop": 2
    }  # fmt: skip
    assert check(root) == 1
    build(root)
    changed = {p for p, t in before.items() if p.stat().st_mtime_ns != t}
    assert changed == {root / "assets/og/hero.jpg"} and check(root) == 0


def test_a_deleted_file_comes_back_from_the_cache(tmp_path: Path) -> None:
    """A deleted derived file is restored from the cache by its recipe hash."""
    root = project(tmp_path)
    build(root)
    data = (root / "assets/hero@1x.webp").read_bytes()
    (root / "assets/hero@1x.webp").unlink()
    assert check(root) == 1
    assert "1 from cache" in build(root)
    assert (root / "assets/hero@1x.webp").read_bytes() == data


def test_switching_a_recipe_back_costs_nothing(tmp_path: Path) -> None:
    """Back to an earlier recipe: the cache has its file (no render)."""
    root = project(tmp_path)
    build(root)
    edit(root / "assetgen.yaml", "scale: 0.5", "scale: 0.25")
    build(root)
    edit(root / "assetgen.yaml", "scale: 0.25", "scale: 0.5")
    assert "1 derived file written (1 from cache)" in build(root)


def test_an_edited_derived_file_is_kept_until_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A derived file edited by hand is kept (check exits 1); --force derives it again."""
    root = project(tmp_path)
    build(root)
    target = root / "assets/og/hero.jpg"
    Image.new("RGB", (600, 315), "red").save(target)
    edited = target.read_bytes()
    build(root)
    assert "modified by hand, kept" in capsys.readouterr().err and target.read_bytes() == edited
    assert check(root) == 1
    build(root, force=True)
    assert target.read_bytes() != edited and check(root) == 0


def test_a_removed_recipe_deletes_its_file(tmp_path: Path) -> None:
    """Dropping a recipe removes its file and its lock line."""
    root = project(tmp_path)
    build(root)
    edit(root / "assetgen.yaml", '      - {output: "${name}.ico", sizes: [16, 32]}\n', "")
    assert "1 deleted" in build(root)
    assert not (root / "assets/hero.ico").exists()
    assert len(read_lock(root / "assetgen.lock").entries["hero"].derived) == 2


def test_an_adopted_master_is_derived_from(tmp_path: Path) -> None:
    """`assetgen adopt` records an edited master; the next build derives from it."""
    root = project(tmp_path)
    build(root)
    Image.new("RGB", (1344, 768), "navy").save(root / "assets/hero.png")
    assert adopt(find_project(root), ["hero"], out=io.StringIO(), err=io.StringIO()) == 0
    assert check(root) == 1
    build(root)
    with Image.open(root / "assets/og/hero.jpg") as im:
        r, g, b = im.convert("RGB").getpixel((300, 150))
        assert r < 8 and g < 8 and 120 < b < 136  # navy, give or take JPEG
    assert check(root) == 0


def test_other_bytes_from_another_library_version_are_recorded(tmp_path: Path) -> None:
    """A re-derive whose bytes differ from the lock's (as after a Pillow upgrade) is
    recorded with its new digest and said so, never reported as an edit by hand."""
    import shutil

    root = project(tmp_path)
    build(root)
    lock_path = root / "assetgen.lock"
    entry = read_lock(lock_path).entries["hero"]
    webp = entry.derived[0]
    # The lock as another machine's Pillow wrote it: other bytes for the same recipe.
    lock_path.write_text(lock_path.read_text().replace(webp.sha256, "9a" * 32))
    (root / webp.path).unlink()
    shutil.rmtree(root / ".assetgen/cache/derived")  # a cache miss: rendered here
    out = build(root)
    assert "rendered to other bytes than the lock's" in out
    assert read_lock(lock_path).entries["hero"].derived[0].sha256 == webp.sha256
    assert check(root) == 0


def test_a_lock_naming_another_assets_image_as_derived_deletes_nothing(tmp_path: Path) -> None:
    """A hostile lock whose gone derived file is another asset's output removes nothing."""
    root = project(tmp_path)
    (root / "assetgen.yaml").write_text(MANIFEST + "  other:\n    prompt: a tree\n")
    build(root)
    lock_path = root / "assetgen.lock"
    other = read_lock(lock_path).entries["other"]
    text = lock_path.read_text().replace("assets/hero.ico", other.path, 1)
    webp_sha = read_lock(lock_path).entries["hero"].derived[2].sha256
    lock_path.write_text(text.replace(webp_sha, other.sha256, 1))
    edit(root / "assetgen.yaml", '      - {output: "${name}.ico", sizes: [16, 32]}\n', "")
    build(root)
    assert (root / other.path).is_file()
