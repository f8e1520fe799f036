"""What a lock entry's values must be, checked the same way by both lock readers.

The fast reader (``lockfast``) and the YAML reader (``lock.parse_lock``) must accept
exactly the same locks: a value one of them took and the other refused would make a
lock valid until its first hand edit. So the checks the schema cannot express well
(finite credits, digests that are exactly 64 lowercase hex digits with no trailing
newline, bounded integers) live here, and both readers call them. The spec-hash
check says whether a request still hashes to the spec hash recorded beside it: a
lock whose request was edited by hand records a prompt that was never sent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..spec import spec_hash

if TYPE_CHECKING:
    from .model import LockEntry

SPEC_HASH = re.compile(r"sha256:[0-9a-f]{64}")
SHA256 = re.compile(r"[0-9a-f]{64}")
NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
FORMATS = frozenset({"png", "jpeg", "webp"})
MAX_INT = (1 << 63) - 1  # sizes and pixel counts: what a 64-bit file system or decoder can mean


def credits_problem(value: object) -> str | None:
    """Why ``value`` cannot be a number of credits (None: it can)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "credits must be a number"
    if not math.isfinite(value) or value < 0:
        return f"credits must be a finite number >= 0, not {value!r}"
    return None


def credits(value: object) -> float:
    """``value`` as credits, or ValueError: a gateway's or a record's NaN never goes further."""
    problem = credits_problem(value)
    if problem:
        raise ValueError(problem)
    return float(value)  # type: ignore[arg-type]


def _int_problem(field: str, value: object, minimum: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{field} must be an integer"
    if not minimum <= value <= MAX_INT:
        return f"{field} must be an integer from {minimum} to {MAX_INT}, not {value}"
    return None


def entry_problem(name: str, values: Mapping[str, object]) -> tuple[str, str] | None:
    """(field, what is wrong) for the first bad value of entry ``name``, else None
    (field "" for the name itself). ``values`` maps field names to values as read."""
    if not NAME.fullmatch(name):
        return "", f"`{name}` is not an asset name ([a-z0-9][a-z0-9._-]*)"
    spec, sha = values.get("spec_hash"), values.get("sha256")
    if not (isinstance(spec, str) and SPEC_HASH.fullmatch(spec)):
        return "spec_hash", "spec_hash must be `sha256:` and 64 lowercase hex digits"
    if not (isinstance(sha, str) and SHA256.fullmatch(sha)):
        return "sha256", "sha256 must be 64 lowercase hex digits"
    for field, minimum in (("bytes", 0), ("width", 1), ("height", 1)):
        problem = _int_problem(field, values.get(field), minimum)
        if problem:
            return field, problem
    fmt = values.get("format")
    if fmt is not None and fmt not in FORMATS:
        return "format", f"format must be one of {', '.join(sorted(FORMATS))}"
    problem = credits_problem(values.get("credits"))
    if problem:
        return "credits", problem
    return None


def mismatched(entries: Mapping[str, LockEntry]) -> list[str]:
    """The names (sorted) whose request does not hash to their recorded spec hash.

    Only meaningful for a lock of the current hash version: an older one hashed
    differently, and plans as updates instead.
    """
    bad = []
    for name in sorted(entries):
        e = entries[name]
        try:
            ok = spec_hash(dict(e.request)) == e.spec_hash
        except (TypeError, ValueError):  # a request no canonical JSON can express
            ok = False
        if not ok:
            bad.append(name)
    return bad
