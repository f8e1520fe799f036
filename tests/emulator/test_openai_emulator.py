"""The emulator's OpenAI-compatible mode over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
import pytest
from PIL import Image

emulator = pytest.importorskip("assetgen.emulator", reason="needs the emulator extra")
pytest.importorskip("uvicorn")


def post(emu: object, body: object, key: str | None = None) -> httpx.Response:
    url = f"{emu.base_url}/v1/images/generations"  # type: ignore[attr-defined]
    auth = {"Authorization": f"Bearer {key or emu.key}"}  # type: ignore[attr-defined]
    return httpx.post(url, json=body, headers=auth, timeout=30)


def test_generates_a_png_of_the_requested_size_with_usage() -> None:
    with emulator.run_emulator(latency=0, api="openai") as emu:
        r = post(
            emu, {"model": "gpt-image-1", "prompt": "a fox", "size": "1536x1024", "quality": "high"}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        with Image.open(io.BytesIO(base64.b64decode(body["data"][0]["b64_json"]))) as im:
            assert im.format == "PNG" and im.size == (1536, 1024)
        assert body["usage"]["output_tokens"] == 6208 and body["usage"]["input_tokens"] > 0
        stats = emu.stats()
        assert (
            stats["api"] == "openai" and stats["generations"] == 1 and stats["credits_charged"] > 0
        )


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"model": "krea-2-turbo"}, "model"),
        ({"size": "1:1"}, "size"),
        ({"quality": "2K"}, "quality"),
        ({"n": 11}, "n"),
        ({"output_format": "gif"}, "output_format"),
        ({"background": "transparent", "output_format": "jpeg"}, "background"),
        ({"seed": 3}, "seed"),
    ],
)
def test_validation_per_the_catalog(change: dict[str, object], param: str) -> None:
    with emulator.run_emulator(latency=0, api="openai") as emu:
        r = post(emu, {"model": "gpt-image-1", "prompt": "a fox", **change})
        assert r.status_code == 400 and r.json()["error"]["param"] == param
        assert emu.stats()["generations"] == 0


def test_a_wrong_key_is_401_and_a_cap_is_429() -> None:
    with emulator.run_emulator(latency=0, api="openai") as emu:
        assert post(emu, {"model": "gpt-image-1", "prompt": "a"}, key="sk-wrong").status_code == 401
        assert emu.stats()["unauthorized"] == 1
    with emulator.run_emulator(latency=0, api="openai", credits=0) as emu:
        r = post(emu, {"model": "gpt-image-1", "prompt": "a"})
        assert r.status_code == 429 and r.json()["error"]["code"] == "insufficient_quota"


@pytest.mark.parametrize("api", ["openai", "evolink"])
def test_a_deeply_nested_body_is_a_400_not_a_500(api: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with emulator.run_emulator(latency=0, api=api) as emu:
        r = httpx.post(
            f"{emu.base_url}/v1/images/generations",
            content=deep,
            headers={"Authorization": f"Bearer {emu.key}", "content-type": "application/json"},
            timeout=30,
        )
        assert r.status_code == 400, r.text


# --- OpenAIState without HTTP: reset, denied keys, the quota under concurrency ------------

REQUEST = {"model": "gpt-image-1", "prompt": "a fox", "size": "1024x1024", "quality": "low"}


def _state(**config: Any) -> Any:
    from assetgen.emulator.contract import EmulatorConfig
    from assetgen.emulator.openai import OpenAIState

    return OpenAIState(EmulatorConfig(api="openai", **config))


def test_concurrent_requests_cannot_overshoot_the_quota() -> None:
    from assetgen.emulator.openai import _cost

    price = _cost(dict(REQUEST))[1]
    state = _state(credits=price * 1.5)  # room for one image, not two
    auth = f"Bearer {state.config.key}"
    first = state.admit(auth, dict(REQUEST))
    second = state.admit(auth, dict(REQUEST))  # before the first finished
    assert isinstance(first, dict)
    assert second.status == 429 and second.body["error"]["code"] == "insufficient_quota"
    state.abandon(first)  # the first went away unanswered: its reservation is released
    assert isinstance(state.admit(auth, dict(REQUEST)), dict)


def test_a_denied_key_authenticates_but_is_refused_the_model() -> None:
    state = _state(denied_keys=("sk-denied-0123456789",))
    reply = state.admit("Bearer sk-denied-0123456789", dict(REQUEST))
    assert reply.status == 403 and reply.body["error"]["code"] == "model_access_denied"
    assert state.admit("Bearer sk-unknown", dict(REQUEST)).status == 401


def test_reset_reseeds_faults_and_keeps_requests_in_flight() -> None:
    state = _state(seed=7, error_rate=0.5)
    auth = f"Bearer {state.config.key}"

    def statuses() -> list[int]:
        out = []
        for _ in range(12):
            admitted = state.admit(auth, dict(REQUEST))
            assert isinstance(admitted, dict)
            out.append(state.finish(admitted).status)
        return out

    before = statuses()
    state.reset()
    assert statuses() == before and 500 in before  # the same faults again after a reset
    live = state.admit(auth, dict(REQUEST))
    state.reset()  # a reset while a request is being generated
    assert state.stats()["in_flight"] == 1
    state.finish(live)
    assert state.stats()["in_flight"] == 0
