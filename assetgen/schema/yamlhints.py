"""Telling people what is wrong with YAML text when the parser's own words would not.

A YAML parser reports where it gave up, in its own terms ("could not find expected
':'", "did not find expected key"). For two common slips that is no help: a file left
with git conflict markers, and a line indented by a number of spaces no key above it
has. Both are recognised from the text alone, without a YAML parser, so the lock
reader can use them too before it imports one.
"""

from __future__ import annotations

MARKERS = (b"<<<<<<<", b">>>>>>>", b"|||||||")


def conflict_marker(data: bytes) -> int | None:
    """The line of the first git conflict marker, if any."""
    if b"<<<<<<<" not in data and b">>>>>>>" not in data:
        return None
    for i, line in enumerate(data.split(b"\n"), 1):
        if line.startswith(MARKERS) or line.rstrip(b"\r") == b"=======":
            return i
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _significant(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def open_indents(lines: list[str], before: int) -> list[int]:
    """The indentations still open at line index ``before``: the previous line's, then
    each smaller one above it (the enclosing blocks), deepest first."""
    out: list[int] = []
    for line in reversed(lines[:before]):
        if not _significant(line):
            continue
        n = _indent(line)
        body = line[n:]
        # `- key: value` opens two blocks: the list at the dash, the mapping after it.
        starts = [n + 2 + _indent(body[2:]), n] if body.startswith("- ") else [n]
        for col in starts:
            if not out or col < out[-1]:
                out.append(col)
        if n == 0:
            break
    return out


def misindented(text: str, line_no: int, *, run_on: bool = False) -> tuple[str, str, int] | None:
    """(problem, hint, column) when 0-based line ``line_no`` is indented by a number of
    spaces that lines it up with no block above it; else None. ``run_on``: the parser
    took the line for the value above it going on (then quoting is the other fix)."""
    lines = text.split("\n")
    if not 0 <= line_no < len(lines) or not _significant(lines[line_no]):
        return None
    n = _indent(lines[line_no])
    levels = open_indents(lines, line_no)
    if not levels or n in levels:
        return None
    below = max((x for x in levels if x < n), default=None)
    above = min((x for x in levels if x > n), default=None)
    options = " or ".join(
        f"{lvl} (like `{_key(lines[i])}` on line {i + 1})"
        for lvl in (below, above)
        if lvl is not None and (i := _line_at(lines, line_no, lvl)) >= 0
    )
    hint = f"indent it by {options} spaces: YAML nests by indentation"
    if run_on:
        hint += "; or, if it goes on the value above, quote that value"
    spaces = f"{n} space{'s' if n != 1 else ''}"
    return f"line {line_no + 1} is indented {spaces}, in line with no key above it", hint, n + 1


def _key(line: str) -> str:
    """How a line starts, for a hint: `hero:`, `- a`."""
    body = line.strip()
    head, colon, _ = body.partition(":")
    return f"{head}:" if colon and " " not in head.lstrip("- ") else body[:20]


def _line_at(lines: list[str], before: int, indent: int) -> int:
    """The nearest significant line above ``before`` with exactly ``indent`` spaces."""
    for i in range(before - 1, -1, -1):
        if _significant(lines[i]) and _indent(lines[i]) == indent:
            return i
    return -1
