"""Explore against the manifest's merged catalog: seedless assets beside seeded ones, and a
project's `models:` narrowing or removing a model's seeds."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from assetgen.cli import main
from assetgen.explore.candidates import candidate_seed, with_provider
from assetgen.manifest.resolve import parse_manifest

HEAD = "version: 1\nprovider: evolink\n"


def write(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "assetgen.yaml").write_text(text, encoding="utf-8")
    return root


def run(root: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["-C", str(root), *args])
    text = out.getvalue()
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return code, events, text + err.getvalue()


def test_a_seedless_asset_beside_seeded_ones_breaks_nothing(tmp_path: Path) -> None:
    """A gpt-image asset in the manifest: exploring a krea asset on the first run (the state
    is rebuilt from every asset), the page with no state, and the gallery all work."""
    text = HEAD + (
        "assets:\n"
        "  a: {prompt: a red fox}\n"
        "  b: {model: gpt-image-1-mini, prompt: a blue fox}\n"
        "  c: {prompt: a green fox}\n"
    )
    root = write(tmp_path / "p", text)
    code, events, out = run(root, "explore", "a", "-n", "2", "--provider", "draft", "--json")
    assert code == 0, out
    assert [e["source"] for e in events if e["event"] == "candidate"] == ["generated"] * 2
    state = root / ".assetgen" / "explore" / "state.json"
    state.unlink()
    code, _, out = run(root, "explore", "--page")
    assert code == 0, out
    assert "(1 asset, 2 candidates" in out
    # c explored while seeded, then moved to a seedless model: the views leave it out
    code, _, out = run(root, "explore", "c", "-n", "1", "--provider", "draft", "--json")
    assert code == 0, out
    write(root, text.replace("{prompt: a green fox}", "{model: gpt-image-1-mini, prompt: g}"))
    code, _, out = run(root, "explore", "--page")
    assert code == 0 and "(1 asset, 2 candidates" in out, out
    code, _, out = run(root, "gallery")
    assert code == 0, out
    gallery = (root / ".assetgen" / "gallery" / "index.html").read_text(encoding="utf-8")
    assert gallery.count("candidates to pick from") == 1


def test_a_project_model_narrowing_the_seeds_gives_candidates_in_range(tmp_path: Path) -> None:
    """`models: {krea-2-turbo: {seed: {min: 1, max: 9}}}`: candidates and picks stay in 1..9."""
    text = HEAD + (
        "models:\n  krea-2-turbo: {seed: {min: 1, max: 9}}\nassets:\n  a: {prompt: a red fox}\n"
    )
    root = write(tmp_path / "p", text)
    code, events, out = run(root, "explore", "a", "-n", "3", "--provider", "draft", "--json")
    assert code == 0, out
    seeds = [e["seed"] for e in events if e["event"] == "candidate"]
    assert seeds == [candidate_seed("a", k, 1, 9) for k in (1, 2, 3)]
    assert all(1 <= s <= 9 for s in seeds)
    assert run(root, "pick", "a", "2")[0] == 0
    assert f"a: {{prompt: a red fox, seed: {seeds[1]}}}" in (root / "assetgen.yaml").read_text()
    code, _, out = run(root, "pick", "a", "--seed", "10")
    assert code == 2 and "outside 1..9" in out


def test_a_project_model_without_seed_is_refused_before_paying(tmp_path: Path) -> None:
    """A project's seedless model (`seed: false`) is refused up front: nothing is generated;
    and pick says that the model takes no seed."""
    text = HEAD + (
        "models:\n  flat: {like: krea-2-turbo, seed: false}\n"
        "assets:\n  a: {model: flat, prompt: a red fox}\n  b: {prompt: b}\n"
    )
    root = write(tmp_path / "p", text)
    code, _, out = run(root, "explore", "a", "-n", "2", "--provider", "draft", "--json")
    assert code == 2 and "takes no seed" in out
    assert not (root / ".assetgen" / "cache" / "specs").exists()
    code, _, out = run(root, "pick", "a", "--seed", "5")
    assert code == 2
    assert "model `flat` takes no seed" in out and "explore assets" not in out
    assert (root / "assetgen.yaml").read_text() == text
    assert run(root, "explore", "--page")[0] == 0  # the state rebuild skips it


def test_with_provider_prices_from_the_merged_catalog(tmp_path: Path) -> None:
    """A draft spec taken to a charging provider costs the project's price for its model,
    token-billed bounds included; to draft it is free."""
    text = "version: 1\nprovider: draft\nmodels:\n  krea-2-turbo: {credits: {1K: 2.5}}\n"
    text += "assets:\n  a: {model: krea-2-turbo, prompt: p, quality: 1K}\n  b: {model: gpt-image-1-mini, prompt: q}\n"
    specs = {s.name: s for s in parse_manifest(text.encode(), "m").specs}
    a = with_provider(specs["a"], "evolink")
    assert (a.credits, a.most_credits) == (2.5, 2.5)
    assert with_provider(a, "draft").credits == 0.0
    assert with_provider(with_provider(a, "draft"), "evolink").credits == 2.5
    b = with_provider(specs["b"], "openai")
    paid = parse_manifest(text.replace("draft", "openai", 1).encode(), "m").specs
    evolink = {s.name: s for s in paid}
    assert (b.credits, b.credits_max) == (evolink["b"].credits, evolink["b"].credits_max)
    assert b.credits_max is not None and b.credits_max > b.credits  # token-billed: a range
