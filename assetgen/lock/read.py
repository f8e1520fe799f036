"""Reading ``assetgen.lock``: the canonical fast path first, then YAML with positions, every entry checked."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import memo
from ..errors import LockfileError, ManifestError
from ..outpaths import derived_path_problem, path_problem, shown
from ..schema.yamlhints import conflict_marker
from ..spec import HASH_VERSION, REQUEST_FIELDS
from ..statcache import racy, stat_key
from .check import entry_problem, mismatched

if TYPE_CHECKING:
    from ..schema.yamlpos import Positions
from .model import (
    _LAYOUT,
    _RESTORE_HINT,
    LOCK_NAME,
    LOCK_VERSION,
    MAX_LOCK_BYTES,
    DerivedEntry,
    LockEntry,
    Lockfile,
    _remember,
    decode_derived,
    derived_memo_path,
)


def read_lock(path: Path, memo_path: Path | None = None) -> Lockfile:
    """The lock at ``path`` (an empty one when there is none yet), verified: every
    request hashes to its spec hash. The memo, keyed by the lock's bytes, holds only
    verified locks, so an unchanged lock is checked once, not on every plan; and while
    the lock file stats as it did when its digest was last taken (``known_digest``),
    not even its bytes are read again."""
    if memo_path is not None:
        known = known_digest(path, memo_path)
        if known is not None and (hit := _memoised(path, memo_path, known)) is not None:
            return hit
    try:
        before = os.stat(path)
        data = path.read_bytes()
    except FileNotFoundError:
        return Lockfile()
    except IsADirectoryError:
        raise LockfileError(
            f"{path.name}: is a directory, not a lock file\n"
            "  hint: move it away: assetgen keeps its lock in this file"
        ) from None
    except OSError as exc:
        raise LockfileError(
            f"{path.name}: cannot read the lock ({exc.strerror or exc})\n"
            "  hint: check the file's permissions"
        ) from None
    key = hashlib.sha256(data).hexdigest()
    if memo_path is not None:
        hit = _memoised(path, memo_path, key)
        if hit is not None:
            _note_digest(path, memo_path, before, key)
            return hit
    lock = _parse(data, path.name)
    verify_spec_hashes(lock, data, path.name)
    if memo_path is not None:
        _remember(memo_path, key, lock)
        _note_digest(path, memo_path, before, key)
    return _sourced(lock, key)


def _parse(data: bytes, filename: str) -> Lockfile:
    """The lock in ``data``: assetgen's own layout without a YAML parser, else YAML."""
    from .fast import parse_canonical

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    return parse_canonical(text) or parse_lock(data, filename)


def _memoised(path: Path, memo_path: Path, key: str) -> Lockfile | None:
    cached = memo.load(memo_path, f"{key}|{_LAYOUT}")
    if cached is None:
        return None
    version, hash_version, rows = cached
    fetch = DerivedRows(path, memo_path, key).fetch
    entries = {}
    while rows:  # popping frees each row as its entry is made: a lower peak
        name, row = rows.popitem()
        entries[name] = LockEntry.from_tuple(row, fetch, name)
    return _sourced(Lockfile(entries, version=version, hash_version=hash_version), key)


class DerivedRows:
    """The derived rows of a memo-loaded lock, loaded on the first entry asked for
    them (model.py's ``Pending``): from their own memo, or, when that is lost or is
    another lock's, from the lock file itself, which must still be the bytes the lock
    was read from (its digest is checked): a lock changed in the meantime is an error
    to run again, never a mix of two locks."""

    def __init__(self, path: Path, memo_path: Path, key: str) -> None:
        self.path, self.memo_path, self.key = path, memo_path, key
        self.rows: dict[str, Any] | None = None

    def fetch(self, name: str) -> tuple[DerivedEntry, ...]:
        if self.rows is None:
            with memo.long_lived():
                got = memo.load(derived_memo_path(self.memo_path), f"{self.key}|{_LAYOUT}")
                self.rows = got if isinstance(got, dict) and _rows_ok(got) else self._from_lock()
        rows = self.rows.get(name)
        return decode_derived(rows) if rows else ()

    def _from_lock(self) -> dict[str, Any]:
        """The rows from the lock file, when their memo is missing, stale or damaged."""
        try:
            data = self.path.read_bytes()
        except OSError:
            data = b""
        if hashlib.sha256(data).hexdigest() != self.key:
            raise LockfileError(
                f"{self.path.name}: changed while assetgen was reading it\n"
                "  hint: run the command again"
            )
        lock = _parse(data, self.path.name)  # its spec hashes were verified with this digest
        return {n: tuple(map(tuple, e.derived)) for n, e in lock.entries.items() if e.derived}


_ROW_TYPES = (str, str, int, int, int, str)  # DerivedEntry's fields


def _rows_ok(got: object) -> bool:
    """A derived memo's value as ``_remember`` writes it: name -> rows of DerivedEntry's
    field types. Anything else (a damaged or foreign file) is read from the lock."""
    if not isinstance(got, dict):
        return False
    for name, rows in got.items():
        if type(name) is not str or type(rows) is not tuple:
            return False
        for row in rows:
            if type(row) is not tuple or len(row) != len(_ROW_TYPES):
                return False
            if not all(type(v) is t for v, t in zip(row, _ROW_TYPES, strict=True)):
                return False
    return True


_STAT_KEY = "lock-stat-v1"


def _stat_memo(memo_path: Path) -> Path:
    """``<stem>.lock.stat.memo`` beside ``<stem>.lock.memo``."""
    assert memo_path.name.endswith(".memo")  # a bug otherwise: it would be the memo itself
    return memo_path.with_name(memo_path.name.removesuffix(".memo") + ".stat.memo")


def known_digest(path: Path, memo_path: Path) -> str | None:
    """The sha256 of the lock's bytes without reading them: the one noted with its
    (size, mtime_ns, inode, ctime_ns) when all four still match (the stat cache's
    trust rule, statcache.py). A null plan of a large project reads a lock of several
    megabytes otherwise, only to find the digest it already knew."""
    row = memo.load(_stat_memo(memo_path), _STAT_KEY)
    if type(row) is not tuple or len(row) != 5:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if row[:4] != stat_key(st):
        return None
    return row[4] if isinstance(row[4], str) and len(row[4]) == 64 else None


def _note_digest(path: Path, memo_path: Path, before: os.stat_result, key: str) -> None:
    """Note ``key`` for the lock's stat, when the file did not change while it was read
    and is not so fresh that a same-tick write could hide behind an unchanged stat."""
    try:
        after = os.stat(path)
    except OSError:
        return
    row = stat_key(after)
    if row != stat_key(before) or racy(after):
        return
    memo.store(_stat_memo(memo_path), _STAT_KEY, (*row, key))


def _sourced(lock: Lockfile, key: str) -> Lockfile:
    """``lock`` stamped with the digest of the bytes it was read from (``Lockfile.source``)."""
    object.__setattr__(lock, "source", key)
    return lock


def verify_spec_hashes(lock: Lockfile, data: bytes, filename: str = LOCK_NAME) -> None:
    """A LockfileError at the first entry whose request does not hash to its spec hash.

    Such a lock was edited by hand: it records a request that was never sent, and
    planning against it would say "No changes" for what it claims. A lock of an older
    hash version hashed differently; it plans as updates instead.
    """
    if lock.hash_version != HASH_VERSION:
        return
    bad = mismatched(lock.entries)
    if not bad:
        return
    from ..schema import yamlpos

    # Either reader accepted these bytes, so they are YAML with positions to report.
    _, positions = yamlpos.load(data, filename, max_bytes=MAX_LOCK_BYTES)
    line, col = positions.of(("assets", bad[0], "request"))
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    raise LockfileError(
        f"{filename}:{line}:{col}: asset `{bad[0]}`: the request does not hash to its "
        f"spec_hash{more}: the lock was edited by hand and records a request never sent\n"
        "  hint: restore the lock from git (`git checkout -- assetgen.lock`) "
        "and change assetgen.yaml instead"
    )


def parse_lock(data: bytes, filename: str = LOCK_NAME) -> Lockfile:
    """Parse and validate lock text; a LockfileError names the line of the first problem."""
    from ..schema import shipped as schema
    from ..schema import yamlpos

    marker = conflict_marker(data)
    if marker:
        raise LockfileError(
            f"{filename}:{marker}:1: the lock has git conflict markers\n"
            "  hint: take either side (`git checkout --theirs assetgen.lock`) and run "
            "`assetgen build`: it restores the other side's assets from the cache or rebuilds them"
        )
    try:
        doc, positions = yamlpos.load(data, filename, max_bytes=MAX_LOCK_BYTES, hand_written=False)
    except ManifestError as exc:
        raise LockfileError(f"{exc}\n{_RESTORE_HINT}") from None
    if not isinstance(doc, dict):
        raise LockfileError(
            f"{filename}:1:1: not an assetgen lock (expected a mapping with `version` and `assets`)"
            f"\n{_RESTORE_HINT}"
        )
    for key, supported in (("version", LOCK_VERSION), ("hash_version", HASH_VERSION)):
        value = doc.get(key)
        if isinstance(value, float):  # the schema's integers include 2.0: not ours
            line, col = positions.of((key,))
            raise LockfileError(
                f"{filename}:{line}:{col}: lock {key} must be a whole number, not {value!r}"
                f"\n{_RESTORE_HINT}"
            )
        if isinstance(value, int) and not isinstance(value, bool) and value > supported:
            line, col = positions.of((key,))
            raise LockfileError(
                f"{filename}:{line}:{col}: lock {key} {value} was written by a newer assetgen "
                f"(this one reads {key} {supported})\n"
                "  hint: upgrade assetgen (pip install -U assetgen-cli)"
            )
    _check_paths(doc, positions, filename)  # before the schema: its message is plainer
    problems = schema.validate("lock", doc, positions, filename)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise LockfileError(f"{first}{more}\n{_RESTORE_HINT}")
    entries = {}
    for name, body in (doc.get("assets") or {}).items():
        problem = entry_problem(str(name), {"credits": 0.0, "format": None, **body})
        if problem:
            field_name, what = problem
            line, col = positions.of(
                ("assets", name, field_name) if field_name else ("assets", name), key=not field_name
            )
            raise LockfileError(f"{filename}:{line}:{col}: asset `{name}`: {what}\n{_RESTORE_HINT}")
        entries[str(name)] = _entry(body)
    return Lockfile(entries, int(doc["version"]), int(doc.get("hash_version", HASH_VERSION)))


def _check_paths(doc: dict[str, Any], positions: Positions, filename: str) -> None:
    """A LockfileError at the first entry whose path no output may have (outpaths.py)."""
    assets = doc.get("assets")
    for name, body in assets.items() if isinstance(assets, dict) else ():
        path = body.get("path") if isinstance(body, dict) else None
        if isinstance(path, str) and (problem := path_problem(path)) is not None:
            line, col = positions.of(("assets", name, "path"))
            raise LockfileError(
                f"{filename}:{line}:{col}: assets.{name}.path `{shown(path)}` {problem}; "
                f"assetgen writes and deletes only its own images\n{_RESTORE_HINT}"
            )
        derived = body.get("derived") if isinstance(body, dict) else None
        for i, item in enumerate(derived if isinstance(derived, list) else ()):
            path = item.get("path") if isinstance(item, dict) else None
            if isinstance(path, str) and (problem := derived_path_problem(path)) is not None:
                line, col = positions.of(("assets", name, "derived", i, "path"))
                raise LockfileError(
                    f"{filename}:{line}:{col}: assets.{name}.derived[{i}].path `{shown(path)}` "
                    f"{problem}; assetgen writes and deletes only its own files\n{_RESTORE_HINT}"
                )


def _entry(body: dict[str, Any]) -> LockEntry:
    return LockEntry(
        spec_hash=body["spec_hash"],
        request={f: body["request"][f] for f in REQUEST_FIELDS},
        path=body["path"],
        sha256=body["sha256"],
        bytes=body["bytes"],
        width=body["width"],
        height=body["height"],
        format=body.get("format"),
        task_id=body.get("task_id"),
        results=(),  # result links expire and may carry a token: never kept (old locks had them)
        credits=float(body.get("credits", 0.0)),
        generated_at=body.get("generated_at"),
        edited=body.get("edited") is True,
        derived=tuple(
            DerivedEntry(d["path"], d["sha256"], d["bytes"], d["width"], d["height"], d["recipe"])
            for d in body.get("derived", ())
        ),
    )
