"""The top-level `seeds:` mapping (written by `assetgen pick`): per-name seeds that win."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgen.errors import ManifestError
from assetgen.manifest.resolve import parse_manifest
from assetgen.project import find_project

MANIFEST = """\
version: 1
provider: draft
defaults:
  seed: 1
seeds:
  icon-a: 40
  icon-s7: 41
  plain: 42
assets:
  icon-${t}:
    matrix: {t: [a, b]}
    prompt: "icon ${t}"
    seed: 2
  icon-s${seed}:
    matrix: {seed: [7, 8]}
    prompt: "by row"
  plain:
    prompt: p
    seed: 3
  other:
    prompt: q
"""


def seeds(text: str) -> dict[str, int]:
    return {s.name: s.seed for s in parse_manifest(text.encode(), "assetgen.yaml").specs}


def test_seeds_win_over_asset_row_and_defaults() -> None:
    """defaults < asset `seed:` < matrix row < `seeds:`; unnamed assets keep their own."""
    assert seeds(MANIFEST) == {
        "icon-a": 40,
        "icon-b": 2,
        "icon-s7": 41,
        "icon-s8": 8,
        "plain": 42,
        "other": 1,
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("  gone: 5\n", "seeds: `gone` names no asset"),
        ("  plain: 0\n", "seed"),
        ("  plain: many\n", "seed"),
    ],
)
def test_bad_seeds_entries_are_located_errors(entry: str, message: str) -> None:
    text = MANIFEST.replace("  plain: 42\n", entry)
    with pytest.raises(ManifestError) as info:
        parse_manifest(text.encode(), "assetgen.yaml")
    first = info.value.diagnostics[0]
    assert message in first.message and first.line == 8


def test_the_manifest_memo_sees_a_changed_seeds_entry(tmp_path: Path) -> None:
    """A pick changes only `seeds:`: the memoised manifest must not serve the old seed."""
    (tmp_path / "assetgen.yaml").write_text(MANIFEST)
    project = find_project(tmp_path)
    assert {s.name: s.seed for s in project.load_manifest().specs}["icon-b"] == 2
    (tmp_path / "assetgen.yaml").write_text(
        MANIFEST.replace("  plain: 42\n", "  plain: 42\n  icon-b: 9\n")
    )
    assert {s.name: s.seed for s in find_project(tmp_path).load_manifest().specs}["icon-b"] == 9
