"""Resolving a manifest without re-reading all of it: memos keyed by its bytes and its blocks.

A null plan finds the whole manifest's resolved specs under the digest of its bytes.
When the bytes changed (someone edited a few prompts), the text is cut into its
header (everything outside ``assets:``) and one block per asset entry, and only the
blocks never seen under this header are parsed, validated and resolved: a 1% edit
costs about 1% of a full parse. Every shortcut is conservative: a manifest that
cannot be cut safely (flow-style ``assets``, anchors or aliases inside entries,
tabs, several documents), or whose partial result fails any check, is parsed whole,
which is also what reports errors with their true positions.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from .. import memo
from .._version import __version__
from ..schema.limits import MAX_ASSETS_ENV, MAX_BYTES_ENV, max_assets, max_manifest_bytes
from ..spec import AssetSpec, Manifest

_SPEC_FIELDS = tuple(f.name for f in fields(AssetSpec))
_OUTPUT_AT = _SPEC_FIELDS.index("output")
_DERIVED_AT = _SPEC_FIELDS.index("derived")  # derived paths clash like outputs do
# Rows are positional (AssetSpec(*row)): every memo key holds the layout they were
# written in, so code with the fields in another order never reads them.
_LAYOUT = memo.layout(AssetSpec, Manifest)
# How scalars were read (yamlcore.py): a memo of the YAML 1.1 reading (`seed: 017` as 15)
# is never served for the same bytes. Not imported from there: that would import PyYAML.
_SCALARS = "yaml-1.2-core"
_ASSETS_AT = re.compile(r"^assets:[ \t]*(?:#[^\n]*)?$", re.M)
_TOP_LEVEL = re.compile(r"\n[^ \r\n#]")
_FIRST_CONTENT = re.compile(r"^( +)[^ \r\n#]", re.M)
_KEY_LINE = re.compile(r"(?:[^\s#'\"{\[][^:#\n]*|\"[^\"\\\n]*\"|'[^'\n]*'):(?:[ \t\r\n]|$)")
# `&anchor` or `*alias` where YAML could read one: after a space or a flow indicator.
_ANCHOR = re.compile(r"(?:^|[\s\[{,])[&*][^\s\[\]{},]")

Parse = Callable[[bytes, dict[str, list[str]] | None], Manifest]


@dataclass(frozen=True)
class Split:
    head: str  # lines up to and including `assets:`
    blocks: tuple[str, ...]  # one per asset entry, with its trailing comments and blank lines
    tail: str  # top-level keys after the assets mapping


def split_blocks(text: str) -> Split | None:
    """Cut the manifest into header and asset blocks, or None when that is not provably safe."""
    if "\t" in text or "\n---" in text or text.startswith("---") or "\n..." in text:
        return None
    starts = list(_ASSETS_AT.finditer(text))
    if len(starts) != 1:
        return None
    begin = starts[0].end() + 1  # the first line after `assets:`
    if begin > len(text):
        return None
    rest = _TOP_LEVEL.search(text, begin - 1)  # the next top-level key ends the section
    end = rest.start() + 1 if rest else len(text)
    section = text[begin:end]
    first = _FIRST_CONTENT.search(section)
    if first is None:
        return None
    indent = len(first.group(1))
    # Entries start where a line is indented exactly like the first one; a line indented
    # less (but not at the top level) would be read differently: give up on it. The
    # patterns start with a literal newline, which the regex engine scans for quickly.
    body = "\n" + section
    if indent > 1 and re.search(rf"\n {{1,{indent - 1}}}[^ \r\n#]", body):
        return None
    cuts = [m.start() for m in re.finditer(rf"\n {{{indent}}}(?=[^ \r\n#])", body)]
    if not cuts or cuts[0] != first.start():
        return None
    if ("&" in section or "*" in section) and _ANCHOR.search(section):
        return None
    blocks = tuple(section[a:b] for a, b in zip(cuts, [*cuts[1:], len(section)], strict=True))
    if not all(_KEY_LINE.match(b, indent) for b in blocks):
        return None
    return Split(text[: begin + cuts[0]], blocks, text[end:])


def _memo(prefix: Path, name: str) -> Path:
    return prefix.with_name(f"{prefix.name}{name}.memo")


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


_SHARED = frozenset({"provider", "model", "size", "quality"})


def _row(s: AssetSpec) -> tuple[object, ...]:
    # Interned values are stored once in the memo and shared by every loaded spec.
    return tuple(
        sys.intern(v) if f in _SHARED and isinstance(v, str) else v
        for f, v in ((f, getattr(s, f)) for f in _SPEC_FIELDS)
    )


def _manifest(
    provider: str, output_dir: str, rows: Sequence[tuple[object, ...]], remote: str | None
) -> Manifest:
    specs = tuple(AssetSpec(*r) for r in rows)  # type: ignore[arg-type]
    return Manifest(provider, output_dir, specs, remote)


def load_manifest(
    data: bytes,
    parse: Parse,
    provider: str | None,
    state: Path | None,
    create_state: Callable[[], Path | None] | None = None,
) -> Manifest:
    """The resolved manifest for ``data``, from memos where they are still valid.

    ``parse(data, origins)`` is the full parser; ``state`` the path prefix of the memo
    files (None: no memos yet). ``create_state``, called only once the manifest has
    parsed, may provide a prefix to remember the result under: an invalid manifest
    never makes assetgen create its state folder.
    """
    if len(data) > max_manifest_bytes():
        state = create_state = None  # over the limit: only the whole parse may say so
    limits = f"{os.environ.get(MAX_BYTES_ENV, '')}|{os.environ.get(MAX_ASSETS_ENV, '')}"
    salt = f"{__version__}|{_LAYOUT}|{_SCALARS}|{provider or ''}|{limits}"
    key = f"{hashlib.sha256(data).hexdigest()}|{salt}"
    whole = _memo(state, "manifest") if state else None
    if whole is not None:
        hit = memo.load(whole, key)
        if hit is not None:
            return _sourced(_manifest(*hit), key)
    got = _incremental(data, parse, salt, state) if state else None
    if got is None:
        origins: dict[str, list[str]] = {}
        manifest = parse(data, origins)
        rows = tuple(map(_row, manifest.specs))
        if state is None and create_state is not None:
            state = create_state()
            whole = _memo(state, "manifest") if state else None
        if state is not None:
            _remember_blocks(data, manifest, origins, salt, state)
    else:
        manifest, rows = got
    if whole is not None:
        memo.store(
            whole, key, (manifest.provider, manifest.output_dir, rows, manifest.remote_cache)
        )
    return _sourced(manifest, key)


def _sourced(manifest: Manifest, key: str) -> Manifest:
    """``manifest`` stamped with the memo key of its bytes (see ``Manifest.source``)."""
    object.__setattr__(manifest, "source", key)
    return manifest


def _incremental(
    data: bytes, parse: Parse, salt: str, state: Path
) -> tuple[Manifest, tuple[tuple[object, ...], ...]] | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    split = split_blocks(text)
    if split is None:
        return None
    head_key = _digest(salt, split.head, split.tail)
    stored = memo.load(_memo(state, "blocks"), head_key)
    if stored is None:
        return None
    provider, output_dir, table, remote = stored
    rows: list[tuple[object, ...]] = []
    missing: list[str] = []
    for block in split.blocks:
        got = table.get(block)
        if got is None:
            missing.append(block)
        else:
            rows.extend(got)
    if missing:
        mini = (split.head + "".join(missing) + split.tail).encode("utf-8")
        origins: dict[str, list[str]] = {}
        try:
            partial = parse(mini, origins)
        except Exception:  # any problem at all: the whole parse will say it properly
            return None
        if (
            len(origins) != len(missing)
            or partial.provider != provider
            or partial.output_dir != output_dir
            or partial.remote_cache != remote
        ):
            return None
        by_name = {s.name: s for s in partial.specs}
        for block, names in zip(missing, origins.values(), strict=True):
            new_rows = tuple(_row(by_name[n]) for n in names)
            table[block] = new_rows
            rows.extend(new_rows)
    if len(rows) > max_assets():
        return None  # each block fits, all together do not: the whole parse says where
    all_names = [r[0] for r in rows]
    outputs = [str(r[_OUTPUT_AT]).casefold() for r in rows]
    outputs.extend(str(p).casefold() for r in rows for p, _ in r[_DERIVED_AT])  # type: ignore[attr-defined]
    if len(set(all_names)) != len(all_names) or len(set(outputs)) != len(outputs):
        return None  # a clash between entries: the whole parse reports it with positions
    rows.sort(key=lambda r: str(r[0]))
    live = set(split.blocks)
    memo.store(
        _memo(state, "blocks"),
        head_key,
        (provider, output_dir, {k: v for k, v in table.items() if k in live}, remote),
    )
    return _manifest(provider, output_dir, rows, remote), tuple(rows)


def _remember_blocks(
    data: bytes, manifest: Manifest, origins: dict[str, list[str]], salt: str, state: Path
) -> None:
    """After a whole parse, seed the block memo so the next edit is incremental."""
    split = split_blocks(data.decode("utf-8"))
    if split is None:
        return
    if len(origins) != len(split.blocks):
        return
    by_name = {s.name: s for s in manifest.specs}
    table = {
        block: tuple(_row(by_name[n]) for n in names)
        for block, names in zip(split.blocks, origins.values(), strict=True)
    }
    memo.store(
        _memo(state, "blocks"),
        _digest(salt, split.head, split.tail),
        (manifest.provider, manifest.output_dir, table, manifest.remote_cache),
    )
