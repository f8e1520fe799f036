"""The spec hash identifies the image: it ignores how the manifest is written, and nothing else."""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetgen import parse_manifest
from assetgen.errors import ManifestError
from assetgen.schema import yamlpos
from assetgen.spec import HASH_VERSION, REQUEST_FIELDS, derive_seed, spec_hash

SEED_MIN, SEED_MAX = 1, 1_048_576
SIZES = ["1:1", "4:3", "3:4", "5:4", "4:5", "3:2", "2:3", "16:9", "9:16", "2:1", "1:2"]

# --- a small YAML writer with every stylistic freedom the format allows -------------------

_NON_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _double(s: str) -> str:
    quoted = json.dumps(s, ensure_ascii=False)
    return re.sub(
        "[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]", lambda m: f"\\u{ord(m[0]):04x}", quoted
    )


def _reads_back(text: str, value: str, flow: bool) -> bool:
    doc = f"k: {{a: {text}}}" if flow else f"k: {text}"
    try:
        loaded, _ = yamlpos.load(doc.encode("utf-8"), "probe.yaml")
    except ManifestError:
        return False
    return bool(loaded == ({"k": {"a": value}} if flow else {"k": value}))


def scalar(value: Any, rnd: random.Random, *, flow: bool) -> str:
    """``value`` spelt in one of the ways YAML reads back as the same value."""
    if isinstance(value, bool):
        # The YAML 1.2 core schema's spellings (yamlcore.py): `yes` and `on` are strings.
        spellings = ["true", "True", "TRUE"] if value else ["false", "False", "FALSE"]
        return rnd.choice(spellings)
    if isinstance(value, int):
        return rnd.choice([str(value), f"+{value}", hex(value), f"0o{value:o}", f"0{value}"])
    assert isinstance(value, str)
    style = rnd.choice(["plain", "single", "double"])
    candidates = {
        "plain": value,
        "single": "'" + value.replace("'", "''") + "'",
        "double": _double(value),
    }
    text = candidates[style]
    if style != "double" and not _reads_back(text, value, flow):
        text = candidates["double"]
    return text


def emit(doc: dict[str, Any], rnd: random.Random) -> str:
    """YAML for ``doc`` with random indentation, key order, flow/block style and comments."""
    indent = rnd.choice([2, 3, 4, 8])
    flow_depth = rnd.choice([0, 1, 2, 3, 99])  # mappings at this depth and deeper are flow
    comments = rnd.random() < 0.5

    def flow(value: Any) -> str:
        if isinstance(value, dict):
            items = list(value.items())
            rnd.shuffle(items)
            inner = ", ".join(f"{scalar(k, rnd, flow=True)}: {flow(v)}" for k, v in items)
            return "{" + inner + "}"
        if isinstance(value, list):
            return "[" + ", ".join(flow(v) for v in value) + "]"
        return scalar(value, rnd, flow=True)

    def block(mapping: dict[str, Any], depth: int) -> list[str]:
        pad = " " * (indent * depth)
        items = list(mapping.items())
        if depth > 0:  # `version` stays first only by habit: any order is valid
            rnd.shuffle(items)
        lines = []
        for key, value in items:
            if comments and rnd.random() < 0.3:
                lines.append(f"{pad}# a comment about {key}")
            k = scalar(key, rnd, flow=False)
            trailing = "  # trailing: comment" if comments and rnd.random() < 0.3 else ""
            if isinstance(value, dict) and value and depth + 1 < flow_depth:
                lines.append(f"{pad}{k}:{trailing}")
                lines.extend(block(value, depth + 1))
            elif isinstance(value, (dict, list)):
                lines.append(f"{pad}{k}: {flow(value)}{trailing}")
            else:
                lines.append(f"{pad}{k}: {scalar(value, rnd, flow=False)}{trailing}")
        return lines

    if flow_depth == 0:
        return flow(doc) + "\n"
    return "\n".join(block(doc, 0)) + "\n"


def hashes(text: str, **kwargs: Any) -> dict[str, str]:
    return {s.name: s.spec_hash for s in parse_manifest(text.encode(), "m.yaml", **kwargs).specs}


def dump(doc: dict[str, Any]) -> str:
    """The plainest rendering: block style, JSON-quoted strings."""
    return emit_plain(doc, 0)


def emit_plain(mapping: dict[str, Any], depth: int) -> str:
    out = []
    for k, v in mapping.items():
        pad = "  " * depth
        if isinstance(v, dict) and v:
            out.append(f"{pad}{json.dumps(k)}:\n{emit_plain(v, depth + 1)}")
        elif isinstance(v, dict):
            out.append(f"{pad}{json.dumps(k)}: {{}}\n")
        elif isinstance(v, list):
            out.append(f"{pad}{json.dumps(k)}: {json.dumps(v)}\n")
        elif isinstance(v, bool):
            out.append(f"{pad}{json.dumps(k)}: {'true' if v else 'false'}\n")
        else:
            out.append(f"{pad}{json.dumps(k)}: {_double(v) if isinstance(v, str) else v}\n")
    return "".join(out)


# --- strategies -------------------------------------------------------------------------

# Prompts: any printable text without `$` (substitution has its own tests) and without
# surrounding whitespace (the resolver strips it, which is part of the canonical form).
prompt_chars = st.characters(
    blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="$"
)
prompts = (
    st.text(prompt_chars, min_size=1, max_size=30)
    .map(str.strip)
    .filter(lambda s: bool(s) and not _NON_PRINTABLE.search(s))
)
names = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
seeds = st.integers(SEED_MIN, SEED_MAX)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "size": st.sampled_from(SIZES),
    "quality": st.sampled_from(["1K", "2K"]),
    "seed": seeds,
    "nsfw_check": st.booleans(),
    "model": st.just("krea-2-turbo"),
    "prompt": prompts,
}
fields = st.fixed_dictionaries(
    {"prompt": prompts}, optional={k: v for k, v in FIELD_VALUES.items() if k != "prompt"}
)


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    assets = draw(st.dictionaries(names, fields, min_size=1, max_size=4))
    doc: dict[str, Any] = {"version": 1}
    if draw(st.booleans()):
        doc["provider"] = draw(st.sampled_from(["evolink", "draft"]))
    doc["assets"] = assets
    return doc


# --- formatting does not matter -----------------------------------------------------------


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(doc=manifests(), rnd=st.randoms(use_true_random=False))
def test_hash_ignores_yaml_formatting(doc: dict[str, Any], rnd: random.Random) -> None:
    """Flow or block style, quoting, key order, comments, indentation: the hashes stay the same."""
    text = emit(doc, rnd)
    assert hashes(text) == hashes(dump(doc)), text


def test_formatting_variants_are_really_different() -> None:
    """The writer used above does produce different texts (else the test above proves nothing)."""
    doc = {
        "version": 1,
        "assets": {"hero": {"prompt": "a city: at dawn", "seed": 5, "size": "16:9"}},
    }
    texts = {emit(doc, random.Random(i)) for i in range(40)}
    assert len(texts) > 20
    assert any(t.startswith("{") for t in texts)
    assert any("#" in t for t in texts)
    assert len({hashes(t)["hero"] for t in texts}) == 1


@given(doc=manifests(), data=st.data())
def test_hash_ignores_where_a_value_is_written(doc: dict[str, Any], data: st.DataObject) -> None:
    """A value set on every asset hashes the same when it moves to `defaults:` instead."""
    field = data.draw(st.sampled_from(sorted(FIELD_VALUES)))
    value = data.draw(FIELD_VALUES[field])
    assets = {n: {**a, field: value} for n, a in doc["assets"].items()}
    inline = {**doc, "assets": assets}
    moved = {
        **doc,
        "defaults": {field: value},
        "assets": {n: {k: v for k, v in a.items() if k != field} for n, a in assets.items()},
    }
    assert hashes(dump(inline)) == hashes(dump(moved))


def test_hash_sees_the_prompt_after_substitution() -> None:
    """`${style}` and the text it stands for give the same spec."""
    literal = 'version: 1\nassets:\n  a: {prompt: "flat, a cat", seed: 3}\n'
    templated = 'version: 1\nvars: {s: flat}\nassets:\n  a: {prompt: "${s}, a cat", seed: 3}\n'
    assert hashes(literal) == hashes(templated)


CALLBACKS = st.from_regex(r"https://[a-z]{1,10}\.(com|org|dev)/[a-z0-9/]{0,20}", fullmatch=True)


@given(
    prompt=prompts,
    seed=seeds,
    name_a=names,
    name_b=names,
    out=st.from_regex(r"[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}\.(png|jpg|webp)", fullmatch=True),
    callback=CALLBACKS,
)
def test_hash_ignores_name_output_and_callback(
    prompt: str, seed: int, name_a: str, name_b: str, out: str, callback: str
) -> None:
    """With an explicit seed, renaming, moving the output or a callback_url never pays again."""
    a = {"version": 1, "assets": {name_a: {"prompt": prompt, "seed": seed}}}
    b = {
        "version": 1,
        "output_dir": "elsewhere",
        "assets": {
            name_b: {"prompt": prompt, "seed": seed, "output": out, "callback_url": callback}
        },
    }
    assert list(hashes(dump(a)).values()) == list(hashes(dump(b)).values())


def test_renaming_an_asset_with_a_derived_seed_changes_its_seed() -> None:
    """Without an explicit seed, the name picks the seed, so a rename is a new image (documented)."""
    a = hashes("version: 1\nassets:\n  hero: {prompt: a city}\n")
    b = hashes("version: 1\nassets:\n  banner: {prompt: a city}\n")
    assert a["hero"] != b["banner"]


BASE = {"prompt": "a city skyline", "size": "1:1", "quality": "1K", "seed": 10, "nsfw_check": False}
CHANGED = {
    "prompt": "a city skyline at dusk",
    "size": "16:9",
    "quality": "2K",
    "seed": 11,
    "nsfw_check": True,
}


def _single(body: dict[str, Any], **top: Any) -> str:
    doc = {"version": 1, **top, "assets": {"hero": body}}
    return hashes(dump(doc))["hero"]


@pytest.mark.parametrize("field", sorted(CHANGED))
def test_hash_changes_with_each_request_field(field: str) -> None:
    """Changing prompt, size, quality, seed or nsfw_check changes the hash."""
    assert _single(BASE) != _single({**BASE, field: CHANGED[field]})


def test_hash_changes_with_the_provider() -> None:
    """The provider is part of the request, whether set in the manifest or by --provider."""
    evolink = _single(BASE, provider="evolink")
    draft = _single(BASE, provider="draft")
    assert evolink != draft
    overridden = hashes(dump({"version": 1, "assets": {"hero": BASE}}), provider="draft")
    assert overridden["hero"] == draft


@pytest.mark.parametrize("field", REQUEST_FIELDS)
def test_spec_hash_covers_every_request_field(field: str) -> None:
    """spec_hash() changes when any single request field changes (model included)."""
    request = {"provider": "evolink", "model": "krea-2-turbo", **BASE}
    other = {**request, field: {**CHANGED, "provider": "draft", "model": "krea-3"}[field]}
    assert spec_hash(request) != spec_hash(other)


def test_spec_hash_is_pinned() -> None:
    """The canonical form is stable: changing it must come with a HASH_VERSION bump."""
    request = {"provider": "evolink", "model": "krea-2-turbo", **BASE}
    canonical = (
        '{"hash_version":1,"model":"krea-2-turbo","nsfw_check":false,"prompt":"a city skyline",'
        '"provider":"evolink","quality":"1K","seed":10,"size":"1:1"}'
    )
    assert HASH_VERSION == 1
    assert spec_hash(request) == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert spec_hash(request) == PINNED_HASH


PINNED_HASH = "sha256:70e5da89ae1b916cbc59cf4eaf011dbfb830a7a2a5da8e515e5d9de9bb3b4152"


def test_spec_hash_ignores_extra_keys_and_key_order() -> None:
    """Only REQUEST_FIELDS are hashed, in canonical order, whatever the dict holds."""
    request = {"provider": "evolink", "model": "krea-2-turbo", **BASE}
    shuffled = dict(reversed(list(request.items())))
    assert spec_hash(request) == spec_hash({**shuffled, "name": "x", "output": "y.png"})


# --- matrices and seeds -------------------------------------------------------------------

tokens = st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True)


@given(
    matrix=st.dictionaries(
        st.from_regex(r"[a-z]{1,4}", fullmatch=True),
        st.lists(tokens, min_size=1, max_size=4, unique=True),
        min_size=1,
        max_size=3,
    )
)
def test_matrix_expands_to_the_cartesian_product(matrix: dict[str, list[str]]) -> None:
    """A matrix gives one asset per combination, each with a unique name and its own values."""
    name = "icon-" + "-".join(f"${{{k}}}" for k in matrix)
    prompt = "an icon for " + " ".join(f"${{{k}}}" for k in matrix)
    doc = {"version": 1, "assets": {name: {"matrix": matrix, "prompt": prompt}}}
    specs = parse_manifest(dump(doc).encode(), "m.yaml").specs
    assert len(specs) == math.prod(len(v) for v in matrix.values())
    assert len({s.name for s in specs}) == len(specs)
    assert len({s.output for s in specs}) == len(specs)
    for spec in specs:
        values = spec.name.removeprefix("icon-")
        assert spec.prompt == "an icon for " + values.replace("-", " ")


@given(name=st.from_regex(r"[a-z0-9][a-z0-9._-]{0,40}", fullmatch=True))
def test_derived_seed_is_in_range_and_stable(name: str) -> None:
    """A derived seed is within 1..1048576 and the same every time for the same name."""
    seed = derive_seed(name, SEED_MIN, SEED_MAX)
    assert SEED_MIN <= seed <= SEED_MAX
    assert seed == derive_seed(name, SEED_MIN, SEED_MAX)


def test_derived_seed_is_pinned_and_survives_prompt_edits() -> None:
    """The derivation is fixed across versions, and a prompt edit keeps the asset's seed."""
    assert derive_seed("hero-home", SEED_MIN, SEED_MAX) == PINNED_SEED
    a = parse_manifest(b"version: 1\nassets:\n  hero-home: {prompt: a city}\n", "m").specs[0]
    b = parse_manifest(b"version: 1\nassets:\n  hero-home: {prompt: a town}\n", "m").specs[0]
    assert a.seed == b.seed == PINNED_SEED
    assert a.seed_derived and b.seed_derived
    assert a.spec_hash != b.spec_hash


PINNED_SEED = 255641
