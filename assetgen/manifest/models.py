"""An asset's model, size, quality, seed and prompt, checked against the catalog.

The schema only says these are strings and integers: what a model offers is in the
catalog (built in, merged with the manifest's ``models:``), so a project can add a
model without a new schema. Each refusal is located where the value is written and
lists what the model offers; messages keep the schema's wording for krea-2-turbo.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .. import catalog
from ..catalog import DEFAULT_MODELS, ModelInfo, estimate_tokens
from ..providers import PROVIDERS
from ..schema.yamlpos import Path
from ..spec import derive_seed
from .rules import FieldRules


def dotted(path: Path) -> str:
    return ".".join(str(p) for p in path)


def one_of(options: tuple[str, ...] | list[str]) -> str:
    return ", ".join(json.dumps(o, ensure_ascii=False) for o in options)


def model_name(value: str | None, provider: str) -> str:
    return value or DEFAULT_MODELS.get(provider, DEFAULT_MODELS["evolink"])


def served_by(info: ModelInfo, manifest_provider: str) -> str:
    """The provider of an asset: its model's, unless the whole build is drafted or the
    manifest names a plugin provider, which then serves every asset (a plugin's own
    models are declared under ``models:`` with its name as their ``provider``)."""
    if manifest_provider == "draft" or manifest_provider not in PROVIDERS:
        return manifest_provider
    return info.provider


def notes_hint(info: ModelInfo, about: str) -> str | None:
    wanted = [n for n in info.notes if about in n]
    return "; ".join(wanted) if wanted else None


def price_problem(info: ModelInfo) -> str:
    return (
        f"the price of {info.name} is not public, so the plan could not say what it costs; "
        f"declare it: `models: {{{info.name}: {{credits: {{{info.default_quality}: N}}}}}}`"
    )


def prompt_problem(info: ModelInfo, prompt: str) -> str | None:
    """Why ``prompt`` is too long for ``info``, or None."""
    if info.prompt_max_chars is not None and len(prompt) > info.prompt_max_chars:
        return f"prompt is {len(prompt)} characters; {info.name} accepts at most {info.prompt_max_chars}"
    tokens = estimate_tokens(prompt)
    if tokens > info.prompt_max_tokens:
        return (
            f"prompt is about {tokens} tokens; {info.name} accepts at most {info.prompt_max_tokens}"
        )
    return None


def seed_for(info: ModelInfo, value: Any) -> tuple[int | None, str | None]:
    """``(seed, problem)`` for a written seed (None: derive one)."""
    if value is None:
        return None, None
    if not info.seeded:
        return 0, f"{info.name} takes no seed"
    if isinstance(value, bool) or not isinstance(value, int):
        return 0, f"seed must be an integer, not {value!r}"
    if not info.seed_min <= value <= info.seed_max:
        return value, f"is {value}, outside {info.seed_min}..{info.seed_max}"
    return value, None


def known_for(models: Mapping[str, ModelInfo], provider: str) -> list[str]:
    """The models offered to an asset of ``provider`` (all of them for a draft build)."""
    names = [n for n, m in models.items() if provider == "draft" or m.provider == provider]
    default = DEFAULT_MODELS.get(provider)
    return sorted(names, key=lambda n: (n != default, n))


def catalog_price(provider: str, model: str, quality: str) -> float:
    if provider == "draft":
        return 0.0
    info = catalog.MODELS.get(model)
    return info.credits.get(quality, 0.0) if info else 0.0


class ModelRules(FieldRules):
    """The catalog's checks of one asset, on top of the field rules."""

    def _priced(
        self,
        provider: str,
        info: ModelInfo,
        size: str,
        quality: str,
        prompt: str,
        where: Path,
    ) -> tuple[float | None, float]:
        """``(credits, credits_max)`` of one image; ``(None, 0)`` with an error when unknown."""
        if self.price is not catalog_price or provider == "draft":
            price = self.price(provider, info.name, quality)
            return price, price
        priced = info.price_range(size, quality, prompt)
        if priced is None:
            self.error(where, price_problem(info), notes_hint(info, "price"))
            return None, 0.0
        return priced

    def _seed(
        self, info: ModelInfo, name: str, seed_value: Any, seed_path: Path
    ) -> tuple[int, bool]:
        """The asset's seed and whether it was derived (a seedless model's is 0)."""
        seed_derived = seed_value is None and info.seeded
        written, seed_problem = seed_for(info, seed_value)
        if seed_problem is not None:
            seed_hint = "omit `seed` to derive a stable one from the asset's name"
            if written == 0 and info.seeded:
                seed_hint = (
                    "0 means a random seed to the gateway, which would not be reproducible; "
                    + seed_hint
                )
            elif not info.seeded:
                seed_hint = "remove `seed`: the lock's bytes are the record of a seedless image"
            self.error(
                seed_path,
                f"{dotted(seed_path)} {seed_problem}"
                if seed_problem.startswith("is ")
                else seed_problem,
                seed_hint,
            )
        if written is not None:
            seed = written
        elif info.seeded:
            seed = derive_seed(name, info.seed_min, info.seed_max)
        else:
            seed = 0
        return seed, seed_derived
