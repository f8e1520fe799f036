"""`assetgen explore` with the draft provider: candidates cached, never outputs or the lock."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path
from typing import Any

from assetgen.cli import main
from assetgen.explore.candidates import candidate_seed
from assetgen.lock.read import read_lock
from tests.conftest import tree


def run(root: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["-C", str(root), *args])
    text = out.getvalue()
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return code, events, text


def explore(root: Path, *args: str) -> list[dict[str, Any]]:
    code, events, _ = run(root, "explore", "--provider", "draft", "--json", *args)
    assert code == 0
    return [e for e in events if e["event"] == "candidate"]


def test_explore_twice_generates_nothing_and_more_adds_only_the_new(quickstart: Path) -> None:
    """-n 4 twice: the second generates nothing; -n 6 adds 2; outputs and the lock never change."""
    assert run(quickstart, "build", "--provider", "draft")[0] == 0
    before, lock = tree(quickstart), (quickstart / "assetgen.lock").read_bytes()
    first = explore(quickstart, "hero-home", "-n", "4")
    assert [(e["k"], e["source"]) for e in first] == [(k, "generated") for k in range(1, 5)]
    assert [e["seed"] for e in first] == [
        candidate_seed("hero-home", k, 1, 1_048_576) for k in range(1, 5)
    ]
    for e in first:
        data = Path(e["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == Path(e["path"]).name  # its cache blob
        assert (
            e["name"] == "hero-home" and e["credits"] == 0 and e["spec_hash"].startswith("sha256:")
        )
    assert len({e["spec_hash"] for e in first}) == 4
    assert {e["source"] for e in explore(quickstart, "hero-home", "-n", "4")} == {"cached"}
    more = explore(quickstart, "hero-home", "-n", "6")
    assert [e["source"] for e in more] == ["cached"] * 4 + ["generated"] * 2
    assert tree(quickstart) == before
    assert (quickstart / "assetgen.lock").read_bytes() == lock


def test_plan_is_shown_first_and_max_credits_refuses(quickstart: Path) -> None:
    """The plan and its cost come before anything; above --max-credits nothing starts."""
    code, _, text = run(quickstart, "explore", "hero-home", "-n", "2", "--max-credits", "1")
    assert code == 2
    assert "2 to generate" in text and "Estimated cost: 3.60 credits" in text
    assert not (quickstart / ".assetgen" / "cache" / "specs").exists()
    assert not (quickstart / ".assetgen" / "explore").exists()  # nothing recorded either


def test_pick_then_build_is_free_from_the_cache(quickstart: Path) -> None:
    """After pick, plan shows an update served from the cache and build writes the candidate's
    very bytes without generating."""
    assert run(quickstart, "build", "--provider", "draft")[0] == 0
    cands = explore(quickstart, "icon-search", "-n", "3")
    assert run(quickstart, "pick", "icon-search", "2")[0] == 0
    code, events, _ = run(quickstart, "plan", "--provider", "draft", "--json")
    plan = events[0]
    act = next(a for a in plan["actions"] if a["name"] == "icon-search")
    assert (act["action"], act["cached"], act["credits"]) == ("update", True, 0)
    assert plan["summary"]["update"] == 1 and plan["credits"] == 0
    code, events, _ = run(quickstart, "build", "--provider", "draft", "--json")
    assert code == 0
    done = [e for e in events if e["event"] == "finished"]
    assert [(e["name"], e["source"]) for e in done] == [("icon-search", "cache")]
    written = (quickstart / "assets" / "icons" / "search.png").read_bytes()
    assert written == Path(cands[1]["path"]).read_bytes()
    assert (
        read_lock(quickstart / "assetgen.lock").entries["icon-search"].request["seed"]
        == (cands[1]["seed"])
    )


def test_state_is_rebuilt_from_the_cache_and_clear_forgets(quickstart: Path) -> None:
    """A lost state comes back from the cache; --clear forgets; the gallery marks undecided ones."""
    assert run(quickstart, "build", "--provider", "draft")[0] == 0
    explore(quickstart, "hero-home", "icon-profile", "-n", "2")
    state = quickstart / ".assetgen" / "explore" / "state.json"
    state.unlink()
    # the draft candidates, found as such; their thumbnails were made by explore itself
    code, _, text = run(quickstart, "explore", "--page")
    assert code == 0 and "(2 assets, 4 candidates; 2 new thumbnails)" in text
    assert json.loads(state.read_text())["assets"] == {
        "hero-home": {"n": 2, "provider": "draft"},
        "icon-profile": {"n": 2, "provider": "draft"},
    }
    assert run(quickstart, "gallery")[0] == 0  # the manifest's provider: evolink
    gallery = (quickstart / ".assetgen" / "gallery" / "index.html").read_text()
    assert gallery.count("candidates to pick from") == 2
    assert run(quickstart, "pick", "hero-home", "1")[0] == 0  # decided: no longer marked
    assert run(quickstart, "gallery")[0] == 0
    gallery = (quickstart / ".assetgen" / "gallery" / "index.html").read_text()
    assert gallery.count("candidates to pick from") == 1
    assert run(quickstart, "explore", "--clear", "icon-profile")[0] == 0
    assert list(json.loads(state.read_text())["assets"]) == ["hero-home"]
    code, _, text = run(quickstart, "explore", "--page", "--provider", "draft")
    assert "(1 asset, 2 candidates" in text
    assert run(quickstart, "explore", "--clear")[0] == 0
    assert json.loads(state.read_text())["assets"] == {}


def test_teammates_share_candidates_through_a_remote_cache(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Candidates explored on one machine are cached remotely; a fresh clone exploring the
    same asset generates nothing and gets the images into its own cache."""
    from tests.conftest import copy_example

    remote = tmp_path / "remote"
    remote.mkdir()
    monkeypatch.setenv("ASSETGEN_REMOTE_CACHE", remote.as_uri())
    first = copy_example("quickstart", tmp_path / "a")
    mine = explore(first, "hero-home", "-n", "3")
    assert {e["source"] for e in mine} == {"generated"}
    second = copy_example("quickstart", tmp_path / "b")
    theirs = explore(second, "hero-home", "-n", "3")
    assert [e["source"] for e in theirs] == ["cached"] * 3
    assert [e["spec_hash"] for e in theirs] == [e["spec_hash"] for e in mine]
    for a, b in zip(mine, theirs, strict=True):
        assert (
            str(second) in b["path"]
            and Path(b["path"]).read_bytes() == Path(a["path"]).read_bytes()
        )
