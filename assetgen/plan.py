"""The planner: manifest specs + lock + file digests + cache membership in, a Plan out.

Pure on purpose: no file system, no network, no clock. Everything it needs to know
about the world comes in as arguments, so each decision is testable in isolation
and a 100,000-asset null plan costs a dictionary lookup per asset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from .lock import LockEntry, Lockfile
from .spec import HASH_VERSION, REQUEST_FIELDS, AssetSpec, Manifest, spec_hash

ACTIONS = ("create", "update", "restore", "move", "delete", "noop")
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

    @property
    def path(self) -> str:
        if self.spec is not None:
            return self.spec.output
        assert self.locked is not None
        return self.locked.path

    @property
    def generates(self) -> bool:
        """Whether this action calls the provider (paid, unless the provider is free)."""
        return self.action in GENERATING and not self.cached


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(a.action for a in self.actions)
        return {k: counts.get(k, 0) for k in ACTIONS}

    @property
    def credits(self) -> float:
        return round(sum(a.credits for a in self.actions), 6)

    @property
    def work(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.action in WORK)

    @property
    def up_to_date(self) -> bool:
        return not self.work

    @property
    def cache_hits(self) -> int:
        return sum(1 for a in self.actions if a.action in GENERATING and a.cached)

    def select(self, names: Iterable[str]) -> Plan:
        keep = set(names)
        return Plan(tuple(a for a in self.actions if a.name in keep))


def make_plan(
    specs: Iterable[AssetSpec],
    lock: Lockfile,
    digests: Mapping[str, str | None],
    is_cached: Callable[[str], bool],
    *,
    force: Iterable[str] = (),
) -> Plan:
    """Decide one Action per asset (and one per lock entry that left the manifest).

    ``digests`` maps every path the plan looks at (locked paths and new output
    paths) to the sha256 of the file there, or None when there is none.
    ``is_cached(spec_hash)`` says whether the content cache can serve a spec.
    ``force`` names assets to regenerate without the cache.
    """
    forced = set(force)
    specs, notes = settle_seeds(list(specs), lock)
    wanted = {s.name for s in specs}
    # Lock entries that left the manifest can be taken over by a renamed asset with
    # the same spec: renaming never pays again.
    orphans: dict[str, list[str]] = {}
    for name in sorted(lock.entries):
        if name not in wanted:
            orphans.setdefault(lock.entries[name].spec_hash, []).append(name)
    adopted: set[str] = set()
    actions: list[Action] = []
    for spec in specs:
        entry = lock.get(spec.name)
        if spec.name in forced:
            actions.append(
                _generate(spec, entry, "update" if entry else "create", "forced", False, ())
            )
            continue
        if entry is None:
            heirs = orphans.get(spec.spec_hash)
            if heirs:
                old = heirs.pop(0)
                adopted.add(old)
                action = _relocate(spec, lock.entries[old], digests, is_cached, old_name=old)
                note = notes.get(spec.name)
                actions.append(replace(action, reason=action.reason + note) if note else action)
            else:
                actions.append(
                    _generate(spec, None, "create", "new", is_cached(spec.spec_hash), ())
                )
            continue
        if entry.spec_hash != spec.spec_hash:
            changes = _changes(entry, spec)
            reason = _changed(changes, lock)
            actions.append(
                _generate(spec, entry, "update", reason, is_cached(spec.spec_hash), changes)
            )
            continue
        actions.append(_relocate(spec, entry, digests, is_cached))
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


def settle_seeds(
    specs: Sequence[AssetSpec], lock: Lockfile
) -> tuple[list[AssetSpec], dict[str, str]]:
    """The specs with each derived seed the lock already chose, and a note per rename.

    A derived seed (no ``seed:`` in the manifest) is chosen once, from the name the
    asset had when it was first built; the lock keeps it from then on. So a prompt
    edit keeps the composition, and a rename (an asset gone from the manifest plus a
    new one whose request matches it apart from the derived seed) takes over the gone
    asset's seed: the same request, a free move. When several gone assets match, the
    first by name is taken and the note says which others matched. A pinned seed
    always wins. Build, plan and every view settle the specs the same way, so they
    agree on each asset's spec hash.
    """
    wanted = {s.name for s in specs}
    gone = sorted(n for n in lock.entries if n not in wanted)
    settled: list[AssetSpec] = []
    notes: dict[str, str] = {}
    if not gone:  # the common case: no renames possible, seeds settle by name alone
        for spec in specs:
            entry = lock.entries.get(spec.name)
            if entry is not None and entry.spec_hash != spec.spec_hash:
                spec = keep_locked_seed(spec, entry)
            settled.append(spec)
        return settled, notes
    # Gone entries a new spec takes over by its exact hash are not offered to others.
    claims = Counter(s.spec_hash for s in specs if s.name not in lock.entries)
    offered: dict[tuple[object, ...], list[str]] = {}
    for name in gone:
        h = lock.entries[name].spec_hash
        if claims[h] > 0:
            claims[h] -= 1
            continue
        offered.setdefault(_unseeded(lock.entries[name].request), []).append(name)
    exact = {lock.entries[n].spec_hash for n in gone}
    taken: set[str] = set()
    for spec in specs:
        entry = lock.entries.get(spec.name)
        if entry is not None:
            if entry.spec_hash != spec.spec_hash:
                spec = keep_locked_seed(spec, entry)
        elif spec.seed_derived and spec.spec_hash not in exact:
            matches = [
                n
                for n in offered.get(_unseeded(spec.request), ())
                if n not in taken
                # not across a hash-version change: the gone entry's hash must be what
                # this request hashes to now
                and keep_locked_seed(spec, lock.entries[n]).spec_hash == lock.entries[n].spec_hash
            ]
            if matches:
                spec = keep_locked_seed(spec, lock.entries[matches[0]])
                taken.add(matches[0])
                notes[spec.name] = _seed_note(matches)
        settled.append(spec)
    return settled, notes


def settle_manifest(manifest: Manifest, lock: Lockfile) -> Manifest:
    """``manifest`` with its specs settled against ``lock`` (see ``settle_seeds``)."""
    specs, _ = settle_seeds(manifest.specs, lock)
    if all(a is b for a, b in zip(specs, manifest.specs, strict=True)):
        return manifest
    return replace(manifest, specs=tuple(specs))


def keep_locked_seed(spec: AssetSpec, entry: LockEntry) -> AssetSpec:
    """``spec`` with the seed of ``entry`` when its own seed was derived, not pinned."""
    seed = entry.request.get("seed")
    if (
        not spec.seed_derived
        or seed == spec.seed
        or not isinstance(seed, int)
        or isinstance(seed, bool)
    ):
        return spec
    request = spec.request
    request["seed"] = seed
    return replace(spec, seed=seed, spec_hash=spec_hash(request))


def _unseeded(request: Mapping[str, object]) -> tuple[object, ...]:
    return tuple(request.get(f) for f in REQUEST_FIELDS if f != "seed")


def _seed_note(matches: list[str]) -> str:
    """``; seed kept`` and, when several gone assets matched, which others did."""
    if len(matches) == 1:
        return "; seed kept"
    return f"; seed kept (also matched {', '.join(matches[1:])}: the first by name was taken)"


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
    if entry.path != spec.output and digests.get(entry.path) == entry.sha256:
        reason = renamed or "output moved"
        return Action(
            spec.name, "move", reason, spec=spec, locked=entry, source=entry.path, old_name=old_name
        )
    have = digests.get(spec.output)
    reason = "output missing" if have is None else "output modified"
    if renamed:
        reason = f"{renamed}, {reason}"
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


def paths_to_check(specs: Iterable[AssetSpec], lock: Lockfile) -> set[str]:
    """Every path whose digest ``make_plan`` may ask for."""
    paths = {e.path for e in lock.entries.values()}
    paths.update(s.output for s in specs)
    return paths
