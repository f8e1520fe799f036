"""The JSON Schemas in ``schemas/``: loading them, and turning violations into Diagnostics.

Validation goes through ``schemacheck`` (a small interpreter of the keywords these
schemas use, checked against jsonschema by the tests), so that no command pays for
importing jsonschema.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Diagnostic
from .validator import Validator

if TYPE_CHECKING:
    from .yamlpos import Positions

# Booleans by YAML 1.1 only: the manifest is read by YAML 1.2 (yamlcore.py), where they are strings.
_YAML11_BOOLEANS = frozenset({"yes", "no", "on", "off", "y", "n"})


def _schema_dir() -> Path:
    packaged = Path(__file__).resolve().parent.parent / "schemas"  # inside an installed wheel
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"  # a source checkout


def schema_text(name: str) -> str:
    """The raw text of ``schemas/<name>.schema.json``."""
    return (_schema_dir() / f"{name}.schema.json").read_text(encoding="utf-8")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema


@functools.cache
def _validator(name: str) -> Validator:
    return Validator(load_schema(name))


def asset_fields() -> tuple[str, ...]:
    """Field names an asset may have, straight from the schema."""
    return tuple(load_schema("manifest")["$defs"]["asset"]["properties"])


def default_fields() -> tuple[str, ...]:
    return tuple(load_schema("manifest")["$defs"]["fields"]["properties"])


def _describe(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "the manifest"


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    import difflib  # error paths only

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


JsonPath = tuple[str | int, ...]


def validate(name: str, instance: Any, positions: Positions, filename: str) -> list[Diagnostic]:
    """Every schema violation of ``instance``, located and phrased for people."""
    return [d for _, d in problems(name, instance, positions, filename)]


def problems(
    name: str, instance: Any, positions: Positions, filename: str
) -> list[tuple[JsonPath, Diagnostic]]:
    """Like ``validate``, with the JSON path of the offending value (or unknown key)."""
    out: list[tuple[JsonPath, Diagnostic]] = []
    for err in _validator(name).iter_errors(instance):
        out.extend(_translate(err, positions, filename))
    return out


def _translate(err: Any, positions: Positions, filename: str) -> list[tuple[JsonPath, Diagnostic]]:
    path: JsonPath = tuple(err.absolute_path)
    kind = err.validator
    schema = err.schema if isinstance(err.schema, dict) else {}
    what = _describe(path)
    field = path[-1] if path else None

    def at(
        p: JsonPath, message: str, hint: str | None = None, key: bool = False
    ) -> tuple[JsonPath, Diagnostic]:
        line, col = positions.of(p, key=key)
        return p, Diagnostic(filename, line, col, message, hint)

    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = [k for k in err.instance if k not in schema.get("properties", {})]
        out = []
        for key in extra:
            where = f" in {what}" if path else ""
            out.append(
                at(
                    (*path, key),
                    f"unknown key `{key}`{where}",
                    _unknown_key_hint(path, key, allowed),
                    key=True,
                )
            )
        return out
    if kind == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        hint = "add `version: 1` as the first line" if missing == "version" else None
        if missing == "assets":
            hint = "list the images under `assets:` (see `assetgen init`)"
        return [at(path, f"{what} is missing the required key `{missing}`", hint)]
    if kind == "const" and field == "version":
        if (
            isinstance(err.instance, int)
            and not isinstance(err.instance, bool)
            and err.instance > 1
        ):
            return [
                at(
                    path,
                    f"manifest version {err.instance} is newer than this assetgen reads (1)",
                    "upgrade assetgen (pip install -U assetgen-cli)",
                )
            ]
        return [
            at(
                path,
                f"version must be 1, not {_show(err.instance)}",
                "write `version: 1` (a number, not quoted)"
                if isinstance(err.instance, str)
                else None,
            )
        ]
    if kind in ("enum", "const"):
        options = schema.get("enum") or [schema.get("const")]
        shown = ", ".join(json.dumps(o) for o in options)
        hint = None
        if isinstance(err.instance, str):
            hint = _did_you_mean(err.instance, [str(o) for o in options])
        return [at(path, f"{what} must be one of {shown}, not {_show(err.instance)}", hint)]
    if kind == "type":
        want = err.validator_value
        wants = want if isinstance(want, list) else [want]
        want_s = (
            _either([_article(w) for w in wants])
            if len(wants) == 1
            else _either(["a boolean" if w == "boolean" else _article(w) for w in wants])
        )
        got = _type_name(err.instance)
        hint = None
        asset = path[:1] == ("assets",) and len(path) == 2
        if asset and err.instance is None and (below := _next_asset_key(positions, path)):
            # `hero:` then `prompt:` at the same indentation: the fields are not under it
            hint = (
                f"its fields are not indented under it: indent `{below[0]}:` (line {below[1]}) "
                "and the lines after it by two more spaces"
            )
        elif "object" in wants and err.instance is None:
            hint = "the key has no value; add entries under it or remove it"
        elif err.instance is None:
            hint = "the key has no value; write one after the colon, or remove the key"
        elif asset and field in asset_fields() and not isinstance(err.instance, (dict, list)):
            above = _asset_above(positions, path)
            under = f"under `{above[0]}:` (line {above[1]})" if above else "under its asset"
            hint = f"`{field}` is an asset field: indent it {under} by two more spaces"
            return [
                at(path, f"{what} must be {want_s}, not {_type_name(err.instance)}", hint, True)
            ]
        elif asset and isinstance(err.instance, str):
            hint = f"put the prompt under it: `{field}: {{prompt: ...}}`"
        elif (
            wants == ["string"]
            and isinstance(err.instance, (int, float))
            and not isinstance(err.instance, bool)
        ):
            hint = f'quote it: "{err.instance}"'
        elif (
            "integer" in wants and isinstance(err.instance, str) and err.instance.strip().isdigit()
        ):
            hint = f"write it without quotes: {err.instance.strip()}"
        elif (
            "integer" in wants
            and isinstance(err.instance, str)
            and re.fullmatch(r"[-+]?[0-9][0-9_]*[0-9]", err.instance)
        ):  # `1_000`: a string by YAML 1.2, as editors read it
            hint = f"write it without underscores: {err.instance.replace('_', '')}"
        elif "boolean" in wants and isinstance(err.instance, str):
            hint = (
                f"YAML 1.2 reads `{err.instance}` as a string: write true or false"
                if err.instance.lower() in _YAML11_BOOLEANS
                else "write true or false, without quotes"
            )
        return [at(path, f"{what} must be {want_s}, not {got}", hint)]
    if kind in ("minimum", "maximum"):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        hint = None
        if field == "seed":
            hint = "omit `seed` to derive a stable one from the asset's name"
            if err.instance == 0:
                hint = (
                    "0 means a random seed to the gateway, which would not be reproducible; " + hint
                )
        bounds = (
            f"outside {lo}..{hi}"
            if lo is not None and hi is not None
            else (f"below the minimum {lo}" if lo is not None else f"above the maximum {hi}")
        )
        return [at(path, f"{what} is {err.instance}, {bounds}", hint)]
    if kind == "minLength":
        return [at(path, f"{what} must not be empty")]
    if kind == "maxLength":
        length, limit = len(err.instance), err.validator_value
        return [at(path, f"{what} is {length} characters long; the limit is {limit}")]
    if kind == "minItems":
        return [at(path, f"{what} is an empty list", "list at least one value, or remove the key")]
    if kind == "minProperties":
        return [at(path, f"{what} is empty", "add at least one entry, or remove the key")]
    if "propertyNames" in err.relative_schema_path:
        bad = err.instance
        return [
            at(
                (*path, bad),
                f"invalid name `{bad}` in {what}",
                "names use letters, digits and _, and do not start with a digit",
                key=True,
            )
        ]
    if kind == "pattern":
        return [
            at(path, f"{what}: {json.dumps(err.instance)} does not match {err.validator_value}")
        ]
    return [at(path, f"{what}: {err.message}")]


def _asset_keys(positions: Positions) -> list[tuple[int, str]]:
    """(line, name) of every key directly under `assets`, in file order."""
    return sorted(
        (line, str(p[1]))
        for p, (line, _) in positions.keys.items()
        if len(p) == 2 and p[0] == "assets"
    )


def _asset_above(positions: Positions, path: JsonPath) -> tuple[str, int] | None:
    """The key under `assets` just above ``path``'s: the asset a dedented field left."""
    line = positions.of(path, key=True)[0]
    above = [(n, name) for n, name in _asset_keys(positions) if n < line]
    assets = [(n, name) for n, name in above if name not in asset_fields()] or above
    return (assets[-1][1], assets[-1][0]) if assets else None


def _next_asset_key(positions: Positions, path: JsonPath) -> tuple[str, int] | None:
    """The key under `assets` just below ``path``'s, when it is an asset field."""
    line = positions.of(path, key=True)[0]
    below = [(n, name) for n, name in _asset_keys(positions) if n > line]
    if below and below[0][1] in asset_fields():
        return below[0][1], below[0][0]
    return None


def _unknown_key_hint(path: JsonPath, key: str, allowed: list[str]) -> str | None:
    close = _did_you_mean(key, allowed)
    if close:
        return close
    if not path:  # the top level: an asset field written one level too high?
        import difflib

        near = difflib.get_close_matches(key, list(asset_fields()), n=1, cutoff=0.6)
        if near:
            return f"`{near[0]}` is an asset field: put it under an asset, or under `defaults:`"
    if path == ("defaults",) and key in ("output", "matrix"):
        return f"`{key}` cannot be a default: each asset sets its own"
    return f"allowed keys: {', '.join(allowed)}" if allowed else None


def _show(value: Any) -> str:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return json.dumps(value, ensure_ascii=False)
    return _type_name(value)


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _type_name(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {json.dumps(shown, ensure_ascii=False)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _article(word: str) -> str:
    nouns = {
        "object": "a mapping",
        "array": "a list",
        "integer": "an integer",
        "string": "a string",
    }
    nouns |= {"boolean": "true or false", "number": "a number", "null": "empty"}
    return nouns.get(word, word)
