"""A small JSON Schema (2020-12) validator for the keywords our own schemas use.

Why not jsonschema at run time: importing it costs about 100 ms, a third of the
budget of a 10,000-asset plan, and every edited manifest would pay it. Our schemas
use a dozen keywords; this interprets exactly those, yields errors shaped like
jsonschema's (``validator``, ``validator_value``, ``instance``, ``schema``,
``absolute_path``, ``relative_schema_path``, ``message``), and refuses a schema
with any other keyword, so a schema edit cannot be silently half-checked. The test
suite checks it against jsonschema itself on generated documents.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SUPPORTED = frozenset(
    {
        "$schema", "$id", "$defs", "$ref", "title", "description", "default",
        "type", "enum", "const", "properties", "additionalProperties", "required",
        "minimum", "maximum", "minLength", "maxLength", "minItems", "minProperties",
        "propertyNames", "pattern", "items",
    }
)  # fmt: skip


@dataclass
class SchemaError:
    validator: str
    validator_value: Any
    instance: Any
    schema: dict[str, Any]
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
    # JSON equality: true is not 1, 1 is 1.0.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


class Validator:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.root = schema
        self._check_keywords(schema)
        self._patterns: dict[str, re.Pattern[str]] = {}

    def _check_keywords(self, node: Any) -> None:
        if isinstance(node, dict):
            unknown = set(node) - SUPPORTED
            if unknown:
                raise ValueError(f"schemacheck does not support {sorted(unknown)}")
            for key, sub in node.items():
                if key in ("properties", "$defs"):
                    for s in sub.values():
                        self._check_keywords(s)
                elif key in ("additionalProperties", "items", "propertyNames"):
                    self._check_keywords(sub)

    def _resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, not {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return dict(node)

    def iter_errors(self, instance: Any) -> Iterator[SchemaError]:
        yield from self._validate(instance, self.root, deque())

    def _err(
        self, kw: str, schema: dict[str, Any], instance: Any, path: deque[str | int], message: str
    ) -> SchemaError:
        return SchemaError(kw, schema[kw], instance, schema, deque(path), deque([kw]), message)

    def _validate(
        self, inst: Any, schema: dict[str, Any], path: deque[str | int]
    ) -> Iterator[SchemaError]:
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
            elif isinstance(value, dict):
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
