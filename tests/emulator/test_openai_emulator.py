"""The emulator's OpenAI-compatible mode over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import io

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
