"""The OpenAI Images API's models (``provider: openai``), each fact with its source.

[guide]  https://platform.openai.com/docs/guides/image-generation (sizes, quality,
         output_format, background, n, and the image tokens per size x quality in
         "Cost and latency")
[ref]    https://platform.openai.com/docs/api-reference/images/create (request fields;
         GPT image models always return ``b64_json``; prompt up to 32000 characters)
[g1]     https://platform.openai.com/docs/models/gpt-image-1: text input $5, image output
         $40 per 1M tokens
[mini]   https://developers.openai.com/api/docs/models/gpt-image-1-mini: text input $2,
         image output $8 per 1M tokens; per image low $0.005/$0.006/$0.006, medium
         $0.011/$0.015/$0.015, high $0.036/$0.052/$0.052 (1024x1024/1024x1536/1536x1024)

Not offered: ``size: auto`` and ``quality: auto`` (the model picks; the pixel size
could not be checked nor the price bounded). No seed: an image cannot be made again,
so the lock's bytes are its only record. ``dall-e-2``/``dall-e-3`` (priced per size,
not per quality) are not built in; a project can declare them under ``models:``.
[ref] (read 2026-12) says gpt-image-1 was shut down by OpenAI on 2026-10-23: it stays
here for OpenAI-compatible servers that still serve it, and gpt-image-1-mini is the
provider's default model. The figures of [guide] and [g1] were not re-read for this release: override them
under ``models:`` if OpenAI's page says otherwise.
"""

from __future__ import annotations

from .model import ModelInfo, TokenPrice

SIZES = ("1024x1024", "1024x1536", "1536x1024")  # [guide] (+ auto)
QUALITIES = ("low", "medium", "high")  # [guide] (+ auto)
FIELDS = ("model", "prompt", "size", "quality", "n", "output_format", "background")  # [ref]


def _square(tokens: dict[str, tuple[int, int, int]]) -> dict[str, dict[str, int]]:
    """quality -> (1024x1024, 1024x1536, 1536x1024) as size -> quality -> tokens."""
    return {size: {q: t[i] for q, t in tokens.items()} for i, size in enumerate(SIZES)}


def _pixels() -> dict[str, dict[str, tuple[int, int]]]:
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for size in SIZES:
        w, h = (int(x) for x in size.split("x"))
        out[size] = {q: (w, h) for q in QUALITIES}
    return out


def _model(name: str, price: TokenPrice) -> ModelInfo:
    return ModelInfo(
        name=name,
        pixels=_pixels(),
        credits={},
        default_size="1024x1024",
        default_quality="medium",
        seed_min=0,
        seed_max=0,
        prompt_max_tokens=32_000,
        prompt_max_chars=32_000,  # [ref]
        provider="openai",
        quality_tiers=QUALITIES,
        seeded=False,
        billing="per_token",
        token_price=price,
        n_max=10,  # [ref]
        fields=FIELDS,
        output_formats=("png", "jpeg", "webp"),  # [guide]
        backgrounds=("transparent", "opaque", "auto"),  # [guide] transparent: png/webp only
    )


GPT_IMAGE_1 = _model(
    "gpt-image-1",
    TokenPrice(  # [g1] rates, [guide] image tokens
        input_usd_per_m=5.0,
        output_usd_per_m=40.0,
        image_tokens=_square(
            {"low": (272, 408, 400), "medium": (1056, 1584, 1568), "high": (4160, 6240, 6208)}
        ),
    ),
)

# [mini] gives the per-image prices; as tokens at $8 per 1M they are price / 0.000008.
GPT_IMAGE_1_MINI = _model(
    "gpt-image-1-mini",
    TokenPrice(
        input_usd_per_m=2.0,
        output_usd_per_m=8.0,
        image_tokens=_square(
            {"low": (625, 750, 750), "medium": (1375, 1875, 1875), "high": (4500, 6500, 6500)}
        ),
    ),
)

OPENAI_MODELS = (GPT_IMAGE_1, GPT_IMAGE_1_MINI)
