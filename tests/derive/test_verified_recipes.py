"""The derived-recipe memo: a null plan skips recipe hashes it has already compared,
and only for the very manifest and lock it compared them under."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from assetgen.derive.recipe import recipe_hash_json
from assetgen.lock.model import LockEntry, Lockfile
from assetgen.lock.read import read_lock
from assetgen.plan import derived as plan_derived_module
from assetgen.plan.actions import DerivedAction
from assetgen.plan.derived import plan_derived
from assetgen.plan.memoized import derived_memo
from assetgen.plan.planner import make_plan
from assetgen.project import find_project
from assetgen.spec import AssetSpec, Manifest
from tests.derive.test_plan_derived import RECIPES, built, recipe
from tests.plan.test_plan import make_spec


def _plan(
    specs: list[AssetSpec],
    entries: dict[str, LockEntry],
    files: dict[str, str],
    **kw: Any,
) -> tuple[DerivedAction, ...]:
    lock = Lockfile(entries)
    digests: dict[str, str | None] = dict(files)
    plan = make_plan(specs, lock, digests, lambda h: False)
    return tuple(plan_derived(plan.actions, lock, digests, lambda s: False, lambda h: False, **kw))


def _count_hashes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = recipe_hash_json

    def counting(master: str, canon: str) -> str:
        calls[0] += 1
        return real(master, canon)

    monkeypatch.setattr(plan_derived_module, "recipe_hash_json", counting)
    return calls


def test_confirmed_names_assets_whose_recipes_all_match(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    other = make_spec(name="icon", prompt="an icon", derived=(recipe("icon@1x.webp", scale=0.5),))
    other_entry, other_files = built(other)
    # icon's locked recipe hash is stale: its recipe changed since the build.
    other_entry = replace(other_entry, derived=(other_entry.derived[0]._replace(recipe="x"),))
    confirmed: set[str] = set()
    calls = _count_hashes(monkeypatch)
    got = _plan(
        [spec, other],
        {"hero": entry, "icon": other_entry},
        {**files, **other_files},
        confirmed=confirmed,
    )
    assert confirmed == {"hero"}
    assert calls[0] == 4
    assert [d.action for d in got if d.name == "icon"] == ["derive"]


def test_a_verified_asset_is_planned_without_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    slow = _plan([spec], {"hero": entry}, files)
    calls = _count_hashes(monkeypatch)
    confirmed: set[str] = set()
    fast = _plan([spec], {"hero": entry}, files, verified={"hero"}, confirmed=confirmed)
    assert calls[0] == 0
    assert fast == slow and {d.action for d in fast} == {"noop"}
    assert confirmed == {"hero"}


def test_a_verified_asset_with_a_changed_file_takes_the_full_path() -> None:
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    files[RECIPES[1][0]] = "e" * 64  # someone's own bytes
    got = _plan([spec], {"hero": entry}, files, verified={"hero"})
    assert {d.path: d.action for d in got}[RECIPES[1][0]] == "modified"


def test_replace_never_carries_a_source_over(tmp_path: Path) -> None:
    (tmp_path / "assetgen.lock").write_text("version: 1\nhash_version: 1\nassets: {}\n")
    lock = read_lock(tmp_path / "assetgen.lock")
    assert lock.source
    assert replace(lock, entries={}).source == ""
    manifest = Manifest("draft", "assets", ())
    assert manifest.source == ""


def test_an_edited_recipe_is_never_served_from_the_memo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assetgen.cli import main

    root = tmp_path / "p"
    root.mkdir()
    manifest = root / "assetgen.yaml"
    manifest.write_text(
        "version: 1\nprovider: draft\nassets:\n  hero:\n    prompt: a calm sea\n"
        "    derive:\n      - {output: hero@1x.webp, scale: 0.5}\n"
    )
    assert main(["-C", str(root), "build"]) == 0
    project = find_project(root)
    assert main(["-C", str(root), "plan"]) == 0  # the memo is written here
    m, lock = project.load_manifest(), project.load_lock()
    at = project.state_file("derived.memo")
    _, verified = derived_memo(at, m, lock)
    assert at.is_file() and set(verified) == {"hero"}
    calls = _count_hashes(monkeypatch)
    assert main(["-C", str(root), "check"]) == 0
    assert calls[0] == 0  # served from the memo
    manifest.write_text(manifest.read_text().replace("scale: 0.5", "scale: 0.25"))
    assert main(["-C", str(root), "check"]) == 1  # the recipe changed: work to do
    assert calls[0] == 1


def test_a_renamed_asset_is_never_served_from_the_memo() -> None:
    """Which old entry a rename takes over can depend on --force: an heir is planned in
    full, even when the memo names it, and is never confirmed."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    # The old entry's first file was made under another recipe: its hash cannot match.
    stale = replace(
        entry, derived=(entry.derived[0]._replace(recipe="sha256:old"), *entry.derived[1:])
    )
    lock = Lockfile({"hero-old": stale})
    digests: dict[str, str | None] = dict(files)
    plan = make_plan([spec], lock, digests, lambda h: False)
    (action,) = plan.actions
    assert action.old_name == "hero-old"
    confirmed: set[str] = set()
    got = plan_derived(
        plan.actions,
        lock,
        digests,
        lambda s: False,
        lambda h: False,
        verified={"hero"},
        confirmed=confirmed,
    )
    assert {d.path: d.action for d in got}[RECIPES[0][0]] != "noop"
    assert confirmed == set()
