"""YAML to plain Python values, remembering where every key and value came from.

PyYAML's constructors drop positions and silently keep the last of duplicate keys,
so we compose a node tree (with the C parser when the wheel has it) and convert it
ourselves: that is where duplicates, alias bombs and deep nesting are caught.

Two deliberate departures from YAML 1.1 as PyYAML resolves it: base-60 numbers
(``16:9`` would be the integer 969) stay strings, so an unquoted aspect ratio means
what it says; everything else resolves as ``yaml.safe_load`` would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Diagnostic, ManifestError

try:
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

Path = tuple[str | int, ...]

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_EXPANSION = 1_000_000  # nodes reached again through aliases and merges


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    pass


_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
    for ch, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _INT,
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


@dataclass
class Positions:
    """1-based (line, col) of every value and every mapping key, by path."""

    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def of(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """The closest known position for ``path``: itself, else its nearest ancestor."""
        table = self.keys if key else self.values
        p = path
        while p:
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), (1, 1))


def decode_text(data: bytes, filename: str, *, max_bytes: int = MAX_BYTES) -> str:
    """UTF-8 text (a BOM is allowed), or a located error for oversized or mis-encoded input."""
    if len(data) > max_bytes:
        raise ManifestError(
            [
                Diagnostic(
                    filename,
                    0,
                    0,
                    f"file is {len(data):,} bytes, over the {max_bytes:,}-byte limit",
                    "split the manifest, or raise ASSETGEN_MAX_MANIFEST_BYTES",
                )
            ]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ManifestError(
            [
                Diagnostic(
                    filename,
                    line,
                    col,
                    f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
                    "save the file as UTF-8",
                )
            ]
        ) from None


def load(data: bytes, filename: str, *, max_bytes: int = MAX_BYTES) -> tuple[Any, Positions]:
    """Parse one YAML document into plain values plus their positions.

    Raises ManifestError with every duplicate key found, or the first syntax error.
    """
    text = decode_text(data, filename, max_bytes=max_bytes)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = exc.problem or exc.context or "invalid YAML"
        raise ManifestError([Diagnostic(filename, line, col, f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:
        raise ManifestError([Diagnostic(filename, 0, 0, f"YAML error: {exc}")]) from None
    positions = Positions()
    if node is None:
        return None, positions
    conv = _Converter(filename, positions)
    value = conv.convert(node, (), 0)
    if conv.diagnostics:
        raise ManifestError(conv.diagnostics)
    return value, positions


class _Converter:
    def __init__(self, filename: str, positions: Positions) -> None:
        self.filename = filename
        self.positions = positions
        self.diagnostics: list[Diagnostic] = []
        self.seen: set[int] = set()
        self.revisits = 0
        self.scalars = SafeConstructor()

    def _fail(self, node: Node, message: str, hint: str | None = None) -> None:
        m = node.start_mark
        self.diagnostics.append(Diagnostic(self.filename, m.line + 1, m.column + 1, message, hint))

    def _count(self, node: Node) -> None:
        if id(node) in self.seen:
            self.revisits += 1
            if self.revisits > MAX_ALIAS_EXPANSION:
                self._fail(
                    node,
                    "aliases expand to too many nodes (an alias bomb?)",
                    "use fewer nested anchors and aliases",
                )
                raise ManifestError(self.diagnostics)
        else:
            self.seen.add(id(node))

    def convert(self, node: Node, path: Path, depth: int) -> Any:
        if depth > MAX_DEPTH:
            self._fail(node, f"nesting deeper than {MAX_DEPTH} levels")
            raise ManifestError(self.diagnostics)
        self._count(node)
        m = node.start_mark
        self.positions.values[path] = (m.line + 1, m.column + 1)
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if isinstance(node, SequenceNode):
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        self._fail(node, "unsupported YAML node")  # pragma: no cover - compose yields only these
        return None

    def _scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == "tag:yaml.org,2002:str":
            return node.value
        try:
            value = self.scalars.construct_object(node)
        except yaml.YAMLError as exc:
            self._fail(node, f"cannot read value {node.value!r}: {exc}")
            return node.value
        if not isinstance(value, (str, int, float, bool, type(None))):
            # timestamps, binary, sets: nothing in our formats wants them; keep the text.
            return node.value
        return value

    def _pairs(self, node: MappingNode, depth: int) -> Iterator[tuple[Node, Node]]:
        """Key/value node pairs, with ``<<`` merge keys expanded (explicit keys win)."""
        merged: list[tuple[Node, Node]] = []
        own: list[tuple[Node, Node]] = []
        for k, v in node.value:
            if k.tag == "tag:yaml.org,2002:merge":
                sources = v.value if isinstance(v, SequenceNode) else [v]
                for src in sources:
                    self._count(src)
                    if not isinstance(src, MappingNode):
                        self._fail(src, "a merge key (<<) needs a mapping or a list of mappings")
                        continue
                    merged.extend(self._pairs(src, depth + 1))
            else:
                own.append((k, v))
        explicit = {k.value for k, _ in own if isinstance(k, ScalarNode)}
        taken: set[str] = set()
        for k, v in merged:
            if isinstance(k, ScalarNode) and k.value not in explicit and k.value not in taken:
                taken.add(k.value)
                yield k, v
        yield from own

    def _mapping(self, node: MappingNode, path: Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_seen: dict[str, Node] = {}
        for knode, vnode in self._pairs(node, depth):
            if not isinstance(knode, ScalarNode):
                self._fail(knode, "a mapping key must be a plain value, not a list or mapping")
                continue
            key = self._scalar(knode)
            if key is None or isinstance(key, bool):
                key = knode.value
            key = str(key)
            if key in first_seen:
                prev = first_seen[key].start_mark
                self._fail(
                    knode,
                    f"duplicate key `{key}` (first defined at line {prev.line + 1})",
                    "YAML keeps only the last one; remove or rename one of them",
                )
                continue
            first_seen[key] = knode
            kpath = (*path, key)
            km = knode.start_mark
            self.positions.keys[kpath] = (km.line + 1, km.column + 1)
            out[key] = self.convert(vnode, kpath, depth + 1)
        return out
