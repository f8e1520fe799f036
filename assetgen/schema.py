"""The JSON Schemas in ``schemas/``: loading them, and turning violations into Diagnostics.

jsonschema is imported only here and only when a document has to be validated, so a
null plan (served from the parsed-manifest memo) never pays for its import.
"""

from __future__ import annotations

import difflib
import functools
import json
from pathlib import Path
from typing import Any

from .errors import Diagnostic
from .yamlpos import Positions


def _schema_dir() -> Path:
    packaged = Path(__file__).with_name("schemas")  # inside an installed wheel
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "schemas"  # a source checkout


def schema_text(name: str) -> str:
    """The raw text of ``schemas/<name>.schema.json``."""
    return (_schema_dir() / f"{name}.schema.json").read_text(encoding="utf-8")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema


@functools.cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))


def asset_fields() -> tuple[str, ...]:
    """Field names an asset may have, straight from the schema."""
    return tuple(load_schema("manifest")["$defs"]["asset"]["properties"])


def default_fields() -> tuple[str, ...]:
    return tuple(load_schema("manifest")["$defs"]["fields"]["properties"])


def _describe(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "the document"


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def validate(name: str, instance: Any, positions: Positions, filename: str) -> list[Diagnostic]:
    """Every schema violation of ``instance``, located and phrased for people."""
    out: list[Diagnostic] = []
    for err in _validator(name).iter_errors(instance):
        out.extend(_translate(err, positions, filename))
    return out


def _translate(err: Any, positions: Positions, filename: str) -> list[Diagnostic]:
    path = tuple(err.absolute_path)
    kind = err.validator
    schema = err.schema if isinstance(err.schema, dict) else {}
    what = _describe(path)

    def at(p: tuple[str | int, ...], message: str, hint: str | None = None, key: bool = False) -> Diagnostic:
        line, col = positions.of(p, key=key)
        return Diagnostic(filename, line, col, message, hint)

    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = [k for k in err.instance if k not in schema.get("properties", {})]
        diags = []
        for key in extra:
            hint = _did_you_mean(key, allowed) or (
                f"allowed keys: {', '.join(allowed)}" if allowed else None
            )
            where = f" in {what}" if path else ""
            diags.append(at((*path, key), f"unknown key `{key}`{where}", hint, key=True))
        return diags
    if kind == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return [at(path, f"{what} is missing required key `{missing}`")]
    if kind in ("enum", "const"):
        options = schema.get("enum") or [schema.get("const")]
        shown = ", ".join(json.dumps(o) for o in options)
        hint = None
        if isinstance(err.instance, str):
            hint = _did_you_mean(err.instance, [str(o) for o in options])
        return [at(path, f"{what}: {json.dumps(err.instance)} is not one of {shown}", hint)]
    if kind == "type":
        want = err.validator_value
        want_s = " or ".join(want) if isinstance(want, list) else want
        got = _type_name(err.instance)
        hint = None
        if want == "object" and err.instance is None:
            hint = "the key has no value; add entries under it or remove it"
        elif want == "string" and isinstance(err.instance, (int, float)):
            hint = f'quote it: "{err.instance}"'
        return [at(path, f"{what} must be {_article(want_s)}, not {got}", hint)]
    if kind in ("minimum", "maximum"):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        return [at(path, f"{what} is {err.instance}, outside {lo}..{hi}")]
    if kind == "minLength":
        return [at(path, f"{what} must not be empty")]
    if kind == "maxLength":
        return [at(path, f"{what} is longer than {err.validator_value} characters")]
    if kind == "minItems":
        return [at(path, f"{what} must list at least {err.validator_value} value")]
    if kind == "minProperties":
        return [at(path, f"{what} must have at least {err.validator_value} entry")]
    if "propertyNames" in err.relative_schema_path:
        bad = err.instance
        return [
            at(
                (*path, bad),
                f"invalid name `{bad}` in {what}",
                "names use letters, digits and _ and do not start with a digit",
                key=True,
            )
        ]
    if kind == "pattern":
        return [at(path, f"{what}: {json.dumps(err.instance)} does not match {err.validator_value}")]
    return [at(path, f"{what}: {err.message}")]


def _type_name(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _article(word: str) -> str:
    nouns = {"object": "a mapping", "array": "a list", "integer": "an integer", "string": "a string"}
    nouns |= {"boolean": "true or false", "number": "a number", "null": "empty"}
    return nouns.get(word, word)
