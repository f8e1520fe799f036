"""Outputs a person changed: build keeps them, ``assetgen adopt`` records them.

A generated image is often where a designer's work starts. A file at an output path
whose bytes are not the locked ones (retouched by hand, or someone's own file where
a new asset would go) is the plan action ``modified``: build never overwrites it,
and the user decides. ``assetgen adopt NAME`` records the file's bytes as the
asset's output: the lock entry keeps its spec hash and is marked ``edited``, the
adopted bytes are kept in the cache by their digest (so a deleted file comes back as
edited), and the generated original stays in the cache under the spec hash, so
``assetgen build --force NAME`` brings it back for free.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace
from typing import IO

from ..cache.open import local_cache
from ..errors import IntegrityError
from ..lock.model import LockEntry, updated, write_lock
from ..plan.planner import Action, Plan
from ..plan.render import DERIVED_KEPT_HINT, KEPT_HINT
from ..project import Project
from ..spec import format_for_path
from .selection import select

_NAMES_SHOWN = 5


def derived_notice(plan: Plan) -> str | None:
    """The line about derived files edited by hand, which a build keeps."""
    n = len(plan.derived_kept)
    if not n:
        return None
    paths = ", ".join(d.path for d in plan.derived_kept[:_NAMES_SHOWN])
    if n > _NAMES_SHOWN:
        paths += f" and {n - _NAMES_SHOWN} more"
    return (
        f"{n} derived file{'s' if n != 1 else ''} modified by hand, kept ({paths}): "
        + DERIVED_KEPT_HINT
    )


def kept_notice(plan: Plan) -> str | None:
    """The one line a build prints about the outputs it kept, or None when it kept none."""
    kept = plan.kept
    if not kept:
        return derived_notice(plan)
    names = ", ".join(a.name for a in kept[:_NAMES_SHOWN])
    if len(kept) > _NAMES_SHOWN:
        names += f" and {len(kept) - _NAMES_SHOWN} more"
    n = len(kept)
    line = (
        f"kept {n} output{'s' if n != 1 else ''} that assetgen did not write ({names}): {KEPT_HINT}"
    )
    more = derived_notice(plan)
    return f"{line}\n{more}" if more else line


def adopt(
    project: Project,
    patterns: list[str],
    *,
    provider: str | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Record the current bytes of each named ``modified`` output in the lock.

    Exit 0 when every named asset was adopted or had nothing to adopt; 1 when a file
    is not a valid image of its path's format (the others are still adopted); an
    unknown name is a usage error (2) before anything is written.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    manifest = project.load_manifest(provider)
    cache = local_cache(project)  # the adopted bytes are kept locally, by digest
    failed = 0
    with project.exclusive("adopt"):  # not while a build writes the lock
        lock = project.load_lock()
        plan = project.plan(manifest, lock, cache.has, is_ours=cache.has_blob)
        chosen = select(plan, patterns)
        changes: dict[str, LockEntry | None] = {}
        for action in plan.actions:
            if action.name not in chosen:
                continue
            if action.action != "modified" or action.spec is None:
                out.write(f"{action.name}: not modified ({action.reason}); nothing to adopt\n")
                continue
            try:
                entry, data = _adopted(project, action)
            except IntegrityError as exc:
                err.write(f"assetgen: {action.name}: {exc}\n")
                failed += 1
                continue
            cache.add_blob(entry.sha256, data)
            changes[action.name] = entry
            if action.old_name:
                changes[action.old_name] = None  # a rename: the old name leaves the lock
            back = (
                f"`assetgen build --force {action.name}` brings back the generated image"
                if cache.has(entry.spec_hash)
                else f"no generated image of this request is cached: `assetgen build --force "
                f"{action.name}` would generate one (paid)"
            )
            out.write(
                f"adopted {action.name}: {entry.path} ({entry.width}x{entry.height}) is its "
                f"output now; {back}\n"
            )
        if changes:
            write_lock(project.lock_path, updated(lock, changes), project.state_file("lock.memo"))
    return 1 if failed else 0


def _adopted(project: Project, action: Action) -> tuple[LockEntry, bytes]:
    """The lock entry recording the file at ``action``'s output, and its bytes.

    Raises IntegrityError when the file is not a whole image of its path's format.
    """
    from .. import imaging

    spec = action.spec
    assert spec is not None
    # The edit is where the plan found it: the output path, or (an output moved since the
    # edit) the locked path, which the next build then moves to the new one for free.
    rel = action.source or spec.output
    fmt = format_for_path(rel)
    try:
        data = (project.root / rel).read_bytes()
    except OSError as exc:
        raise IntegrityError(f"{rel}: cannot read it ({exc.strerror or exc})") from None
    try:
        info = imaging.probe(data)
    except IntegrityError as exc:
        raise IntegrityError(
            f"{rel} is not a valid image ({exc}); nothing was adopted for it"
        ) from None
    if info.format != fmt:
        raise IntegrityError(
            f"{rel} is a {info.format.upper()} image, but its name says "
            f"{fmt.upper()}; save it as {fmt.upper()} (or rename the output)"
        )
    sha = hashlib.sha256(data).hexdigest()
    base = action.locked
    if base is None or base.spec_hash != spec.spec_hash:
        # Someone's own file at a new asset's path, or an edit of an asset whose spec
        # changed since: recorded as the output of the manifest's current spec.
        base = LockEntry(spec.spec_hash, spec.request, rel, sha, 0, 1, 1, format=fmt)
    entry = replace(
        base,
        path=rel,
        sha256=sha,
        bytes=len(data),
        width=info.width,
        height=info.height,
        format=fmt,
        edited=True,
    )
    return entry, data
