"""`derive:` and `presets:` in the manifest: resolved, canonical, located errors, memo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assetgen.errors import ManifestError
from assetgen.manifest.resolve import parse_manifest
from assetgen.project import Project

HEAD = """version: 1
provider: draft
presets:
  web:
    - {output: "${name}@1x.webp", scale: 0.5}
    - {output: "${name}@2x.webp"}
"""


def parse(text: str) -> dict[str, tuple[tuple[str, str], ...]]:
    manifest = parse_manifest(text.encode(), "assetgen.yaml")
    return {s.name: s.derived for s in manifest.specs}


def problems(text: str) -> str:
    with pytest.raises(ManifestError) as info:
        parse_manifest(text.encode(), "assetgen.yaml")
    return str(info.value)


def test_presets_defaults_and_own_lists() -> None:
    """`defaults: derive` applies unless an asset lists its own, which replaces it."""
    derived = parse(
        HEAD
        + """defaults:
  derive: [{preset: web}]
assets:
  hero:
    prompt: a city
    size: "16:9"
    derive:
      - preset: web
      - {output: og/home.jpg, width: 1200, height: 630, fit: cover}
  plain:
    prompt: a tree
  bare:
    prompt: a rock
    derive: []
"""
    )
    assert [p for p, _ in derived["hero"]] == [
        "assets/hero@1x.webp",
        "assets/hero@2x.webp",
        "assets/og/home.jpg",
    ]
    assert json.loads(derived["hero"][2][1]) == {
        "output": "og/home.jpg", "format": "jpeg", "width": 1200, "height": 630,
        "fit": "cover", "focus": "center", "strip": True, "upscale": False,
    }  # fmt: skip
    assert [p for p, _ in derived["plain"]] == ["assets/plain@1x.webp", "assets/plain@2x.webp"]
    assert derived["bare"] == ()


def test_derive_does_not_change_the_spec_hash() -> None:
    """Deriving is free: the master's spec hash is the same with or without recipes."""
    base = "version: 1\nassets:\n  hero:\n    prompt: a city\n"
    with_derive = base + "    derive: [{output: hero.webp, scale: 0.5}]\n"
    a = parse_manifest(base.encode(), "m").specs[0]
    b = parse_manifest(with_derive.encode(), "m").specs[0]
    assert a.spec_hash == b.spec_hash and b.derived and not a.derived


def test_builtin_presets_expand_with_the_assets_name() -> None:
    """Built-in presets write beside the master (`${stem}`); a project preset can use them."""
    derived = parse(
        """version: 1
presets:
  icons: [{preset: ios-appicon}, {preset: android-launcher}]
assets:
  app:
    prompt: an icon
    derive: [{preset: icons}, {preset: favicon}]
"""
    )
    paths = [p for p, _ in derived["app"]]
    assert "assets/app/ios/AppIcon.appiconset/Contents.json" in paths
    assert any("mipmap-xxxhdpi" in p for p in paths) and any(p.endswith(".ico") for p in paths)


@pytest.mark.parametrize(
    ("derive", "expected"),
    [
        ("[{output: a.webp, scael: 0.5}]", "unknown key `scael`"),
        ("[{output: a.webp, scael: 0.5}]", "did you mean `scale`?"),
        ("[{preset: wbe}]", "unknown preset `wbe`"),
        ("[{preset: wbe}]", "did you mean `web`?"),
        ("[{output: a.webp}, {output: A.webp, scale: 0.5}]", "two recipes of `hero` write"),
        ("[{output: other.png}]", "already asset `other`'s output"),
        ("[{output: hero.png}]", "is the asset's own image"),
        ("[{output: ../x.webp}]", "is outside output_dir"),
        ("[{output: a.gif}]", "does not end in an extension assetgen derives"),
        ("[{output: a.webp, width: 4000, height: 100}]", "add `upscale: true`"),
        ("[{output: a.webp, fit: cover, width: 10}]", "`fit` needs both `width` and `height`"),
        ("[{output: a.png, quality: 50}]", "`quality` has no effect on png"),
        ("[{output: a.webp, scale: 0.5, width: 10}]", "not both"),
        ("[{output: '${nope}.webp'}]", "unknown variable `${nope}`"),
        ("[{output: a.json}]", "name its `template`"),
    ],
)
def test_located_errors(derive: str, expected: str) -> None:
    """Each impossible recipe is a located error saying what to fix."""
    text = (
        HEAD + f"assets:\n  hero:\n    prompt: a\n    derive: {derive}\n  other:\n    prompt: b\n"
    )
    message = problems(text)
    assert expected in message and "assetgen.yaml:" in message


def test_a_derived_path_taken_by_another_assets_derived_file() -> None:
    """Two assets may not derive the same file."""
    text = HEAD + (
        "assets:\n  a:\n    prompt: a\n    derive: [{output: x.webp}]\n"
        "  b:\n    prompt: b\n    derive: [{output: x.webp}]\n"
    )
    assert "already asset `a`'s derived file" in problems(text)


def test_a_preset_cycle_is_an_error() -> None:
    """A preset that uses itself is reported, with the cycle."""
    text = (
        "version: 1\npresets:\n  a: [{preset: b}]\n  b: [{preset: a}]\n"
        "assets:\n  hero:\n    prompt: a\n    derive: [{preset: a}]\n"
    )
    assert "cannot be expanded" in problems(text)


def test_the_memo_follows_a_preset_edit(tmp_path: Path) -> None:
    """Editing a preset (outside `assets:`) changes every asset's recipes, memo or not."""
    manifest = tmp_path / "assetgen.yaml"
    body = "assets:\n  hero:\n    prompt: a\n    derive: [{preset: web}]\n  b:\n    prompt: b\n"
    manifest.write_text(HEAD + body)
    project = Project(tmp_path, manifest)
    first = project.load_manifest()
    assert project.load_manifest() == first  # from the memo
    manifest.write_text(HEAD.replace("scale: 0.5", "scale: 0.25") + body)
    again = project.load_manifest()
    assert json.loads(again.specs[1].derived[0][1])["scale"] == 0.25
    # an edit inside one asset's block: the block memo re-reads that block only
    manifest.write_text(HEAD + body.replace("{preset: web}", "{output: h.webp}"))
    assert [p for p, _ in project.load_manifest().specs[1].derived] == ["assets/h.webp"]


def test_the_memo_refuses_a_derived_clash_between_blocks(tmp_path: Path) -> None:
    """An edit of one block that makes its derived file clash with another asset's is caught."""
    manifest = tmp_path / "assetgen.yaml"
    body = "assets:\n  a:\n    prompt: a\n    derive: [{output: x.webp}]\n  b:\n    prompt: b\n"
    manifest.write_text(HEAD + body)
    project = Project(tmp_path, manifest)
    project.load_manifest()
    manifest.write_text(HEAD + body + "    derive: [{output: x.webp}]\n")
    with pytest.raises(ManifestError, match="derived file"):
        project.load_manifest()
