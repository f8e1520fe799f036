"""Each asset goes to the provider of its model, whatever the manifest's `provider:` says."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import anyio
import pytest

from assetgen import parse_manifest
from assetgen.build.route import Router, routed
from assetgen.errors import CreditLimitError, UsageError


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


# --- a build opens the providers its work needs, up front; each checks its own balance ---

MIXED = """\
version: 1
provider: evolink
assets:
  a: {prompt: one, size: "1:1", quality: 1K}
  b: {prompt: two, size: "1:1", quality: 1K}
"""
ICON = "  icon: {prompt: three, model: gpt-image-1, size: 1024x1024, quality: low}\n"


class Paying:
    """A provider of ``name`` that renders drafts, with a balance when given one."""

    def __init__(self, name: str, balance: float | None = None) -> None:
        from assetgen.providers.draft import DraftProvider

        self.name = name
        self.remote = True
        self.inner = DraftProvider()
        self.generated: list[str] = []
        if balance is not None:
            left = balance

            async def credits() -> dict[str, Any]:
                return {"user": {"remaining_credits": left}}

            self.credits = credits

    async def generate(self, spec: Any, ctx: Any) -> Any:
        self.generated.append(spec.name)
        return await self.inner.generate(spec, ctx)

    async def aclose(self) -> None:
        pass


def _build(root: Path, factory: Any) -> int:
    from assetgen.build.selection import BuildOptions
    from assetgen.commands import project as commands
    from assetgen.project import find_project

    return commands.build(
        find_project(root), options=BuildOptions(), out=io.StringIO(), provider_factory=factory
    )


def _project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "assetgen.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_each_provider_balance_covers_only_its_own_specs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETGEN_BALANCE_CHECK_ABOVE", "0")
    root = _project(tmp_path, MIXED + ICON)
    # EvoLink's two 1K images cost 0.9; the OpenAI icon (0.74 or so) is not EvoLink's to pay.
    made = {"evolink": Paying("evolink", balance=1.0), "openai": Paying("openai")}
    assert _build(root, made.__getitem__) == 0
    assert sorted(made["evolink"].generated) == ["a", "b"] and made["openai"].generated == ["icon"]


def test_each_provider_balance_still_refuses_its_own_overspend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETGEN_BALANCE_CHECK_ABOVE", "0")
    root = _project(tmp_path, MIXED + ICON)
    made = {"evolink": Paying("evolink", balance=0.5), "openai": Paying("openai")}
    with pytest.raises(CreditLimitError, match=r"below this build's estimate of 0\.90"):
        _build(root, made.__getitem__)
    assert made["evolink"].generated == [] and made["openai"].generated == []


def _keyless(missing: str, made: dict[str, Paying]) -> Any:
    def factory(name: str) -> Paying:
        if name == missing:
            raise UsageError(f"{name.upper()}_API_KEY is not set")
        made[name] = Paying(name)
        return made[name]

    return factory


def test_a_provider_the_pending_work_does_not_need_is_never_made(tmp_path: Path) -> None:
    root = _project(tmp_path, MIXED)
    assert _build(root, _keyless("openai", {})) == 0  # EvoLink's assets built
    (root / "assetgen.yaml").write_text(MIXED + ICON, encoding="utf-8")
    made: dict[str, Paying] = {}
    assert _build(root, _keyless("evolink", made)) == 0  # no EvoLink key needed for one icon
    assert set(made) == {"openai"} and made["openai"].generated == ["icon"]


def test_a_missing_key_of_a_needed_provider_refuses_before_anything_is_paid(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path, MIXED + ICON)
    made: dict[str, Paying] = {}
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        _build(root, _keyless("openai", made))
    assert made["evolink"].generated == []
    assert not (root / "assetgen.lock").exists()
