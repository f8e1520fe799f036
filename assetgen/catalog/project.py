"""A project's own ``models:``: entries that add to or override the built-in catalog.

The schema has already checked the shape (schemas/manifest.schema.json, ``$defs.
model_entry``); this turns one entry into a ModelInfo. An entry that names a
built-in model (or ``like:`` one) starts from its facts and replaces only what it
gives, so a changed price is one line::

    models:
      doubao-seedream-4.5: {credits: {default: 2.5}}
      my-local-sdxl: {provider: openai, like: gpt-image-1, credits: {medium: 0}}
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from .model import ModelInfo, SizeRule, TokenPrice

# A model declared from nothing (no ``like``): it is sent only what every image API
# takes, never a quality, seed or nsfw_check it did not declare in ``fields``.
BLANK_FIELDS = ("model", "prompt", "size", "callback_url")

_BLANK = ModelInfo(
    name="",
    pixels={},
    credits={},
    default_size="1024x1024",
    default_quality="default",
    seed_min=0,
    seed_max=0,
    prompt_max_tokens=2000,
    seeded=False,
    fields=BLANK_FIELDS,
)


class EntryProblem(ValueError):
    """A ``models:`` entry the schema accepts but the catalog cannot use, at ``key``."""

    def __init__(self, key: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.key = key
        self.hint = hint
        self.entry = ""  # the entry's name, set by project_models


def model_from_entry(
    name: str, body: Mapping[str, Any], base: Mapping[str, ModelInfo]
) -> ModelInfo:
    """The ModelInfo a ``models:`` entry declares, over the built-in one it names."""
    like = body.get("like")
    if like is not None and str(like) not in base:
        known = ", ".join(sorted(base))
        raise EntryProblem(
            "like",
            f"models.{name}.like names `{like}`, which is not a built-in model",
            f"use one of: {known}; or remove `like` to declare the model from nothing",
        )
    start = base.get(str(like or name), _BLANK)
    info = replace(start, name=name)
    changes: dict[str, Any] = {}
    for key in ("provider", "default_size", "default_quality", "prompt_max_tokens"):
        if key in body:
            changes[key] = body[key]
    if "prompt_max_chars" in body:
        changes["prompt_max_chars"] = body["prompt_max_chars"]
    if "credits" in body:
        changes["credits"] = {str(q): float(c) for q, c in body["credits"].items()}
        changes["billing"] = "per_call"
        changes["token_price"] = None
    if "qualities" in body:
        changes["quality_tiers"] = tuple(str(q) for q in body["qualities"])
    if "sizes" in body:
        changes["named_sizes"] = tuple(str(s) for s in body["sizes"])
    if "pixels" in body:
        changes["pixels"] = {
            str(size): {str(q): (int(wh[0]), int(wh[1])) for q, wh in tiers.items()}
            for size, tiers in body["pixels"].items()
        }
    if "wxh" in body:
        rule = body["wxh"]
        changes["size_rule"] = SizeRule(**rule)
    if "seed" in body:
        seed = body["seed"]
        if seed is True:
            raise EntryProblem(
                "seed",
                f"models.{name}.seed: true names no range",
                "write `seed: {min: 1, max: N}` with the model's range, or `seed: false`",
            )
        if seed is False:
            changes.update(seeded=False, seed_min=0, seed_max=0)
        else:
            low, high = int(seed["min"]), int(seed["max"])
            if low > high:
                raise EntryProblem(
                    "seed",
                    f"models.{name}.seed: min {low} is above max {high}",
                    "give the range the model accepts, min <= max",
                )
            changes.update(seeded=True, seed_min=low, seed_max=high)
    if "fields" in body:
        changes["fields"] = tuple(str(f) for f in body["fields"])
    if "token_price" in body:
        tp = body["token_price"]
        changes["billing"] = "per_token"
        changes["token_price"] = TokenPrice(
            input_usd_per_m=float(tp["input_usd_per_m"]),
            output_usd_per_m=float(tp["output_usd_per_m"]),
            image_tokens={
                str(s): {str(q): int(n) for q, n in tiers.items()}
                for s, tiers in tp["image_tokens"].items()
            },
        )
    if changes:
        priced = "credits" in changes or "token_price" in changes
        changes["notes"] = tuple(n for n in info.notes if not (priced and "price" in n))
    return replace(info, **changes)


def project_models(
    doc: Any,
    base: Mapping[str, ModelInfo],
    skip: Collection[str] = (),
    problems: list[EntryProblem] | None = None,
) -> dict[str, ModelInfo]:
    """Every entry of the manifest's ``models:``, by name.

    ``skip``: entries the schema refused (it says why); every other entry has the
    schema's shape. An entry the catalog cannot use is left out, with its problem
    appended to ``problems`` (its ``entry`` names it).
    """
    section = doc.get("models") if isinstance(doc, dict) else None
    if not isinstance(section, dict):
        return {}
    out: dict[str, ModelInfo] = {}
    for name, body in section.items():
        if not isinstance(body, dict) or str(name) in skip:
            continue
        try:
            out[str(name)] = model_from_entry(str(name), body, base)
        except EntryProblem as problem:
            problem.entry = str(name)
            if problems is not None:
                problems.append(problem)
    return out
