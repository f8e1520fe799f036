"""A git merge driver for ``assetgen.lock``: a three-way merge per asset, never markers.

Git merges text line by line, so two branches that add assets next to each other
in the sorted lock conflict although they touch different assets. The lock is a
record of what was built, per asset, so it merges per asset instead:

- changed (added, updated, deleted) on one side only: that side's entry;
- the same on both sides: that entry;
- changed differently on both sides: ours, with a notice. The lock stays valid;
  if the merged manifest asks for theirs, the next plan shows the asset as
  ``update``, served from the cache (local or remote) when their image is there;
- deleted on one side, changed on the other: the changed entry (a plan deletes it
  if the manifest no longer has the asset, and nothing paid for is forgotten).

Set up with ``assetgen init --git`` (``gitattributes_setup``) and the one
``git config`` line it prints; git then runs ``assetgen merge-lock %O %A %B %P``.
Exit codes follow git's driver contract: 0 with the merge written to %A (also
when ours was kept for an asset: the lock is consistent, the notice says why);
2 when an input cannot be read (conflict markers, invalid YAML, a newer lock
version): %A is left as it was, so git reports a conflict to resolve by hand.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from ..errors import LockfileError
from ..fsutil import atomic_write
from .model import (
    LOCK_NAME,
    LOCK_VERSION,
    DerivedEntry,
    LockEntry,
    Lockfile,
    format_entry,
    format_lock,
)

DRIVER = "assetgen"
GIT_CONFIG_LINE = f'git config merge.{DRIVER}.driver "assetgen merge-lock %O %A %B %P"'


@dataclass(frozen=True, slots=True)
class Conflict:
    """An asset both sides changed differently (or one deleted and one changed)."""

    name: str
    kept: str  # "ours" or "theirs"
    why: str

    def notice(self, label: str = LOCK_NAME) -> str:
        return f"{label}: {self.name} {self.why}"


def merge_locks(
    base: Lockfile, ours: Lockfile, theirs: Lockfile
) -> tuple[Lockfile, list[Conflict]]:
    """The per-asset three-way merge of three locks (see the module docstring).

    Returns the merged lock (version and hash version: the newer of the two sides)
    and one Conflict per asset where a side had to be chosen.
    """
    merged: dict[str, LockEntry] = {}
    conflicts: list[Conflict] = []
    names = set(base.entries) | set(ours.entries) | set(theirs.entries)
    for name in sorted(names):
        b, o, t = base.get(name), ours.get(name), theirs.get(name)
        bt, ot, tt = (_text(name, e) for e in (b, o, t))
        if ot == tt or tt == bt:
            chosen = o
        elif ot == bt:
            chosen = t
        elif o is None:
            chosen = t
            conflicts.append(Conflict(name, "theirs", "deleted on our side, changed on theirs; kept theirs"))  # fmt: skip
        elif t is None:
            chosen = o
            conflicts.append(Conflict(name, "ours", "deleted on their side, changed on ours; kept ours"))  # fmt: skip
        elif _text(name, replace(o, derived=())) == _text(name, replace(t, derived=())):
            derived, both = _merge_derived(b, o, t)  # the same image: per file
            chosen = replace(o, derived=derived)
            conflicts.extend(
                Conflict(name, "ours", f"derived file {path} changed on both sides; kept ours "
                         "(the next build derives it again if the manifest wants theirs)")
                for path in both
            )  # fmt: skip
        else:
            chosen = o
            if o.spec_hash == t.spec_hash:
                why = "built on both sides from the same request; kept our image"
            else:
                why = (
                    "changed on both sides; kept ours, the next plan shows it as update "
                    "(served from cache when the other side's image is there)"
                )
            conflicts.append(Conflict(name, "ours", why))
        if chosen is not None:
            merged[name] = chosen
    hash_version = max(ours.hash_version, theirs.hash_version)
    return Lockfile(merged, LOCK_VERSION, hash_version), conflicts


def _merge_derived(
    b: LockEntry | None, o: LockEntry, t: LockEntry
) -> tuple[tuple[DerivedEntry, ...], list[str]]:
    """Both sides derived other files from the same master: merge them per path, as
    assets are merged (a file both changed differently: ours, and its path is returned
    as a conflict; the next build re-derives it if the manifest wants theirs)."""
    base = {d.path: d for d in b.derived} if b is not None else {}
    ours = {d.path: d for d in o.derived}
    theirs = {d.path: d for d in t.derived}
    out: list[DerivedEntry] = []
    both: list[str] = []
    for path in [
        *ours,
        *(p for p in theirs if p not in ours),
        *(p for p in base if p not in ours and p not in theirs),
    ]:
        bd, od, td = base.get(path), ours.get(path), theirs.get(path)
        chosen = td if od == bd else od
        if od is None and td is not None and td != bd:
            chosen = td  # deleted here, changed there: kept
        elif od is not None and td is not None and od != td and od != bd and td != bd:
            both.append(path)
        if chosen is not None:
            out.append(chosen)
    return tuple(out), both


def _text(name: str, entry: LockEntry | None) -> str | None:
    # Compared as written: exactly what a textual merge would see, minus the neighbours.
    return None if entry is None else format_entry(name, entry)


def read_side(path: Path, label: str = LOCK_NAME) -> Lockfile:
    """One side of a merge; a missing or empty file is an empty lock (git's %O when
    both sides added the lock). LockfileError when it cannot be read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Lockfile()
    except OSError as exc:
        raise LockfileError(f"{label}: cannot read {path} ({exc.strerror or exc})") from None
    if not data.strip():
        return Lockfile()
    from .fast import parse_canonical
    from .read import parse_lock

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    return parse_canonical(text) or parse_lock(data, label)


def merge_lock_files(
    base: Path, ours: Path, theirs: Path, *, label: str = LOCK_NAME, err: IO[str] | None = None
) -> int:
    """Merge the three files git passes (%O %A %B) into ``ours``, atomically.

    Prints one notice per Conflict to ``err`` (stderr). Returns 0 when the merge was
    written, 2 when an input cannot be read (``ours`` untouched; git then reports
    the lock as conflicted).
    """
    err = err or sys.stderr
    try:
        sides = [read_side(p, label) for p in (base, ours, theirs)]
    except LockfileError as exc:
        err.write(f"assetgen merge-lock: {exc}\n")
        return 2
    merged, conflicts = merge_locks(*sides)
    for conflict in conflicts:
        err.write(conflict.notice(label) + "\n")
    atomic_write(ours, format_lock(merged).encode("utf-8"))
    return 0


def main(argv: Sequence[str] | None = None, *, err: IO[str] | None = None) -> int:
    """``assetgen merge-lock BASE OURS THEIRS [PATH]``: git's %O %A %B and, for messages, %P."""
    err = err or sys.stderr
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (3, 4):
        err.write(
            "usage: assetgen merge-lock BASE OURS THEIRS [PATH]\n"
            f"  a git merge driver; set it up with: {GIT_CONFIG_LINE}\n"
        )
        return 2
    label = args[3] if len(args) == 4 else LOCK_NAME
    return merge_lock_files(Path(args[0]), Path(args[1]), Path(args[2]), label=label, err=err)


def gitattributes_setup(root: Path, lock_name: str = LOCK_NAME) -> str:
    """Make ``root/.gitattributes`` send ``lock_name`` to the driver; returns what to tell the user.

    Idempotent, and keeps every other line. Git reads the driver's command from
    config, not from a committed file (a clone must not run commands it was handed),
    so each clone runs the one ``git config`` line in the returned message.
    """
    path = root / ".gitattributes"
    line = f"{lock_name} merge={DRIVER}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    present = any(existing.split() == line.split() for existing in text.splitlines())
    if not present:
        if text and not text.endswith("\n"):
            text += "\n"
        atomic_write(path, (text + line + "\n").encode("utf-8"))
    state = "already has" if present else "now has"
    return (
        f".gitattributes {state}: {line}\n"
        "run this once in each clone so git merges the lock per asset:\n"
        f"  {GIT_CONFIG_LINE}\n"
    )
