"""The emulator's OpenAI-compatible mode (``assetgen emulator --api openai``).

``POST /v1/images/generations`` answered synchronously, as the OpenAI Images API
does: the key checked (``Authorization: Bearer``), the body validated against the
catalog entry of its model (an ``openai`` model: size, quality, n, output_format,
background), then, after ``latency`` seconds, a ``b64_json`` PNG of exactly the
requested size and a ``usage`` object with the catalog's token counts (image
output tokens by size and quality, the prompt's estimated input tokens). The
same knobs as the EvoLink mode where they apply: ``max_in_flight`` (429 beyond it),
``error_rate`` (500s, after the request was taken: the client cannot know whether
it was charged), ``credits`` (a 429 ``insufficient_quota`` past the balance).
"""

from __future__ import annotations

import base64
import random
import threading
import time
from collections import Counter, OrderedDict
from typing import Any

from ..catalog import MODELS, ModelInfo, estimate_tokens, tokens_to_credits
from ..spec import spec_hash
from .common import ImageCache, bearer_token, draft_image, retry_later
from .contract import EmulatorConfig, Reply

OPENAI_MODELS: dict[str, ModelInfo] = {n: m for n, m in MODELS.items() if m.provider == "openai"}
_FIELDS = frozenset(
    {"model", "prompt", "size", "quality", "n", "output_format", "background", "moderation",
     "output_compression", "response_format", "user"}
)  # fmt: skip


def _error(
    status: int, message: str, kind: str, code: str | None = None, param: str | None = None
) -> Reply:
    return Reply(
        status, {"error": {"message": message, "type": kind, "param": param, "code": code}}
    )


class OpenAIState(ImageCache):
    """Counters and admission for the OpenAI mode; thread-safe like ``EmulatorState``."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        # Requests being generated, and what they will cost: a reset leaves them alone
        # (they still finish and are counted), and the quota counts them before they do.
        self._in_flight = 0
        self._reserved = 0.0
        self.reset()

    def reset(self) -> None:
        """Forget counters, charges and cached images; reseed the fault stream."""
        with self._lock:
            self._rng = random.Random(self.config.seed)  # as at start: seeded runs repeat
            self._n: Counter[str] = Counter()
            self._per_spec: Counter[str] = Counter()
            self._charged = 0.0
            self._images: OrderedDict[str, bytes] = OrderedDict()

    def admit(self, authorization: str | None, body: Any) -> Reply | dict[str, Any]:
        """A refusal, or the validated request (and one more generation in flight)."""
        with self._lock:
            self._n["requests"] += 1
            token = bearer_token(authorization)
            if token is None or token not in (self.config.key, *self.config.denied_keys):
                self._n["unauthorized"] += 1
                return _error(
                    401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
                )
            problem = validate(body)
            if problem is not None:
                self._n["invalid"] += 1
                return problem
            if token in self.config.denied_keys:
                return _error(
                    403,
                    f"Your organization must be verified to use the model `{body['model']}`.",
                    "invalid_request_error",
                    "model_access_denied",
                )
            cap = self.config.max_in_flight
            if cap is not None and self._in_flight >= cap:
                self._n["rate_limited"] += 1
                return retry_later(
                    _error(
                        429,
                        "Rate limit reached for images per minute.",
                        "requests",
                        "rate_limit_exceeded",
                    ),
                    self.config.retry_after,
                )
            price = _cost(body)[1]
            if self._charged + self._reserved + price > self.config.credits + 1e-9:
                return _error(
                    429,
                    "You exceeded your current quota.",
                    "insufficient_quota",
                    "insufficient_quota",
                )
            self._reserved += price
            self._in_flight += 1
            self._n["max_in_flight_seen"] = max(self._n["max_in_flight_seen"], self._in_flight)
            return dict(body)

    def abandon(self, request: dict[str, Any]) -> None:
        with self._lock:
            self._in_flight -= 1
            self._reserved = max(0.0, self._reserved - _cost(request)[1])

    def finish(self, request: dict[str, Any]) -> Reply:
        """The answer once the generation's latency has passed (a 500 at ``error_rate``)."""
        with self._lock:
            self._in_flight -= 1
            info = OPENAI_MODELS[request["model"]]
            size = request.get("size", info.default_size)
            quality = request.get("quality", info.default_quality)
            usage, price = _cost(request)
            self._reserved = max(0.0, self._reserved - price)
            self._charged += price
            self._n["generations"] += 1
            key = image_key(request)
            self._per_spec[key] += 1
            if self.config.error_rate and self._rng.random() < self.config.error_rate:
                self._n["server_errors"] += 1
                return _error(
                    500, "The server had an error processing your request.", "server_error"
                )
        png = self.cached_image(key)
        if png is None:
            png = render(request)
            self.cache_image(key, png)
        body = {
            "created": int(time.time()),
            "data": [{"b64_json": base64.b64encode(png).decode("ascii")}],
            "size": size,
            "quality": quality,
            "output_format": "png",
            "background": request.get("background", "opaque"),
            "usage": usage,
        }
        return Reply(200, body)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            n = self._n
            return {
                "api": "openai",
                "requests": n["requests"],
                "generations": n["generations"],
                "generations_per_spec": dict(self._per_spec),
                "duplicate_generations": sum(c - 1 for c in self._per_spec.values()),
                "unauthorized": n["unauthorized"],
                "invalid": n["invalid"],
                "rate_limited": n["rate_limited"],
                "server_errors": n["server_errors"],
                "in_flight": self._in_flight,
                "max_in_flight_seen": n["max_in_flight_seen"],
                "credits_charged": round(self._charged, 6),
            }


def _cost(request: dict[str, Any]) -> tuple[dict[str, int], float]:
    """The ``usage`` of a validated request and its price in credits."""
    info = OPENAI_MODELS[request["model"]]
    size = request.get("size", info.default_size)
    quality = request.get("quality", info.default_quality)
    assert info.token_price is not None
    usage = {
        "input_tokens": estimate_tokens(request["prompt"]),
        "output_tokens": info.token_price.image_tokens[size][quality],
    }
    usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
    price = tokens_to_credits(info, usage["input_tokens"], usage["output_tokens"]) or 0.0
    return usage, price


def validate(body: Any) -> Reply | None:
    """The 400 for the first problem of a request body, per the model's catalog entry."""

    def bad(param: str, why: str) -> Reply:
        return _error(400, why, "invalid_request_error", "invalid_value", param)

    if not isinstance(body, dict):
        return bad("body", "The body must be a JSON object.")
    for name in sorted(body):
        if name not in _FIELDS:
            return bad(name, f"Unknown parameter: '{name}'.")
    info = OPENAI_MODELS.get(str(body.get("model")))
    if info is None:
        return bad("model", f"Invalid model. Expected one of {', '.join(OPENAI_MODELS)}.")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return bad("prompt", "prompt must be a non-empty string.")
    if info.prompt_max_chars is not None and len(prompt) > info.prompt_max_chars:
        return bad("prompt", f"prompt is longer than {info.prompt_max_chars} characters.")
    if body.get("size", info.default_size) not in info.pixels:
        return bad("size", f"Invalid size. Supported: {', '.join(info.pixels)}.")
    if body.get("quality", info.default_quality) not in info.qualities:
        return bad("quality", f"Invalid quality. Supported: {', '.join(info.qualities)}.")
    n = body.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= info.n_max:
        return bad("n", f"n must be an integer from 1 to {info.n_max}.")
    if body.get("output_format", "png") not in info.output_formats:
        return bad(
            "output_format", f"output_format must be one of {', '.join(info.output_formats)}."
        )
    background = body.get("background", "auto")
    if background not in info.backgrounds:
        return bad("background", f"background must be one of {', '.join(info.backgrounds)}.")
    if background == "transparent" and body.get("output_format", "png") == "jpeg":
        return bad("background", "Transparent background requires png or webp output.")
    if body.get("response_format", "b64_json") != "b64_json":
        return bad("response_format", "GPT image models always return b64_json.")
    return None


def image_key(request: dict[str, Any]) -> str:
    """The draft's identity: the spec hash of what the request asks for."""
    info = OPENAI_MODELS[request["model"]]
    size = request.get("size", info.default_size)
    return spec_hash(_request(request, size, request.get("quality", info.default_quality)))


def render(request: dict[str, Any]) -> bytes:
    """The draft PNG a request gets, at exactly its size."""
    info = OPENAI_MODELS[request["model"]]
    size = request.get("size", info.default_size)
    quality = request.get("quality", info.default_quality)
    width, height = (int(x) for x in size.split("x"))
    hashed = _request(request, size, quality)
    return draft_image("openai-emulator", hashed, request["prompt"], width, height, 0.0)


def _request(request: dict[str, Any], size: str, quality: str) -> dict[str, Any]:
    return {
        "provider": "openai",
        "model": request["model"],
        "prompt": request["prompt"].strip(),
        "size": size,
        "quality": quality,
        "seed": 0,
        "nsfw_check": False,
    }
