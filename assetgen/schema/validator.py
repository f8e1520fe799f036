"""A small JSON Schema (2020-12) validator for the keywords our own schemas use.

Why not jsonschema at run time: importing it costs about 100 ms, a third of the
budget of a 10,000-asset plan, and every edited manifest would pay it. Our schemas
use a dozen keywords; this interprets exactly those, yields errors shaped like
jsonschema's (``validator``, ``validator_value``, ``instance``, ``schema``,
``absolute_path``, ``relative_schema_path``, ``message``), and refuses, when the
schema is loaded, one with any other keyword or one it would read differently
(a ``$ref`` that is not a local JSON Pointer or resolves to nothing, an ``$id``
below the root, a malformed keyword value), so a schema edit cannot be silently
half-checked. Boolean subschemas, nested const/enum (``[false]`` is not ``[0]``) and
escaped ``$ref`` pointers (``~0``, ``~1``, ``%25``) follow the spec. The test suite
checks it against jsonschema itself on generated schemas and documents.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SUPPORTED = frozenset(
    {
        "$schema", "$id", "$defs", "$ref", "title", "description", "default", "examples",
        "type", "enum", "const", "properties", "additionalProperties", "required",
        "minimum", "maximum", "minLength", "maxLength", "minItems", "minProperties",
        "propertyNames", "pattern", "items",
    }
)  # fmt: skip


Schema = dict[str, Any] | bool  # a boolean is a schema too: true allows all, false nothing
_TYPES = frozenset({"object", "array", "string", "boolean", "integer", "number", "null"})
_SUBSCHEMA = ("additionalProperties", "items", "propertyNames")
_SCHEMA_MAPS = ("properties", "$defs")


@dataclass
class SchemaError:
    validator: str  # "false" for a false schema (jsonschema says None)
    validator_value: Any
    instance: Any
    schema: Schema
    absolute_path: deque[str | int]
    relative_schema_path: deque[str | int] = field(default_factory=deque)
    message: str = ""


def _is_type(value: Any, t: str) -> bool:
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "null":
        return value is None
    raise ValueError(f"unsupported type {t!r}")


def _equal(a: Any, b: Any) -> bool:
    """JSON equality, at every depth: true is not 1 (nor [false] [0]), but 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a is None and b is None


_POINTER_ESCAPE = re.compile(r"~(?![01])")


def _pointer_parts(ref: str) -> list[str]:
    """The JSON Pointer in a local ``$ref`` (``#``, ``#/a/b~1c%25``), decoded: percent
    escapes first (it is a URI fragment), then ``~1`` -> ``/`` and ``~0`` -> ``~``."""
    from urllib.parse import unquote

    if not ref.startswith("#") or "#" in ref[1:]:
        raise ValueError(f"only local $refs (#/...) are supported, not {ref!r}")
    pointer = unquote(ref[1:], errors="strict")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"$ref {ref!r}: anchors are not supported, only JSON Pointers")
    parts = pointer[1:].split("/")
    if any(_POINTER_ESCAPE.search(p) for p in parts):
        raise ValueError(f"$ref {ref!r}: `~` must be escaped as ~0 (and `/` as ~1)")
    return [p.replace("~1", "/").replace("~0", "~") for p in parts]


class Validator:
    def __init__(self, schema: Schema) -> None:
        self.root = schema
        self._refs: dict[str, Schema] = {}
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._checked: set[int] = set()
        self._check(schema, root=True)

    def _check(self, node: Any, *, root: bool = False) -> None:
        """Refuse, now, any schema this validator would not check completely."""
        if isinstance(node, bool):
            return
        if not isinstance(node, dict):
            raise ValueError(f"a schema is an object or a boolean, not {node!r}")
        if id(node) in self._checked:
            return
        self._checked.add(id(node))
        unknown = set(node) - SUPPORTED
        if unknown:
            raise ValueError(f"schemacheck does not support {sorted(unknown)}")
        if "$id" in node and not root:
            raise ValueError("$id below the root would change what $refs mean: not supported")
        for key, sub in node.items():
            if key in _SCHEMA_MAPS:
                if not isinstance(sub, dict):
                    raise ValueError(f"{key} must map names to schemas, not {sub!r}")
                for s in sub.values():
                    self._check(s)
            elif key in _SUBSCHEMA:
                self._check(sub)
            elif key == "$ref":
                if not isinstance(sub, str):
                    raise ValueError(f"$ref must be a string, not {sub!r}")
                self._check(self._resolve(sub))
            elif key == "type":
                types = sub if isinstance(sub, list) else [sub]
                if not types or any(t not in _TYPES for t in types):
                    raise ValueError(f"unsupported type {sub!r}")
            elif key in ("enum", "examples") and not isinstance(sub, list):
                raise ValueError(f"{key} must be a list, not {sub!r}")
            elif key == "required" and not (
                isinstance(sub, list) and all(isinstance(n, str) for n in sub)
            ):
                raise ValueError(f"required must be a list of names, not {sub!r}")
            elif key == "pattern":
                self._pattern(sub)
            elif key in ("minimum", "maximum") and not _is_type(sub, "number"):
                raise ValueError(f"{key} must be a number, not {sub!r}")
            elif key in ("minLength", "maxLength", "minItems", "minProperties") and not (
                _is_type(sub, "integer") and sub >= 0
            ):
                raise ValueError(f"{key} must be a non-negative integer, not {sub!r}")

    def _resolve(self, ref: str) -> Schema:
        got = self._refs.get(ref)
        if got is not None:
            return got
        node: Any = self.root
        for part in _pointer_parts(ref):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and re.fullmatch(r"0|[1-9][0-9]*", part):
                if int(part) >= len(node):
                    raise ValueError(f"$ref {ref!r} points at nothing")
                node = node[int(part)]
            else:
                raise ValueError(f"$ref {ref!r} points at nothing")
        if not isinstance(node, (dict, bool)):
            raise ValueError(f"$ref {ref!r} points at {node!r}, which is not a schema")
        self._refs[ref] = node
        return node

    def iter_errors(self, instance: Any) -> Iterator[SchemaError]:
        yield from self._validate(instance, self.root, deque())

    def _err(
        self, kw: str, schema: dict[str, Any], instance: Any, path: deque[str | int], message: str
    ) -> SchemaError:
        return SchemaError(kw, schema[kw], instance, schema, deque(path), deque([kw]), message)

    def _validate(self, inst: Any, schema: Schema, path: deque[str | int]) -> Iterator[SchemaError]:
        if schema is True:
            return
        if schema is False:
            yield SchemaError(
                "false",
                None,
                inst,
                False,
                deque(path),
                deque(),
                f"False schema does not allow {inst!r}",
            )
            return
        assert isinstance(schema, dict)
        if "$ref" in schema:
            yield from self._validate(inst, self._resolve(schema["$ref"]), path)
        for kw, value in schema.items():
            if kw == "type":
                types = value if isinstance(value, list) else [value]
                if not any(_is_type(inst, t) for t in types):
                    yield self._err(kw, schema, inst, path, f"{inst!r} is not of type {value!r}")
            elif kw == "enum":
                if not any(_equal(inst, v) for v in value):
                    yield self._err(kw, schema, inst, path, f"{inst!r} is not one of {value!r}")
            elif kw == "const":
                if not _equal(inst, value):
                    yield self._err(kw, schema, inst, path, f"{value!r} was expected")
            elif kw in ("minimum", "maximum") and _is_type(inst, "number"):
                if (inst < value) if kw == "minimum" else (inst > value):
                    yield self._err(kw, schema, inst, path, f"{inst!r} is out of range")
            elif kw in ("minLength", "maxLength") and isinstance(inst, str):
                if (len(inst) < value) if kw == "minLength" else (len(inst) > value):
                    yield self._err(kw, schema, inst, path, f"{inst!r} has the wrong length")
            elif kw == "pattern" and isinstance(inst, str):
                if not self._pattern(value).search(inst):
                    yield self._err(kw, schema, inst, path, f"{inst!r} does not match {value!r}")
            elif kw == "minItems" and isinstance(inst, list):
                if len(inst) < value:
                    yield self._err(kw, schema, inst, path, f"{inst!r} should be non-empty")
            elif kw == "items" and isinstance(inst, list):
                if value is False and inst:
                    yield self._err(kw, schema, inst, path, f"Expected at most 0 items: {inst!r}")
                    continue
                for i, item in enumerate(inst):
                    path.append(i)
                    yield from self._validate(item, value, path)
                    path.pop()
            elif isinstance(inst, dict):
                yield from self._object_keyword(kw, value, inst, schema, path)

    def _object_keyword(
        self,
        kw: str,
        value: Any,
        inst: dict[str, Any],
        schema: dict[str, Any],
        path: deque[str | int],
    ) -> Iterator[SchemaError]:
        if kw == "required":
            for name in value:
                if name not in inst:
                    yield self._err(kw, schema, inst, path, f"{name!r} is a required property")
        elif kw == "minProperties":
            if len(inst) < value:
                yield self._err(kw, schema, inst, path, f"{inst!r} should be non-empty")
        elif kw == "properties":
            for name, sub in value.items():
                if name in inst:
                    path.append(name)
                    yield from self._validate(inst[name], sub, path)
                    path.pop()
        elif kw == "additionalProperties":
            known = schema.get("properties", {})
            extra = [k for k in inst if k not in known]
            if value is False:
                if extra:
                    yield self._err(kw, schema, inst, path, f"additional properties {extra!r}")
            elif value is not True:
                for k in extra:
                    path.append(k)
                    yield from self._validate(inst[k], value, path)
                    path.pop()
        elif kw == "propertyNames":
            for k in inst:
                for err in self._validate(k, value, path):
                    err.relative_schema_path.appendleft("propertyNames")
                    yield err

    def _pattern(self, pattern: str) -> re.Pattern[str]:
        compiled = self._patterns.get(pattern)
        if compiled is None:
            compiled = self._patterns[pattern] = re.compile(pattern)
        return compiled
