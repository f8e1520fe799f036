"""What each model accepts and costs, as data: adding a model is adding an entry.

The built-in entries live in ``evolink.py`` and ``openai.py``, each fact with the
public page it comes from; a project adds or overrides entries under ``models:`` in
its manifest (``project.py``), so a new model or a changed price needs no release.
Facts no public page gives (a price, a pixel table) are left out of the built-in
entry rather than guessed: validation then says so and how to declare them.

Figures for krea-2-turbo are the gateway's published ones: the size x quality pixel
table, 0.45 credits per 1K image and 1.8 per 2K, seeds 1..1048576 (0 means "random"
to the gateway, so assetgen never sends it), and a 640-token prompt limit.

Credits are one unit across providers, so one ``--max-credits`` budget covers a
manifest mixing them: EvoLink's credit, which EvoLink's own client converts at
68 credits per US dollar (``CREDITS_PER_USD``). A provider billed in dollars (OpenAI)
has its prices converted at that rate.
"""

from __future__ import annotations

from collections.abc import Mapping

from .evolink import EVOLINK_MODELS
from .model import (
    CREDITS_PER_USD,
    KREA_FIELDS,
    ModelInfo,
    SizeRule,
    TokenPrice,
    estimate_tokens,
    tokens_to_credits,
    usd_tokens_to_credits,
)
from .openai import OPENAI_MODELS

__all__ = [
    "CREDITS_PER_USD",
    "DEFAULT_MODEL",
    "DEFAULT_MODELS",
    "KREA_FIELDS",
    "MODELS",
    "ModelInfo",
    "SizeRule",
    "TokenPrice",
    "estimate_tokens",
    "merged",
    "tokens_to_credits",
    "usd_tokens_to_credits",
]

MODELS: dict[str, ModelInfo] = {m.name: m for m in (*EVOLINK_MODELS, *OPENAI_MODELS)}

DEFAULT_MODEL = "krea-2-turbo"

# The model a provider uses when an asset names none.
DEFAULT_MODELS = {"evolink": DEFAULT_MODEL, "openai": "gpt-image-1-mini", "draft": DEFAULT_MODEL}


def merged(overrides: Mapping[str, ModelInfo] | None) -> Mapping[str, ModelInfo]:
    """The built-in catalog with a project's ``models:`` entries over it."""
    if not overrides:
        return MODELS
    return {**MODELS, **overrides}
