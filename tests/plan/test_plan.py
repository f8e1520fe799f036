"""The pure planner: one Action per asset with its reason and cost, and how a plan is shown."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from assetgen import cli
from assetgen.catalog import MODELS
from assetgen.lock.model import LockEntry, Lockfile
from assetgen.plan import render
from assetgen.plan.planner import Action, Change, Plan, make_plan, paths_to_check
from assetgen.spec import REQUEST_FIELDS, AssetSpec, derive_seed, spec_hash

GOLDEN = Path(__file__).parent / "golden" / "plan.txt"


def make_spec(**overrides: Any) -> AssetSpec:
    """A resolved spec as the manifest would give it; the hash, pixels and price follow the fields."""
    values: dict[str, Any] = {
        "name": "hero",
        "provider": "evolink",
        "model": "krea-2-turbo",
        "prompt": "a city skyline at dawn",
        "size": "1:1",
        "quality": "1K",
        "seed": 1234,
        "nsfw_check": False,
    }
    values.update(overrides)
    values.setdefault("output", f"assets/{values['name']}.png")
    info = MODELS[values["model"]]
    width, height = info.pixels[values["size"]][values["quality"]]
    values.setdefault("width", width)
    values.setdefault("height", height)
    price = 0.0 if values["provider"] == "draft" else info.credits[values["quality"]]
    values.setdefault("credits", price)
    request = {f: values[f] for f in REQUEST_FIELDS}
    values.setdefault("spec_hash", spec_hash(request))
    return AssetSpec(**values)


def digest_of(name: str) -> str:
    return f"{sum(map(ord, name)):064x}"


def make_entry(spec: AssetSpec, **overrides: Any) -> LockEntry:
    """The lock entry a build of ``spec`` would have written."""
    values: dict[str, Any] = {
        "spec_hash": spec.spec_hash,
        "request": spec.request,
        "path": spec.output,
        "sha256": digest_of(spec.name),
        "bytes": 1000,
        "width": spec.width,
        "height": spec.height,
        "format": "png",
        "credits": spec.credits,
    }
    values.update(overrides)
    return LockEntry(**values)


def plan_for(
    specs: Iterable[AssetSpec],
    entries: dict[str, LockEntry],
    *,
    files: dict[str, str] | None = None,
    cached: Iterable[str] = (),
    force: Iterable[str] = (),
) -> Plan:
    """Plan with ``files`` (path -> digest) on disk; by default every locked file is intact."""
    on_disk = {e.path: e.sha256 for e in entries.values()} if files is None else files
    lock = Lockfile(entries)
    digests = {p: on_disk.get(p) for p in paths_to_check(list(specs), lock)}
    hits = set(cached)
    return make_plan(specs, lock, digests, hits.__contains__, force=force)


def only(plan: Plan) -> Action:
    (action,) = plan.actions
    return action


# --- the six actions --------------------------------------------------------------------


def test_new_asset_is_created() -> None:
    """An asset missing from the lock is created, at the model's price."""
    a = only(plan_for([make_spec()], {}))
    assert (a.action, a.reason, a.cached, a.credits) == ("create", "new", False, 0.45)
    assert a.generates and a.path == "assets/hero.png"


def test_unchanged_asset_is_noop() -> None:
    """An asset whose spec and file match the lock is up to date and costs nothing."""
    spec = make_spec()
    plan = plan_for([spec], {"hero": make_entry(spec)})
    a = only(plan)
    assert (a.action, a.reason, a.credits) == ("noop", "up to date", 0.0)
    assert plan.up_to_date and plan.work == ()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"prompt": "a city skyline at dusk"}, "prompt changed"),
        ({"size": "16:9"}, "size changed"),
        ({"quality": "2K"}, "quality changed"),
        ({"seed": 99}, "seed changed"),
        ({"nsfw_check": True}, "nsfw_check changed"),
        ({"provider": "draft"}, "provider changed"),
        ({"prompt": "x", "size": "16:9"}, "prompt and size changed"),
        ({"prompt": "x", "size": "16:9", "seed": 5}, "prompt, size and seed changed"),
    ],
)
def test_changed_request_is_an_update(changes: dict[str, Any], reason: str) -> None:
    """A spec whose hash differs from the lock's is updated, naming each changed field."""
    old = make_spec()
    new = make_spec(**changes)
    a = only(plan_for([new], {"hero": make_entry(old)}))
    assert (a.action, a.reason) == ("update", reason)
    assert a.changes == tuple(
        Change(f, old.request[f], new.request[f]) for f in REQUEST_FIELDS if f in changes
    )
    assert a.credits == new.credits and a.locked is not None


def test_update_lists_changes_in_request_order() -> None:
    """Changed fields come in the canonical request order, with old and new values."""
    old = make_spec()
    new = make_spec(seed=5, prompt="a town")
    a = only(plan_for([new], {"hero": make_entry(old)}))
    assert a.changes == (Change("prompt", old.prompt, "a town"), Change("seed", 1234, 5))


def test_new_hash_version_is_named_as_the_reason() -> None:
    """When only the hashing changed (an old lock), the reason says so instead of a field."""
    spec = make_spec()
    entry = make_entry(spec, spec_hash="sha256:" + "0" * 64)
    lock = Lockfile({"hero": entry}, hash_version=0)
    plan = make_plan([spec], lock, {spec.output: entry.sha256}, lambda h: False)
    assert only(plan).reason == "hash version changed (0 -> 1)"


@pytest.mark.parametrize(
    ("on_disk", "reason"),
    [(None, "output missing")],  # other bytes: kept as `modified` (issue 11, test_adopt.py)
)
def test_damaged_output_is_restored(on_disk: str | None, reason: str) -> None:
    """A locked asset whose file is missing is restored."""
    spec = make_spec()
    files = {} if on_disk is None else {spec.output: on_disk}
    a = only(plan_for([spec], {"hero": make_entry(spec)}, files=files))
    assert (a.action, a.reason, a.credits, a.cached) == ("restore", reason, 0.45, False)


def test_restore_from_cache_is_free() -> None:
    """A restore the cache can serve costs nothing and counts as a cache hit."""
    spec = make_spec()
    plan = plan_for([spec], {"hero": make_entry(spec)}, files={}, cached=[spec.spec_hash])
    a = only(plan)
    assert (a.action, a.cached, a.credits, a.generates) == ("restore", True, 0.0, False)
    assert plan.cache_hits == 1


def test_moved_output_is_a_move() -> None:
    """Only the output path changed, and the old file is intact: move it, for free."""
    old = make_spec(output="assets/old/hero.png")
    new = make_spec(output="assets/new/hero.png")
    entry = make_entry(old)
    a = only(plan_for([new], {"hero": entry}))
    assert (a.action, a.reason, a.credits) == ("move", "output moved", 0.0)
    assert (a.source, a.path) == ("assets/old/hero.png", "assets/new/hero.png")
    assert not a.generates


def test_moved_output_already_in_place_is_a_move_of_the_record_only() -> None:
    """If the file is already at the new path with the locked bytes, the move is the lock's."""
    old = make_spec(output="assets/old.png")
    new = make_spec(output="assets/new.png")
    entry = make_entry(old)
    a = only(plan_for([new], {"hero": entry}, files={"assets/new.png": entry.sha256}))
    assert (a.action, a.source) == ("move", "assets/new.png")


def test_moved_output_with_the_old_file_gone_is_a_restore() -> None:
    """Neither the old nor the new path has the bytes: the asset is restored at its new path."""
    old = make_spec(output="assets/old.png")
    new = make_spec(output="assets/new.png")
    a = only(plan_for([new], {"hero": make_entry(old)}, files={}))
    assert (a.action, a.reason) == ("restore", "output missing")


def test_renamed_asset_moves_without_paying() -> None:
    """A new name with an orphaned lock entry of the same spec takes it over: a free move."""
    old = make_spec(name="hero-old")
    new = make_spec(name="hero-new")
    plan = plan_for([new], {"hero-old": make_entry(old)})
    a = only(plan)
    assert (a.action, a.reason, a.credits) == ("move", "renamed from hero-old", 0.0)
    assert a.old_name == "hero-old" and a.source == "assets/hero-old.png"
    assert plan.summary["delete"] == 0 and plan.credits == 0


def test_renamed_asset_with_its_file_gone_is_restored_under_the_new_name() -> None:
    """A rename whose file is missing is a restore that also takes over the old entry."""
    old = make_spec(name="hero-old")
    new = make_spec(name="hero-new")
    a = only(plan_for([new], {"hero-old": make_entry(old)}, files={}))
    assert (a.action, a.reason, a.old_name) == (
        "restore",
        "renamed from hero-old, output missing",
        "hero-old",
    )


def test_renamed_and_changed_asset_is_a_create_and_a_delete() -> None:
    """A new name with a new spec has nothing to take over: create it, delete the old one."""
    old = make_spec(name="hero-old")
    new = make_spec(name="hero-new", prompt="a different city")
    plan = plan_for([new], {"hero-old": make_entry(old)})
    assert [(a.name, a.action) for a in plan.actions] == [
        ("hero-new", "create"),
        ("hero-old", "delete"),
    ]


def derived(name: str, **overrides: Any) -> AssetSpec:
    """A spec whose seed was derived from its name (no `seed:` in the manifest)."""
    info = MODELS["krea-2-turbo"]
    seed = derive_seed(name, info.seed_min, info.seed_max)
    return make_spec(name=name, seed=seed, seed_derived=True, **overrides)


def test_rename_with_a_derived_seed_keeps_the_locked_seed_and_moves() -> None:
    """A rename of an asset whose seed came from its old name is a free move keeping that seed."""
    old = derived("hero-old")
    new = derived("hero-new")
    assert new.seed != old.seed  # the new name alone would draw another seed
    plan = plan_for([new], {"hero-old": make_entry(old)})
    a = only(plan)
    assert (a.action, a.reason, a.credits) == ("move", "renamed from hero-old; seed kept", 0.0)
    assert a.spec is not None and a.spec.seed == old.seed and a.spec.spec_hash == old.spec_hash
    assert plan.credits == 0 and plan.summary["create"] == 0


def test_a_pinned_seed_is_never_replaced_by_a_locked_one() -> None:
    """A pinned seed that differs from the gone asset's is a new request: create and delete."""
    old = derived("hero-old")
    new = make_spec(name="hero-new", seed=old.seed + 1)
    plan = plan_for([new], {"hero-old": make_entry(old)})
    assert [(a.name, a.action) for a in plan.actions] == [
        ("hero-new", "create"),
        ("hero-old", "delete"),
    ]


def test_a_derived_seed_stays_the_locked_one_under_its_new_name() -> None:
    """After a rename, the lock keeps the old seed: the next plan is up to date, not an update."""
    old = derived("hero-old")
    moved = make_entry(old, path="assets/hero-new.png")
    a = only(plan_for([derived("hero-new")], {"hero-new": moved}))
    assert (a.action, a.reason) == ("noop", "up to date")
    edited = derived("hero-new", prompt="a city skyline at dusk")
    a = only(plan_for([edited], {"hero-new": moved}))
    assert (a.action, a.reason) == ("update", "prompt changed")
    assert a.spec is not None and a.spec.seed == old.seed  # a prompt edit keeps the composition


def test_rename_among_several_candidates_is_decided_by_name_and_said() -> None:
    """Two gone assets with the same request but their own seeds: the first by name is taken."""
    b_gone, a_gone = derived("b-old"), derived("a-old")
    new = derived("hero-new")
    plan = plan_for([new], {"b-old": make_entry(b_gone), "a-old": make_entry(a_gone)})
    by_name = {a.name: a for a in plan.actions}
    move = by_name["hero-new"]
    assert move.action == "move" and move.old_name == "a-old"
    assert (
        move.reason
        == "renamed from a-old; seed kept (also matched b-old: the first by name was taken)"
    )
    assert move.spec is not None and move.spec.seed == a_gone.seed
    assert by_name["b-old"].action == "delete"


@pytest.mark.parametrize(
    ("on_disk", "reason"),
    [
        ("intact", "removed from manifest"),
        ("ff" * 32, "removed; file modified: kept"),
        (None, "removed; file already gone"),
    ],
)
def test_removed_asset_is_deleted(on_disk: str | None, reason: str) -> None:
    """A lock entry that left the manifest is deleted; a modified file is kept, and said so."""
    spec = make_spec(name="gone")
    entry = make_entry(spec)
    files = (
        {} if on_disk is None else {entry.path: entry.sha256 if on_disk == "intact" else on_disk}
    )
    a = only(plan_for([], {"gone": entry}, files=files))
    assert (a.action, a.reason, a.credits, a.spec) == ("delete", reason, 0.0, None)
    assert a.path == entry.path and a.locked is entry


# --- cost, cache and force --------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "credits"),
    [
        ({"quality": "1K"}, 0.45),
        ({"quality": "2K"}, 1.8),
        ({"provider": "draft", "quality": "2K"}, 0.0),
    ],
)
def test_credits_follow_provider_and_quality(overrides: dict[str, Any], credits: float) -> None:
    """evolink charges 0.45 for 1K and 1.8 for 2K; the draft provider is free."""
    assert only(plan_for([make_spec(**overrides)], {})).credits == credits


def test_cached_create_is_free() -> None:
    """A new asset the cache already has is created from it at no cost."""
    spec = make_spec(quality="2K")
    a = only(plan_for([spec], {}, cached=[spec.spec_hash]))
    assert (a.action, a.cached, a.credits) == ("create", True, 0.0)


def test_plan_totals() -> None:
    """The plan's credits add up its actions; the summary counts every action kind."""
    specs = [
        make_spec(name="a", quality="1K"),
        make_spec(name="b", quality="2K"),
        make_spec(name="c", quality="2K", prompt="cached one"),
        make_spec(name="d", provider="draft"),
    ]
    plan = plan_for(specs, {}, cached=[specs[2].spec_hash])
    assert plan.credits == pytest.approx(0.45 + 1.8)
    assert plan.summary == {
        "create": 4,
        "update": 0,
        "restore": 0,
        "move": 0,
        "delete": 0,
        "noop": 0,
        "modified": 0,
    }
    assert plan.cache_hits == 1


@pytest.mark.parametrize("locked", [True, False])
def test_force_regenerates_and_ignores_the_cache(locked: bool) -> None:
    """--force regenerates an up-to-date (or new) asset, paying even when the cache has it."""
    spec = make_spec()
    entries = {"hero": make_entry(spec)} if locked else {}
    a = only(plan_for([spec], entries, cached=[spec.spec_hash], force=["hero"]))
    assert (a.action, a.reason, a.cached, a.credits) == (
        "update" if locked else "create",
        "forced",
        False,
        0.45,
    )


def test_force_touches_only_the_named_assets() -> None:
    """Forcing one asset leaves the others as they are."""
    a, b = make_spec(name="a"), make_spec(name="b")
    plan = plan_for([a, b], {"a": make_entry(a), "b": make_entry(b)}, force=["b"])
    assert [(x.name, x.action) for x in plan.actions] == [("a", "noop"), ("b", "update")]


def test_actions_are_sorted_and_select_filters() -> None:
    """Actions come sorted by name, and select() keeps only the named ones."""
    specs = [make_spec(name=n) for n in ("zeta", "alpha", "mid")]
    plan = plan_for(specs, {})
    assert [a.name for a in plan.actions] == ["alpha", "mid", "zeta"]
    assert [a.name for a in plan.select(["zeta", "nope"]).actions] == ["zeta"]


def test_paths_to_check_covers_lock_and_outputs() -> None:
    """The planner is asked only about locked paths and wanted output paths."""
    spec = make_spec(output="assets/new.png")
    lock = Lockfile(
        {
            "hero": make_entry(make_spec(output="assets/old.png")),
            "gone": make_entry(make_spec(name="gone")),
        }
    )
    assert paths_to_check([spec], lock) == {"assets/new.png", "assets/old.png", "assets/gone.png"}


# --- rendering --------------------------------------------------------------------------


def every_action_plan() -> Plan:
    """A fixed plan with each action kind, a cache hit, a free draft and a long change."""
    hero = make_spec(name="hero-home", size="16:9", quality="2K")
    icon_old = make_spec(
        name="icon-search", prompt="a search icon", output="assets/icons/search.png"
    )
    icon_new = make_spec(
        name="icon-search", prompt="a magnifier icon, flat", size="4:3", output=icon_old.output
    )
    banner_old = make_spec(name="banner", prompt="a wide banner with" + " many words" * 8)
    banner_new = make_spec(name="banner", prompt="a wide banner with" + " more words" * 8)
    logo = make_spec(name="logo", quality="2K", output="assets/brand/logo.png")
    logo_old = make_spec(name="logo", quality="2K", output="assets/logo.png")
    footer = make_spec(name="footer", provider="draft")
    badge_old = make_spec(name="badge-old", prompt="a badge")
    badge = make_spec(name="badge", prompt="a badge")
    gone = make_spec(name="old-promo")
    kept = make_spec(name="old-teaser")
    same = make_spec(name="unchanged")
    cached_new = make_spec(name="avatar", prompt="an avatar")
    poster = make_spec(name="poster", prompt="a poster")  # retouched by hand: kept
    entries = {
        "poster": make_entry(poster),
        "icon-search": make_entry(icon_old),
        "banner": make_entry(banner_old),
        "logo": make_entry(logo_old),
        "footer": make_entry(footer),
        "badge-old": make_entry(badge_old),
        "old-promo": make_entry(gone),
        "old-teaser": make_entry(kept),
        "unchanged": make_entry(same),
    }
    files = {e.path: e.sha256 for e in entries.values()}
    del files["assets/footer.png"]
    files["assets/old-teaser.png"] = "ee" * 32
    files["assets/poster.png"] = "dd" * 32
    return plan_for(
        [hero, icon_new, banner_new, logo, footer, badge, same, cached_new, poster],
        entries,
        files=files,
        cached=[cached_new.spec_hash, icon_new.spec_hash],
    )


def text_of(plan: Plan, *, colour: bool = False) -> str:
    out = io.StringIO()
    render.write_text(plan, out, colour=colour)
    return out.getvalue()


def test_every_action_plan_has_every_action() -> None:
    """The golden plan really covers create, update, restore, move, delete, noop and modified."""
    summary = every_action_plan().summary
    assert all(summary[k] > 0 for k in summary), summary


def test_text_plan_matches_golden() -> None:
    """The text plan of a fixed plan is exactly tests/plan/golden/plan.txt (no colour)."""
    assert text_of(every_action_plan()) == GOLDEN.read_text(encoding="utf-8")


def test_text_plan_lines_are_aligned() -> None:
    """Action lines put the reason at one column, so a long plan scans like a table."""
    lines = [ln for ln in text_of(every_action_plan()).splitlines() if re.match(r"  [-+~*>] ", ln)]
    name_width = max(len(a.name) for a in every_action_plan().work)
    reason_columns = {len(ln[: 4 + name_width + 2]) for ln in lines}
    assert len(reason_columns) == 1
    assert all(ln[4 + name_width : 4 + name_width + 2] == "  " for ln in lines)
    assert all(ln[4 + name_width + 2] != " " for ln in lines)


def test_colour_adds_only_escape_codes() -> None:
    """With colour on, the text is the same once ANSI codes are stripped."""
    plan = every_action_plan()
    coloured = text_of(plan, colour=True)
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == text_of(plan)


def test_up_to_date_plan_says_so() -> None:
    """A plan with nothing to do is one line."""
    spec = make_spec()
    assert (
        text_of(plan_for([spec], {"hero": make_entry(spec)})) == "No changes: 1 asset up to date.\n"
    )
    assert text_of(Plan(())) == "No changes: 0 assets up to date.\n"


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        ({}, False, False),
        ({}, True, True),
        ({"NO_COLOR": "1"}, True, False),
        ({"TERM": "dumb"}, True, False),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, True, False),
    ],
)
def test_use_colour(
    env: dict[str, str], tty: bool, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Colour on a terminal only; NO_COLOR always wins, FORCE_COLOR forces it, TERM=dumb refuses."""
    for var in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    stream = FakeTTY() if tty else io.StringIO()
    assert render.use_colour(stream) is expected


def test_plan_json_has_the_documented_shape() -> None:
    """`plan --json` has actions with name/action/reason/cached/credits, a summary and credits."""
    plan = every_action_plan()
    out = io.StringIO()
    render.write_json(plan, out)
    doc = json.loads(out.getvalue())
    assert set(doc) == {"actions", "summary", "credits"}
    for item in doc["actions"]:
        assert {"name", "action", "reason", "cached", "credits"} <= set(item)
    assert doc["summary"] == plan.summary
    assert doc["credits"] == plan.credits
    assert [a["name"] for a in doc["actions"]] == [a.name for a in plan.actions]


# --- through the CLI ----------------------------------------------------------------------


def test_cli_plan_and_check_on_a_new_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`init` then `plan` lists creations and exits 0; `check` exits 1; `--json` parses."""
    assert cli.main(["-C", str(tmp_path), "init"]) == 0
    capsys.readouterr()
    assert cli.main(["-C", str(tmp_path), "plan"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  \+ hero +new +assets/hero\.png +free$", out, re.M), out
    assert "Plan: 3 to create, 0 up to date." in out
    assert cli.main(["-C", str(tmp_path), "check"]) == 1
    capsys.readouterr()
    assert cli.main(["-C", str(tmp_path), "plan", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["create"] == 3 and doc["credits"] == 0.0
