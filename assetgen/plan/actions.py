"""A derived file's action: the value the planner's Plan holds and the views read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import NamedTuple, overload

from ..lock.model import DerivedEntry, LockEntry, Lockfile
from ..spec import AssetSpec

# ``forget``: the lock drops the record of a file whose recipe is gone, and nothing on
# disk changes (the file is already gone, edited, or not assetgen's). A lock change,
# so work for ``check``; never shown as a deletion.
DERIVED_ACTIONS = ("derive", "restore", "delete", "forget", "modified", "noop")
DERIVED_WORK = frozenset({"derive", "restore", "delete", "forget"})


class DerivedAction(NamedTuple):
    """What ``build`` will do for one derived file of asset ``name``, and why.

    A NamedTuple rather than a dataclass: a null plan makes one per derived file
    (30,000 for 10,000 assets with three each), and a tuple is made in a third of
    the time of a frozen dataclass."""

    name: str
    action: str
    path: str
    reason: str
    recipe: str | None = None  # canonical JSON (None: a file whose recipe is gone)
    recipe_hash: str | None = None  # None: its master is made first, the hash follows
    locked: DerivedEntry | None = None
    cached: bool = False
    change: str = ""  # what changed, as people read it: `width 1200 -> 1280`

    @property
    def work(self) -> bool:
        return self.action in DERIVED_WORK


class UpToDate(NamedTuple):
    """All the derived files of one asset, up to date: what a null plan holds in place
    of one DerivedAction per file, which ``DerivedPlan`` makes only when asked."""

    name: str
    recipes: tuple[tuple[str, str], ...]  # AssetSpec.derived: (path, canonical recipe)
    entry: LockEntry  # its ``derived`` are the files, path for path: read only if asked

    def actions(self) -> list[DerivedAction]:
        name, new = self.name, tuple.__new__
        return [
            new(DerivedAction, (name, "noop", d.path, "up to date", canon, d.recipe, d, False, ""))
            for (_, canon), d in zip(self.recipes, self.entry.derived, strict=True)
        ]


class DerivedPlan(Sequence[DerivedAction]):
    """A plan's derived files, in asset order, as a read-only sequence of DerivedAction.

    A null plan of 10,000 assets with three derived files each would make 30,000
    actions that nobody but ``plan --json`` reads: an asset whose files are all up to
    date is kept as one ``UpToDate`` and its actions are made on first iteration.
    ``changes`` and ``counts`` (what the text plan, ``check`` and build read) never
    make them."""

    __slots__ = ("_flat", "_parts", "changes")

    def __init__(self, parts: Iterable[DerivedAction | UpToDate]) -> None:
        self._parts = tuple(parts)
        self._flat: tuple[DerivedAction, ...] | None = None
        # Every action that is not a noop, in order: what there is to show or do.
        self.changes = tuple(
            p for p in self._parts if isinstance(p, DerivedAction) and p.action != "noop"
        )

    def _all(self) -> tuple[DerivedAction, ...]:
        if self._flat is None:
            self._flat = tuple(
                chain.from_iterable(
                    p.actions() if isinstance(p, UpToDate) else (p,) for p in self._parts
                )
            )
        return self._flat

    def __iter__(self) -> Iterator[DerivedAction]:
        return iter(self._all())

    def __len__(self) -> int:
        if self._flat is not None:
            return len(self._flat)
        return sum(len(p.recipes) if isinstance(p, UpToDate) else 1 for p in self._parts)

    def __bool__(self) -> bool:
        return bool(self._parts)

    @overload
    def __getitem__(self, i: int) -> DerivedAction: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[DerivedAction, ...]: ...
    def __getitem__(self, i: int | slice) -> DerivedAction | tuple[DerivedAction, ...]:
        return self._all()[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return self._all() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"DerivedPlan({self._all()!r})"

    def counts(self) -> Counter[str]:
        """Files per action, without making the up-to-date ones."""
        out = Counter(p.action for p in self.changes)
        out["noop"] += sum(
            len(p.recipes) if isinstance(p, UpToDate) else int(p.action == "noop")
            for p in self._parts
        )
        return out


def derived_changes(derived: Sequence[DerivedAction]) -> tuple[DerivedAction, ...]:
    """The actions that are not noops, in order (a DerivedPlan knows them already)."""
    if isinstance(derived, DerivedPlan):
        return derived.changes
    return tuple(d for d in derived if d.action != "noop")


def derived_summary(derived: Iterable[DerivedAction]) -> dict[str, int]:
    """Count per action; ``forget`` (added later) only when there is one, so the
    summary of a plan without it keeps its first shape."""
    counts = (
        derived.counts() if isinstance(derived, DerivedPlan) else Counter(d.action for d in derived)
    )
    return {k: counts.get(k, 0) for k in DERIVED_ACTIONS if k != "forget" or counts.get(k)}


def paths_to_check(specs: Iterable[AssetSpec], lock: Lockfile) -> set[str]:
    """Every path whose digest the plan may ask for: masters and derived files."""
    specs = list(specs)
    return master_paths(specs, lock) | derived_paths(specs, lock)


def master_paths(specs: Iterable[AssetSpec], lock: Lockfile) -> set[str]:
    """Every path whose digest ``make_plan`` asks for: outputs and locked paths."""
    paths = {e.path for e in lock.entries.values()}
    paths.update([s.output for s in specs])
    return paths


def derived_paths(
    specs: Iterable[AssetSpec], lock: Lockfile, skip: frozenset[str] = frozenset()
) -> set[str]:
    """Every derived path ``plan_derived`` may ask about, but those of the assets in
    ``skip`` (whose files it knows are up to date without their digests)."""
    entries = lock.entries
    # One comprehension each, not a call per asset: 30,000 derived paths on a null plan.
    paths = {
        d[0]  # d.path
        for n, e in entries.items()
        if n not in skip and e.derived  # in this order: a skipped entry's rows stay unread
        for d in e.derived
    }
    paths.update([p for s in specs if s.derived and s.name not in skip for p, _ in s.derived])
    return paths
