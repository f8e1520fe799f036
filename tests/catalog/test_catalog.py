"""The model catalog: built-in facts, a project's `models:`, and the checks they drive."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from assetgen import parse_manifest
from assetgen.catalog import CREDITS_PER_USD, MODELS, SizeRule
from assetgen.errors import ManifestError
from assetgen.providers.evolink.body import request_body


def parse(text: str) -> list:  # type: ignore[type-arg]
    return list(parse_manifest(text.encode(), "assetgen.yaml").specs)


def problems(text: str) -> list[str]:
    with pytest.raises(ManifestError) as info:
        parse_manifest(text.encode(), "assetgen.yaml")
    return [
        f"{d.line}:{d.col}: {d.message}" + (f" | {d.hint}" if d.hint else "")
        for d in info.value.diagnostics
    ]


def asset(body: str, models: str = "") -> str:
    return f"version: 1\n{models}assets:\n  a:\n    prompt: a red fox\n{body}"


def test_every_builtin_model_is_coherent() -> None:
    for info in MODELS.values():
        assert info.default_quality in info.qualities, info.name
        assert info.provider in ("evolink", "openai")
        if info.seeded:
            assert 0 < info.seed_min <= info.seed_max
        for size, tiers in info.pixels.items():
            assert set(tiers) <= set(info.qualities), (info.name, size)


def test_krea_is_as_before() -> None:
    krea = MODELS["krea-2-turbo"]
    assert krea.credits == {"1K": 0.45, "2K": 1.8} and krea.pixels["16:9"]["2K"] == (2688, 1472)
    assert (krea.seed_min, krea.seed_max, krea.prompt_max_tokens) == (1, 1_048_576, 640)


def test_wxh_rule() -> None:
    rule = MODELS["gpt-image-2"].size_rule
    assert rule is not None
    assert rule.problem(1024, 1024) is None
    assert "multiples of 16" in (rule.problem(1000, 1024) or "")
    assert "3 times" in (rule.problem(3840, 1024) or "")
    assert SizeRule(min_edge=376, max_edge=1536).problem(300, 1024) is not None


def test_size_not_offered_is_located_and_lists_the_offered_ones() -> None:
    got = problems(asset('    model: gpt-image-1\n    size: "1:1"\n'))
    assert got == [
        '6:11: assets.a.size must be one of "1024x1024", "1024x1536", "1536x1024", not "1:1"'
    ]


def test_quality_not_offered_is_located_and_lists_the_offered_ones() -> None:
    got = problems(asset("    model: gpt-image-1\n    quality: 2K\n"))
    assert got == ['6:14: assets.a.quality must be one of "low", "medium", "high", not "2K"']


def test_wxh_outside_the_rules_says_which() -> None:
    got = problems(
        asset(
            "    model: z-image-turbo\n    size: 2000x1000\n",
            "models:\n  z-image-turbo: {credits: {default: 0.1}}\n",
        )
    )
    assert got == ["8:11: size `2000x1000` for z-image-turbo: each edge must be 376..1536 pixels"]


def test_ratio_without_public_pixels_asks_for_wxh_or_a_declaration() -> None:
    got = problems(asset("    model: doubao-seedream-4.5\n    size: 2K\n"))
    assert len(got) == 1 and "is not public" in got[0] and "declare `pixels`" in got[0]


def test_unknown_price_is_an_error_not_a_guess() -> None:
    got = problems(asset("    model: z-image-turbo\n"))
    assert len(got) == 1 and got[0].startswith("5:12: the price of z-image-turbo is not public")
    assert "credits: {default: N}" in got[0]


def test_a_project_declares_a_new_model() -> None:
    (spec,) = parse(
        asset(
            "    model: my-sdxl\n    size: square\n",
            "models:\n"
            "  my-sdxl:\n"
            "    like: gpt-image-1\n"
            "    credits: {medium: 0.3}\n"
            "    pixels: {square: {medium: [768, 768]}}\n",
        )
    )
    assert (spec.provider, spec.model, spec.width, spec.height) == ("openai", "my-sdxl", 768, 768)
    assert spec.credits == 0.3 and spec.credits_max is None and not spec.reproducible


def test_a_project_overrides_a_price() -> None:
    (spec,) = parse(
        asset(
            "    model: doubao-seedream-4.5\n    size: 2048x2048\n",
            "models:\n  doubao-seedream-4.5: {credits: {default: 3}}\n",
        )
    )
    assert spec.credits == 3.0 and spec.seed == 0 and not spec.seed_derived


def test_a_bad_models_entry_is_a_schema_error() -> None:
    got = problems("version: 1\nmodels:\n  m: {credits: {x: -1}}\nassets: {}\n")
    assert len(got) == 1 and got[0].startswith("3:")


def test_seedless_model_refuses_a_seed() -> None:
    got = problems(asset("    model: gpt-image-1\n    seed: 5\n"))
    assert got == [
        "6:11: gpt-image-1 takes no seed | remove `seed`: the lock's bytes are the record of a seedless image"
    ]


def test_token_billed_range_converts_dollars_to_credits() -> None:
    (spec,) = parse(asset("    model: gpt-image-1\n    quality: high\n    size: 1536x1024\n"))
    assert spec.credits == pytest.approx(6208 * 40 / 1e6 * CREDITS_PER_USD)
    assert spec.credits_max is not None and spec.credits_max > spec.credits


def test_evolink_body_has_only_the_fields_the_model_takes(tmp_path: Path) -> None:
    specs = parse(
        "version: 1\nassets:\n"
        "  k: {prompt: a fox}\n"
        "  s: {prompt: a fox, model: doubao-seedream-4.5, size: 2048x2048}\n"
    )
    by = {s.name: request_body(s) for s in specs}
    assert set(by["k"]) == {"model", "prompt", "size", "quality", "seed", "nsfw_check"}
    assert by["s"] == {"model": "doubao-seedream-4.5", "prompt": "a fox", "size": "2048x2048"}


def test_the_draft_provider_drafts_every_model() -> None:
    text = "version: 1\nprovider: draft\nassets:\n  a: {prompt: a fox, model: gpt-image-1}\n"
    (spec,) = parse(text)
    assert (
        spec.provider == "draft"
        and spec.credits == 0.0
        and (spec.width, spec.height) == (1024, 1024)
    )


def test_plan_text_shows_a_range_only_when_it_shows_at_all() -> None:
    from assetgen.plan.planner import Action, Plan
    from assetgen.plan.render import action_cost, summary_line

    (spec,) = parse(asset("    model: gpt-image-1\n    quality: high\n"))
    wide = dataclasses.replace(spec, credits_max=spec.credits + 1)
    plan = Plan((Action("a", "create", "new", credits=spec.credits, spec=wide),))
    assert action_cost(plan.actions[0]) == f"{spec.credits:.2f}-{spec.credits + 1:.2f} cr"
    assert f"Estimated cost: {spec.credits:.2f} to {spec.credits + 1:.2f} credits" in summary_line(
        plan
    )
    narrow = Plan((Action("a", "create", "new", credits=spec.credits, spec=spec),))
    assert action_cost(narrow.actions[0]) == f"{spec.credits:.2f} cr"


MINE = "models:\n  mine:\n    provider: evolink\n    credits: {default: 1}\n    pixels: {square: {default: [512, 512]}}\n"


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("    seed: true\n", "models.mine.seed: true names no range"),
        ("    seed: {min: 5, max: 4}\n", "models.mine.seed: min 5 is above max 4"),
        ("    like: no-such-model\n", "models.mine.like names `no-such-model`"),
    ],
)
def test_a_models_entry_the_catalog_cannot_use_is_a_located_error(line: str, needle: str) -> None:
    got = problems(asset("    model: mine\n    size: square\n", MINE + line))
    assert len(got) == 1 and got[0].startswith("7:") and needle in got[0], got  # said once


def test_a_model_declared_from_nothing_is_sent_only_the_basic_fields() -> None:
    (spec,) = parse(asset("    model: mine\n    size: square\n", MINE))
    assert not spec.reproducible
    assert request_body(spec) == {"model": "mine", "prompt": "a red fox", "size": "square"}


def test_a_seedless_spec_is_never_sent_a_seed() -> None:
    (spec,) = parse(
        asset(
            "    model: mine\n    size: square\n",
            MINE + "    fields: [model, prompt, size, seed]\n",
        )
    )
    assert "seed" not in request_body(spec)


@pytest.mark.parametrize(
    "entry",
    [
        "    wxh: {max_edge: 100000}\n",
        "    wxh: {max_pixels: 1000000000}\n",
        "    sizes: [huge]\n    pixels: {huge: {default: [20000, 512]}}\n",
    ],
)
def test_declared_sizes_are_bounded_by_the_schema(entry: str) -> None:
    models = MINE.replace("    pixels: {square: {default: [512, 512]}}\n", "")
    got = problems(asset("    model: mine\n    size: square\n", models + entry))
    assert any("16384" in p or "268435456" in p for p in got), got


def test_a_wxh_past_the_absolute_bound_is_refused_whatever_the_rule() -> None:
    loose = SizeRule(max_edge=10**6, max_pixels=10**12)
    assert loose.problem(20_000, 64) is not None and loose.problem(16_384, 64) is None
