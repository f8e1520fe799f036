"""``assetgen.lock``: what was built from what.

The file is YAML in one fixed layout that assetgen writes by hand rather than
through a YAML emitter: sorted by asset name, one block per asset, one key per line
and the request on one line, so that a change to one asset is a change to that
asset's lines only, and two branches touching different assets merge cleanly.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import memo
from ..fsutil import atomic_write
from ..spec import HASH_VERSION, REQUEST_FIELDS, Request, format_for_path
from .check import mismatched
from .cost import RESTORE_HINT

if TYPE_CHECKING:
    pass

LOCK_VERSION = 1
LOCK_NAME = "assetgen.lock"
HEADER = (
    "# assetgen.lock: written by assetgen (what was built from what). Commit it; do not edit.\n"
)
MAX_LOCK_BYTES = 1 << 30  # a lock grows with the project; the manifest's limit does not apply
_RESTORE_HINT = RESTORE_HINT  # project.py adds what deleting the lock would cost (lockcost.py)


class DerivedEntry(NamedTuple):
    """One derived file of an asset, as built: its bytes, pixel size (0 x 0 for text)
    and the recipe hash (derive/recipe.py) it was made under."""

    path: str
    sha256: str
    bytes: int
    width: int
    height: int
    recipe: str


@dataclass(frozen=True, slots=True)
class LockEntry:
    spec_hash: str
    request: Mapping[str, Any]
    path: str
    sha256: str
    bytes: int
    width: int
    height: int
    format: str | None = None
    task_id: str | None = None
    results: tuple[str, ...] = ()
    credits: float = 0.0
    generated_at: str | None = None
    # The bytes were recorded by `assetgen adopt` (edited by hand), not generated: the
    # generated original stays in the cache under spec_hash (see adopt.py).
    edited: bool = False
    derived: tuple[DerivedEntry, ...] = ()  # the asset's derived files (derive: recipes)

    def __post_init__(self) -> None:
        # Credits come from gateways and cache records as well as from locks: a NaN or
        # a negative one never enters a lock (`credits: nan` would not even read back).
        if not 0.0 <= self.credits < math.inf:
            raise ValueError(f"credits must be a finite number >= 0, not {self.credits!r}")

    @property
    def image_format(self) -> str:
        """The format of the locked bytes: recorded, else implied by the path's extension
        (locks written before ``format`` was recorded)."""
        return self.format or format_for_path(self.path)

    def to_tuple(self) -> tuple[Any, ...]:
        """A plain tuple for the memo, in the order of the fields (the memo's key holds
        their layout); values most entries share are interned, so the memo stores them
        once and a loaded lock shares one string for all."""
        request = tuple(
            sys.intern(v) if isinstance(v, str) and f != "prompt" else v
            for f, v in zip(REQUEST_FIELDS, (self.request[f] for f in REQUEST_FIELDS), strict=True)
        )
        return tuple(
            request
            if f == "request"
            else tuple(map(tuple, v))  # marshal takes plain tuples only
            if f == "derived"
            else sys.intern(v)
            if f in _INTERNED and isinstance(v, str)
            else v
            for f, v in ((f, getattr(self, f)) for f in _ENTRY_FIELDS)
        )

    @classmethod
    def from_tuple(
        cls, t: tuple[Any, ...], fetch: Callable[[str], Any] | None = None, name: str = ""
    ) -> LockEntry:
        # A memo row: written only from a lock that was read and checked whole, so it is
        # set field by field without ``__post_init__`` (a null plan reads 10,000 of them).
        # Its derived files are a count when they were memoised apart (``fetch(name)``
        # then gets them on first use, see Pending), or the rows themselves.
        entry = object.__new__(cls)
        if len(t) != len(_ENTRY_FIELDS):
            raise ValueError("a lock memo row of another layout")  # a bug: keys hold it
        for field_name, value in zip(_PLAIN_FIELDS, t, strict=False):  # all but `derived`
            object.__setattr__(entry, field_name, value)
        object.__setattr__(entry, "request", Request(t[_REQUEST_AT]))
        derived = t[_DERIVED_AT]
        if type(derived) is int:
            if derived and fetch is None:
                raise ValueError("a count of derived files needs fetch")  # a bug
            later = Pending(fetch, name) if derived else ()
            object.__setattr__(entry, "derived", later)
        else:
            object.__setattr__(entry, "derived", decode_derived(derived) if derived else ())
        return entry

    def moved(self, path: str) -> LockEntry:
        return replace(self, path=path)


def decode_derived(rows: tuple[tuple[Any, ...], ...]) -> tuple[DerivedEntry, ...]:
    """Memo rows as DerivedEntry (tuple.__new__: a third of the cost of DerivedEntry(*d))."""
    return tuple([_new_tuple(DerivedEntry, d) for d in rows])


class Pending:
    """The derived files of a memo-loaded entry, not read yet: ``fetch(name)`` returns
    them (read.py's ``DerivedRows``). A null plan of 10,000 assets with derived files
    that its derived memo vouches for never looks at the lock's 30,000 derived rows, so
    they are kept in a memo of their own and loaded on the first entry that is asked."""

    __slots__ = ("fetch", "name")

    def __init__(self, fetch: Any, name: str) -> None:
        self.fetch = fetch
        self.name = name


class _LazyDerived:
    """``LockEntry.derived``, in place of the slot's own descriptor: a ``Pending`` value
    is fetched and replaced by the real tuple on first read, so every reader (the
    dataclass's eq, hash, repr and ``replace``, the writer, merges, views) sees a
    tuple of DerivedEntry as always."""

    def __init__(self, slot: Any) -> None:
        self.slot = slot

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = self.slot.__get__(obj, owner)
        if type(value) is Pending:
            value = value.fetch(value.name)
            self.slot.__set__(obj, value)
        return value

    def __set__(self, obj: object, value: Any) -> None:
        self.slot.__set__(obj, value)


setattr(LockEntry, "derived", _LazyDerived(LockEntry.__dict__["derived"]))  # noqa: B010

_ENTRY_FIELDS = tuple(f.name for f in fields(LockEntry))
_REQUEST_AT = _ENTRY_FIELDS.index("request")
_DERIVED_AT = _ENTRY_FIELDS.index("derived")
assert _ENTRY_FIELDS[-1] == "derived"  # from_tuple sets it apart, after the rest
_PLAIN_FIELDS = _ENTRY_FIELDS[:_DERIVED_AT]
_new_tuple = tuple.__new__
_INTERNED = frozenset({"format", "generated_at"})


@dataclass(frozen=True)
class Lockfile:
    entries: Mapping[str, LockEntry] = field(default_factory=dict)
    version: int = LOCK_VERSION
    hash_version: int = HASH_VERSION
    # The sha256 of the bytes this lock was read from ('' for a lock made in memory).
    # Not an init field, so ``replace()`` and every other constructor leave it '': a value
    # keyed by it (the derived memo, plan/memoized.py) is never served for a lock
    # that was changed after it was read.
    source: str = field(default="", init=False, compare=False, repr=False)

    def get(self, name: str) -> LockEntry | None:
        return self.entries.get(name)


# The lock memo holds rows in the order of LockEntry's fields: keyed by that layout
# too, a memo written before a field was added, removed or reordered is never read.
_LAYOUT = memo.layout(
    LockEntry, Lockfile, REQUEST_FIELDS, DerivedEntry._fields, "derived rows apart"
)


# --- writing -------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")
_NOT_PLAIN = re.compile(
    r"""(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o?[0-7_]+|0b[01_]+
    |[-+]?\.[0-9]+|\.(?:inf|nan)|y|n|yes|no|on|off|true|false|null|~|[0-9]+:[0-9:]+
    |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt].*)?)""",
    re.X | re.I,
)
# Characters YAML does not allow raw inside a double-quoted scalar, beyond what JSON escapes.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def yaml_str(s: str) -> str:
    """A YAML scalar for ``s``: plain when that reads back as the same string, else quoted."""
    if _PLAIN.fullmatch(s) and not _NOT_PLAIN.fullmatch(s):
        return s
    quoted = json.dumps(s, ensure_ascii=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _yaml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return yaml_str(v)
    raise TypeError(f"cannot write {type(v).__name__} to the lock")  # a bug, not user input


def format_entry(name: str, e: LockEntry) -> str:
    request = ", ".join(f"{k}: {_yaml_value(e.request[k])}" for k in REQUEST_FIELDS)
    lines = [
        f"  {yaml_str(name)}:",
        f"    spec_hash: {e.spec_hash}",
        f"    request: {{{request}}}",
        f"    path: {yaml_str(e.path)}",
        f"    sha256: {yaml_str(e.sha256)}",  # quoted only if YAML would read a number
        f"    bytes: {e.bytes}",
        f"    width: {e.width}",
        f"    height: {e.height}",
    ]
    if e.format:
        lines.append(f"    format: {e.format}")
    if e.task_id:
        lines.append(f"    task_id: {yaml_str(e.task_id)}")
    lines.append(f"    credits: {_credits(e.credits)}")
    if e.generated_at:
        lines.append(f"    generated_at: {yaml_str(e.generated_at)}")
    if e.edited:
        lines.append("    edited: true")
    if e.derived:
        lines.append("    derived:")
        lines.extend(map(format_derived, e.derived))
    return "\n".join(lines) + "\n"


def format_derived(d: DerivedEntry) -> str:
    """One derived file on one line: a change to it is a change to that line only."""
    return (
        f"      - {{path: {yaml_str(d.path)}, sha256: {yaml_str(d.sha256)}, bytes: {d.bytes}, "
        f"width: {d.width}, height: {d.height}, recipe: {yaml_str(d.recipe)}}}"
    )


def _credits(value: float) -> str:
    # Always digits with a point: repr() would write 1e+16, which YAML reads as a string.
    text = f"{float(value):.6f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def format_lock(lock: Lockfile) -> str:
    """The lock's text: byte-for-byte a function of its entries."""
    parts = [HEADER, f"version: {LOCK_VERSION}\n", f"hash_version: {lock.hash_version}\n"]
    if not lock.entries:
        parts.append("assets: {}\n")
    else:
        parts.append("assets:\n")
        parts.extend(format_entry(n, lock.entries[n]) for n in sorted(lock.entries))
    return "".join(parts)


def write_lock(path: Path, lock: Lockfile, memo_path: Path | None = None) -> bool:
    """Write the lock atomically unless it already has these bytes; True if it was written.

    The parsed form is memoised too, so the plan after a build need not parse it again.
    """
    data = format_lock(lock).encode("utf-8")
    try:
        unchanged = path.read_bytes() == data
    except FileNotFoundError:
        unchanged = False
    if not unchanged:
        atomic_write(path, data)
    if memo_path is not None:
        _remember(memo_path, hashlib.sha256(data).hexdigest(), lock)
    return not unchanged


def derived_memo_path(memo_path: Path) -> Path:
    """``<stem>.lock.derived.memo`` beside ``<stem>.lock.memo``: the entries' derived rows."""
    return memo_path.with_name(memo_path.name.removesuffix(".memo") + ".derived.memo")


def _remember(memo_path: Path, key: str, lock: Lockfile) -> None:
    """Memoise a lock that is known good: read and verified, or made by assetgen. The
    derived rows go in a memo of their own (see ``Pending``), written first: a lock memo
    whose derived memo is lost or stale reads the lock again (read.py)."""
    rows: dict[str, tuple[Any, ...]] = {}
    derived: dict[str, tuple[Any, ...]] = {}
    for n, e in lock.entries.items():
        row = e.to_tuple()
        if row[_DERIVED_AT]:
            derived[n] = row[_DERIVED_AT]
        rows[n] = (*row[:_DERIVED_AT], len(row[_DERIVED_AT]), *row[_DERIVED_AT + 1 :])
    memo.store(derived_memo_path(memo_path), f"{key}|{_LAYOUT}", derived)
    memo.store(memo_path, f"{key}|{_LAYOUT}", (lock.version, lock.hash_version, rows))


# --- reading -------------------------------------------------------------------------


def updated(lock: Lockfile, changes: Mapping[str, LockEntry | None]) -> Lockfile:
    """A new Lockfile with ``changes`` applied (None removes an entry)."""
    entries = dict(lock.entries)
    for name, entry in changes.items():
        if entry is None:
            entries.pop(name, None)
        else:
            entries[name] = entry
    hash_version = HASH_VERSION
    if lock.hash_version != HASH_VERSION and mismatched(entries):
        # Some entries still carry spec hashes of the older version: stamping the current
        # one on them would make the next read refuse the lock as edited by hand.
        hash_version = lock.hash_version
    return Lockfile(entries, LOCK_VERSION, hash_version)
