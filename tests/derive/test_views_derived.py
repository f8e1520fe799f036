"""The gallery lists each master's derived files; diff names those that changed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from assetgen.lock.model import DerivedEntry
from assetgen.project import find_project
from assetgen.views.diff import derived_change
from assetgen.views.gallery import build_gallery
from tests.derive.test_build_derive import project
from tests.pages import build
from tests.plan.test_plan import make_entry, make_spec

H = "sha256:" + "b" * 64


def test_the_gallery_lists_derived_files_under_their_master(tmp_path: Path) -> None:
    """Each card lists its derived files, linked, with their pixel sizes."""
    root = project(tmp_path)
    build(root)
    build_gallery(find_project(root), provider="draft")
    page = (root / ".assetgen/gallery/index.html").read_text()
    assert "3 derived files" in page
    assert "assets/og/hero.jpg</a> · 600×315" in page


def test_diff_names_the_derived_files_that_changed() -> None:
    """Changed, added and removed derived files are one `derived` change; same files: none."""
    a, b, c = "assets/a.webp", "assets/b.webp", "assets/c.webp"
    spec = make_spec(derived=((a, "{}"), (c, "{}")))
    old = replace(
        make_entry(spec),
        derived=(DerivedEntry(a, "1" * 64, 1, 1, 1, H), DerivedEntry(b, "2" * 64, 1, 1, 1, H)),
    )
    now = replace(
        old, derived=(DerivedEntry(a, "3" * 64, 1, 1, 1, H), DerivedEntry(c, "4" * 64, 1, 1, 1, H))
    )
    change = derived_change(old, spec, now)
    assert change is not None and change.field == "derived"
    assert (change.old, change.new) == ([a, b], [a, c])
    same = replace(spec, derived=((a, "{}"), (b, "{}")))
    assert derived_change(old, same, old) is None
