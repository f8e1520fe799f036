"""The planner: manifest specs + lock + file digests + cache membership in, a Plan out.

Pure on purpose: no file system, no network, no clock. Everything it needs to know
about the world comes in as arguments, so each decision is testable in isolation
and a 100,000-asset null plan costs a dictionary lookup per asset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..lock.model import LockEntry, Lockfile
from ..lock.seeds import keep_locked_seed, settle_seeds
from ..spec import HASH_VERSION, REQUEST_FIELDS, AssetSpec
from .actions import DerivedAction, derived_changes
from .actions import paths_to_check as paths_to_check  # its old home, for callers of it

# ``modified``: the file at the output path is not the locked one (edited by hand, or
# someone's own file where a new asset would go): build keeps it until the user decides.
ACTIONS = ("create", "update", "restore", "move", "delete", "noop", "modified")
WORK = frozenset({"create", "update", "restore", "move", "delete"})
GENERATING = frozenset({"create", "update", "restore"})


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    old: object
    new: object


@dataclass(frozen=True, slots=True)
class Action:
    """What ``build`` will do for one asset, and why."""

    name: str
    action: str
    reason: str
    cached: bool = False
    credits: float = 0.0
    spec: AssetSpec | None = None
    locked: LockEntry | None = None
    changes: tuple[Change, ...] = ()
    source: str | None = None  # where a move takes its bytes from (an old path)
    old_name: str | None = None  # for a rename: the lock entry it takes over
    forced: bool = False  # --force: may overwrite the file at its path (see relocate.py)
    edit: bool = False  # a restore of an adopted edit's bytes (by digest), not of the spec's image
    paid: bool = False  # a stopped build's journalled task is collected: free (paid.py)

    @property
    def path(self) -> str:
        if self.spec is not None:
            return self.spec.output
        assert self.locked is not None
        return self.locked.path

    @property
    def credits_max(self) -> float:
        """The upper bound of ``credits`` (a token-billed model's range), else ``credits``."""
        if not self.credits or self.spec is None:
            return self.credits
        return self.spec.most_credits

    @property
    def generates(self) -> bool:
        """Whether this action calls the provider (paid, unless the provider is free)."""
        return self.action in GENERATING and not self.cached


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    derived: Sequence[DerivedAction] = ()  # derived files (plan/derived.py): all free

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(a.action for a in self.actions)
        return {k: counts.get(k, 0) for k in ACTIONS}

    @property
    def credits(self) -> float:
        return round(sum(a.credits for a in self.actions), 6)

    @property
    def credits_max(self) -> float:
        """What the plan may cost at most: ``--max-credits`` holds it to this."""
        return round(sum(a.credits_max for a in self.actions), 6)

    @property
    def paid_tasks(self) -> int:
        """Generations whose task an earlier build paid for: collected, not charged."""
        return sum(1 for a in self.actions if a.paid)

    @property
    def work(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.action in WORK)

    @property
    def derived_work(self) -> tuple[DerivedAction, ...]:
        return tuple(d for d in derived_changes(self.derived) if d.work)

    @property
    def up_to_date(self) -> bool:
        return not self.work and not any(d.work for d in derived_changes(self.derived))

    @property
    def derived_kept(self) -> tuple[DerivedAction, ...]:
        """Derived files edited by hand, which build keeps until ``build --rederive NAME``."""
        return tuple(d for d in derived_changes(self.derived) if d.action == "modified")

    @property
    def kept(self) -> tuple[Action, ...]:
        """Outputs build keeps as they are until ``assetgen adopt`` or ``build --force``."""
        return tuple(a for a in self.actions if a.action == "modified")

    @property
    def cache_hits(self) -> int:
        return sum(1 for a in self.actions if a.action in GENERATING and a.cached)

    def select(self, names: Iterable[str]) -> Plan:
        keep = set(names)
        actions = tuple(a for a in self.actions if a.name in keep)
        return Plan(actions, tuple(d for d in self.derived if d.name in keep))


def make_plan(
    specs: Iterable[AssetSpec],
    lock: Lockfile,
    digests: Mapping[str, str | None],
    is_cached: Callable[[str], bool],
    *,
    force: Iterable[str] = (),
    is_ours: Callable[[str], bool] | None = None,
) -> Plan:
    """Decide one Action per asset (and one per lock entry that left the manifest).

    ``digests`` maps every path the plan looks at (locked paths and new output
    paths) to the sha256 of the file there, or None when there is none.
    ``is_cached(spec_hash)`` says whether the content cache can serve a spec.
    ``force`` names assets to regenerate without the cache; a forced asset whose
    file was edited by hand (or adopted) gets its generated image back from the
    cache instead, for free when the cache has it.
    ``is_ours(sha256)`` says whether the cache holds bytes with that digest: a file
    at a path the lock does not give the asset is assetgen's own only then (asked
    only when such a file exists, so never on a null plan); default: never.
    """
    ours = _Ours(lock, is_ours or (lambda sha256: False))
    forced = set(force)
    specs = list(specs)
    wanted = {s.name for s in specs}
    # Lock entries that left the manifest can be taken over by a renamed asset with
    # the same spec: renaming never pays again.
    orphans: dict[str, list[str]] = {}
    for name, old_entry in lock.entries.items():
        if name not in wanted:
            orphans.setdefault(old_entry.spec_hash, []).append(name)
    for names in orphans.values():
        names.sort()  # the first by name takes over: decided the same on every machine
    notes: dict[str, str] = {}
    if orphans:  # a rename may take over a gone asset's derived seed (seeds.py)
        specs, notes = settle_seeds(specs, lock)
    adopted: set[str] = set()
    actions: list[Action] = []
    for spec in specs:
        entry = lock.get(spec.name)
        if entry is not None and entry.spec_hash != spec.spec_hash and spec.seed_derived:
            spec = keep_locked_seed(spec, entry)  # the lock's derived seed stays (seeds.py)
        if spec.name in forced:
            actions.append(_forced(spec, entry, digests, is_cached))
            continue
        if entry is None:
            heirs = orphans.get(spec.spec_hash)
            if heirs:
                old = heirs.pop(0)
                adopted.add(old)
                action = _relocate(spec, lock.entries[old], digests, is_cached, ours, old_name=old)
                note = notes.get(spec.name)
                actions.append(replace(action, reason=action.reason + note) if note else action)
            elif (kept := _kept(spec, None, digests, ours)) is not None:
                actions.append(kept)
            else:
                actions.append(
                    _generate(spec, None, "create", "new", is_cached(spec.spec_hash), ())
                )
            continue
        if entry.spec_hash != spec.spec_hash:
            changes = _changes(entry, spec)
            reason = _changed(changes, lock)
            kept = _kept(spec, entry, digests, ours, f"; {reason}", changes)
            actions.append(
                kept or _generate(spec, entry, "update", reason, is_cached(spec.spec_hash), changes)
            )
            continue
        actions.append(_relocate(spec, entry, digests, is_cached, ours))
    for name in sorted(lock.entries):
        if name in wanted or name in adopted:
            continue
        gone = lock.entries[name]
        have = digests.get(gone.path)
        if have is None:
            reason = "removed; file already gone"
        elif have != gone.sha256:
            reason = "removed; file modified: kept"
        else:
            reason = "removed from manifest"
        actions.append(Action(name, "delete", reason, locked=gone))
    actions.sort(key=lambda a: a.name)
    return Plan(tuple(actions))


class _Ours:
    """Whether bytes at a path are assetgen's own: in the cache, or the locked bytes of
    the entry at that path (an output another asset is about to move away). Indexes
    the lock by path only when first asked, which a null plan never does."""

    def __init__(self, lock: Lockfile, in_cache: Callable[[str], bool]) -> None:
        self.lock = lock
        self.in_cache = in_cache
        self.by_path: dict[str, str] | None = None

    def __call__(self, path: str, sha256: str) -> bool:
        if self.in_cache(sha256):
            return True
        if self.by_path is None:
            self.by_path = {e.path.casefold(): e.sha256 for e in self.lock.entries.values()}
        return self.by_path.get(path.casefold()) == sha256


MODIFIED = "modified by hand"
FOREIGN = "a file not made by assetgen is there"


def _kept(
    spec: AssetSpec,
    entry: LockEntry | None,
    digests: Mapping[str, str | None],
    is_ours: _Ours,
    suffix: str = "",
    changes: tuple[Change, ...] = (),
    old_name: str | None = None,
) -> Action | None:
    """A ``modified`` action when the file at ``spec.output`` must not be overwritten:
    its bytes are not this asset's locked ones, nor anything assetgen made (which a
    checkout of another branch, or a lock deleted to rebuild, leaves there). At the
    asset's own locked path that is an edit by hand; elsewhere, a person's own file.
    """
    have = digests.get(spec.output)
    if have is None or (entry is not None and have == entry.sha256):
        return None
    if is_ours(spec.output, have):
        return None  # assetgen's own bytes, kept in the cache: overwriting loses nothing
    reason = MODIFIED if entry is not None and entry.path == spec.output else FOREIGN
    return Action(
        spec.name,
        "modified",
        reason + suffix,
        spec=spec,
        locked=entry,
        changes=changes,
        old_name=old_name,
    )


def _forced(
    spec: AssetSpec,
    entry: LockEntry | None,
    digests: Mapping[str, str | None],
    is_cached: Callable[[str], bool],
) -> Action:
    """``--force``: regenerate, except for an edit (adopted, or a file edited by hand) of
    an unchanged spec, which gets the generated original back from the cache."""
    if entry is not None and entry.spec_hash == spec.spec_hash:
        have = digests.get(entry.path)
        if entry.edited or (have is not None and have != entry.sha256):
            cached = is_cached(spec.spec_hash)
            return Action(
                spec.name,
                "restore",
                "forced: the generated image",
                cached=cached,
                credits=0.0 if cached else spec.credits,
                spec=spec,
                locked=entry,
                forced=True,
            )
    action = _generate(spec, entry, "update" if entry else "create", "forced", False, ())
    return replace(action, forced=True)


def _generate(
    spec: AssetSpec,
    entry: LockEntry | None,
    action: str,
    reason: str,
    cached: bool,
    changes: tuple[Change, ...],
) -> Action:
    return Action(
        spec.name,
        action,
        reason,
        cached=cached,
        credits=0.0 if cached else spec.credits,
        spec=spec,
        locked=entry,
        changes=changes,
    )


def _relocate(
    spec: AssetSpec,
    entry: LockEntry,
    digests: Mapping[str, str | None],
    is_cached: Callable[[str], bool],
    is_ours: _Ours,
    *,
    old_name: str | None = None,
) -> Action:
    """The spec is already built: is its file where and what it should be?"""
    renamed = f"renamed from {old_name}" if old_name else None
    if digests.get(spec.output) == entry.sha256:
        if entry.path == spec.output and not old_name:
            return Action(spec.name, "noop", "up to date", spec=spec, locked=entry)
        return Action(
            spec.name,
            "move",
            renamed or "output moved",
            spec=spec,
            locked=entry,
            source=spec.output,
            old_name=old_name,
        )
    kept = _kept(spec, entry, digests, is_ours, f"; {renamed}" if renamed else "", (), old_name)
    if kept is not None:
        return kept
    if entry.path != spec.output:
        at_old = digests.get(entry.path)
        if at_old == entry.sha256:
            reason = renamed or "output moved"
            return Action(
                spec.name, "move", reason, spec=spec, locked=entry, source=entry.path,
                old_name=old_name,
            )  # fmt: skip
        if at_old is not None and not is_ours(entry.path, at_old):
            # Edited by hand, then its output moved: the edit stays where it is, kept,
            # until adopted (then moved for free) or replaced with --force.
            return Action(
                spec.name, "modified", f"{MODIFIED} at {entry.path}; output moved",
                spec=spec, locked=entry, source=entry.path, old_name=old_name,
            )  # fmt: skip
    have = digests.get(spec.output)
    reason = "output missing" if have is None else "output modified"
    if renamed:
        reason = f"{renamed}, {reason}"
    if entry.edited:
        # An adopted edit comes back as those bytes, which the cache keeps by digest;
        # without them, the generated original is all there is.
        if is_ours.in_cache(entry.sha256):
            return Action(
                spec.name, "restore", reason, cached=True, spec=spec, locked=entry,
                old_name=old_name, edit=True,
            )  # fmt: skip
        reason += "; its edit is not cached: the generated image"
    cached = is_cached(spec.spec_hash)
    return Action(
        spec.name,
        "restore",
        reason,
        cached=cached,
        credits=0.0 if cached else spec.credits,
        spec=spec,
        locked=entry,
        old_name=old_name,
    )


def _changed(changes: tuple[Change, ...], lock: Lockfile) -> str:
    """``prompt changed``, ``prompt and size changed``, ``model, size and seed changed``."""
    fields = [c.field for c in changes]
    if not fields:
        if lock.hash_version != HASH_VERSION:
            return f"hash version changed ({lock.hash_version} -> {HASH_VERSION})"
        return "request changed"
    if len(fields) == 1:
        return f"{fields[0]} changed"
    return f"{', '.join(fields[:-1])} and {fields[-1]} changed"


def _changes(entry: LockEntry, spec: AssetSpec) -> tuple[Change, ...]:
    new = spec.request
    return tuple(
        Change(f, entry.request.get(f), new[f])
        for f in REQUEST_FIELDS
        if entry.request.get(f) != new[f]
    )
