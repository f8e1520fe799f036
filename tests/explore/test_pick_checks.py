"""pick's proof and where it writes: the picked asset's request changes by its seed alone,
a plain-named matrix cannot exist, and a symlinked manifest stays a link."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from assetgen.commands.explore import pick
from assetgen.errors import ManifestError, UsageError
from assetgen.explore.pick import PickRefused, check_edit
from assetgen.manifest.resolve import parse_manifest
from assetgen.project import find_project
from tests.explore.test_pick import HEAD, write


def test_check_edit_refuses_a_change_beyond_the_seed() -> None:
    """An edit that gives the asset its seed but also another prompt is not a pick."""
    old = parse_manifest((HEAD + "assets:\n  a: {prompt: p}\n").encode(), "m")
    new = parse_manifest((HEAD + "assets:\n  a: {prompt: q, seed: 5}\n").encode(), "m")
    with pytest.raises(PickRefused, match="more of its request than the seed"):
        check_edit(old, new, "a", 5)
    same = parse_manifest((HEAD + "assets:\n  a: {prompt: p, seed: 5}\n").encode(), "m")
    check_edit(old, same, "a", 5)


def test_a_matrix_of_one_row_with_a_plain_name_is_not_a_manifest(tmp_path: Path) -> None:
    """A matrix key must appear in the name, so a plain-named entry never has a matrix:
    pick never meets one (it stops at validation, exit 2)."""
    text = HEAD + "assets:\n  hero:\n    matrix: {seed: [5]}\n    prompt: p\n"
    root = write(tmp_path, text)
    with pytest.raises(ManifestError, match="not used in the asset name"):
        pick(find_project(root), "hero", seed=9, out=io.StringIO())
    assert (root / "assetgen.yaml").read_text() == text


def test_a_symlinked_manifest_stays_a_link(tmp_path: Path) -> None:
    """The link's target (inside the project) is edited; the link is kept."""
    text = HEAD + "assets:\n  a:\n    prompt: p\n"
    root = tmp_path / "p"
    (root / "conf").mkdir(parents=True)
    (root / "conf" / "real.yaml").write_text(text)
    os.symlink("conf/real.yaml", root / "assetgen.yaml")
    assert pick(find_project(root), "a", seed=7, out=io.StringIO()) == 0
    assert (root / "assetgen.yaml").is_symlink()
    assert (root / "conf" / "real.yaml").read_text() == text + "    seed: 7\n"


def test_a_manifest_linked_from_outside_the_project_is_refused(tmp_path: Path) -> None:
    text = HEAD + "assets:\n  a:\n    prompt: p\n"
    (tmp_path / "elsewhere.yaml").write_text(text)
    root = tmp_path / "p"
    root.mkdir()
    os.symlink(tmp_path / "elsewhere.yaml", root / "assetgen.yaml")
    with pytest.raises(UsageError, match=r"assetgen.yaml: a symbolic link to .*outside"):
        pick(find_project(root), "a", seed=7, out=io.StringIO())
    assert (root / "assetgen.yaml").is_symlink()
    assert (tmp_path / "elsewhere.yaml").read_text() == text
