"""The EvoLink emulator serves every built-in EvoLink model with its own validation and price."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assetgen.catalog import MODELS
from assetgen.emulator.contract import PLACEHOLDER_PRICE, EmulatorConfig, price_of, validate
from assetgen.emulator.state import EmulatorState

AUTH = "Bearer sk-evo-emulator-local"
BODIES: dict[str, dict[str, Any]] = {
    "krea-2-turbo": {"size": "16:9", "quality": "2K", "seed": 7},
    "z-image-turbo": {"size": "1024x768", "seed": 7},
    "doubao-seedream-4.5": {"size": "2048x2048"},
    "gpt-image-2": {"size": "1536x1024", "quality": "high"},
    "gpt-image-2-beta": {"size": "16:9"},
    "gemini-3.1-flash-image-preview": {"size": "21:9", "quality": "4K"},
}


def test_every_builtin_evolink_model_is_covered() -> None:
    assert set(BODIES) == {n for n, m in MODELS.items() if m.provider == "evolink"}


@pytest.mark.parametrize("model", sorted(BODIES))
def test_each_model_is_accepted_and_priced_by_its_entry(model: str) -> None:
    body = {"model": model, "prompt": "a fox", **BODIES[model]}
    assert validate(body) is None
    state = EmulatorState(EmulatorConfig(latency=0))
    reply = state.submit(AUTH, json.dumps(body).encode(), None)
    assert reply.status == 200, reply.body
    known = MODELS[model].price_range(
        body["size"], body.get("quality", MODELS[model].default_quality), "a fox"
    )
    assert reply.body["usage"]["credits_reserved"] == (known[1] if known else PLACEHOLDER_PRICE)


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"model": "doubao-seedream-4.5", "seed": 3}, "seed"),  # a seedless model takes none
        ({"model": "doubao-seedream-4.5", "size": "1024x1024"}, "size"),  # under 3.7 MP
        ({"model": "z-image-turbo", "quality": "1K"}, "quality"),  # no quality field
        ({"model": "gpt-image-2", "size": "1000x1000"}, "size"),  # not multiples of 16
        ({"model": "gpt-image-2", "quality": "ultra"}, "quality"),
        ({"model": "krea-2-turbo", "size": "1024x1024"}, "size"),  # ratios only
        ({"model": "gpt-image-1"}, "model"),  # an OpenAI model, not served here
    ],
)
def test_each_model_refuses_what_it_does_not_take(change: dict[str, object], param: str) -> None:
    reply = validate({"prompt": "a fox", **change})
    assert reply is not None and reply.status == 400 and reply.body["error"]["param"] == param


def test_price_of_a_known_model() -> None:
    assert price_of({"model": "doubao-seedream-4.5", "size": "2048x2048"}) == 2.25
