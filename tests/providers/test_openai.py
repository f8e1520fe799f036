"""The openai provider against a scripted server (httpx.MockTransport): the request, the
image checks, credits, redaction, and what is (not) retried."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from assetgen import parse_manifest
from assetgen.errors import ProviderAuthError, ProviderError, QuotaExhaustedError, UsageError
from assetgen.providers.openai.config import OpenAIConfig, config_from_env
from assetgen.providers.openai.provider import OpenAIProvider, request_body
from assetgen.providers.openai.secrets import redact
from assetgen.spec import AssetSpec
from tests.providers.evolink_fakes import FakeClock, RecordingContext, png

KEY = "sk-proj-abcdefghijklmnopqrstuvwx0123456789"
Handler = Callable[[httpx.Request], httpx.Response]


def spec(model: str = "gpt-image-1", size: str = "1024x1024", quality: str = "low") -> AssetSpec:
    text = f"version: 1\nassets:\n  icon: {{prompt: a round icon, model: {model}, size: {size}, quality: {quality}}}\n"
    (s,) = parse_manifest(text.encode(), "assetgen.yaml").specs
    return s


def image_reply(width: int = 1024, height: int = 1024, usage: Any = None) -> httpx.Response:
    body: dict[str, Any] = {
        "created": 1,
        "data": [{"b64_json": base64.b64encode(png(width, height)).decode()}],
    }
    if usage is not None:
        body["usage"] = usage
    return httpx.Response(200, json=body)


def generate(
    handler: Handler, s: AssetSpec | None = None, **config: Any
) -> tuple[Any, RecordingContext, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    provider = OpenAIProvider(
        OpenAIConfig(api_key=KEY, base_url="https://api.example.test/v1", **config),
        transport=httpx.MockTransport(record),
        clock=FakeClock(),
    )
    ctx = RecordingContext()

    async def go() -> Any:
        try:
            return await provider.generate(s or spec(), ctx)
        finally:
            await provider.aclose()

    try:
        return anyio.run(go), ctx, seen
    except Exception as exc:
        return exc, ctx, seen


def test_request_headers_body_and_usage_credits() -> None:
    usage = {"input_tokens": 10, "output_tokens": 272, "total_tokens": 282}
    got, ctx, seen = generate(
        lambda r: image_reply(usage=usage), organization="org-1", project="proj-1"
    )
    (req,) = seen
    assert req.url == "https://api.example.test/v1/images/generations"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert (
        req.headers["openai-organization"] == "org-1" and req.headers["openai-project"] == "proj-1"
    )
    assert json.loads(req.content) == {
        "model": "gpt-image-1",
        "prompt": "a round icon",
        "size": "1024x1024",
        "quality": "low",
        "n": 1,
        "output_format": "png",
    }
    assert got.data.startswith(b"\x89PNG")
    assert got.credits == pytest.approx((10 * 5 + 272 * 40) / 1e6 * 68)
    assert ctx.double_charges == []


def test_without_usage_the_upper_estimate_is_counted_and_said() -> None:
    s = spec()
    got, ctx, _ = generate(lambda r: image_reply(), s)
    assert s.credits_max is not None and got.credits == s.credits_max
    assert ctx.warnings and "no token usage" in ctx.warnings[0]


def test_wrong_pixel_size_is_refused() -> None:
    got, _, _ = generate(lambda r: image_reply(512, 512))
    assert isinstance(got, ProviderError) and "does not match the request" in str(got)


def test_a_url_instead_of_base64_is_refused() -> None:
    got, _, _ = generate(
        lambda r: httpx.Response(200, json={"data": [{"url": "https://x.test/a.png"}]})
    )
    assert isinstance(got, ProviderError) and "b64_json" in str(got)


def test_an_oversized_response_is_refused() -> None:
    got, _, _ = generate(lambda r: image_reply(), max_response_bytes=1000)
    assert isinstance(got, ProviderError) and "limit" in str(got)


def test_an_oversized_image_reply_says_it_may_have_been_charged() -> None:
    got, _, seen = generate(lambda r: image_reply(), max_response_bytes=1000)
    assert len(seen) == 1 and "may have been generated and charged" in str(got)
    small_error = generate(
        lambda r: httpx.Response(400, content=b"x" * 2000), max_response_bytes=1000
    )[0]
    assert "charged" not in str(small_error) and "HTTP 400" in str(small_error)


def test_the_timeout_bounds_the_whole_request_not_each_chunk() -> None:
    async def trickle() -> Any:
        while True:  # a byte now and then: httpx's read timeout never fires
            await anyio.sleep(0.02)
            yield b" "

    got, _, seen = generate(
        lambda r: httpx.Response(200, content=trickle()), timeout=0.3, connect_timeout=5.0
    )
    assert len(seen) == 1 and isinstance(got, ProviderError), got
    text = str(got)
    assert "ASSETGEN_OPENAI_TIMEOUT" in text and "may have been generated and charged" in text


def test_the_key_echoed_by_a_server_is_redacted() -> None:
    def echo(r: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={
                "error": {"message": f"bad request from {r.headers['authorization']} ({KEY[8:]})"}
            },
        )

    got, _, _ = generate(echo)
    assert isinstance(got, ProviderError)
    assert KEY not in str(got) and KEY[8:] not in str(got) and "***" in str(got)
    denied, _, _ = generate(
        lambda r: httpx.Response(401, json={"error": {"message": f"key {KEY} revoked"}})
    )
    assert isinstance(denied, ProviderAuthError) and KEY not in str(denied)
    assert redact(f"Bearer {KEY} and sk-otherkey1234567890", KEY) == "Bearer *** and sk-***"


def test_429_and_unsent_requests_are_retried() -> None:
    replies = iter(
        [
            httpx.Response(
                429, json={"error": {"message": "Rate limit"}}, headers={"retry-after": "2"}
            )
        ]
    )

    def handler(r: httpx.Request) -> httpx.Response:
        reply = next(replies, None)
        if reply is None:
            return image_reply()
        return reply

    got, ctx, seen = generate(handler)
    assert len(seen) == 2 and got.data and ctx.double_charges == []

    calls = []

    def refuse_once(r: httpx.Request) -> httpx.Response:
        calls.append(r)
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        return image_reply()

    got, ctx, _ = generate(refuse_once)
    assert len(calls) == 2 and got.data and ctx.double_charges == []


@pytest.mark.parametrize(
    "error",
    [
        {"message": "You exceeded your current quota"},
        {"message": "Billing hard limit reached", "code": "insufficient_quota"},
    ],
)
def test_insufficient_quota_429_is_not_retried_and_stops_the_build(error: dict[str, str]) -> None:
    got, _, seen = generate(lambda r: httpx.Response(429, json={"error": error}))
    # QuotaExhaustedError: the build submits nothing more (providers/base.py, rule 6).
    assert isinstance(got, QuotaExhaustedError) and got.submitted and len(seen) == 1


def test_a_timeout_after_sending_is_not_retried_and_says_it_may_be_charged() -> None:
    def slow(r: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    got, ctx, seen = generate(slow)
    assert len(seen) == 1 and isinstance(got, ProviderError)
    assert "may have been generated and charged" in str(got) and ctx.double_charges == []


def test_an_allowed_ambiguous_retry_is_a_possible_double_charge() -> None:
    calls = []

    def once(r: httpx.Request) -> httpx.Response:
        calls.append(r)
        if len(calls) == 1:
            raise httpx.ReadTimeout("timed out")
        return image_reply()

    got, ctx, _ = generate(once, ambiguous_retries=1)
    assert len(calls) == 2 and got.data
    assert len(ctx.double_charges) == 1 and "may have been charged" in ctx.double_charges[0]


def test_a_5xx_is_ambiguous_too() -> None:
    got, _, seen = generate(lambda r: httpx.Response(500, json={"error": {"message": "oops"}}))
    assert len(seen) == 1 and "may have been generated and charged" in str(got)


def test_config_from_env() -> None:
    with pytest.raises(UsageError, match="OPENAI_API_KEY is not set"):
        config_from_env({})
    with pytest.raises(UsageError, match="https"):
        config_from_env({"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "http://example.com/v1"})
    cfg = config_from_env(
        {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1/", "OPENAI_PROJECT": "p"}
    )
    assert (
        cfg.base_url == "http://127.0.0.1:9/v1" and cfg.project == "p" and cfg.organization is None
    )
    assert KEY not in repr(cfg)


def test_request_body_of_a_declared_model_without_output_format() -> None:
    text = (
        "version: 1\nmodels:\n  local-sd:\n    like: gpt-image-1\n    credits: {medium: 0}\n"
        "    fields: [model, prompt, size, response_format]\n"
        "assets:\n  a: {prompt: a fox, model: local-sd}\n"
    )
    (s,) = parse_manifest(text.encode(), "assetgen.yaml").specs
    # The declared fields travel with the spec: no quality, n or output_format for this one.
    assert request_body(s) == {
        "model": "local-sd",
        "prompt": "a fox",
        "size": "1024x1024",
        "response_format": "b64_json",
    }


def test_a_quota_refusal_sends_nothing_more() -> None:
    seen: list[httpx.Request] = []

    def handler(r: httpx.Request) -> httpx.Response:
        seen.append(r)
        return httpx.Response(429, json={"error": {"code": "insufficient_quota", "message": "x"}})

    provider = OpenAIProvider(
        OpenAIConfig(api_key=KEY, base_url="https://api.example.test/v1"),
        transport=httpx.MockTransport(handler),
        clock=FakeClock(),
    )

    async def go() -> list[QuotaExhaustedError]:
        out: list[QuotaExhaustedError] = []
        for _ in range(2):
            try:
                await provider.generate(spec(), RecordingContext())
            except QuotaExhaustedError as exc:
                out.append(exc)
        await provider.aclose()
        return out

    first, second = anyio.run(go)
    assert first.submitted and not second.submitted and len(seen) == 1


def test_usage_is_charged_at_the_projects_token_prices() -> None:
    text = (
        "version: 1\nmodels:\n  gpt-image-1:\n    token_price:\n      input_usd_per_m: 10\n"
        "      output_usd_per_m: 80\n      image_tokens: {1024x1024: {low: 272}}\n"
        "assets:\n  icon: {prompt: a round icon, model: gpt-image-1, size: 1024x1024, quality: low}\n"
    )
    (s,) = parse_manifest(text.encode(), "assetgen.yaml").specs
    assert s.credits == pytest.approx(272 * 80 / 1e6 * 68)  # the plan used the project's price
    usage = {"input_tokens": 10, "output_tokens": 272}
    got, _, _ = generate(lambda r: image_reply(usage=usage), s)
    assert got.credits == pytest.approx((10 * 10 + 272 * 80) / 1e6 * 68)  # and so does the build
    assert s.spec_hash == spec().spec_hash  # a price is not part of the spec hash


@pytest.mark.parametrize("tokens", [10**400, 10**8 + 1, -1])
def test_absurd_usage_token_counts_are_charged_at_the_upper_estimate(tokens: int) -> None:
    s = spec()
    got, ctx, _ = generate(
        lambda r: image_reply(usage={"input_tokens": 1, "output_tokens": tokens}), s
    )
    assert not isinstance(got, Exception), got
    assert got.credits == s.most_credits and "out of range" in ctx.warnings[0]


def deep(n: int = 100_000) -> bytes:
    return b"[" * n + b"]" * n


@pytest.mark.parametrize("status", [200, 400, 500])
def test_a_deeply_nested_reply_is_an_error_not_a_crash(status: int) -> None:
    got, _, _ = generate(lambda r: httpx.Response(status, content=deep()))
    assert isinstance(got, ProviderError), got


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("OPENAI_API_KEY", "sk-ключ0123456789"),
        ("OPENAI_API_KEY", "sk-abc\ndef0123456789"),
        ("OPENAI_API_KEY", "sk-abc def0123456789"),
        ("OPENAI_ORGANIZATION", "org-é"),
        ("OPENAI_PROJECT", "proj 1"),
        ("OPENAI_PROJECT", "proj\x7f1"),
    ],
)
def test_a_header_value_that_cannot_be_sent_is_a_usage_error(var: str, value: str) -> None:
    env = {"OPENAI_API_KEY": KEY, var: value}
    with pytest.raises(UsageError, match=var) as info:
        config_from_env(env)
    assert value not in str(info.value) and value.strip() not in str(info.value)


def test_surrounding_whitespace_is_stripped_and_knobs_take_fractions() -> None:
    cfg = config_from_env(
        {
            "OPENAI_API_KEY": f"  {KEY}\n",
            "OPENAI_ORGANIZATION": " org-1 ",
            "ASSETGEN_OPENAI_MAX_RESPONSE_MB": "1.5",
        }
    )
    assert cfg.api_key == KEY and cfg.organization == "org-1"
    assert cfg.max_response_bytes == 1536 * 1024
