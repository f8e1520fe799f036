"""The catalog's types: the facts of one model, its size rules and token prices.

See the package docstring for where the facts come from and what a credit is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# EvoLink's rate (its MCP client: 1 USD = 6.8 CNY, 1 CNY = 10 credits). EvoLink's product
# pages pair dollars and credits at about 72 instead ("$0.0313 / image (2.25 Credits)",
# "$0.031 (~2.25 credits)", "$0.035 / 2.5 Credits": 71.4-72.6 per USD), with no stated rate.
# EvoLink models are priced in credits directly, so only a dollar-priced model (OpenAI's)
# depends on this; such a project can state its own token prices under `models:`.
CREDITS_PER_USD = 68.0

# The request fields of EvoLink's krea-2-turbo route, the default set.
KREA_FIELDS = ("model", "prompt", "size", "quality", "seed", "nsfw_check", "callback_url")

_WXH = re.compile(r"([1-9][0-9]{0,5})[x\u00d7]([1-9][0-9]{0,5})")
# No model's size goes past these, whatever a manifest declares (the schema caps
# `models:` entries at them too): the bound that keeps a decode and a cache entry sane.
MAX_EDGE = 16_384
MAX_PIXELS = MAX_EDGE * MAX_EDGE


@dataclass(frozen=True, slots=True)
class SizeRule:
    """What an explicit ``WxH`` size must satisfy (both edges, their product, their ratio)."""

    multiple: int = 1
    min_edge: int = 1
    max_edge: int = MAX_EDGE
    min_pixels: int = 1
    max_pixels: int = MAX_PIXELS
    max_ratio: float = math.inf  # long edge / short edge

    def problem(self, width: int, height: int) -> str | None:
        """Why ``width x height`` is refused, or None."""
        if max(width, height) > MAX_EDGE or width * height > MAX_PIXELS:
            return f"each edge must be at most {MAX_EDGE} pixels, {MAX_PIXELS:,} in all"
        if width % self.multiple or height % self.multiple:
            return f"both edges must be multiples of {self.multiple}"
        if not (self.min_edge <= min(width, height) and max(width, height) <= self.max_edge):
            return f"each edge must be {self.min_edge}..{self.max_edge} pixels"
        if not self.min_pixels <= width * height <= self.max_pixels:
            return f"width x height must be {self.min_pixels:,}..{self.max_pixels:,} pixels"
        if max(width, height) / min(width, height) > self.max_ratio:
            return f"the long edge may be at most {self.max_ratio:g} times the short one"
        return None

    def describe(self) -> str:
        return (
            f"WxH, edges {self.min_edge}..{self.max_edge}"
            + (f" in multiples of {self.multiple}" if self.multiple > 1 else "")
            + f", {self.min_pixels:,}..{self.max_pixels:,} pixels"
        )


@dataclass(frozen=True, slots=True)
class TokenPrice:
    """A token-billed model: USD per million tokens, and image tokens per (size, quality).

    One image costs its output tokens (fixed by size and quality) plus the prompt's
    input tokens; assetgen's prompt estimate is deliberately high (``estimate_tokens``),
    so the upper bound of the range holds.
    """

    input_usd_per_m: float
    output_usd_per_m: float
    image_tokens: Mapping[str, Mapping[str, int]]  # size -> quality -> output tokens


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    pixels: Mapping[str, Mapping[str, tuple[int, int]]]  # size -> quality -> (width, height)
    credits: Mapping[str, float]  # quality -> credits per image (per-call billing)
    default_size: str
    default_quality: str
    seed_min: int
    seed_max: int
    prompt_max_tokens: int
    provider: str = "evolink"  # which provider serves it
    quality_tiers: tuple[str, ...] = ()  # when not every tier has a known price
    named_sizes: tuple[str, ...] = ()  # offered sizes whose pixels are not public
    size_rule: SizeRule | None = None  # explicit WxH accepted when set
    seeded: bool = True  # False: the request has no seed; an image cannot be remade
    billing: str = "per_call"  # per_call | per_token
    token_price: TokenPrice | None = None
    n_max: int = 1
    fields: tuple[str, ...] = KREA_FIELDS  # the request fields the model takes
    prompt_max_chars: int | None = None
    output_formats: tuple[str, ...] = ()
    backgrounds: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())  # what is not public, shown on errors

    @property
    def sizes(self) -> tuple[str, ...]:
        return tuple(self.pixels) + tuple(s for s in self.named_sizes if s not in self.pixels)

    @property
    def qualities(self) -> tuple[str, ...]:
        return self.quality_tiers or tuple(self.credits)

    def offered_sizes(self) -> str:
        """The sizes, for an error message: the names, then the WxH rule."""
        parts = list(self.sizes)
        if self.size_rule is not None:
            parts.append(self.size_rule.describe())
        return ", ".join(parts) if parts else "none declared"

    def size_problem(self, size: str) -> str | None:
        """Why ``size`` cannot be requested (unknown, or its pixels are not known)."""
        if size in self.pixels:
            return None
        m = _WXH.fullmatch(size)
        if m and self.size_rule is not None:
            return self.size_rule.problem(int(m.group(1)), int(m.group(2)))
        if size in self.named_sizes:
            return (
                f"the pixel size of `{size}` on {self.name} is not public, so the image "
                "could not be checked; use a WxH size or declare `pixels` under `models:`"
            )
        return "not offered"

    def dimensions(self, size: str, quality: str) -> tuple[int, int] | None:
        """The pixel size the gateway returns for ``size`` at ``quality``, when known."""
        table = self.pixels.get(size)
        if table is not None:
            return table.get(quality)
        m = _WXH.fullmatch(size)
        if m and self.size_rule is not None:
            return int(m.group(1)), int(m.group(2))
        return None

    def price_range(self, size: str, quality: str, prompt: str) -> tuple[float, float] | None:
        """``(credits, credits_max)`` of one image, or None when the price is not known."""
        tp = self.token_price
        if self.billing == "per_token" and tp is not None:
            tokens = tp.image_tokens.get(size, {}).get(quality)
            if tokens is None:
                return None
            low = tokens * tp.output_usd_per_m / 1e6 * CREDITS_PER_USD
            prompt_cost = estimate_tokens(prompt) * tp.input_usd_per_m / 1e6 * CREDITS_PER_USD
            return round(low, 6), round(low + prompt_cost, 6)
        if quality in self.credits:
            price = self.credits[quality]
            return price, price
        return None


def tokens_to_credits(info: ModelInfo, input_tokens: int, output_tokens: int) -> float | None:
    """What ``usage`` tokens cost in credits, for a token-billed model (else None)."""
    tp = info.token_price
    if tp is None:
        return None
    return usd_tokens_to_credits(
        (tp.input_usd_per_m, tp.output_usd_per_m), input_tokens, output_tokens
    )


def usd_tokens_to_credits(
    usd_per_m: tuple[float, float], input_tokens: int, output_tokens: int
) -> float:
    """What ``usage`` tokens cost in credits at (input, output) USD per million tokens."""
    usd = input_tokens * usd_per_m[0] / 1e6 + output_tokens * usd_per_m[1] / 1e6
    return round(usd * CREDITS_PER_USD, 6)


# Pieces a BPE-style tokenizer never merges across: runs of ASCII letters, single
# digits, and any other non-space character on its own.
_PIECES = re.compile(r"[A-Za-z]+|[0-9]|[^\sA-Za-z0-9]")


def estimate_tokens(prompt: str) -> int:
    """A deliberately high estimate of the prompt's token count.

    The gateway's tokenizer is not public. Common English BPE vocabularies average
    about four characters per token; we charge one token per started four letters
    of every ASCII word, one per digit, and one per any other character (CJK, emoji,
    punctuation), which stays above what T5, CLIP and Qwen tokenizers count on
    English prose, so a prompt we accept is not cut by the gateway.
    """
    total = 0
    for piece in _PIECES.findall(prompt):
        total += math.ceil(len(piece) / 4) if piece[0].isascii() and piece[0].isalpha() else 1
    return total
