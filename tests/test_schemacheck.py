"""The built-in schema validator agrees with jsonschema on our two schemas."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from assetgen.schema import load_schema
from assetgen.schemacheck import Validator

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=2_000_000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(
        ["", "1:1", "16:9", "2K", "1K", "krea-2-turbo", "draft", "evolink", "x" * 3000]
    ),
    st.text(max_size=8),
)
keys = st.sampled_from(
    ["version", "provider", "output_dir", "defaults", "vars", "assets", "prompt", "size", "quality",
     "seed", "nsfw_check", "callback_url", "output", "matrix", "model", "promt", "1bad", "topic",
     "spec_hash", "request", "path", "sha256", "bytes", "width", "height", "credits", "hero"]
)  # fmt: skip
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=25,
)


def _errors(validator: Any, doc: Any) -> list[tuple[tuple[Any, ...], str, str]]:
    return sorted(
        (tuple(e.absolute_path), e.validator, "/".join(map(str, e.relative_schema_path))[-40:])
        for e in validator.iter_errors(doc)
    )


@pytest.mark.parametrize("name", ["manifest", "lock"])
def test_schemas_are_valid_2020_12(name: str) -> None:
    """Both shipped schemas are valid JSON Schema 2020-12 documents."""
    Draft202012Validator.check_schema(load_schema(name))


@pytest.mark.parametrize("name", ["manifest", "lock"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents)
def test_same_errors_as_jsonschema(name: str, doc: Any) -> None:
    """For any document, the same (path, keyword) violations as jsonschema, no more, no fewer."""
    schema = load_schema(name)
    ours = {(p, v) for p, v, _ in _errors(Validator(schema), doc)}
    theirs = {(p, v) for p, v, _ in _errors(Draft202012Validator(schema), doc)}
    assert ours == theirs


@pytest.mark.parametrize("name", ["manifest", "lock"])
@settings(max_examples=200, deadline=None)
@given(assets=st.dictionaries(st.sampled_from(["a", "b-${x}", "C"]), documents, max_size=3))
def test_same_errors_inside_assets(name: str, assets: Any) -> None:
    """Deep inside `assets`, where most of the schema is, the validators still agree."""
    schema = load_schema(name)
    doc = {"version": 1, "assets": assets}
    ours = {(p, v) for p, v, _ in _errors(Validator(schema), doc)}
    theirs = {(p, v) for p, v, _ in _errors(Draft202012Validator(schema), doc)}
    assert ours == theirs


def test_unsupported_keyword_is_refused() -> None:
    """A schema using a keyword the validator does not implement is an error, not a silent pass."""
    with pytest.raises(ValueError, match="oneOf"):
        Validator({"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}})
