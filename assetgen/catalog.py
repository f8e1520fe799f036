"""What each model accepts and costs, as data: adding a model is adding an entry.

Figures for krea-2-turbo are the gateway's published ones: the size x quality pixel
table, 0.45 credits per 1K image and 1.8 per 2K, seeds 1..1048576 (0 means "random"
to the gateway, so assetgen never sends it), and a 640-token prompt limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    pixels: Mapping[str, Mapping[str, tuple[int, int]]]  # size -> quality -> (width, height)
    credits: Mapping[str, float]  # quality -> credits per image
    default_size: str
    default_quality: str
    seed_min: int
    seed_max: int
    prompt_max_tokens: int

    @property
    def sizes(self) -> tuple[str, ...]:
        return tuple(self.pixels)

    @property
    def qualities(self) -> tuple[str, ...]:
        return tuple(self.credits)


def _krea_pixels() -> dict[str, dict[str, tuple[int, int]]]:
    table = {
        "1:1": ((1024, 1024), (2048, 2048)),
        "4:3": ((1152, 896), (2304, 1728)),
        "3:4": ((896, 1152), (1728, 2304)),
        "5:4": ((1152, 896), (2240, 1792)),
        "4:5": ((896, 1152), (1792, 2240)),
        "3:2": ((1280, 832), (2496, 1664)),
        "2:3": ((832, 1280), (1664, 2496)),
        "16:9": ((1344, 768), (2688, 1472)),
        "9:16": ((768, 1344), (1472, 2688)),
        "2:1": ((1472, 704), (2816, 1408)),
        "1:2": ((704, 1472), (1408, 2816)),
    }
    return {size: {"1K": k1, "2K": k2} for size, (k1, k2) in table.items()}


MODELS: dict[str, ModelInfo] = {
    "krea-2-turbo": ModelInfo(
        name="krea-2-turbo",
        pixels=_krea_pixels(),
        credits={"1K": 0.45, "2K": 1.8},
        default_size="1:1",
        default_quality="1K",
        seed_min=1,
        seed_max=1_048_576,
        prompt_max_tokens=640,
    ),
}

DEFAULT_MODEL = "krea-2-turbo"

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
