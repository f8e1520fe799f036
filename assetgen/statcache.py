"""Which outputs still have the bytes we think, without reading them: git's index trick.

For each output we remember (size, mtime_ns, inode) and the sha256 seen with them;
while all three match, the digest is trusted. An entry whose mtime is within
RACY_NS of the moment it is recorded is not remembered (a write in the same clock
tick could change the bytes without changing the stat), so it is hashed again next
time, as git does with "racily clean" entries.
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
_KEY = "stat-v1"


class StatCache:
    """The stat rows of masters (``stat.memo``) and of derived files
    (``stat.derived.memo``, loaded only when a plan asks about a derived file): a null
    plan vouches for derived files through the derived memo's signatures instead
    (project.py), so it need not load 30,000 rows it would not read."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        loaded = memo.load(path, _KEY) if path is not None else None
        self.entries: dict[str, tuple[int, int, int, str]] = (
            loaded if isinstance(loaded, dict) else {}
        )
        self._derived: dict[str, tuple[int, int, int, str]] | None = None
        self.dirty = False
        self._derived_dirty = False
        self.hashed = 0  # how many files this run had to read (for tests and benchmarks)

    @property
    def derived_entries(self) -> dict[str, tuple[int, int, int, str]]:
        if self._derived is None:
            at = self._derived_path
            loaded = memo.load(at, _KEY) if at is not None else None
            self._derived = loaded if isinstance(loaded, dict) else {}
        return self._derived

    @property
    def _derived_path(self) -> Path | None:
        return None if self.path is None else self.path.with_name("stat.derived.memo")

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
                if known[0] == st.st_size and known[1] == st.st_mtime_ns and known[2] == st.st_ino:
                    out[rel] = known[3]
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
        if (
            known is not None
            and known[0] == st.st_size
            and known[1] == st.st_mtime_ns
            and known[2] == st.st_ino
        ):
            if entries.get(rel) is not known:
                entries[rel] = known
                self._touch(derived)
            return known[3]
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
        if st.st_mtime_ns >= time.time_ns() - RACY_NS:
            if entries.pop(rel, None) is not None:
                self._touch(derived)
            return
        entries[rel] = (st.st_size, st.st_mtime_ns, st.st_ino, sha)
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


# The stat rows of a group of files, packed: (size, mtime_ns, inode) per file, in order,
# as signed 64-bit integers. Bytes rather than a tuple of ints: the derived memo holds
# one per asset (10,000 on a large project), and bytes load and compare in one step.
Signature = bytes
_ROW = struct.Struct("=qqq")


def signature(stats: StatCache, paths: Iterable[str], digests: Iterable[str]) -> Signature | None:
    """The stat rows of ``paths`` as ``stats`` trusts them, when each row's digest is
    the one given (the locked bytes); None when any is not (or is racily fresh, which
    the stat cache does not remember). Read just after ``stats.digests`` saw them."""
    out = bytearray()
    entries = stats.derived_entries
    for rel, sha in zip(paths, digests, strict=True):
        row = entries.get(rel)
        if row is None or row[3] != sha:
            return None
        try:
            out += _ROW.pack(row[0], row[1], row[2])
        except struct.error:  # beyond 64 bits: not a file system this trusts
            return None
    return bytes(out)


def unchanged(root: str, paths: Iterable[str], sig: object) -> bool:
    """Whether every one of ``paths`` stats as ``signature`` recorded it: the stat
    cache's own trust rule (size, mtime_ns and inode all equal), for a group of files
    at once and without their per-file rows. ``sig`` comes from a local memo, so any
    value that is not a signature of these paths is simply False."""
    return bool(unchanged_groups(root, [("", ((p, "") for p in paths), sig)]))


def unchanged_groups(
    root: str, groups: Iterable[tuple[str, Iterable[tuple[str, str]], object]]
) -> set[str]:
    """The names of the groups ``(name, ((path, _), ...), signature)`` whose files are
    all ``unchanged``: one loop for a whole project (a call per asset costs as much as
    the comparison on a null plan of 10,000)."""
    stat, sep, pack = os.stat, os.sep, _ROW.pack
    out: set[str] = set()
    for name, pairs, sig in groups:
        if type(sig) is not bytes:
            continue
        got = bytearray()
        try:
            for rel, _ in pairs:
                st = stat(f"{root}{sep}{rel}")
                got += pack(st.st_size, st.st_mtime_ns, st.st_ino)
        except (OSError, ValueError, struct.error):
            continue
        if got == sig:
            out.add(name)
    return out
