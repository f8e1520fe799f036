"""Derived files in the plan: which to derive, restore, delete or keep, all free.

Pure, like the planner: the assets' actions, the lock, file digests and cache
membership in, one DerivedAction per derived file out. The rules:

- a master that will change (created, updated, regenerated) re-derives all its files;
- otherwise each file's recipe hash (over the locked master's sha256 and the canonical
  recipe) is compared with the lock's: a changed recipe re-derives that file only;
- a missing file is restored; a file whose bytes are not the locked ones is restored
  when they are assetgen's own (in the cache), else kept as an edit by hand
  (``modified``) until ``build --rederive NAME`` (free: the master stays);
- a locked file whose recipe is gone is deleted, only if it still has the locked bytes
  and those are assetgen's (in the cache; build checks both again); else its record is
  forgotten (``forget``: the lock drops it, nothing on disk changes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Iterable, Iterator, Mapping

from ..derive.recipe import recipe_hash_json
from ..lock.model import DerivedEntry, Lockfile
from .actions import DerivedAction, DerivedPlan, UpToDate
from .planner import Action

_NEW_MASTER = frozenset({"create", "update"})


def memo_candidates(
    actions: Iterable[Action], lock: Lockfile, verified: Container[str], force: Container[str]
) -> Iterator[Action]:
    """The assets whose derived files the memo may vouch for: recipes known to match
    (``verified``), their master staying as locked, not forced, and their own lock
    entry (a rename's heir, whose old entry can depend on --force, is planned in full).
    plan/memoized.py stats only these assets' files against the memo; ``plan_derived`` takes
    the same assets, so the two never disagree about whose digests it needs."""
    entries = lock.entries
    for a in actions:
        spec, locked = a.spec, a.locked
        if (
            spec is not None
            and locked is not None
            and spec.derived
            and a.name in verified
            and a.action != "delete"
            and a.old_name is None
            and entries.get(a.name) is locked
            and _master(a) is not None
            and a.name not in force
        ):
            yield a  # (its lock's derived rows are not read here: see lock/model.py Pending)


def plan_derived(
    actions: Iterable[Action],
    lock: Lockfile,
    digests: Mapping[str, str | None],
    is_ours: Callable[[str], bool],
    has_recipe: Callable[[str], bool],
    *,
    force: Iterable[str] = (),
    verified: Container[str] = frozenset(),
    confirmed: set[str] | None = None,
    clean: Container[str] = frozenset(),
    candidates: Container[str] | None = None,
) -> DerivedPlan:
    """One DerivedAction per derived file the manifest wants or the lock records.

    ``is_ours(sha256)``: the cache holds bytes with that digest; ``has_recipe(hash)``:
    the cache can serve a recipe hash (asked only for files to derive or restore).

    ``verified`` names assets whose recipes are known to hash to the locked recipe
    hashes, file for file and in order, for this very manifest and lock (the memo
    that plan/memoized.py keeps under both their digests): their hashes are not computed
    again, which is most of a null plan's derive cost. ``clean`` names those of them
    (``memo_candidates``) whose files are also known to hold the locked bytes (their
    stat unchanged since they did): ``digests`` need not hold their paths. ``confirmed``,
    when given, receives every asset found so, to remember for the next plan.
    ``candidates``: ``memo_candidates`` already found by the caller for these very
    arguments (plan/memoized.py), not searched again."""
    forced = set(force)
    actions = list(actions)
    fast = (
        {a.name for a in memo_candidates(actions, lock, verified, forced)}
        if candidates is None
        else candidates
    )
    out: list[DerivedAction | UpToDate] = []
    append = out.append
    get = digests.get
    for a in actions:
        spec = a.spec
        if a.name in fast and a.name in clean:
            # Recipes known to match and the files' stat their signature's (the count
            # included): up to date, without reading the lock's derived rows at all.
            assert spec is not None and a.locked is not None  # a memo candidate
            append(UpToDate(a.name, spec.derived, a.locked))
            if confirmed is not None:
                confirmed.add(a.name)
            continue
        locked = a.locked.derived if a.locked is not None else ()
        if not locked and (spec is None or not spec.derived):
            continue  # the null plan's common case: nothing derived at all
        if a.name in fast:
            assert spec is not None and a.locked is not None  # a memo candidate
            if len(locked) == len(spec.derived) and all(
                [
                    path == d.path and get(path) == d.sha256
                    for (path, _), d in zip(spec.derived, locked, strict=True)
                ]
            ):
                # Recipes known to match and the bytes on disk the locked ones.
                append(UpToDate(a.name, spec.derived, a.locked))
                if confirmed is not None:
                    confirmed.add(a.name)
                continue
        if spec is not None and a.action != "delete":
            master = _master(a)
            force_it = a.name in forced
            own = a.old_name is None and lock.entries.get(a.name) is a.locked
            by_path = {d.path: d for d in locked}
            same = own and master is not None and len(locked) == len(spec.derived)
            wanted: set[str] = set()
            for i, (path, canon) in enumerate(spec.derived):
                wanted.add(path)
                d = by_path.get(path)
                h = recipe_hash_json(master, canon) if master is not None else None
                if same and (d is None or d.recipe != h or locked[i] is not d):
                    same = False
                if d is not None and d.recipe == h and get(path) == d.sha256:
                    # The null plan's case, inline: same recipe hash, same bytes on disk.
                    append(DerivedAction(a.name, "noop", path, "up to date", canon, h, d))
                    continue
                got = _one(a, path, canon, master, h, d, digests, is_ours, has_recipe, force_it)
                if got is not None:
                    append(got)
            if same and confirmed is not None:
                confirmed.add(a.name)
        else:
            wanted = set()
        if len(wanted) != len(locked) or not all(d.path in wanted for d in locked):
            out.extend(_gone(a.name, d, digests, is_ours) for d in locked if d.path not in wanted)
    return DerivedPlan(out)


def _master(a: Action) -> str | None:
    """The sha256 of the master the files are derived from; None when it will change."""
    if a.action in _NEW_MASTER or (a.forced and a.action == "restore") or a.locked is None:
        return None
    return a.locked.sha256


def _one(
    a: Action,
    path: str,
    canon: str,
    master: str | None,
    h: str | None,
    d: DerivedEntry | None,
    digests: Mapping[str, str | None],
    is_ours: Callable[[str], bool],
    has_recipe: Callable[[str], bool],
    forced: bool,
) -> DerivedAction | None:
    if master is None:
        if a.action == "modified":
            return None  # someone's own file where the master would go: nothing to derive from
        reason = "new asset" if a.action == "create" else "master changes"
        have = digests.get(path)
        if (
            have is not None
            and not forced
            and (d is None or have != d.sha256)
            and not is_ours(have)
        ):
            why = "modified by hand" if d is not None else "a file not made by assetgen is there"
            return DerivedAction(a.name, "modified", path, f"{why}; {reason}", canon, None, d)
        return DerivedAction(a.name, "derive", path, reason, canon, None, d)
    assert h is not None  # the recipe hash over ``master``
    have = digests.get(path)
    if d is not None and d.recipe == h:
        if have == d.sha256:
            return DerivedAction(a.name, "noop", path, "up to date", canon, h, d)
        if have is None:
            return DerivedAction(a.name, "restore", path, "missing", canon, h, d, has_recipe(h))
        if forced or is_ours(have):
            why = "forced" if forced else "not the derived bytes"
            return DerivedAction(a.name, "restore", path, why, canon, h, d, has_recipe(h))
        return DerivedAction(a.name, "modified", path, "modified by hand", canon, h, d)
    if d is None:
        reason, change = "new recipe", ""
        if have is not None and not forced and not is_ours(have):
            return DerivedAction(
                a.name, "modified", path, "a file not made by assetgen is there", canon, h, d
            )
    else:
        reason, change = "recipe changed", _size_change(a, canon, d)
        if have is not None and have != d.sha256 and not forced and not is_ours(have):
            return DerivedAction(
                a.name,
                "modified",
                path,
                "modified by hand; recipe changed",
                canon,
                h,
                d,
                False,
                change,
            )
    return DerivedAction(a.name, "derive", path, reason, canon, h, d, has_recipe(h), change)


def _size_change(a: Action, canon: str, d: DerivedEntry) -> str:
    """``width 1200 -> 1280`` when the recipe's pixel size changed, else ''."""
    if not d.width or a.locked is None:
        return ""
    from ..derive.engine import output_size  # pure; only for a changed recipe

    size = output_size((a.locked.width, a.locked.height), json.loads(canon))
    if size is None:
        return ""
    parts = [
        f"{what} {old} -> {new}"
        for what, old, new in (("width", d.width, size[0]), ("height", d.height, size[1]))
        if old != new
    ]
    return ", ".join(parts)


def _gone(
    name: str, d: DerivedEntry, digests: Mapping[str, str | None], is_ours: Callable[[str], bool]
) -> DerivedAction:
    """A locked file whose recipe is gone: deleted if it still has the locked bytes and
    those are assetgen's (in the cache: a hand-written lock naming some other file of
    the output folder deletes nothing); otherwise its record is forgotten and nothing
    on disk changes. Build checks both again before it deletes."""
    have = digests.get(d.path)
    if have is None:
        return DerivedAction(name, "forget", d.path, "recipe removed; file already gone", locked=d)
    if have != d.sha256:
        reason = "recipe removed; file modified: kept"
        return DerivedAction(name, "forget", d.path, reason, locked=d)
    if not is_ours(have):
        reason = (
            "recipe removed; not a file assetgen derived (its bytes are not in the cache): kept"
        )
        return DerivedAction(name, "forget", d.path, reason, locked=d)
    return DerivedAction(name, "delete", d.path, "recipe removed", locked=d)
