"""Which assets were explored, and how far: ``.assetgen/explore/state.json``, machine-local.

The state is only a convenience: candidates are ordinary cache entries whose spec
hashes follow from the asset's request and the candidate number (candidates.py), so
whether candidate ``k`` exists is a cache lookup. The file remembers which assets to
show and how many candidates were asked for; when it is missing or unreadable it is
rebuilt by looking the candidates of every asset up in the local cache. Written by
temp file + rename; read as untrusted (anything odd in it is ignored).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..fsutil import atomic_write
from ..project import Project
from ..spec import AssetSpec
from .candidates import MAX_CANDIDATES, Candidate, candidate, candidates

STATE_VERSION = 1
STATE_FILE = "state.json"


def state_file(project: Project) -> Path:
    """``.assetgen/explore/state.json`` (``.assetgen/<stem>.explore/`` for another manifest)."""
    return project.page_dir("explore") / STATE_FILE


def undecided_names(project: Project, specs: Iterable[AssetSpec]) -> frozenset[str]:
    """Assets with candidates here, none of which they ask for now (for the gallery's mark).

    Cheap on purpose: no state file, no lookups; the local cache only."""
    state = read_state(state_file(project))
    if not state:
        return frozenset()
    from ..cache.open import cache_root
    from ..cache.store import LocalCache

    has = LocalCache(cache_root(project)).has
    return frozenset(e.spec.name for e in explored(specs, state, has) if e.undecided)


def read_state(path: Path) -> dict[str, int] | None:
    """Asset name -> candidates asked for; None when there is no readable state."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
        return None
    assets = doc.get("assets")
    if not isinstance(assets, dict):
        return None
    return {
        str(name): n
        for name, n in assets.items()
        if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_CANDIDATES
    }


def write_state(path: Path, state: Mapping[str, int]) -> None:
    doc = {"version": STATE_VERSION, "assets": dict(sorted(state.items()))}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(doc, indent=1) + "\n").encode("utf-8"), durable=False)


def rebuild_state(specs: Iterable[AssetSpec], has: Callable[[str], bool]) -> dict[str, int]:
    """The state the cache proves: per asset, the candidates 1..n that are all cached."""
    state: dict[str, int] = {}
    for spec in specs:
        n = 0
        while n < MAX_CANDIDATES and has(candidate(spec, n + 1).spec.spec_hash):
            n += 1
        if n:
            state[spec.name] = n
    return state


def load_state(
    path: Path, specs: Iterable[AssetSpec], has: Callable[[str], bool]
) -> dict[str, int]:
    """The state at ``path``, rebuilt from the cache (and written) when there is none."""
    state = read_state(path)
    if state is None:
        state = rebuild_state(specs, has)
        with contextlib.suppress(OSError):  # a read-only checkout: rebuilt next time
            write_state(path, state)
    return state


@dataclass(frozen=True, slots=True)
class Explored:
    """One explored asset as the views see it: its candidates, which of them exist here."""

    spec: AssetSpec
    candidates: tuple[Candidate, ...]
    cached: frozenset[int]  # candidate numbers whose image the local cache has
    picked: int | None  # the candidate whose request the asset makes now, if any

    @property
    def undecided(self) -> bool:
        """Candidates to look at, and none of them is what the asset asks for now."""
        return bool(self.cached) and self.picked is None


def explored(
    specs: Iterable[AssetSpec], state: Mapping[str, int], has: Callable[[str], bool]
) -> list[Explored]:
    """The explored assets of ``specs`` (settled against the lock), by name."""
    out = []
    for spec in sorted(specs, key=lambda s: s.name):
        n = state.get(spec.name)
        if not n:
            continue
        cands = tuple(candidates(spec, n))
        cached = frozenset(c.k for c in cands if has(c.spec.spec_hash))
        picked = next((c.k for c in cands if c.spec.spec_hash == spec.spec_hash), None)
        out.append(Explored(spec, cands, cached, picked))
    return out
