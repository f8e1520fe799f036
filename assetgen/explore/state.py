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
from ..providers import PROVIDERS
from ..spec import AssetSpec
from .candidates import MAX_CANDIDATES, Candidate, candidate, candidates, with_provider

STATE_VERSION = 1
STATE_FILE = "state.json"


def state_file(project: Project) -> Path:
    """``.assetgen/explore/state.json`` (``.assetgen/<stem>.explore/`` for another manifest)."""
    return project.page_dir("explore") / STATE_FILE


def undecided_names(project: Project, specs: Iterable[AssetSpec]) -> frozenset[str]:
    """Assets with candidates here, none of which they ask for now (for the gallery's mark).

    Cheap on purpose: the state file is read, never rebuilt (no state: no mark), and
    candidates are looked up in the local cache only."""
    state = read_state(state_file(project))
    if not state:
        return frozenset()
    from ..cache.open import cache_root
    from ..cache.store import LocalCache

    has = LocalCache(cache_root(project)).has
    return frozenset(e.spec.name for e in explored(specs, state, has) if e.undecided)


@dataclass(frozen=True, slots=True)
class Asked:
    """What ``explore`` was asked for one asset: ``n`` candidates, made with ``provider``."""

    n: int
    provider: str


State = dict[str, Asked]


def read_state(path: Path) -> State | None:
    """Asset name -> what was asked; None when there is no readable state."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
        return None
    assets = doc.get("assets")
    if not isinstance(assets, dict):
        return None
    state: State = {}
    for name, asked in assets.items():
        if not isinstance(asked, dict):
            continue
        n, provider = asked.get("n"), asked.get("provider")
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_CANDIDATES:
            continue
        if isinstance(provider, str) and provider in PROVIDERS:
            state[str(name)] = Asked(n, provider)
    return state


def write_state(path: Path, state: Mapping[str, Asked]) -> None:
    assets = {k: {"n": v.n, "provider": v.provider} for k, v in sorted(state.items())}
    doc = {"version": STATE_VERSION, "assets": assets}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(doc, indent=1) + "\n").encode("utf-8"), durable=False)


def rebuild_state(specs: Iterable[AssetSpec], has: Callable[[str], bool]) -> State:
    """The state the cache proves: per asset, the candidates 1..n that are all cached, made
    with the manifest's provider or, failing that, the free ``draft`` one. Assets of a
    seedless model have no candidates to look for."""
    state: State = {}
    for spec in specs:
        if not spec.reproducible:
            continue
        for provider in dict.fromkeys((spec.provider, "draft")):
            base = with_provider(spec, provider)
            n = 0
            while n < MAX_CANDIDATES and has(candidate(base, n + 1).spec.spec_hash):
                n += 1
            if n:
                state[spec.name] = Asked(n, provider)
                break
    return state


def load_state(path: Path, specs: Iterable[AssetSpec], has: Callable[[str], bool]) -> State:
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
    specs: Iterable[AssetSpec],
    state: Mapping[str, Asked],
    has: Callable[[str], bool],
    provider: str | None = None,
) -> list[Explored]:
    """The explored assets of ``specs`` (settled against the lock), by name; candidates are
    those of the provider each was explored with, or of ``provider`` when given."""
    out = []
    for spec in sorted(specs, key=lambda s: s.name):
        asked = state.get(spec.name)
        if asked is None or not spec.reproducible:  # its model became seedless since
            continue
        base = with_provider(spec, provider or asked.provider)
        cands = tuple(candidates(base, asked.n))
        cached = frozenset(c.k for c in cands if has(c.spec.spec_hash))
        # Picked: the asset asks for that candidate's seed now (with whichever provider).
        picked = next((c.k for c in cands if not spec.seed_derived and c.seed == spec.seed), None)
        out.append(Explored(spec, cands, cached, picked))
    return out
