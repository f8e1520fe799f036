"""``assetgen pick``: pin a seed in the manifest with the smallest edit that does it.

The edit is made on the text, at positions from the YAML node tree, so every comment,
blank line, quote style, key order and flow style stays as it was; only one ``seed:``
(or one ``seeds:`` entry) is changed or inserted. Where it goes:

- an asset entry of its own (no matrix): its ``seed:`` value is replaced, or a
  ``seed:`` line is inserted after its last field (``, seed: N`` in a flow mapping);
- an asset made by a matrix, whose entry is shared by every row: the top-level
  ``seeds:`` mapping of name -> seed, which wins over the asset's, the row's and
  the defaults' seed (manifest/resolve.py); a name already in ``seeds:`` is edited
  there whatever its kind, since that entry is the one that counts.

Every edit is proved before it is written: the new text is resolved again and must
change the picked asset's seed and nothing else. An edit that would also change
other assets (an entry shared through an anchor, alias or merge key) is refused,
and the manifest is left untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import UsageError
from ..schema.yamlcore import CoreLoader
from ..spec import Manifest, spec_hash

_BOM = "\ufeff"
_PLAIN_KEY = re.compile(r"[a-z][a-z0-9._-]*")
_NOT_PLAIN = frozenset({"null", "true", "false", "nan", "inf"})
# A node's properties before its scalar: `&anchor` and `!tag`, each followed by space.
_PROPERTIES = re.compile(r"(?:[&!][^\s,\[\]{}]*\s+)*")
_COMMENT_OR_BLANK = re.compile(r"[ \t]*(?:#[^\r\n]*)?\r?$")


class PickRefused(UsageError):
    """The seed cannot be pinned without changing other assets, or at all by an edit."""


@dataclass(frozen=True, slots=True)
class Edit:
    text: str  # the whole new manifest
    line: int  # 1-based line of the seed written
    where: str  # "entry" (the asset's own seed) or "seeds" (the top-level mapping)


def plan_edit(text: str, template: str, name: str, seed: int, *, matrix: bool) -> Edit:
    """The manifest ``text`` with ``name``'s seed pinned to ``seed``.

    ``template`` is the ``assets:`` key the asset comes from; ``matrix`` says whether
    that entry makes several assets (then the pin goes to ``seeds:``).
    """
    bom = text.startswith(_BOM)
    body = text[1:] if bom else text
    try:
        root = yaml.compose(body, Loader=CoreLoader)
    except yaml.YAMLError as exc:  # validated just before: only a race gets here
        raise PickRefused(f"the manifest no longer parses: {exc}") from None
    if not isinstance(root, MappingNode):
        raise PickRefused("the manifest is not a mapping")
    nl = "\r\n" if "\r\n" in body else "\n"
    seeds = _value(root, "seeds")
    if isinstance(seeds, MappingNode) and _value(seeds, name) is not None:
        new, at = _set_key(body, seeds, name, seed, nl)
        where = "seeds"
    elif matrix:
        new, at = _add_to_seeds(body, root, seeds, name, seed, nl)
        where = "seeds"
    else:
        assets = _value(root, "assets")
        entry = _value(assets, template) if isinstance(assets, MappingNode) else None
        if not isinstance(entry, MappingNode):
            raise PickRefused(f"asset `{name}`: its entry is not a mapping of its own")
        new, at = _set_key(body, entry, "seed", seed, nl)
        where = "entry"
    line = new.count("\n", 0, at) + 1
    return Edit((_BOM if bom else "") + new, line, where)


def check_edit(old: Manifest, new: Manifest, name: str, seed: int) -> None:
    """Refuse an edit that does anything but give ``name`` the seed ``seed``: its new
    request must be its old one with that seed, and every other asset's unchanged."""
    before = {s.name: s for s in old.specs}
    after = {s.name: s for s in new.specs}
    picked = after.get(name)
    if picked is None or picked.seed != seed or set(before) != set(after):
        raise PickRefused(
            f"asset `{name}`: the edit would not pin seed {seed} (the seed comes from "
            "somewhere a per-asset edit cannot reach); the manifest is unchanged\n"
            f"  hint: add `{name}: {seed}` under a top-level `seeds:` mapping by hand"
        )
    request = before[name].request
    request["seed"] = seed
    if spec_hash(request) != picked.spec_hash:
        raise PickRefused(
            f"asset `{name}`: the edit would change more of its request than the seed; "
            "the manifest is unchanged\n"
            f"  hint: add `{name}: {seed}` under a top-level `seeds:` mapping by hand"
        )
    others = sorted(n for n in before if n != name and before[n].spec_hash != after[n].spec_hash)
    if others:
        shown = ", ".join(f"`{n}`" for n in others[:5]) + (" ..." if len(others) > 5 else "")
        raise PickRefused(
            f"asset `{name}`: pinning its seed in its entry would also change {shown} "
            "(they share that YAML through an anchor, alias or merge key); the manifest is "
            f"unchanged\n  hint: add `{name}: {seed}` under a top-level `seeds:` mapping, "
            "which is per name, or give the asset an entry of its own"
        )


def _value(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key and k.tag != "tag:yaml.org,2002:merge":
            return v  # type: ignore[no-any-return]
    return None


def _key_text(name: str) -> str:
    if _PLAIN_KEY.fullmatch(name) and name not in _NOT_PLAIN:
        return name
    return '"' + name + '"'  # names are [a-z0-9._-]: nothing to escape


def _set_key(text: str, mapping: MappingNode, key: str, seed: int, nl: str) -> tuple[str, int]:
    """Replace ``key``'s value in ``mapping``, or insert ``key: seed`` as its last pair."""
    for k, v in mapping.value:
        if isinstance(k, ScalarNode) and k.value == key:
            start, end = _value_span(text, k, v)
            if isinstance(v, ScalarNode):  # `&anchor` and `!tag` stay: only the scalar changes
                m = _PROPERTIES.match(text, start, end)
                start = m.end() if m else start
            return text[:start] + str(seed) + text[end:], start
    return _insert(text, mapping, f"{_key_text(key)}: {seed}", nl)


def _value_span(text: str, key: Node, value: Node) -> tuple[int, int]:
    """Where ``value`` is written after ``key``: the node itself, or the ``*alias`` that
    names it (an alias's node sits elsewhere in the file, at its anchor)."""
    after = key.end_mark.index
    if value.start_mark.index >= after and value.end_mark.index > value.start_mark.index:
        between = text[after : value.start_mark.index]
        if re.fullmatch(r"\s*:\s*", between):
            return value.start_mark.index, value.end_mark.index
    m = re.compile(r"\s*:\s*(\*[^\s,\[\]{}#]+)").match(text, after)
    if m is None:
        raise PickRefused(f"cannot find where `{key.value}` is written; edit it by hand")
    return m.start(1), m.end(1)


def _insert(text: str, mapping: MappingNode, pair: str, nl: str) -> tuple[str, int]:
    if mapping.flow_style:
        if not mapping.value:
            p = mapping.start_mark.index + 1  # right after the `{`
            return text[:p] + pair + text[p:], p
        key, value = mapping.value[-1]
        p = _pair_end(text, key, value)  # before any comment after the last pair
        comma = re.compile(r"[ \t]*,").match(text, p)
        if comma is not None:  # a trailing comma: the pair goes after it
            return text[: comma.end()] + " " + pair + text[comma.end() :], comma.end() + 1
        return text[:p] + ", " + pair + text[p:], p + 2
    if not mapping.value:
        raise PickRefused("the asset's entry is empty; add `seed:` by hand")
    first_key = mapping.value[0][0]
    indent = " " * first_key.start_mark.column
    last_key, last_value = mapping.value[-1]
    end = _pair_end(text, last_key, last_value)
    while end > 0 and text[end - 1] in " \t\r\n":
        end -= 1  # a block scalar's end takes in the blank lines after it
    at = _line_end(text, end)
    insert = nl + indent + pair
    return text[:at] + insert + text[at:], at + len(nl)


def _pair_end(text: str, key: Node, value: Node) -> int:
    """Where the text of the pair ``key: value`` ends: after its last scalar. A block
    collection's own end mark sits at the next less-indented token, past the blank lines
    and comments that belong to what follows, so nested blocks are walked down."""
    end = key.end_mark.index
    node = value
    while isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        if isinstance(node, MappingNode):
            end = max(end, last[0].end_mark.index)
            node = last[1]
        else:
            node = last
    if node.start_mark.index >= end and node.end_mark.index > node.start_mark.index:
        return max(end, node.end_mark.index)  # in place (an alias's node sits at its anchor)
    alias = re.compile(r"[ \t]*:?[ \t]*(?:-[ \t]+)?(\*[^\s,\[\]{}#]+)").match(text, end)
    if alias is not None:  # `key: *alias` (or `- *alias`) right after what is known
        return alias.end(1)
    if node is value:
        return end  # an empty value: the key's
    # An alias deeper in a block: the block's last line that is not blank or a comment.
    at = value.end_mark.index
    while at > end:
        start = text.rfind("\n", 0, at - 1) + 1 if at > 0 else 0
        line = text[start:at].rstrip("\n")
        if not _COMMENT_OR_BLANK.fullmatch(line):
            return start + len(line.rstrip("\r"))
        at = start
    return end


def _line_end(text: str, at: int) -> int:
    """Where the line holding ``at`` ends (before its CR LF or LF), comment included."""
    eol = text.find("\n", at)
    if eol < 0:
        return len(text)
    return eol - 1 if eol > 0 and text[eol - 1] == "\r" else eol


def _add_to_seeds(
    text: str, root: MappingNode, seeds: Node | None, name: str, seed: int, nl: str
) -> tuple[str, int]:
    pair = f"{_key_text(name)}: {seed}"
    if isinstance(seeds, MappingNode):
        return _insert(text, seeds, pair, nl)
    if seeds is not None and not (
        isinstance(seeds, ScalarNode) and seeds.value in ("", "~", "null")
    ):
        raise PickRefused("the top-level `seeds:` is not a mapping; fix it, then pick again")
    if root.flow_style:
        return _insert(text, root, f"seeds: {{{pair}}}", nl)
    assets = _value(root, "assets")
    column = 2
    if isinstance(assets, MappingNode) and assets.value and not assets.flow_style:
        column = assets.value[0][0].start_mark.column or 2
    entry = " " * column + pair
    if seeds is not None:  # `seeds:` with nothing after it: the entry goes on the next line
        key = next(k for k, v in root.value if v is seeds)
        at = _line_end(text, key.end_mark.index)
        return text[:at] + nl + entry + text[at:], at + len(nl)
    block = f"seeds:  # seeds picked per asset name (`assetgen pick`); they win over `seed:`{nl}"
    end = root.end_mark.index
    if text.startswith("...", end):  # a document end marker: the mapping goes before it
        return text[:end] + block + entry + nl + text[end:], end + len(block)
    head = text if text.endswith("\n") or not text else text + nl
    return head + block + entry + nl, len(head) + len(block)
