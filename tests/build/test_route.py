"""Each asset goes to the provider of its model, whatever the manifest's `provider:` says."""

from __future__ import annotations

from typing import Any

import anyio

from assetgen import parse_manifest
from assetgen.build.route import Router, routed


class Named:
    def __init__(self, name: str) -> None:
        self.name = name
        self.remote = True
        self.seen: list[str] = []
        self.closed = False

    async def generate(self, spec: Any, ctx: Any) -> str:
        self.seen.append(spec.name)
        return self.name

    async def aclose(self) -> None:
        self.closed = True


def manifest(provider: str, *models: str) -> Any:
    assets = "".join(f"  a{i}: {{prompt: x, model: {m}}}\n" for i, m in enumerate(models))
    return parse_manifest(f"version: 1\nprovider: {provider}\nassets:\n{assets}".encode(), "m.yaml")


def test_one_provider_is_used_as_is() -> None:
    made: list[str] = []

    def factory(name: str) -> Any:
        made.append(name)
        return Named(name)

    assert routed(factory, manifest("evolink", "krea-2-turbo")) is factory
    alone = routed(factory, manifest("openai", "krea-2-turbo"))
    assert alone("openai").name == "evolink"  # the only assets are EvoLink's


def test_mixed_providers_are_routed_per_spec() -> None:
    made: dict[str, Named] = {}

    def factory(name: str) -> Any:
        made[name] = Named(name)
        return made[name]

    m = manifest("evolink", "krea-2-turbo", "gpt-image-1")
    router = routed(factory, m)("evolink")
    assert isinstance(router, Router)

    async def go() -> list[Any]:
        out = [await router.generate(s, None) for s in m.specs]  # type: ignore[arg-type]  # the fakes take no context
        await router.aclose()
        return out

    assert anyio.run(go) == ["evolink", "openai"]
    assert made["evolink"].seen == ["a0"] and made["openai"].seen == ["a1"]
    assert made["evolink"].closed and made["openai"].closed
