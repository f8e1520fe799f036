"""The built-in schema validator agrees with jsonschema on our two schemas."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from assetgen.schema.shipped import load_schema
from assetgen.schema.validator import Validator

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


# --- generated schemas: boolean subschemas, nested const/enum, escaped $refs ------------

# Names that need every escape a $ref can have: ~0, ~1 and percent-encoding.
DEF_NAMES = ["a", "a/b", "a~b", "~1", "p%q", "sp ace", "h#x", "é"]


def _ref(name: str, percent: bool) -> str:
    from urllib.parse import quote

    escaped = name.replace("~", "~0").replace("/", "~1")
    return "#/$defs/" + (quote(escaped, safe="~") if percent or "#" in name else escaped)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from([0, 1, 2, 0.0, 1.0, 1.5, -1]),
        st.sampled_from(["", "a", "1", "true"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), children, max_size=3),
    ),
    max_leaves=8,
)
leaf_schemas = st.one_of(
    st.booleans(),
    st.builds(lambda t: {"type": t}, st.sampled_from(["object", "array", "integer", "string"])),
    st.builds(lambda v: {"const": v}, json_values),
    st.builds(lambda vs: {"enum": vs}, st.lists(json_values, min_size=1, max_size=3)),
    st.builds(lambda n: {"minimum": n}, st.sampled_from([0, 1, 1.5])),
    st.builds(lambda n: {"maxLength": n}, st.sampled_from([0, 1])),
)
refs = st.builds(lambda n, pct: {"$ref": _ref(n, pct)}, st.sampled_from(DEF_NAMES), st.booleans())


def _object(children: Any) -> Any:
    names = st.sampled_from(["a", "b", "c"])
    return st.fixed_dictionaries(
        {},
        optional={
            "properties": st.dictionaries(names, children, max_size=3),
            "additionalProperties": children,
            "propertyNames": children,
            "required": st.lists(names, max_size=2, unique=True),
            "items": children,
            "type": st.sampled_from(["object", "array"]),
        },
    )


schemas = st.recursive(st.one_of(leaf_schemas, refs), _object, max_leaves=10)
generated = st.builds(
    lambda defs, body: (
        {"$defs": dict(zip(DEF_NAMES, defs, strict=True)), **body}
        if isinstance(body, dict)
        else {"$defs": dict(zip(DEF_NAMES, defs, strict=True)), "items": body}
    ),
    st.lists(leaf_schemas, min_size=len(DEF_NAMES), max_size=len(DEF_NAMES)),
    schemas,
)


def _keyed(validator: Any, doc: Any) -> set[tuple[Any, ...]]:
    """(path, keyword) per error; a false schema's error by its instance only, since
    jsonschema leaves the last step out of that error's path (and calls it None)."""
    out: set[tuple[Any, ...]] = set()
    for e in validator.iter_errors(doc):
        if e.validator in (None, "false"):
            out.add(("false", repr(e.instance)))
        else:
            out.add((tuple(e.absolute_path), e.validator))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=generated, doc=json_values)
def test_generated_schemas_agree_with_jsonschema(schema: dict[str, Any], doc: Any) -> None:
    """Boolean subschemas anywhere, const/enum where [false] is not [0] (and 1.0 is 1),
    $refs to names that need ~0, ~1 and %-escapes: the same errors as jsonschema."""
    Draft202012Validator.check_schema(schema)
    assert _keyed(Validator(schema), doc) == _keyed(Draft202012Validator(schema), doc)


@pytest.mark.parametrize(
    ("const", "instance", "valid"),
    [
        ([False], [0], False),
        ({"a": 1}, {"a": True}, False),
        ([[1]], [[1.0]], True),
        ({"a": [0, {"b": None}]}, {"a": [0.0, {"b": None}]}, True),
        ([None], [False], False),
    ],
)
def test_nested_const_and_enum_compare_as_json(const: Any, instance: Any, valid: bool) -> None:
    for schema in ({"const": const}, {"enum": [const]}):
        assert (not list(Validator(schema).iter_errors(instance))) is valid
        assert Draft202012Validator(schema).is_valid(instance) is valid


def test_boolean_subschemas_are_checked() -> None:
    schema = {"properties": {"a": False, "b": True}, "items": False}
    assert [e.absolute_path for e in Validator(schema).iter_errors({"a": 1, "b": 2})] == [
        deque(["a"])
    ]
    assert [e.validator for e in Validator(schema).iter_errors([1])] == ["items"]
    assert not list(Validator(True).iter_errors(object()))
    assert [e.validator for e in Validator(False).iter_errors(1)] == ["false"]


def test_escaped_refs_resolve() -> None:
    schema = {
        "$defs": {"a/b": {"type": "string"}, "m~n": {"type": "integer"}, "p%q r": False},
        "properties": {
            "x": {"$ref": "#/$defs/a~1b"},
            "y": {"$ref": "#/$defs/m~0n"},
            "z": {"$ref": "#/$defs/p%25q%20r"},
            "self": {"$ref": "#"},
        },
    }
    v = Validator(schema)
    errors = {(tuple(e.absolute_path), e.validator) for e in v.iter_errors({"x": 1, "y": "s"})}
    assert errors == {(("x",), "type"), (("y",), "type")}
    assert [e.validator for e in v.iter_errors({"z": 1})] == ["false"]
    assert [tuple(e.absolute_path) for e in v.iter_errors({"self": {"x": 2}})] == [("self", "x")]


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ({"$ref": "#/$defs/missing"}, "points at nothing"),
        ({"$defs": {"a": {}}, "items": {"$ref": "#/$defs/a~2"}}, "escaped as ~0"),
        ({"$defs": {"a#b": {}}, "items": {"$ref": "#/$defs/a#b"}}, "only local"),
        ({"items": {"$ref": "other.json#/x"}}, "only local"),
        ({"items": {"$ref": "#anchor"}}, "anchors"),
        ({"enum": [1], "items": {"$ref": "#/enum"}}, "not a schema"),
        ({"items": {"$id": "https://x.example/s", "type": "string"}}, r"\$id below the root"),
        ({"properties": {"a": 3}}, "object or a boolean"),
        ({"type": "int"}, "unsupported type"),
        ({"pattern": "("}, "unterminated"),
        ({"minLength": -1}, "non-negative"),
    ],
)
def test_what_it_cannot_check_is_refused_when_the_schema_is_loaded(
    schema: dict[str, Any], why: str
) -> None:
    """A schema it would check only in part is refused up front, not at the first document."""
    with pytest.raises((ValueError, re.error), match=why):
        Validator(schema)
