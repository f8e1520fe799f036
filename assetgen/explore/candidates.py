"""Candidates: an asset's request with other seeds, each an ordinary spec with its own hash.

A candidate's seed is a pure function of the asset's name and the candidate's number,
so ``explore -n 4`` asks for the same four requests on every machine: a second run,
or a teammate with the same remote cache, finds them cached. Only the seed differs
from the asset's request, so pinning a candidate's seed in the manifest (``pick``)
makes the asset's spec hash exactly the candidate's: the next build restores it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from ..cache.records import CacheRecord
from ..errors import UsageError
from ..spec import AssetSpec, spec_hash

MAX_CANDIDATES = 64  # per asset; also how far a lost state is looked for in the cache
_SALT = b"assetgen-explore\0"


@dataclass(frozen=True, slots=True)
class Candidate:
    """Candidate ``k`` (1-based) of ``asset``: the asset's request with ``spec.seed``."""

    asset: str
    k: int
    spec: AssetSpec

    @property
    def seed(self) -> int:
        return self.spec.seed


def seed_range(spec: AssetSpec) -> tuple[int, int]:
    """The seeds ``spec``'s model takes (the merged catalog's: a project's ``models:`` may
    narrow them); a seedless model cannot have candidates: its requests differ by nothing
    a pick could pin."""
    if not spec.reproducible:
        raise UsageError(
            f"{spec.name}: model `{spec.model}` takes no seed, so a candidate could not be "
            "made again or pinned by `pick`; explore assets of a seeded model"
        )
    return spec.seed_min, spec.seed_max


def candidate_seed(name: str, k: int, seed_min: int, seed_max: int) -> int:
    """The seed of candidate ``k`` of asset ``name`` (salted apart from the derived seed)."""
    digest = hashlib.sha256(_SALT + name.encode("utf-8") + b"\0" + str(k).encode()).digest()
    return seed_min + int.from_bytes(digest[:8], "big") % (seed_max - seed_min + 1)


def candidate(spec: AssetSpec, k: int) -> Candidate:
    """Candidate ``k`` of ``spec``: its request with the candidate's seed, named ``NAME#k``
    (a name the manifest cannot use, so it never meets a real asset in the journal)."""
    seed = candidate_seed(spec.name, k, *seed_range(spec))
    request = spec.request
    request["seed"] = seed
    variant = replace(
        spec, name=f"{spec.name}#{k}", seed=seed, spec_hash=spec_hash(request), seed_derived=False
    )
    return Candidate(spec.name, k, variant)


def candidates(spec: AssetSpec, n: int) -> list[Candidate]:
    """Candidates 1..n of ``spec``."""
    return [candidate(spec, k) for k in range(1, n + 1)]


def with_provider(spec: AssetSpec, provider: str) -> AssetSpec:
    """``spec`` as made by ``provider`` (``explore --provider draft`` candidates of an
    evolink asset are the draft provider's requests), priced as a build would: draft is
    free, and any other provider charges the model's price in the merged catalog, which
    a spec resolved for another charging provider already carries."""
    if provider == spec.provider:
        return spec
    request = spec.request
    request["provider"] = provider
    priced = spec.model_credits if spec.provider == "draft" else (spec.credits, spec.most_credits)
    if provider == "draft":
        credits, credits_max, model_credits = 0.0, None, priced
    else:  # the model's price does not depend on which charging provider serves it
        low, high = priced or (0.0, 0.0)  # (None: a draft build of a model with no public price)
        credits, credits_max, model_credits = low, (high if high != low else None), None
    return replace(
        spec,
        provider=provider,
        spec_hash=spec_hash(request),
        credits=credits,
        credits_max=credits_max,
        model_credits=model_credits,
    )


def image_sha(record: CacheRecord | None, spec: AssetSpec) -> str | None:
    """The digest of ``spec``'s image in its cache ``record`` (in ``spec``'s format), if any."""
    if record is None or spec.format not in record.blobs:
        return None
    return record.blobs[spec.format][0]
