"""Which assets a build works on: the plan narrowed to names and globs, with --force.

Kept apart from the executor so that a build with nothing to do is decided without
importing the async machinery at all.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from ..cache.derived import recipe_lookup
from ..cache.records import Cache
from ..errors import UsageError
from ..lock.model import Lockfile
from ..plan.planner import Plan
from ..project import Project
from ..spec import Manifest


@dataclass(frozen=True)
class BuildOptions:
    jobs: int = 8
    selection: tuple[str, ...] = ()
    force: bool = False
    # --rederive NAME/GLOB: re-derive (restore) these assets' derived files, overwriting
    # hand edits, from the locked master; the master itself is not regenerated (free).
    rederive: tuple[str, ...] = ()
    fail_fast: bool = False
    dry_run: bool = False
    max_credits: float | None = None
    lock_every_s: float = 10.0
    shard: tuple[int, int] | None = None  # (I, N): only the names in shard I of N (shard.py)
    push: bool = True  # upload new results to the remote cache, when there is one
    balance_check: bool = True  # a build that would spend checks the balance first (balance.py)


def select(plan: Plan, patterns: Sequence[str]) -> set[str]:
    """Names matching any pattern (exact name or glob); every pattern must match something."""
    return match_names([a.name for a in plan.actions], patterns)


def match_names(names: Sequence[str], patterns: Sequence[str]) -> set[str]:
    """``names`` matching any pattern (exact name or glob), for every command that takes a
    NAME/GLOB selection; a pattern that matches nothing is a usage error."""
    chosen: set[str] = set()
    for pattern in patterns:
        hits = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            raise UsageError(
                f"no asset matches `{pattern}`\n  hint: `assetgen plan --json` lists the names"
            )
        chosen.update(hits)
    return chosen


def plan_selection(
    project: Project, manifest: Manifest, lock: Lockfile, cache: Cache, options: BuildOptions
) -> Plan:
    """The plan restricted to ``options.selection`` and ``options.shard``, with ``--force``
    applied to it (one plan)."""
    plan = _selected(project, manifest, lock, cache, options)
    if options.shard is None:
        return plan
    from .shard import select_shard

    return plan.select(select_shard([a.name for a in plan.actions], *options.shard))


def _selected(
    project: Project, manifest: Manifest, lock: Lockfile, cache: Cache, options: BuildOptions
) -> Plan:
    rederive = (
        match_names([s.name for s in manifest.specs], options.rederive)
        if options.rederive
        else set()
    )
    if not options.selection and not options.force:
        return project.plan(
            manifest,
            lock,
            cache.has,
            lookahead=cache.lookahead(),
            is_ours=cache.has_blob,
            has_recipe=recipe_lookup(cache),
            rederive=rederive,
        )
    forced: set[str] = set()
    if options.force:
        candidates = {s.name for s in manifest.specs}
        forced = (
            {n for n in candidates if any(fnmatch.fnmatchcase(n, p) for p in options.selection)}
            if options.selection
            else candidates
        )
    plan = project.plan(
        manifest,
        lock,
        cache.has,
        force=forced,
        lookahead=cache.lookahead(),
        is_ours=cache.has_blob,
        has_recipe=recipe_lookup(cache),
        rederive=rederive,
    )
    if not options.selection:
        return plan
    return plan.select(select(plan, options.selection))
