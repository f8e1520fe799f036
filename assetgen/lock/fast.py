"""Reading a lock in assetgen's own canonical layout without a YAML parser.

A lock written by assetgen has one fixed layout (see ``lock.format_lock``), and a
100,000-asset lock takes a YAML parser tens of seconds and gigabytes to read with
positions. This reads that layout line by line, then proves itself: it formats
what it read and accepts the result only if that gives back the very same text.
Anything else (a hand edit, a merge, another layout) returns None and is read by
the YAML path, with its located errors.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from ..outpaths import derived_path_problem, path_problem
from ..spec import HASH_VERSION, REQUEST_FIELDS
from .check import entry_problem
from .model import HEADER, LOCK_VERSION, DerivedEntry, LockEntry, Lockfile, format_lock

_decoder = json.JSONDecoder()


class _Mismatch(Exception):
    pass


def _scalar(text: str, pos: int, stops: str) -> tuple[str, int]:
    """A plain or double-quoted scalar starting at ``pos``; returns (value, end)."""
    if text.startswith('"', pos):
        value, end = _decoder.raw_decode(text, pos)
        if not isinstance(value, str):
            raise _Mismatch
        return value, end
    end = pos
    while end < len(text) and text[end] not in stops:
        end += 1
    return text[pos:end], end


def _request(text: str) -> dict[str, Any]:
    if not (text.startswith("{") and text.endswith("}")):
        raise _Mismatch
    out: dict[str, Any] = {}
    pos = 1
    for i, field in enumerate(REQUEST_FIELDS):
        prefix = f"{field}: "
        if not text.startswith(prefix, pos):
            raise _Mismatch
        raw, pos = _scalar(text, pos + len(prefix), ",}")
        if field == "seed":
            out[field] = int(raw)
        elif field == "nsfw_check":
            out[field] = {"true": True, "false": False}[raw]
        else:
            out[field] = raw
        sep = "}" if i == len(REQUEST_FIELDS) - 1 else ", "
        if not text.startswith(sep, pos):
            raise _Mismatch
        pos += len(sep)
    if pos != len(text):
        raise _Mismatch
    return out


def _list(text: str) -> tuple[str, ...]:
    if not (text.startswith("[") and text.endswith("]")):
        raise _Mismatch
    items = []
    pos = 1
    while pos < len(text) - 1:
        value, pos = _scalar(text, pos, ",]")
        items.append(value)
        if text.startswith(", ", pos):
            pos += 2
    return tuple(items)


@functools.cache
def _safe_path() -> re.Pattern[str]:
    from ..schema.shipped import load_schema

    return re.compile(load_schema("lock")["$defs"]["entry"]["properties"]["path"]["pattern"])


_HEX = re.compile(r"[0-9a-f]{64}")
_DERIVED_KEYS = ("path", "sha256", "bytes", "width", "height", "recipe")


def _derived(text: str) -> DerivedEntry:
    """``{path: ..., sha256: ..., bytes: N, width: N, height: N, recipe: "sha256:..."}``"""
    if not (text.startswith("{") and text.endswith("}")):
        raise _Mismatch
    values: list[str] = []
    pos = 1
    for i, key in enumerate(_DERIVED_KEYS):
        prefix = f"{key}: "
        if not text.startswith(prefix, pos):
            raise _Mismatch
        raw, pos = _scalar(text, pos + len(prefix), ",}")
        values.append(raw)
        sep = "}" if i == len(_DERIVED_KEYS) - 1 else ", "
        if not text.startswith(sep, pos):
            raise _Mismatch
        pos += len(sep)
    if pos != len(text):
        raise _Mismatch
    path, sha, size, width, height, recipe = values
    numbers = (int(size), int(width), int(height))
    if (
        not _HEX.fullmatch(sha)
        or not recipe.startswith("sha256:")
        or not _HEX.fullmatch(recipe[7:])
        or min(numbers) < 0
        or max(numbers) > 1 << 62
        or derived_path_problem(path)
    ):
        raise _Mismatch  # the YAML path says where and why
    return DerivedEntry(path, sha, *numbers, recipe)


def _entry(name: str, fields: dict[str, str], derived: list[str] | None = None) -> LockEntry:
    # Values written raw must be exactly what the YAML reader accepts (the checks are
    # the same ones): anything else (a trailing comment, `null`, a NaN, a negative
    # size) is YAML's to read, and the full reader's to refuse with its position.
    size, width, height = int(fields["bytes"]), int(fields["width"]), int(fields["height"])
    credits = float(fields["credits"])
    values = {
        "spec_hash": fields["spec_hash"],
        "sha256": fields["sha256"],
        "bytes": size,
        "width": width,
        "height": height,
        "format": fields.get("format"),
        "credits": credits,
    }
    if entry_problem(name, values) is not None:
        raise _Mismatch
    entry = LockEntry(
        spec_hash=fields["spec_hash"],
        request=_request(fields["request"]),
        path=_scalar(fields["path"], 0, "")[0],
        sha256=fields["sha256"],
        bytes=size,
        width=width,
        height=height,
        format=fields.get("format"),
        task_id=_scalar(fields["task_id"], 0, "")[0] if "task_id" in fields else None,
        results=(),  # as lock._entry: an old lock's result links are ignored
        credits=credits,
        generated_at=_scalar(fields["generated_at"], 0, "")[0]
        if "generated_at" in fields
        else None,
        edited={"true": True}[fields["edited"]] if "edited" in fields else False,
        derived=tuple(map(_derived, derived)) if derived else (),
    )
    if not _safe_path().search(entry.path) or path_problem(entry.path):
        raise _Mismatch  # the YAML path says where and why
    return entry


def parse_canonical(text: str) -> Lockfile | None:
    """The lock in ``text`` if it is exactly in assetgen's layout, else None."""
    try:
        return _parse(text)
    except (_Mismatch, ValueError, KeyError, IndexError):
        return None


def _parse(text: str) -> Lockfile | None:
    if not text.startswith(HEADER):
        return None
    lines = text[len(HEADER) :].split("\n")
    if lines[0] != f"version: {LOCK_VERSION}" or not lines[1].startswith("hash_version: "):
        return None
    hash_version = int(lines[1][len("hash_version: ") :])
    if not 1 <= hash_version <= HASH_VERSION:
        return None  # a newer or impossible version: the full reader says which
    entries: dict[str, LockEntry] = {}
    if lines[2] != "assets:":
        return Lockfile({}, LOCK_VERSION, hash_version) if lines[2] == "assets: {}" else None
    name: str | None = None
    fields: dict[str, str] = {}
    derived: list[str] | None = None
    for line in lines[3:]:
        if derived is not None and line.startswith("      - "):
            derived.append(line[8:])
        elif line == "    derived:" and derived is None and name is not None:
            derived = []
        elif derived is not None and line.startswith("    "):
            return None  # nothing follows the derived list in an entry
        elif line.startswith("    "):
            key, sep, value = line[4:].partition(": ")
            if not sep or key in fields:
                return None
            fields[key] = value
        elif line.startswith("  ") and line.endswith(":"):
            if name is not None:
                entries[name] = _entry(name, fields, derived)
            name, fields, derived = _scalar(line[2:-1], 0, "")[0], {}, None
        elif line == "":
            continue
        else:
            return None
    if name is not None:
        entries[name] = _entry(name, fields, derived)
    lock = Lockfile(entries, LOCK_VERSION, hash_version)
    return lock if format_lock(lock) == text else None
