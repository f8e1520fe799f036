"""EvoLink's text-to-image models: every fact with the public page it comes from.

Pages (read 2026-12; ``docs.evolink.ai/en/api-manual/image-series/...``):

[krea]  .../krea/krea-2-turbo-image-generate, prices https://evolink.ai/krea-2-turbo
[zit]   .../z-image-turbo/z-image-turbo-image-generate
[sd45]  .../seedream/seedream-4.5-image-generate, price https://evolink.ai/seedream-4-5
[sdbd]  ByteDance's Seedream 4.5 size rule as relayed by https://novita.ai/docs/api-reference/
        model-apis-seedream-4.5 (EvoLink's page points to the same upstream model)
[gi2]   .../gpt-image-2/gpt-image-2-image-generation
[gi2b]  .../gpt-image-2/gpt-image-2-beta-image-generation
[nb2]   the "Nanobanana 2 Image Generation" page of https://docs.evolink.ai/

Not public, so not built in (declare them under ``models:``, see the README): the
prices of z-image-turbo, gpt-image-2, gpt-image-2-beta and Nano Banana 2, and the
pixel size of every aspect-ratio size except krea's (the gateway derives them; only
explicit ``WxH`` sizes have a known size here). None of these pages documents a seed
except krea's and z-image-turbo's, so the others are seedless.
"""

from __future__ import annotations

from .model import ModelInfo, SizeRule


def _krea_pixels() -> dict[str, dict[str, tuple[int, int]]]:
    table = {  # [krea] the size x quality pixel table
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


NO_QUALITY = "default"  # the one tier of a model whose request has no quality field

_PRICE_UNKNOWN = "its price is not public: declare `credits` under `models:` to use it"
_RATIO_PIXELS = "the pixel size of its aspect-ratio sizes is not public; WxH sizes are checked"

KREA = ModelInfo(
    name="krea-2-turbo",
    pixels=_krea_pixels(),
    credits={"1K": 0.45, "2K": 1.8},  # [krea] per_call
    default_size="1:1",
    default_quality="1K",
    seed_min=1,
    seed_max=1_048_576,  # [krea] 0 = random, so never sent
    prompt_max_tokens=640,  # [krea]
)

Z_IMAGE_TURBO = ModelInfo(
    name="z-image-turbo",
    pixels={},
    credits={},  # price: not on [zit] nor on a product page found
    default_size="1024x1024",
    default_quality=NO_QUALITY,
    seed_min=1,
    seed_max=2_147_483_647,  # [zit] "1 to 2147483647; leave empty for random"
    prompt_max_tokens=2000,
    prompt_max_chars=2000,  # [zit] "limited to 2000 characters"
    quality_tiers=(NO_QUALITY,),  # [zit] has no quality field
    named_sizes=("1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "1:2", "2:1"),  # [zit]
    size_rule=SizeRule(min_edge=376, max_edge=1536),  # [zit] "width and height 376-1536"
    fields=("model", "prompt", "size", "seed", "nsfw_check", "callback_url"),  # [zit]
    notes=(_PRICE_UNKNOWN, _RATIO_PIXELS),
)

SEEDREAM_45 = ModelInfo(
    name="doubao-seedream-4.5",
    pixels={},
    credits={NO_QUALITY: 2.25},  # evolink.ai/seedream-4-5: "$0.0313 / image (2.25 Credits)"
    default_size="2048x2048",
    default_quality=NO_QUALITY,
    seed_min=0,
    seed_max=0,
    prompt_max_tokens=2000,  # [sd45] "limited to 2000 tokens"
    quality_tiers=(NO_QUALITY,),
    named_sizes=("2K", "4K"),  # [sd45] resolution shortcuts; their pixels are not public
    # [sdbd] total pixels 3,686,400..16,777,216, aspect ratio 1/16..16
    size_rule=SizeRule(min_pixels=3_686_400, max_pixels=16_777_216, max_ratio=16),
    seeded=False,
    n_max=15,  # [sd45] "any integer value between [1,15]"; assetgen sends none (1 image)
    fields=("model", "prompt", "size", "callback_url"),  # [sd45] (+ n, image_urls: unused)
    notes=(
        "the price differs between the product page's languages (2.16-2.5 credits); "
        "override `credits` under `models:` if yours differs",
        _RATIO_PIXELS,
    ),
)

# [gi2] / [gi2b]: explicit WxH, multiples of 16, edges up to 3840, 655,360..8,294,400
# pixels, at most 3:1.
_GPT_IMAGE_2_RULE = SizeRule(
    multiple=16, min_edge=16, max_edge=3840, min_pixels=655_360, max_pixels=8_294_400, max_ratio=3
)
_GPT_IMAGE_2_RATIOS = (
    *("1:1", "1:2", "2:1", "1:3", "3:1", "2:3", "3:2", "3:4", "4:3"),
    *("4:5", "5:4", "9:16", "16:9", "9:21", "21:9"),
)

GPT_IMAGE_2 = ModelInfo(
    name="gpt-image-2",
    pixels={},
    credits={},  # token-billed; EvoLink's per-token rates are not public
    default_size="1024x1024",
    default_quality="medium",
    seed_min=0,
    seed_max=0,
    prompt_max_tokens=32_000,
    prompt_max_chars=32_000,  # [gi2] "Up to 32000 characters"
    quality_tiers=("low", "medium", "high"),  # [gi2] (the resolution tier: ratios only)
    named_sizes=_GPT_IMAGE_2_RATIOS,  # [gi2] "15 options" (+ auto, not offered: no pixels)
    size_rule=_GPT_IMAGE_2_RULE,
    seeded=False,
    billing="per_token",
    n_max=10,
    fields=("model", "prompt", "size", "quality", "callback_url"),
    notes=(_PRICE_UNKNOWN, _RATIO_PIXELS),
)

GPT_IMAGE_2_BETA = ModelInfo(
    name="gpt-image-2-beta",
    pixels={},
    credits={},  # [gi2b] per_call, 1x/1.7x/2.6x a base price that the page does not give
    default_size="1024x1024",
    default_quality=NO_QUALITY,
    seed_min=0,
    seed_max=0,
    prompt_max_tokens=2000,  # [gi2b] "Limited to 2000 tokens"
    quality_tiers=(NO_QUALITY,),  # [gi2b] "quality is not exposed on this channel"
    named_sizes=_GPT_IMAGE_2_RATIOS,
    size_rule=_GPT_IMAGE_2_RULE,
    seeded=False,
    fields=("model", "prompt", "size", "callback_url"),  # [gi2b] n is fixed at 1
    notes=(
        _PRICE_UNKNOWN + " (WxH is billed by pixel count: <= 1.7 MP as 1K, <= 4.4 MP as 2K, "
        "above as 4K, at 1x, 1.7x and 2.6x the base price)",
        _RATIO_PIXELS,
    ),
)

NANO_BANANA_2 = ModelInfo(
    name="gemini-3.1-flash-image-preview",
    pixels={},
    credits={},  # [nb2] "different quality levels have different pricing": not given
    default_size="1:1",
    default_quality="2K",  # [nb2] default 2K
    seed_min=0,
    seed_max=0,
    prompt_max_tokens=2000,  # [nb2] "limited to 2000 tokens"
    quality_tiers=("0.5K", "1K", "2K", "4K"),  # [nb2]
    named_sizes=(  # [nb2] (+ auto, not offered: no pixels)
        *("1:1", "1:4", "4:1", "1:8", "8:1", "2:3", "3:2"),
        *("3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"),
    ),
    seeded=False,
    fields=("model", "prompt", "size", "quality", "callback_url"),
    notes=(_PRICE_UNKNOWN, "its pixel table is not public: declare `pixels` under `models:`"),
)

EVOLINK_MODELS = (KREA, Z_IMAGE_TURBO, SEEDREAM_45, GPT_IMAGE_2, GPT_IMAGE_2_BETA, NANO_BANANA_2)
