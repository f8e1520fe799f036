"""A gateway's `usage.credits_reserved` of NaN, infinity or below zero is no amount (issue 11,
finding 8): it never reaches a Generated, a cache record or the lock."""

from __future__ import annotations

import json
import math

import httpx
import pytest
from tests.providers.evolink_fakes import (
    FakeClock,
    RecordingContext,
    Script,
    make_provider,
    png,
    submitted,
    task,
)
from tests.providers.test_draft import make_spec

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("reserved", [math.nan, math.inf, -1.8])
async def test_non_finite_or_negative_reserved_credits_are_unknown(reserved: float) -> None:
    """The catalog price is reported instead, as when the gateway reserves nothing."""
    body = submitted(credits=0.5).json()
    # Sent as JSON text `NaN` or `Infinity`, which json.loads reads as floats.
    body["usage"]["credits_reserved"] = reserved
    reply = httpx.Response(200, content=json.dumps(body).encode(), headers=JSON)
    script = (
        Script().submit(reply).poll(task("completed")).download(httpx.Response(200, content=png()))
    )
    ctx = RecordingContext()
    provider = make_provider(script.handler, FakeClock())
    try:
        got = await provider.generate(make_spec(provider="evolink", credits=0.45), ctx)
    finally:
        await provider.aclose()
    assert got.credits == 0.45
