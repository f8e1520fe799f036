"""An asset's model, size, quality, seed and prompt, checked against the catalog.

The schema only says these are strings and integers: what a model offers is in the
catalog (built in, merged with the manifest's ``models:``), so a project can add a
model without a new schema. Each refusal is located where the value is written and
lists what the model offers; messages keep the schema's wording for krea-2-turbo.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..catalog import DEFAULT_MODELS, ModelInfo, estimate_tokens
from ..schema.yamlpos import Path


@dataclass(frozen=True, slots=True)
class Choice:
    """What the catalog made of an asset's model fields."""

    info: ModelInfo
    provider: str
    size: str
    quality: str
    seed: int
    seed_derived: bool
    width: int
    height: int
    credits: float
    credits_max: float


def dotted(path: Path) -> str:
    return ".".join(str(p) for p in path)


def one_of(options: tuple[str, ...] | list[str]) -> str:
    return ", ".join(json.dumps(o, ensure_ascii=False) for o in options)


def model_name(value: str | None, provider: str) -> str:
    return value or DEFAULT_MODELS.get(provider, DEFAULT_MODELS["evolink"])


def served_by(info: ModelInfo, manifest_provider: str) -> str:
    """The provider of an asset: its model's, unless the whole build is drafted."""
    return "draft" if manifest_provider == "draft" else info.provider


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


def lookup(models: Mapping[str, ModelInfo], name: str) -> ModelInfo | None:
    return models.get(name)


def known_for(models: Mapping[str, ModelInfo], provider: str) -> list[str]:
    """The models offered to an asset of ``provider`` (all of them for a draft build)."""
    names = [n for n, m in models.items() if provider == "draft" or m.provider == provider]
    default = DEFAULT_MODELS.get(provider)
    return sorted(names, key=lambda n: (n != default, n))
