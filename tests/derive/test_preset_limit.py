"""Preset expansion is bounded: at most MAX_DERIVED derived files per asset, found by
counting before expanding (nested presets would otherwise multiply), and cycles are
errors however deep."""

from __future__ import annotations

import pytest

from assetgen.derive.presets import MAX_DERIVED, TooManyRecipes, expand_preset, preset_size
from assetgen.errors import ManifestError
from assetgen.manifest.resolve import parse_manifest


def doubling(depth: int) -> dict[str, list[dict[str, object]]]:
    """p0 is one recipe; p<i> lists p<i-1> twice: p<depth> stands for 2**depth recipes."""
    presets: dict[str, list[dict[str, object]]] = {"p0": [{"output": "a.webp"}]}
    for i in range(1, depth + 1):
        presets[f"p{i}"] = [{"preset": f"p{i - 1}"}, {"preset": f"p{i - 1}"}]
    return presets


def manifest(presets: dict[str, list[dict[str, object]]], derive: str) -> str:
    lines = ["version: 1", "presets:"]
    for name, items in presets.items():
        body = ", ".join(
            f"{{preset: {i['preset']}}}" if "preset" in i else f"{{output: '{i['output']}'}}"
            for i in items
        )
        lines.append(f"  {name}: [{body}]")
    lines += ["assets:", "  hero:", "    prompt: a", f"    derive: {derive}", ""]
    return "\n".join(lines)


def problem(text: str) -> str:
    with pytest.raises(ManifestError) as info:
        parse_manifest(text.encode(), "assetgen.yaml")
    return str(info.value)


def test_counting_is_not_expanding() -> None:
    """2**200 recipes are counted in one pass over 201 presets; expanding refuses them."""
    presets = doubling(200)
    assert preset_size("p200", presets) == 2**200
    with pytest.raises(TooManyRecipes) as info:
        expand_preset("p200", presets)
    assert info.value.count == 2**200 and info.value.limit == MAX_DERIVED
    assert len(expand_preset("p3", presets)) == 8
    assert preset_size("favicon", {}) == len(expand_preset("favicon", {}))


def test_an_exponential_preset_is_an_error_at_the_derive_key() -> None:
    text = manifest(doubling(60), "[{preset: p60}]")
    message = problem(text)
    line = text.splitlines().index("    derive: [{preset: p60}]") + 1
    assert message.startswith(f"assetgen.yaml:{line}:5: ")
    assert f"`hero` derives {2**60} files, more than the limit of {MAX_DERIVED}" in message
    assert "\n  hint: " in message


def test_the_limit_counts_every_item_of_the_list() -> None:
    """Ten presets of 100 (built by nesting ten of ten) and one own recipe: 1001, refused;
    1000 is allowed (and fails only on its repeated paths)."""
    presets: dict[str, list[dict[str, object]]] = {
        "ten": [{"output": f"${{name}}-{i}.webp"} for i in range(10)],
        "hundred": [{"preset": "ten"}] * 10,
    }
    thousand = "[" + ", ".join(["{preset: hundred}"] * 10)
    over = problem(manifest(presets, thousand + ", {output: extra.webp}]"))
    assert "derives 1001 files, more than the limit of 1000" in over
    at_limit = problem(manifest(presets, thousand + "]"))
    assert "limit" not in at_limit and "two recipes of `hero` write" in at_limit


def test_cycles_are_errors_however_deep() -> None:
    """A cycle through several presets, or through a project preset shadowing a built-in."""
    deep: dict[str, list[dict[str, object]]] = {
        f"c{i}": [{"output": "x.webp"}, {"preset": f"c{(i + 1) % 5}"}] for i in range(5)
    }
    with pytest.raises(ValueError, match=r"cycle: c0 -> c1 -> c2 -> c3 -> c4 -> c0"):
        preset_size("c0", deep)
    assert "cannot be expanded" in problem(manifest(deep, "[{preset: c2}]"))
    shadow = {"favicon": [{"preset": "x"}], "x": [{"preset": "favicon"}]}
    with pytest.raises(ValueError, match=r"cycle: favicon -> x -> favicon"):
        expand_preset("favicon", shadow)
    # the built-in reached from its own shadow is no cycle
    extended = {"favicon": [{"preset": "favicon"}, {"output": "extra.png"}]}
    assert preset_size("favicon", extended) == preset_size("favicon", {}) + 1


def test_a_bad_nested_preset_is_located_with_a_fitting_hint() -> None:
    cycle = problem(manifest({"a": [{"preset": "b"}], "b": [{"preset": "a"}]}, "[{preset: a}]"))
    assert "cycle: a -> b -> a" in cycle and "may not use itself" in cycle
    unknown = problem(manifest({"a": [{"preset": "favicn"}]}, "[{preset: a}]"))
    assert "unknown preset `favicn`" in unknown and "did you mean `favicon`" in unknown
    assert "may not use itself" not in unknown and "\n  hint: " in unknown
