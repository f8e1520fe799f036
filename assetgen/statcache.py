"""Which outputs still have the bytes we think, without reading them: git's index trick.

For each output we remember (size, mtime_ns, inode) and the sha256 seen with them;
while all three match, the digest is trusted. An entry whose mtime is within
RACY_NS of the moment it is recorded is not remembered (a write in the same clock
tick could change the bytes without changing the stat), so it is hashed again next
time, as git does with "racily clean" entries.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from . import memo
from .fsutil import sha256_file

RACY_NS = 2_000_000_000
_KEY = "stat-v1"


class StatCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        loaded = memo.load(path, _KEY) if path is not None else None
        self.entries: dict[str, tuple[int, int, int, str]] = (
            loaded if isinstance(loaded, dict) else {}
        )
        self.dirty = False
        self.hashed = 0  # how many files this run had to read (for tests and benchmarks)

    def digests(self, root: Path | str, paths: Iterable[str]) -> dict[str, str | None]:
        """``digest`` of every path: the same answers, with the trusted case inlined,
        since a null plan asks this once per output and per derived file."""
        entries, stat, sep, out = self.entries, os.stat, os.sep, {}
        for rel in paths:
            known = entries.get(rel)
            if known is not None:
                try:
                    st = stat(f"{root}{sep}{rel}")
                except OSError:
                    out[rel] = self.digest(root, rel)  # gone: forgotten there
                    continue
                if known[0] == st.st_size and known[1] == st.st_mtime_ns and known[2] == st.st_ino:
                    out[rel] = known[3]
                    continue
            out[rel] = self.digest(root, rel)  # new or changed: stat and hash it there
        return out

    def digest(self, root: Path | str, rel: str) -> str | None:
        """The sha256 of ``root/rel``, or None when there is no such file."""
        full = f"{root}{os.sep}{rel}"  # not pathlib: this runs once per output on every plan
        try:
            st = os.stat(full)
        except OSError:  # missing, or not reachable: either way there is no usable file
            if rel in self.entries:
                del self.entries[rel]
                self.dirty = True
            return None
        known = self.entries.get(rel)
        if (
            known is not None
            and known[0] == st.st_size
            and known[1] == st.st_mtime_ns
            and known[2] == st.st_ino
        ):
            return known[3]
        try:
            sha = sha256_file(Path(full))
        except OSError:  # a directory, or unreadable: not an output we can vouch for
            return None
        self.hashed += 1
        self.record(rel, st, sha)
        return sha

    def record(self, rel: str, st: os.stat_result, sha: str) -> None:
        """Remember ``sha`` for this stat, unless the file is too fresh to trust."""
        if st.st_mtime_ns >= time.time_ns() - RACY_NS:
            if self.entries.pop(rel, None) is not None:
                self.dirty = True
            return
        self.entries[rel] = (st.st_size, st.st_mtime_ns, st.st_ino, sha)
        self.dirty = True

    def save(self) -> None:
        if self.dirty and self.path is not None:
            memo.store(self.path, _KEY, self.entries)
            self.dirty = False
