"""The planner's derived actions, case by case (plan/derived.py), and how they render."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

from assetgen.derive.recipe import canonical_json, canonical_recipe, recipe_hash_json
from assetgen.lock.model import DerivedEntry, LockEntry, Lockfile
from assetgen.plan import render
from assetgen.plan.derived import plan_derived
from assetgen.plan.planner import Plan, make_plan
from assetgen.spec import AssetSpec
from tests.plan.test_plan import make_entry, make_spec


def recipe(output: str, **raw: Any) -> tuple[str, str]:
    return (f"assets/{output}", canonical_json(canonical_recipe({"output": output, **raw}, output)))


RECIPES = (
    recipe("hero@1x.webp", scale=0.5),
    recipe("og/hero.jpg", width=800, height=420),
    recipe("hero.avif", scale=0.25, quality=60),
)


def derived_file(spec: AssetSpec, master: str, index: int) -> DerivedEntry:
    path, canon = spec.derived[index]
    size = json.loads(canon)
    width = size.get("width") or round(spec.width * size.get("scale", 1.0))
    height = size.get("height") or round(spec.height * size.get("scale", 1.0))
    return DerivedEntry(
        path, f"{index + 1:064x}", 100 + index, width, height, recipe_hash_json(master, canon)
    )


def built(spec: AssetSpec) -> tuple[LockEntry, dict[str, str]]:
    """The lock entry and files of a build of ``spec`` with all its derived files."""
    entry = make_entry(spec)
    entry = replace(
        entry, derived=tuple(derived_file(spec, entry.sha256, i) for i in range(len(spec.derived)))
    )
    files = {entry.path: entry.sha256, **{d.path: d.sha256 for d in entry.derived}}
    return entry, files


def plan_with(
    specs: list[AssetSpec],
    entries: dict[str, LockEntry],
    files: dict[str, str],
    *,
    ours: set[str] = frozenset(),  # type: ignore[assignment]
    cached: set[str] = frozenset(),  # type: ignore[assignment]
    force: tuple[str, ...] = (),
) -> Plan:
    lock = Lockfile(entries)
    digests: dict[str, str | None] = dict(files)
    plan = make_plan(specs, lock, digests, lambda h: False, force=force)
    derived = plan_derived(
        plan.actions, lock, digests, ours.__contains__, cached.__contains__, force=force
    )
    return Plan(plan.actions, derived)


def actions(plan: Plan) -> dict[str, tuple[str, str]]:
    return {d.path: (d.action, d.reason) for d in plan.derived}


def test_up_to_date_derived_files_are_noops() -> None:
    """A built asset whose files and recipes are unchanged plans nothing to do."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    plan = plan_with([spec], {"hero": entry}, files)
    assert {a for a, _ in actions(plan).values()} == {"noop"} and plan.up_to_date


def test_a_changed_master_rederives_every_file() -> None:
    """A prompt edit (the master changes) re-derives all its files, for free."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    edited = make_spec(prompt="a city skyline at dusk", derived=RECIPES)
    plan = plan_with([edited], {"hero": entry}, files)
    assert actions(plan) == {p: ("derive", "master changes") for p, _ in RECIPES}
    assert all(d.recipe_hash is None for d in plan.derived)  # known once the master is made


def test_a_changed_recipe_rederives_only_that_file() -> None:
    """Changing one recipe's width re-derives that file only, and says what changed."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    changed = (RECIPES[0], recipe("og/hero.jpg", width=900, height=420), RECIPES[2])
    plan = plan_with([replace(spec, derived=changed)], {"hero": entry}, files)
    work = [d for d in plan.derived if d.work]
    assert [(d.path, d.action, d.reason) for d in work] == [
        ("assets/og/hero.jpg", "derive", "recipe changed")
    ]
    assert work[0].change == "width 800 -> 900"
    assert plan.work == ()  # the master is untouched and nothing is paid


def test_two_spellings_of_one_recipe_are_the_same() -> None:
    """Writing a default out (fit: cover, strip: true) changes nothing."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    spelled = recipe("og/hero.jpg", width=800, height=420, fit="cover", focus="center", strip=True)
    plan = plan_with(
        [replace(spec, derived=(RECIPES[0], spelled, RECIPES[2]))], {"hero": entry}, files
    )
    assert plan.up_to_date


def test_a_missing_derived_file_is_restored() -> None:
    """A deleted derived file is restored (from the cache when it is there)."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    gone = RECIPES[1][0]
    del files[gone]
    plan = plan_with([spec], {"hero": entry}, files, cached={entry.derived[1].recipe})
    (d,) = [d for d in plan.derived if d.work]
    assert (d.path, d.action, d.reason, d.cached) == (gone, "restore", "missing", True)
    assert not plan.up_to_date


def test_a_derived_file_edited_by_hand_is_kept() -> None:
    """Bytes that are not the derived ones, and not assetgen's, are kept (modified)."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    files[RECIPES[2][0]] = "e" * 64
    plan = plan_with([spec], {"hero": entry}, files)
    assert actions(plan)[RECIPES[2][0]] == ("modified", "modified by hand")
    assert plan.up_to_date and len(plan.derived_kept) == 1  # check still exits 1 (kept)


def test_a_derived_file_with_assetgen_bytes_is_restored() -> None:
    """Bytes assetgen made (another branch's derivation, in the cache) are restored over."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    files[RECIPES[2][0]] = "e" * 64
    plan = plan_with([spec], {"hero": entry}, files, ours={"e" * 64})
    assert actions(plan)[RECIPES[2][0]] == ("restore", "not the derived bytes")


def test_force_rederives_an_edited_file() -> None:
    """`build --force NAME` replaces an edited derived file."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    files[RECIPES[2][0]] = "e" * 64
    plan = plan_with([spec], {"hero": entry}, files, force=("hero",))
    assert actions(plan)[RECIPES[2][0]][0] in ("derive", "restore")


def test_a_removed_recipe_deletes_its_file() -> None:
    """A recipe gone from the manifest deletes its file, only if it has the locked bytes."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    fewer = replace(spec, derived=RECIPES[:1])
    ours = set(files.values())  # the derived bytes are in the cache
    plan = plan_with([fewer], {"hero": entry}, files, ours=ours)
    assert actions(plan)[RECIPES[1][0]] == ("delete", "recipe removed")
    files[RECIPES[2][0]] = "e" * 64
    plan = plan_with([fewer], {"hero": entry}, files, ours=ours)
    # An edited file whose recipe is gone is kept: its record is forgotten, not deleted.
    assert actions(plan)[RECIPES[2][0]] == ("forget", "recipe removed; file modified: kept")


def test_a_lock_naming_a_file_assetgen_did_not_derive_plans_no_deletion() -> None:
    """A hand-written lock entry whose digest matches some other file of the output
    folder (not in the cache): the plan forgets the record and deletes nothing."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    fewer = replace(spec, derived=RECIPES[:1])
    plan = plan_with([fewer], {"hero": entry}, files, ours=set())
    action, reason = actions(plan)[RECIPES[1][0]]
    assert action == "forget" and "not a file assetgen derived" in reason
    assert not any(d.action == "delete" for d in plan.derived)


def test_a_gone_recipe_whose_file_is_kept_or_gone_is_forgotten_not_deleted() -> None:
    """`forget`: work for check (the lock changes), shown as no deletion in text and JSON."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    fewer = replace(spec, derived=RECIPES[:1])
    files[RECIPES[1][0]] = "e" * 64  # edited by hand
    del files[RECIPES[2][0]]  # already gone
    plan = plan_with([fewer], {"hero": entry}, files)
    assert actions(plan)[RECIPES[1][0]] == ("forget", "recipe removed; file modified: kept")
    assert actions(plan)[RECIPES[2][0]] == ("forget", "recipe removed; file already gone")
    assert not plan.up_to_date and len(plan.derived_work) == 2
    out = io.StringIO()
    render.write_text(plan, out)
    text = out.getvalue()
    assert "  - " not in text and "to delete" not in text and "2 to forget" in text
    doc = render.plan_json(plan)
    assert doc["derived_summary"]["forget"] == 2 and doc["derived_summary"]["delete"] == 0


def test_a_new_recipe_derives_and_a_foreign_file_is_kept() -> None:
    """A new recipe derives its file; someone's own file at its path is kept."""
    spec = make_spec(derived=RECIPES[:2])
    entry, files = built(spec)
    more = replace(spec, derived=RECIPES)
    assert actions(plan_with([more], {"hero": entry}, files))[RECIPES[2][0]] == (
        "derive",
        "new recipe",
    )
    files[RECIPES[2][0]] = "f" * 64
    action, reason = actions(plan_with([more], {"hero": entry}, files))[RECIPES[2][0]]
    assert action == "modified" and "not made by assetgen" in reason


def test_an_asset_removed_from_the_manifest_deletes_its_derived_files() -> None:
    """The derived files of a deleted asset go with it."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    plan = plan_with([], {"hero": entry}, files, ours=set(files.values()))
    assert {a for a, _ in actions(plan).values()} == {"delete"} and len(plan.derived) == 3


def test_an_adopted_master_rederives() -> None:
    """A master adopted by hand (new locked bytes) derives its files again."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    adopted = replace(entry, sha256="a" * 64, edited=True)
    files[entry.path] = adopted.sha256
    plan = plan_with([spec], {"hero": adopted}, files)
    assert {a for a, _ in actions(plan).values()} == {"derive"}


def test_a_new_asset_derives_after_its_master() -> None:
    """A new asset's files are planned as derive, free."""
    spec = make_spec(derived=RECIPES)
    plan = plan_with([spec], {}, {})
    assert actions(plan) == {p: ("derive", "new asset") for p, _ in RECIPES}


def test_text_and_json_rendering() -> None:
    """The text plan shows `~ hero  derive PATH  width 800 -> 900  free`; --json gains them."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    changed = (RECIPES[0], recipe("og/hero.jpg", width=900, height=420), RECIPES[2])
    plan = plan_with([replace(spec, derived=changed)], {"hero": entry}, files)
    out = io.StringIO()
    render.write_text(plan, out)
    lines = out.getvalue().splitlines()
    assert "  ~ hero  derive assets/og/hero.jpg  width 800 -> 900  free" in lines
    assert lines[-1] == "Derived files: 1 to derive, 2 up to date. Free."
    doc = render.plan_json(plan)
    assert set(doc) >= {"actions", "summary", "credits", "derived", "derived_summary"}
    assert doc["derived_summary"]["derive"] == 1 and doc["credits"] == 0.0
    work = [d for d in doc["derived"] if d["action"] != "noop"]
    assert work[0]["change"] == "width 800 -> 900" and work[0]["recipe"]["width"] == 900


def test_a_plan_without_derive_keeps_its_json_shape() -> None:
    """No derived files: the --json object is what it was."""
    spec = make_spec()
    entry = make_entry(spec)
    plan = plan_with([spec], {"hero": entry}, {entry.path: entry.sha256})
    assert set(render.plan_json(plan)) == {"actions", "summary", "credits"}


def test_a_changed_master_keeps_an_edited_derived_file() -> None:
    """Even when its master changes, a derived file edited by hand is not overwritten."""
    spec = make_spec(derived=RECIPES)
    entry, files = built(spec)
    files[RECIPES[0][0]] = "e" * 64
    edited = make_spec(prompt="a city skyline at dusk", derived=RECIPES)
    plan = plan_with([edited], {"hero": entry}, files)
    assert actions(plan)[RECIPES[0][0]] == ("modified", "modified by hand; master changes")
