"""Derived files in the lock: layout, both readers, hostile paths, the merge driver."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assetgen.errors import LockfileError
from assetgen.lock.fast import parse_canonical
from assetgen.lock.merge import merge_locks
from assetgen.lock.model import DerivedEntry, Lockfile, format_lock
from assetgen.lock.read import parse_lock
from tests.plan.test_plan import make_entry, make_spec

H = "sha256:" + "b" * 64


def lock_with(*derived: DerivedEntry) -> Lockfile:
    return Lockfile({"hero": replace(make_entry(make_spec()), derived=derived)})


ONE = DerivedEntry("assets/hero@1x.webp", "a" * 64, 10, 512, 512, H)
TWO = DerivedEntry("assets/hero/site.webmanifest", "c" * 64, 20, 0, 0, H)


def test_one_line_per_derived_file_in_the_assets_block() -> None:
    """Each derived file is one line under its asset: a change is a one-line diff."""
    text = format_lock(lock_with(ONE, TWO))
    lines = text.splitlines()
    at = lines.index("    derived:")
    assert lines[at + 1].startswith('      - {path: "assets/hero@1x.webp", sha256: ')
    assert lines[at + 2].endswith(f'recipe: "{H}"}}') and len(lines) == at + 3


def test_both_readers_read_it_back() -> None:
    """The fast canonical reader and the YAML reader give the same entries."""
    lock = lock_with(ONE, TWO)
    text = format_lock(lock)
    fast = parse_canonical(text)
    assert fast is not None and fast.entries["hero"].derived == (ONE, TWO)
    assert parse_lock(text.encode()).entries["hero"].derived == (ONE, TWO)


@pytest.mark.parametrize(
    "path", ["../evil.webp", "assets/.git/hooks.png", "/etc/passwd.png", "assets/x.exe"]
)
def test_a_hostile_derived_path_is_refused(path: str) -> None:
    """A derived path no output may have is refused by both readers, located."""
    text = format_lock(lock_with(ONE)).replace("assets/hero@1x.webp", path)
    assert parse_canonical(text) is None
    with pytest.raises(LockfileError, match=r"assetgen.lock:\d+:\d+: assets.hero.derived"):
        parse_lock(text.encode())


def test_a_bad_recipe_hash_is_refused() -> None:
    """A recipe hash that is not a sha256 is the schema's to refuse."""
    text = format_lock(lock_with(ONE)).replace(H, "sha256:xyz")
    assert parse_canonical(text) is None
    with pytest.raises(LockfileError):
        parse_lock(text.encode())


def test_merge_takes_each_sides_derived_files() -> None:
    """Two branches that derived different files from one master merge per file."""
    base = lock_with(ONE)
    ours = lock_with(ONE, TWO)
    theirs = lock_with(ONE._replace(sha256="d" * 64))
    merged, conflicts = merge_locks(base, ours, theirs)
    assert merged.entries["hero"].derived == (ONE._replace(sha256="d" * 64), TWO)
    assert conflicts == []


def test_a_derived_file_both_sides_changed_is_a_reported_conflict() -> None:
    """Ours is kept, as for an asset both sides changed, and the merge says so."""
    base = lock_with(ONE)
    ours = lock_with(ONE._replace(sha256="d" * 64))
    theirs = lock_with(ONE._replace(sha256="e" * 64))
    merged, conflicts = merge_locks(base, ours, theirs)
    assert merged.entries["hero"].derived == (ONE._replace(sha256="d" * 64),)
    assert [(c.name, c.kept) for c in conflicts] == [("hero", "ours")]
    assert ONE.path in conflicts[0].why
