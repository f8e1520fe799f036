"""The gateway contract as data: the emulator's knobs, the submit validation and error envelopes.

Pure functions and values (no HTTP, no state), following EvoLink's public API
reference (docs.evolink.ai): the create request, error envelopes and task error codes.
Where that reference is silent, the choice made here is documented in the README's
emulator section.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..catalog import MODELS, ModelInfo, estimate_tokens
from ..urls import callback_url_problem

MODEL = MODELS["krea-2-turbo"]
# Every built-in EvoLink model, each validated by its own catalog entry.
EVOLINK_MODELS: dict[str, ModelInfo] = {n: m for n, m in MODELS.items() if m.provider == "evolink"}
# What the emulator charges for a model whose price is not public (the catalog has
# none): a stand-in, so budgets and refunds can be exercised; a real gateway differs.
PLACEHOLDER_PRICE = 1.0
TASK_PREFIX = "task-unified-"
SEED_MAX = 1_048_576  # the gateway accepts 0 ("random") up to this, inclusive
FIELDS = ("model", "prompt", "size", "quality", "seed", "nsfw_check", "callback_url")
SPEC_FIELDS = ("model", "prompt", "size", "quality", "seed", "nsfw_check")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._-]{16,96}$")

# The gateway's task-level error codes and the message each failed task carries.
TASK_ERRORS: dict[str, str] = {
    "content_policy_violation": "Content policy violation. Please modify your prompt.",
    "invalid_parameters": "Invalid parameters. Please check the prompt length and fields.",
    "image_processing_error": "Image processing failed. Please use another image.",
    "image_dimension_mismatch": "Image dimensions do not match. Please resize the image.",
    "request_cancelled": "The request was cancelled.",
    "generation_failed_no_content": "Generation produced no content. Try a different prompt.",
    "service_error": "Service error. It recovers automatically; retry in 30-60 seconds.",
    "generation_timeout": "Generation timed out. Retry later.",
    "resource_exhausted": "Resources exhausted. Wait 1-5 minutes and retry.",
    "quota_exceeded": "Rate, concurrency or quota limit hit. Wait 1-2 seconds between requests.",
    "service_unavailable": "Service unavailable. Retry after a few minutes.",
    "resource_not_found": "Resource not found: the task id is invalid or expired.",
    "unknown_error": "Unknown error. Retry after a wait or contact support.",
}


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Every knob of the emulator; the CLI flags map one to one onto these fields.

    Rates are probabilities in 0..1 drawn from RNG streams seeded by ``seed``, so a run
    with the same seed and the same sequence of requests injects the same faults.
    """

    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    key: str = "sk-evo-emulator-local"
    denied_keys: tuple[str, ...] = ()  # authenticate, but get 403 model_access_denied on submit
    credits: float = 10_000.0  # the account balance; a submit that does not fit gets 402
    # What a completed task is finally charged, as a share of what its submit reserved
    # (a discount below 1); reported in its usage (``credits_used``), the rest refunded.
    charge_factor: float = 1.0
    latency: float = 2.0  # seconds from submit to a terminal status
    jitter: float = 0.0  # +- seconds, uniform
    seed: int | None = None  # None: a different run every time
    max_in_flight: int | None = None  # pending+processing tasks before 429
    retry_after: int = 1  # seconds, in the Retry-After header of 429s
    error_rate: float = 0.0  # 500/502/503 on /v1 calls
    fail_rate: float = 0.0  # tasks that end failed (and are refunded)
    fail_codes: tuple[str, ...] = ("service_error",)
    fail_prompts: tuple[str, ...] = ()  # prompts containing one end content_policy_violation
    truncate_rate: float = 0.0  # downloads cut short of their Content-Length
    url_lifetime: float = 86_400.0  # seconds a result URL works after completion; then 410
    image_format: Literal["png", "jpeg"] = "png"
    results: int = 1  # URLs per completed task
    api: Literal["evolink", "openai"] = "evolink"  # which API it speaks (openai.py)

    def __post_init__(self) -> None:
        for name in ("error_rate", "fail_rate", "truncate_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("latency", "jitter", "url_lifetime", "credits", "charge_factor"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"{name} must be 0 or more")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be between 0 and 65535")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if self.retry_after < 0 or self.results < 1:
            raise ValueError("retry_after must be 0 or more and results at least 1")
        if self.api not in ("evolink", "openai"):
            raise ValueError("api must be evolink or openai")
        if self.image_format not in ("png", "jpeg"):
            raise ValueError("image_format must be png or jpeg")
        if any(not marker for marker in self.fail_prompts):
            raise ValueError("fail_prompts must not contain an empty marker")
        if not self.key or not self.fail_codes:
            raise ValueError("key and fail_codes must not be empty")
        unknown = [c for c in self.fail_codes if c not in TASK_ERRORS]
        if unknown:
            raise ValueError(f"unknown fail code {unknown[0]!r}; known: {', '.join(TASK_ERRORS)}")

    @property
    def extension(self) -> str:
        return "jpg" if self.image_format == "jpeg" else "png"


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer as data: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def error(
    status: int, code: str | int, message: str, kind: str, param: str | None = None, **extra: Any
) -> Reply:
    """The gateway's error envelope, ``{"error": {"code", "message", "type", "param"?}}``."""
    body: dict[str, Any] = {"code": code, "message": message, "type": kind}
    if param is not None:
        body["param"] = param
    body.update(extra)
    return Reply(status, {"error": body})


def spec_key(request: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of a submit's spec: the canonical JSON (sorted keys, no spaces, UTF-8)
    of model, prompt, size, quality, seed and nsfw_check with the gateway's defaults filled in
    (size 1:1, quality 1K, seed 0, nsfw_check false). Not the lock's spec_hash, which also
    covers the provider and a hash version."""
    info = EVOLINK_MODELS.get(str(request.get("model")), MODEL)
    canon = {
        "model": request.get("model"),
        "prompt": request.get("prompt"),
        "size": request.get("size", info.default_size),
        "quality": request.get("quality", info.default_quality),
        "seed": request.get("seed", 0),
        "nsfw_check": request.get("nsfw_check", False),
    }
    data = json.dumps(canon, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest()


def price_of(body: Mapping[str, Any]) -> float:
    """What a submit reserves: the catalog's price, else ``PLACEHOLDER_PRICE``."""
    info = EVOLINK_MODELS.get(str(body.get("model")), MODEL)
    size = str(body.get("size", info.default_size))
    quality = str(body.get("quality", info.default_quality))
    priced = info.price_range(size, quality, str(body.get("prompt", "")))
    return priced[1] if priced is not None else PLACEHOLDER_PRICE


def validate(body: Any) -> Reply | None:
    """The 400 for the first problem in a submit body (the create request's rules), or None."""

    def bad(param: str, why: str) -> Reply:
        return error(
            400,
            "invalid_request",
            f"Invalid request parameters: {why}",
            "invalid_request_error",
            param,
        )

    if not isinstance(body, dict):
        return error(
            400, "invalid_request", "The body must be a JSON object", "invalid_request_error"
        )
    info = EVOLINK_MODELS.get(str(body.get("model")))
    if info is None:
        return bad("model", f"model must be one of {', '.join(EVOLINK_MODELS)}")
    for name in sorted(body):
        if name not in info.fields:
            return bad(name, f"unknown field '{name}' for {info.name}")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return bad("prompt", "prompt must be a non-empty string")
    if info.prompt_max_chars is not None and len(prompt) > info.prompt_max_chars:
        return bad("prompt", f"prompt is longer than {info.prompt_max_chars} characters")
    if estimate_tokens(prompt) > info.prompt_max_tokens:
        return bad("prompt", f"prompt is longer than {info.prompt_max_tokens} tokens")
    size = body.get("size", info.default_size)
    if not isinstance(size, str) or (
        info.size_problem(size) is not None and size not in info.named_sizes
    ):
        return bad("size", f"size must be one of {info.offered_sizes()}")
    if "quality" in body and body["quality"] not in info.qualities:
        return bad("quality", f"quality must be one of {', '.join(info.qualities)}")
    seed = body.get("seed", 0)
    top = SEED_MAX if info is MODEL else info.seed_max
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= top:
        return bad("seed", f"seed must be an integer from 0 to {top}")
    if not isinstance(body.get("nsfw_check", False), bool):
        return bad("nsfw_check", "nsfw_check must be a boolean")
    if "callback_url" in body:
        url = body["callback_url"]
        problem = "must be a string" if not isinstance(url, str) else callback_url_problem(url)
        if problem is not None:
            return bad("callback_url", f"callback_url {problem}")
    return None


def ratio_pixels(size: str) -> tuple[int, int]:
    """A stand-in pixel size (about 1 MP, multiples of 16) for a size whose real pixels
    are not public (an aspect ratio or tier of a model other than krea): the client never
    sends one unless the project declared its pixels, which may differ."""
    try:
        w, h = (float(x) for x in size.split(":"))
    except ValueError:
        return 1024, 1024
    scale = (1024 * 1024 / (w * h)) ** 0.5
    return max(16, round(w * scale / 16) * 16), max(16, round(h * scale / 16) * 16)
