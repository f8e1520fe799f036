"""YAML to plain Python values, remembering where every key and value came from.

PyYAML's constructors drop positions and silently keep the last of duplicate keys,
so we compose a node tree (with the C parser when the wheel has it) and convert it
ourselves: that is where duplicates, alias bombs and deep nesting are caught.

Plain scalars resolve by the YAML 1.2 core schema (yamlcore.py), as editors checking
the manifest against its JSON Schema read them: ``yes`` and ``16:9`` are strings,
``017`` is 17.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import Diagnostic, ManifestError
from .limits import MAX_BYTES_ENV, max_manifest_bytes
from .yamlcore import CoreLoader, core_value
from .yamlhints import conflict_marker, misindented

Path = tuple[str | int, ...]

MAX_DEPTH = 64
# Nodes reached again through aliases and merge keys. A real manifest revisits a few
# nodes per `<<: *defaults`, so the budget grows with the text; a billion-laughs
# document is a few hundred bytes that would expand to billions of nodes, and is
# refused after a few ten thousand steps.
MIN_ALIAS_BUDGET = 20_000
ALIAS_BUDGET_PER_BYTE = 4


_Loader = CoreLoader


@dataclass
class Positions:
    """1-based (line, col) of every value and every mapping key, by path.

    ``text`` and ``spans`` (character offsets of scalar values and keys) let
    ``find`` point inside a value, at the ``${var}`` that is wrong.
    """

    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    text: str = ""
    spans: dict[tuple[Path, bool], tuple[int, int]] = field(default_factory=dict)

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

    def find(self, path: Path, needle: str, *, key: bool = False) -> tuple[int, int]:
        """Where ``needle`` occurs in the source of the scalar at ``path``, else ``of(path)``."""
        span = self.spans.get((path, key))
        if span is not None and needle:
            at = self.text.find(needle, span[0], span[1])
            if at >= 0:
                line = self.text.count("\n", 0, at) + 1
                return line, at - (self.text.rfind("\n", 0, at) + 1) + 1
        return self.of(path, key=key)


def decode_text(data: bytes, filename: str, *, max_bytes: int | None = None) -> str:
    """UTF-8 text (a BOM is allowed), or a located error for oversized or mis-encoded input.

    ``max_bytes`` defaults to ``max_manifest_bytes()``.
    """
    limit = max_manifest_bytes() if max_bytes is None else max_bytes
    if len(data) > limit:
        raise ManifestError(
            [
                Diagnostic(
                    filename,
                    1,
                    1,
                    f"file is {len(data):,} bytes, over the {limit:,}-byte limit",
                    f"split it into several manifests (-f FILE), or raise {MAX_BYTES_ENV}",
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


def load(
    data: bytes, filename: str, *, max_bytes: int | None = None, hand_written: bool = True
) -> tuple[Any, Positions]:
    """Parse one YAML document into plain values plus their positions.

    Raises ManifestError with every duplicate key found, or the first syntax error.
    ``hand_written=False`` (the lock, which assetgen writes) keeps the parser's own words
    for an indentation error: the fix there is to restore the file, not to indent it.
    """
    value, positions, problems = load_all_problems(
        data, filename, max_bytes=max_bytes, hand_written=hand_written
    )
    if problems:
        raise ManifestError(problems)
    return value, positions


def load_all_problems(
    data: bytes, filename: str, *, max_bytes: int | None = None, hand_written: bool = True
) -> tuple[Any, Positions, list[Diagnostic]]:
    """Like ``load``, but duplicate keys come back as Diagnostics with the document.

    The first of duplicate keys is kept, so the caller can go on validating and
    report every problem at once. Fatal problems (encoding, size, syntax, alias
    bombs, nesting) still raise ManifestError.
    """
    text = decode_text(data, filename, max_bytes=max_bytes)
    marker = conflict_marker(data)
    if marker is not None:  # else the parser says "could not find expected ':'" further on
        raise ManifestError(
            [
                Diagnostic(
                    filename,
                    marker,
                    1,
                    "git conflict markers: a merge of this file was left unfinished",
                    "keep one side of each conflict (or combine them), delete the "
                    "<<<<<<< ======= >>>>>>> lines, then run `assetgen validate`",
                )
            ]
        )
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        raise ManifestError([_syntax_error(exc, filename, text, hand_written)]) from None
    except yaml.YAMLError as exc:
        raise ManifestError([Diagnostic(filename, 1, 1, f"YAML error: {exc}")]) from None
    except RecursionError:  # the pure-Python composer on absurd nesting
        raise ManifestError(
            [Diagnostic(filename, 1, 1, f"nesting deeper than {MAX_DEPTH} levels")]
        ) from None
    positions = Positions(text=text)
    if node is None:
        return None, positions, []
    budget = max(MIN_ALIAS_BUDGET, ALIAS_BUDGET_PER_BYTE * len(text))
    conv = _Converter(filename, positions, budget)
    value = conv.convert(node, (), 0)
    return value, positions, conv.diagnostics


def _runaway_quote(text: str, error_at: int) -> Any:
    """The start mark of a quoted scalar spanning lines that ends on the error's line."""
    end_of_line = text.find("\n", error_at)
    line_start = text.rfind("\n", 0, error_at) + 1
    found = None
    try:
        for token in yaml.scan(text[: end_of_line if end_of_line >= 0 else None], Loader=_Loader):
            if token.start_mark.index >= error_at:
                break
            if (
                isinstance(token, yaml.ScalarToken)
                and token.style in ('"', "'")
                and token.start_mark.line != token.end_mark.line
                and token.end_mark.index >= line_start
            ):
                found = token.start_mark
    except yaml.YAMLError:
        pass
    return found


def _syntax_error(
    exc: yaml.MarkedYAMLError, filename: str, text: str, hand_written: bool = True
) -> Diagnostic:
    problem = exc.problem or "invalid YAML"
    mark, context = exc.problem_mark, exc.context_mark
    hint = None
    if (
        context is not None
        and "quoted scalar" in (exc.context or "")
        and "end of stream" in problem
    ):
        # The end of the file is not where the fix goes: the opening quote is.
        mark, problem = context, "a quoted string is never closed"
        hint = "close the quote, or escape a quote inside it (`\\\"` in \"...\", `''` in '...')"
    elif mark is not None and (opened := _runaway_quote(text, mark.index)) is not None:
        # `prompt: "abc` closed by the next line's first quote: the error shows up there.
        mark, problem = opened, f"a quoted string runs on to line {mark.line + 1}"
        hint = "is its closing quote missing? Close it on the line where it starts"
    elif hand_written and mark is not None and (bad := _indentation(problem, text, mark)):
        # The parser gives up where the indentation stops making sense: say that.
        problem, hint, column = bad
        return Diagnostic(filename, mark.line + 1, column, f"YAML syntax error: {problem}", hint)
    elif "mapping values are not allowed" in problem:
        hint = 'a value containing ": " must be quoted'
    elif "cannot start any token" in problem and mark is not None:
        ch = text[mark.index] if 0 <= mark.index < len(text) else ""
        hint = (
            "YAML does not allow tabs for indentation; use spaces"
            if ch == "\t"
            else f"quote a value that starts with `{ch}`"
            if ch
            else None
        )
    elif context is not None and exc.context:
        problem = f"{problem} ({exc.context} at line {context.line + 1})"
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Diagnostic(filename, line, col, f"YAML syntax error: {problem}", hint)


def _indentation(problem: str, text: str, mark: Any) -> tuple[str, str, int] | None:
    """``yamlhints.misindented`` for the errors a stray indentation gives."""
    if "expected key" in problem:
        return misindented(text, mark.line)
    if "mapping values are not allowed" in problem:
        head = text[text.rfind("\n", 0, mark.index) + 1 : mark.index].strip()
        if head and ":" not in head and not any(c.isspace() for c in head):  # `key:` opens the line
            return misindented(text, mark.line, run_on=True)
    return None


class _Converter:
    def __init__(self, filename: str, positions: Positions, alias_budget: int) -> None:
        self.filename = filename
        self.positions = positions
        self.diagnostics: list[Diagnostic] = []
        self.seen: set[int] = set()
        self.revisits = 0
        self.alias_budget = alias_budget
        self.active: set[int] = set()  # collections being converted: an alias to one is a cycle
        self.scalars = SafeConstructor()

    def _fail(self, node: Node, message: str, hint: str | None = None) -> None:
        m = node.start_mark
        self.diagnostics.append(Diagnostic(self.filename, m.line + 1, m.column + 1, message, hint))

    def _count(self, node: Node, path: Path) -> None:
        if id(node) in self.active:
            self._fail(
                node,
                "an alias refers to a list or mapping that contains it",
                "YAML allows such cycles, but a manifest cannot be infinite",
            )
            raise ManifestError(self.diagnostics)
        if id(node) in self.seen:
            self.revisits += 1
            if self.revisits > self.alias_budget:
                # Blame the top-level entry being expanded: the last anchor reached is arbitrary.
                line, col = self.positions.keys.get(path[:1], (1, 1))
                self.diagnostics.append(
                    Diagnostic(
                        self.filename,
                        line,
                        col,
                        f"`{path[0] if path else 'the document'}` expands to too many nodes "
                        "through aliases (an alias bomb?)",
                        "use fewer nested anchors and aliases",
                    )
                )
                raise ManifestError(self.diagnostics)
        else:
            self.seen.add(id(node))

    def convert(self, node: Node, path: Path, depth: int) -> Any:
        if depth > MAX_DEPTH:
            self._fail(node, f"nesting deeper than {MAX_DEPTH} levels")
            raise ManifestError(self.diagnostics)
        self._count(node, path)
        m = node.start_mark
        self.positions.values[path] = (m.line + 1, m.column + 1)
        if isinstance(node, ScalarNode):
            self.positions.spans[(path, False)] = (m.index, node.end_mark.index)
            return self._scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [
                    self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)
                ]
            if isinstance(node, MappingNode):
                return self._mapping(node, path, depth)
        finally:
            self.active.discard(id(node))
        self._fail(node, "unsupported YAML node")  # pragma: no cover - compose yields only these
        return None

    def _scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == "tag:yaml.org,2002:str":
            return node.value
        try:
            known, value = core_value(tag, node.value)
            if not known:
                value = self.scalars.construct_object(node)
        except yaml.YAMLError as exc:
            self._fail(node, f"cannot read value {node.value!r}: {exc}")
            return node.value
        except ValueError:  # int() refuses 4,300+ digits (sys.get_int_max_str_digits)
            self._fail(
                node,
                f"a number of {len(node.value):,} characters is too long to read",
                "assetgen reads numbers of up to 4,300 digits",
            )
            raise ManifestError(self.diagnostics) from None
        if not isinstance(value, (str, int, float, bool, type(None))):
            # timestamps, binary, sets: nothing in our formats wants them; keep the text.
            return node.value
        return value

    def _pairs(self, node: MappingNode, path: Path, depth: int) -> Iterator[tuple[Node, Node]]:
        """Key/value node pairs, with ``<<`` merge keys expanded (explicit keys win)."""
        if depth > MAX_DEPTH:
            self._fail(node, f"merge keys (<<) nested deeper than {MAX_DEPTH} levels")
            raise ManifestError(self.diagnostics)
        merged: list[tuple[Node, Node]] = []
        own: list[tuple[Node, Node]] = []
        for k, v in node.value:
            if k.tag == "tag:yaml.org,2002:merge":
                sources = v.value if isinstance(v, SequenceNode) else [v]
                for src in sources:
                    self._count(src, path)
                    if not isinstance(src, MappingNode):
                        self._fail(src, "a merge key (<<) needs a mapping or a list of mappings")
                        continue
                    self.active.add(id(src))
                    try:
                        merged.extend(self._pairs(src, path, depth + 1))
                    finally:
                        self.active.discard(id(src))
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
        for knode, vnode in self._pairs(node, path, depth):
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
            self.positions.spans[(kpath, True)] = (km.index, knode.end_mark.index)
            out[key] = self.convert(vnode, kpath, depth + 1)
            if vnode.start_mark.index == vnode.end_mark.index:
                # `key:` with nothing after it: point at the key, not at the void after it.
                self.positions.values[kpath] = self.positions.keys[kpath]
        return out
