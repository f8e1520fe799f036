"""Derived seeds are chosen once: the lock keeps the seed an asset was first built with.

A seed derived from the asset's name (no ``seed:`` in the manifest) would change with
the name, so a rename would be a new request and pay again. Settling the manifest's
specs against the lock before anything plans or builds keeps each derived seed the
lock already chose, and lets a renamed asset take over its old name's seed: a free
move. Pure, like the planner: specs and a lock in, specs out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..spec import REQUEST_FIELDS, AssetSpec, Manifest, spec_hash
from .model import LockEntry, Lockfile


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
