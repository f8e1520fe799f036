"""A derived file's action: the value the planner's Plan holds and the views read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from ..lock.model import DerivedEntry, Lockfile
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


def derived_summary(derived: Iterable[DerivedAction]) -> dict[str, int]:
    """Count per action; ``forget`` (added later) only when there is one, so the
    summary of a plan without it keeps its first shape."""
    counts = Counter(d.action for d in derived)
    return {k: counts.get(k, 0) for k in DERIVED_ACTIONS if k != "forget" or counts.get(k)}


def paths_to_check(specs: Iterable[AssetSpec], lock: Lockfile) -> set[str]:
    """Every path whose digest ``make_plan`` may ask for."""
    specs = list(specs)
    entries = lock.entries.values()
    paths = {e.path for e in entries}
    paths.update([s.output for s in specs])
    # One comprehension each, not a call per asset: 30,000 derived paths on a null plan.
    paths.update([d[0] for e in entries if e.derived for d in e.derived])  # d.path
    paths.update([p for s in specs if s.derived for p, _ in s.derived])
    return paths
