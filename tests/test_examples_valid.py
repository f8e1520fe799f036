"""Our own inputs are valid: the examples, the schemas, and the schema against the code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from assetgen import catalog, cli, parse_manifest
from assetgen.errors import ManifestError
from assetgen.schema import shipped as schema
from assetgen.schema import yamlpos
from assetgen.spec import AssetSpec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MANIFESTS = sorted(EXAMPLES.glob("*/assetgen.yaml"))


def test_examples_exist_when_the_directory_has_any() -> None:
    """Once examples/ has any example, at least one manifest is found (the glob is not stale)."""
    dirs = [d for d in EXAMPLES.iterdir() if d.is_dir()] if EXAMPLES.is_dir() else []
    if not dirs:
        pytest.skip("no examples yet")
    assert MANIFESTS, f"no examples/*/assetgen.yaml among {[d.name for d in dirs]}"


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[m.parent.name for m in MANIFESTS])
def test_example_validates(
    manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`assetgen validate` accepts every example (run on a copy: validating may write state)."""
    copy = tmp_path / manifest.parent.name
    shutil.copytree(manifest.parent, copy, ignore=shutil.ignore_patterns(".assetgen"))
    code = cli.main(["-C", str(copy), "validate"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert ": valid, " in out


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[m.parent.name for m in MANIFESTS])
def test_example_matches_the_json_schema(manifest: Path) -> None:
    """Every example is valid against schemas/manifest.schema.json, checked by jsonschema alone."""
    doc, _ = yamlpos.load(manifest.read_bytes(), str(manifest))
    validator = Draft202012Validator(
        json.loads((ROOT / "schemas/manifest.schema.json").read_text())
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    assert errors == []


@pytest.mark.parametrize("name", ["manifest", "lock"])
def test_schemas_are_valid_json_schemas(name: str) -> None:
    """Both shipped schemas are themselves valid Draft 2020-12 schemas."""
    Draft202012Validator.check_schema(json.loads(schema.schema_text(name)))


def _defs() -> dict[str, Any]:
    defs: dict[str, Any] = schema.load_schema("manifest")["$defs"]
    return defs


def test_schema_leaves_models_sizes_and_qualities_to_the_catalog() -> None:
    """A project may declare models (`models:`), so the schema cannot enumerate them: it checks
    the types, and the catalog (built in + declared) checks the values, located like the schema."""
    defs = _defs()
    for name in ("model", "size", "quality"):
        assert defs[name]["type"] == "string" and "enum" not in defs[name]
    assert defs["seed"]["type"] == "integer" and "maximum" not in defs["seed"]
    assert "models" in schema.load_schema("manifest")["properties"]
    assert catalog.DEFAULT_MODEL in catalog.MODELS


def test_size_errors_list_the_sizes_in_catalog_order() -> None:
    """Error messages list sizes as the catalog does (no duplicates, same order)."""
    info = catalog.MODELS[catalog.DEFAULT_MODEL]
    with pytest.raises(ManifestError) as err:
        parse_manifest(b'version: 1\nassets:\n  a: {prompt: x, size: "7:5"}\n', "m.yaml")
    shown = ", ".join(f'"{s}"' for s in info.sizes)
    assert f"must be one of {shown}, not" in str(err.value)


def _one(body: str, *, name: str = "hero", defaults: str = "") -> AssetSpec:
    text = f"version: 1\n{defaults}assets:\n  {name}:\n{body}"
    (spec,) = parse_manifest(text.encode(), "m.yaml").specs
    return spec


# One valid, non-default value per asset field, and how it shows in the resolved spec.
FIELD_SAMPLES: dict[str, tuple[str, Any]] = {
    "prompt": ("a lighthouse", lambda s: s.prompt == "a lighthouse"),
    "model": ("krea-2-turbo", lambda s: s.model == "krea-2-turbo"),
    "size": ('"9:16"', lambda s: s.size == "9:16" and s.width < s.height),
    "quality": ("2K", lambda s: s.quality == "2K" and s.credits == 1.8),
    "seed": ("77", lambda s: s.seed == 77 and not s.seed_derived),
    "nsfw_check": ("true", lambda s: s.nsfw_check is True),
    "callback_url": (
        "https://example.com/hook",
        lambda s: s.callback_url == "https://example.com/hook",
    ),
    "output": ("x/hero.webp", lambda s: s.output == "assets/x/hero.webp" and s.format == "webp"),
    "matrix": ("{v: [1]}", lambda s: s.name == "hero-1"),
    "derive": (
        "[{output: x.webp, scale: 0.5}]",
        lambda s: [p for p, _ in s.derived] == ["assets/x.webp"],
    ),
}


def test_schema_asset_fields_are_the_ones_manifest_resolves() -> None:
    """schema.asset_fields() lists exactly the fields the resolver reads; defaults omit two."""
    assert set(schema.asset_fields()) == set(FIELD_SAMPLES)
    assert set(schema.default_fields()) == set(FIELD_SAMPLES) - {"output", "matrix"}


@pytest.mark.parametrize("field", sorted(FIELD_SAMPLES))
def test_each_asset_field_takes_effect(field: str) -> None:
    """Each field the schema allows on an asset changes the resolved spec as documented."""
    value, check = FIELD_SAMPLES[field]
    lines = {"prompt": "a city", field: value}
    body = "".join(f"    {k}: {v}\n" for k, v in lines.items())
    spec = _one(body, name="hero-${v}" if field == "matrix" else "hero")
    assert check(spec)


@pytest.mark.parametrize("field", sorted(set(FIELD_SAMPLES) - {"output", "matrix"}))
def test_each_default_field_takes_effect(field: str) -> None:
    """Each field allowed under `defaults:` reaches an asset that does not set it."""
    value, check = FIELD_SAMPLES[field]
    prompt = "" if field == "prompt" else "    prompt: a city\n"
    body = prompt or "    size: '1:1'\n"
    spec = _one(body, defaults=f"defaults:\n  {field}: {value}\n")
    assert check(spec)
