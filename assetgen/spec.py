"""The resolved, frozen description of one asset, and the hash that identifies its image.

The spec hash covers exactly what determines the pixels (provider, model, prompt
after substitution, size, quality, seed, nsfw_check) and nothing else: renaming an
asset, moving its output or changing its callback_url never pays again. Bump
HASH_VERSION whenever the hashed inputs or their canonical form change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

HASH_VERSION = 1

REQUEST_FIELDS = ("provider", "model", "prompt", "size", "quality", "seed", "nsfw_check")


_REQUEST_INDEX = {f: i for i, f in enumerate(REQUEST_FIELDS)}


class Request(Mapping[str, Any]):
    """A read-only request (provider, model, prompt, size, quality, seed, nsfw_check).

    A tuple behind a Mapping: a 100,000-asset lock holds one per asset, and a dict
    would cost three times the memory.
    """

    __slots__ = ("_values",)

    def __init__(self, values: tuple[Any, ...]) -> None:
        if len(values) != len(REQUEST_FIELDS):
            raise ValueError(f"a request has {len(REQUEST_FIELDS)} fields, not {len(values)}")
        self._values = values

    @classmethod
    def of(cls, mapping: Mapping[str, Any]) -> Request:
        return (
            mapping
            if isinstance(mapping, Request)
            else cls(tuple(mapping[f] for f in REQUEST_FIELDS))
        )

    def __getitem__(self, key: str) -> Any:
        return self._values[_REQUEST_INDEX[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(REQUEST_FIELDS)

    def __len__(self) -> int:
        return len(REQUEST_FIELDS)

    def __repr__(self) -> str:
        return repr(dict(self))

    def values_tuple(self) -> tuple[Any, ...]:
        return self._values


@dataclass(frozen=True, slots=True)
class AssetSpec:
    """One asset after defaults, ${vars}, matrix rows and seed derivation."""

    name: str
    provider: str
    model: str
    prompt: str
    size: str
    quality: str
    seed: int
    nsfw_check: bool
    output: str  # relative to the manifest's directory, POSIX separators
    width: int
    height: int
    credits: float  # what one generation costs with this provider
    spec_hash: str
    seed_derived: bool = False
    callback_url: str | None = None
    # A token-billed model's upper bound (None: the price is exact); --max-credits uses it.
    credits_max: float | None = None
    # False for a seedless model: generating again gives another image (the lock's bytes
    # are the only record of this one).
    reproducible: bool = True
    # The request fields of a model the project declared or changed under `models:`
    # (empty: the built-in catalog's entry says); providers send only these.
    fields: tuple[str, ...] = ()

    @property
    def most_credits(self) -> float:
        return self.credits if self.credits_max is None else self.credits_max

    # Derived outputs: (path relative to the manifest's folder, canonical recipe JSON),
    # in manifest order (derive/recipe.py). Not part of the spec hash: deriving is free
    # and never changes the master.
    derived: tuple[tuple[str, str], ...] = ()
    # A token-billed model's prices from the catalog the manifest was resolved with (the
    # built-in one merged with `models:`): (USD per 1M input tokens, per 1M output tokens),
    # so a build charges usage at the prices the plan used. Not hashed: a price is no pixel.
    token_usd_per_m: tuple[float, float] | None = None
    # The seeds the model takes, from the merged catalog (a project's `models:` may narrow
    # them); not hashed: explore draws candidate seeds from them and pick checks against them.
    seed_min: int = 1
    seed_max: int = 1_048_576
    # (credits, credits_max) of one generation by a provider that charges, for a spec made
    # by the free draft one (None: as ``credits``); explore prices draft candidates with it.
    model_credits: tuple[float, float] | None = None

    @property
    def request(self) -> dict[str, Any]:
        """The canonical generation request, as recorded in the lock."""
        return {f: getattr(self, f) for f in REQUEST_FIELDS}

    @property
    def format(self) -> str:
        """Image format chosen by the output's extension."""
        return format_for_path(self.output)


def spec_hash(request: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical JSON of a request (sorted keys, no spaces, UTF-8)."""
    canon = {f: request[f] for f in REQUEST_FIELDS}
    canon["hash_version"] = HASH_VERSION
    data = json.dumps(canon, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest()


def derive_seed(name: str, seed_min: int, seed_max: int) -> int:
    """A seed from the asset's name: stable across prompt edits, so composition survives them."""
    digest = hashlib.sha256(b"assetgen-seed\0" + name.encode("utf-8")).digest()
    return seed_min + int.from_bytes(digest[:8], "big") % (seed_max - seed_min + 1)


FORMATS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}


def format_for_path(path: str) -> str:
    ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return FORMATS.get(ext, "")


@dataclass(frozen=True, slots=True)
class Manifest:
    """A valid manifest, resolved: what ``plan`` and ``build`` work from."""

    provider: str
    output_dir: str
    specs: tuple[AssetSpec, ...]
    remote_cache: str | None = None  # `cache.remote`: a URL (see remote.py)
    # The memo key of the bytes it was resolved from ('' when made in memory): like
    # Lockfile.source, never carried over by ``replace()``.
    source: str = field(default="", init=False, compare=False, repr=False)
