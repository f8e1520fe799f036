"""Keeping locked bytes safe while outputs move: staging, guarding targets, copying.

Before a build writes or removes anything, every locked file it is about to touch
gets its exact bytes into the cache, so a kill at any instant loses nothing that was
paid for; a path holding bytes that are neither cached nor a locked output (a user's
own file, or an output edited by hand) is never overwritten; and a move copies the
committed bytes themselves, never another generation the cache may hold.

A moved output's old file is removed only once all is written, and only if no
wanted output is that file: the same path, or (on a case-insensitive file system) a
path differing in case that is the same inode, so ``Icon.png`` -> ``icon.png`` leaves
one file on either kind of file system. Those removals are journalled as each move is
committed; a build stopped before it got to them leaves them to the next
(``finish_removals``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from ..cache.records import Cache, record_from_entry
from ..lock.model import LockEntry, Lockfile
from ..outpaths import shown, use_problem
from ..plan.actions import derived_paths, master_paths
from ..plan.planner import Action
from ..spec import AssetSpec, Manifest
from .journal import Journal
from .outputs import file_sha256, read_verified, remove_if_unchanged, write_output


def stage(root: Path, cache: Cache, entry: LockEntry) -> bool:
    """Make sure the cache holds ``entry``'s exact bytes; False if they are nowhere.

    An adopted edit's bytes are kept by digest only: the record of its spec is the
    generated original's, which ``build --force`` brings back.
    """
    if cache.read_blob(entry.sha256) is not None:
        return True
    data = read_verified(root, entry.path, entry.sha256)
    if data is None:
        return False
    if entry.edited:
        cache.add_blob(entry.sha256, data)
    else:
        cache.put(record_from_entry(entry), {entry.image_format: data})
    return True


def guard_targets(
    root: Path, cache: Cache, lock: Lockfile, work: tuple[Action, ...]
) -> dict[str, str]:
    """Stage locked bytes about to be overwritten or removed; refuse to overwrite others.

    Returns the assets that must not be written, with why: their output path holds
    bytes that are neither cached nor a locked output, which a build never overwrites.
    """
    by_path = {e.path.casefold(): e for e in lock.entries.values()}
    blocked: dict[str, str] = {}
    for a in work:
        if a.locked is not None and a.action in ("move", "update", "restore", "delete"):
            stage(root, cache, a.locked)
        if a.spec is None or a.action == "delete":
            continue
        target = a.spec.output
        # Decided before anything is generated: a path the write would refuse (a symlink
        # on the way) must not cost a generation first.
        problem = use_problem(root, target)
        if problem is not None:
            blocked[a.name] = f"{shown(target)}: not written: the path {problem}"
            continue
        if a.forced:
            continue  # --force: the user chose to replace what is at the path
        if a.action == "restore" and a.locked is not None and a.locked.path == target:
            continue  # restoring an asset's own output is what restore is for
        if a.action == "move" and a.source == target:
            continue
        have = file_sha256(root, target)
        if have is None or cache.read_blob(have) is not None:
            continue  # nothing there, or bytes safe in the cache: overwriting loses nothing
        owner = by_path.get(target.casefold())
        if owner is not None and owner.sha256 == have and stage(root, cache, owner):
            continue
        blocked[a.name] = (
            f"{target} exists and is not an unmodified assetgen output; "
            "move it away (or delete it) and build again"
        )
    return blocked


def move(
    root: Path, cache: Cache, entry: LockEntry, spec: AssetSpec, source: str | None
) -> LockEntry:
    """Copy the locked bytes to ``spec.output`` and return the moved entry.

    Raises OutputError when the target cannot be written; returns the entry unchanged
    but for its path when the file is already in place (moved by hand, or a rename).
    """
    if source == spec.output:
        return entry.moved(spec.output)
    data = read_verified(root, entry.path, entry.sha256) or cache.read_blob(entry.sha256)
    if data is None:
        from ..errors import OutputError

        raise OutputError(f"{entry.path} is gone and not cached; build again to restore it")
    new = entry.moved(spec.output)
    if spec.format != (entry.image_format):
        from .. import imaging

        data = imaging.convert(data, imaging.verify(data, entry.width, entry.height), spec.format)
        new = replace(
            new, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), format=spec.format
        )
    write_output(root, spec.output, data)
    return new


Claimed = Mapping[str, list[str]]  # casefolded path -> the wanted paths that fold to it


def claimed_paths(paths: Iterable[str]) -> Claimed:
    """The wanted output paths, by their case-folded form (see ``in_use``)."""
    claimed: dict[str, list[str]] = {}
    for p in paths:
        claimed.setdefault(p.casefold(), []).append(p)
    return claimed


def in_use(root: Path, rel: str, claimed: Claimed) -> bool:
    """Whether ``root/rel`` is a wanted output: its very path, or a path differing only
    in case that is the same file (a case-insensitive file system)."""
    for other in claimed.get(rel.casefold(), ()):
        if other == rel:
            return True
        with contextlib.suppress(OSError):
            if os.path.samefile(root / rel, root / other):
                return True
    return False


def remove_vacated(root: Path, entry: LockEntry, claimed: Claimed, output_dir: str) -> None:
    """Remove a moved output's old file unless it is in use or no longer has its bytes."""
    if not in_use(root, entry.path, claimed):
        remove_if_unchanged(root, entry.path, entry.sha256, output_dir)


def finish_removals(root: Path, journal: Journal, lock: Lockfile, manifest: Manifest) -> None:
    """Remove the old files a stopped build left journalled, then forget the rows.

    Run after the journal is folded into the lock: a path the lock or the manifest
    still names is in use (its move never finished; the plan does it again)."""
    rows = journal.removals()
    if not rows:
        return
    claimed = claimed_paths(
        [*(e.path for e in lock.entries.values()), *(s.output for s in manifest.specs)]
    )
    for path, sha in rows:
        if not in_use(root, path, claimed):
            remove_if_unchanged(root, path, sha, manifest.output_dir)
    journal.forget_removals()


def temp_file_folders(root: Path, manifest: Manifest, lock: Lockfile) -> set[Path]:
    """The folders a killed build may have left temp files in: those of every master
    and every derived file the manifest or the lock names (a folder of derived files
    only, such as an ``.appiconset``, too), each path checked as for a write."""
    masters = master_paths(manifest.specs, lock)
    derived = derived_paths(manifest.specs, lock)
    out = manifest.output_dir
    folders = {(root / p).parent for p in masters if use_problem(root, p, out) is None}
    folders.update(
        (root / p).parent for p in derived if use_problem(root, p, out, derived=True) is None
    )
    return folders
