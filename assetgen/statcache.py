"""Which outputs still have the bytes we think, without reading them: git's index trick.

For each output we remember (size, mtime_ns, inode, ctime_ns) and the sha256 seen
with them; while all four match, the digest is trusted. The ctime is there as git's
``core.trustctime`` has it: a tool that writes a file in place and puts its mtime back
(``touch -r``, ``cp -p``, ``rsync -t --inplace``) cannot set the ctime, so its edit is
still read. An entry whose mtime is within RACY_NS of the moment it is recorded is
not remembered (a write in the same clock tick could change the bytes without
changing the stat), so it is hashed again next time, as git does with "racily clean"
entries.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterable
from pathlib import Path

from . import memo
from .fsutil import sha256_file

RACY_NS = 2_000_000_000
_KEY = "stat-v2"  # rows (size, mtime_ns, inode, ctime_ns, sha256)
Row = tuple[int, int, int, int, str]


def stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    """What a file's remembered digest is trusted by (see the module docstring)."""
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def racy(st: os.stat_result) -> bool:
    """Too fresh to remember: a write in the same clock tick would not show in the stat."""
    return st.st_mtime_ns >= time.time_ns() - RACY_NS


class StatCache:
    """The stat rows of masters (``stat.memo``) and of derived files
    (``stat-derived.memo``, loaded only when a plan asks about a derived file): a null
    plan vouches for derived files through the derived memo's signatures instead
    (plan/memoized.py), so it need not load 30,000 rows it would not read."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        loaded = memo.load(path, _KEY) if path is not None else None
        self.entries: dict[str, Row] = loaded if isinstance(loaded, dict) else {}
        self._derived: dict[str, Row] | None = None
        self.dirty = False
        self._derived_dirty = False
        self.hashed = 0  # how many files this run had to read (for tests and benchmarks)

    @property
    def derived_entries(self) -> dict[str, Row]:
        if self._derived is None:
            at = self._derived_path
            loaded = memo.load(at, _KEY) if at is not None else None
            self._derived = loaded if isinstance(loaded, dict) else {}
        return self._derived

    @property
    def _derived_path(self) -> Path | None:
        # Not `<x>.derived.memo`: that is what Project.state_file names for a manifest
        # called `x.yaml`, and a manifest may be called `stat.yaml`.
        return None if self.path is None else self.path.with_name("stat-derived.memo")

    def digests(
        self, root: Path | str, paths: Iterable[str], *, derived: bool = False
    ) -> dict[str, str | None]:
        """``digest`` of every path: the same answers, with the trusted case inlined,
        since a null plan asks this once per output. ``derived``: the paths are derived
        files, whose rows are kept apart."""
        entries = self.derived_entries if derived else self.entries
        stat, sep, out = os.stat, os.sep, {}
        for rel in paths:
            known = entries.get(rel)
            if known is not None:
                try:
                    st = stat(f"{root}{sep}{rel}")
                except OSError:
                    out[rel] = self.digest(root, rel, derived=derived)  # gone: forgotten there
                    continue
                if (  # stat_key, inlined
                    known[0] == st.st_size
                    and known[1] == st.st_mtime_ns
                    and known[2] == st.st_ino
                    and known[3] == st.st_ctime_ns
                ):
                    out[rel] = known[4]
                    continue
            out[rel] = self.digest(root, rel, derived=derived)  # new or changed: hashed there
        return out

    def digest(self, root: Path | str, rel: str, *, derived: bool = False) -> str | None:
        """The sha256 of ``root/rel``, or None when there is no such file."""
        entries = self.derived_entries if derived else self.entries
        full = f"{root}{os.sep}{rel}"  # not pathlib: this runs once per output on every plan
        try:
            st = os.stat(full)
        except OSError:  # missing, or not reachable: either way there is no usable file
            if rel in entries:
                del entries[rel]
                self._touch(derived)
            return None
        known = entries.get(rel)
        if known is None and derived and rel in self.entries:
            known = self.entries.pop(rel)  # a row from before derived rows were kept apart
            self.dirty = True
        if known is not None and known[:4] == stat_key(st):
            if entries.get(rel) is not known:
                entries[rel] = known
                self._touch(derived)
            return known[4]
        try:
            sha = sha256_file(Path(full))
        except OSError:  # a directory, or unreadable: not an output we can vouch for
            return None
        self.hashed += 1
        self.record(rel, st, sha, derived=derived)
        return sha

    def record(self, rel: str, st: os.stat_result, sha: str, *, derived: bool = False) -> None:
        """Remember ``sha`` for this stat, unless the file is too fresh to trust."""
        entries = self.derived_entries if derived else self.entries
        if racy(st):
            if entries.pop(rel, None) is not None:
                self._touch(derived)
            return
        entries[rel] = (*stat_key(st), sha)
        self._touch(derived)

    def _touch(self, derived: bool) -> None:
        if derived:
            self._derived_dirty = True
        else:
            self.dirty = True

    def save(self) -> None:
        if self.path is None:
            return
        if self.dirty:
            memo.store(self.path, _KEY, self.entries)
            self.dirty = False
        if self._derived_dirty and self._derived is not None:
            memo.store(self._derived_path, _KEY, self._derived)  # type: ignore[arg-type]
            self._derived_dirty = False


# The stat rows of a group of files, packed: ``stat_key`` per file, in order, as signed
# 64-bit integers. Bytes rather than a tuple of ints: the derived memo holds
# one per asset (10,000 on a large project), and bytes load and compare in one step.
Signature = bytes
_ROW = struct.Struct("=qqqq")


def signature(stats: StatCache, paths: Iterable[str], digests: Iterable[str]) -> Signature | None:
    """The stat rows of ``paths`` as ``stats`` trusts them, when each row's digest is
    the one given (the locked bytes); None when any is not (or is racily fresh, which
    the stat cache does not remember). Read just after ``stats.digests`` saw them."""
    out = bytearray()
    entries = stats.derived_entries
    for rel, sha in zip(paths, digests, strict=True):
        row = entries.get(rel)
        if row is None or row[4] != sha:
            return None
        try:
            out += _ROW.pack(*row[:4])
        except struct.error:  # beyond 64 bits: not a file system this trusts
            return None
    return bytes(out)


def unchanged_groups(
    root: str, groups: Iterable[tuple[str, Iterable[tuple[str, str]], object]]
) -> set[str]:
    """The names of the groups ``(name, ((path, _), ...), signature)`` whose files all
    stat as ``signature`` recorded them, in order: the stat cache's own trust rule
    (``stat_key``) for a group of files at once, without their per-file rows. One loop
    for a whole project: a call per asset costs as much as the comparison on a null
    plan of 10,000. A signature comes from a local memo, so any value that is not one
    for these paths simply does not match."""
    stat, sep, pack = os.stat, os.sep, _ROW.pack
    out: set[str] = set()
    for name, pairs, sig in groups:
        if type(sig) is not bytes:
            continue
        got = bytearray()
        try:
            for rel, _ in pairs:
                st = stat(f"{root}{sep}{rel}")
                got += pack(st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)  # stat_key
        except (OSError, ValueError, struct.error):
            continue
        if got == sig:
            out.add(name)
    return out
