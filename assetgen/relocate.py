"""Keeping locked bytes safe while outputs move: staging, guarding targets, copying.

Before a build writes or removes anything, every locked file it is about to touch
gets its exact bytes into the cache, so a kill at any instant loses nothing that was
paid for; a path holding bytes that are neither cached nor a locked output (a user's
own file, or an output edited by hand) is never overwritten; and a move copies the
committed bytes themselves, never another generation the cache may hold.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from .lock import LockEntry, Lockfile
from .outputs import file_sha256, read_verified, write_output
from .plan import Action
from .spec import AssetSpec
from .store import LocalCache, record_from_entry


def stage(root: Path, cache: LocalCache, entry: LockEntry) -> bool:
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
    root: Path, cache: LocalCache, lock: Lockfile, work: tuple[Action, ...]
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
        if a.spec is None or a.action == "delete" or a.forced:
            continue  # --force: the user chose to replace what is at the path
        target = a.spec.output
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
    root: Path, cache: LocalCache, entry: LockEntry, spec: AssetSpec, source: str | None
) -> LockEntry:
    """Copy the locked bytes to ``spec.output`` and return the moved entry.

    Raises OutputError when the target cannot be written; returns the entry unchanged
    but for its path when the file is already in place (moved by hand, or a rename).
    """
    if source == spec.output:
        return entry.moved(spec.output)
    data = read_verified(root, entry.path, entry.sha256) or cache.read_blob(entry.sha256)
    if data is None:
        from .errors import OutputError

        raise OutputError(f"{entry.path} is gone and not cached; build again to restore it")
    new = entry.moved(spec.output)
    if spec.format != (entry.image_format):
        from . import imaging

        data = imaging.convert(data, imaging.verify(data, entry.width, entry.height), spec.format)
        new = replace(
            new, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), format=spec.format
        )
    write_output(root, spec.output, data)
    return new
