"""The derived half of a plan at the file system's edge: which derived files the memo
vouches for, by one stat signature per asset, and which need their digests.

``.assetgen/<manifest>.derived.memo`` is keyed by the digests of the manifest and the
lock it was found for (any change to either reads nothing). It names the assets whose
recipes hash to the locked recipe hashes (plan/derived.py), each with the stat
signature of its files when they last held the locked bytes, or None (statcache.py).
Masters are stated and planned first; then each such asset whose master stays has its
files stated against its signature in one loop, and only the other assets' files go
through the stat cache. A null plan thus reads no per-file stat row, digest or recipe
hash for derived files: the stat itself is all that is left (git's index trick, for
a group of files at once).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .. import memo
from ..lock.model import Lockfile
from ..spec import Manifest
from ..statcache import StatCache, signature, unchanged_groups
from .actions import derived_paths, master_paths
from .derived import memo_candidates, plan_derived
from .planner import Plan

_KEY = "sig-v3"  # bytes signatures of statcache.stat_key rows (statcache.Signature)


def derived_memo(
    at: Path | None, manifest: Manifest, lock: Lockfile
) -> tuple[str, dict[str, object]]:
    """The memo's key for this manifest and lock, and what it holds for them ({} when
    nothing, or for a manifest or lock made in memory, which has no digest)."""
    if at is None or not (manifest.source and lock.source):
        return "", {}
    key = f"{manifest.source}|{lock.source}|{_KEY}"
    got = memo.load(at, key)
    return key, got if isinstance(got, dict) else {}


def plan_with_derived(
    manifest: Manifest,
    lock: Lockfile,
    plan_masters: Callable[[dict[str, str | None]], Plan],
    *,
    root: Path,
    memo_at: Path | None,
    stats: StatCache,
    force: frozenset[str],
    is_ours: Callable[[str], bool],
    has_recipe: Callable[[str], bool],
) -> Plan:
    """The plan, derived files included: ``plan_masters`` plans the assets from the
    masters' digests; ``force`` holds --force and --rederive names (either re-derives)."""
    key, sigs = derived_memo(memo_at, manifest, lock)
    where = str(root)
    digests = stats.digests(where, master_paths(manifest.specs, lock))
    plan = plan_masters(digests)
    fast = [
        (a.name, a.spec.derived, sigs[a.name])
        for a in memo_candidates(plan.actions, lock, sigs, force)
        if a.spec is not None  # always, for a candidate: for the type checker
    ]
    candidates = frozenset(n for n, _, _ in fast)
    clean = frozenset(unchanged_groups(where, fast))
    wanted = derived_paths(manifest.specs, lock, clean)
    if wanted:  # none on a null plan: the derived stat rows are not even loaded
        digests.update(stats.digests(where, wanted, derived=True))
    stats.save()
    confirmed: set[str] = set()
    derived = plan_derived(
        plan.actions,
        lock,
        digests,
        is_ours,
        has_recipe,
        force=force,
        verified=sigs,
        confirmed=confirmed,
        clean=clean,
        candidates=candidates,
    )
    # Clean assets are confirmed and have a signature: equal counts, nothing new.
    if memo_at is not None and key and not len(clean) == len(confirmed) == len(sigs):
        now: dict[str, object] = {}
        for name in confirmed:
            if name in clean:
                now[name] = sigs[name]
                continue
            entry = lock.entries[name]
            now[name] = signature(
                stats, (d.path for d in entry.derived), (d.sha256 for d in entry.derived)
            )
        if now != sigs:
            memo.store(memo_at, key, now)
    return Plan(plan.actions, derived)
