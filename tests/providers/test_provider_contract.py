"""The provider contract kit (assetgen.testing.provider_kit) on every provider that ships:
draft, evolink against the in-process fake gateway, evolink against the emulator, and
openai against the emulator's OpenAI mode.

A new provider joins with one entry in CASES (a ProviderCase)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from assetgen.providers import TaskRef, create_provider
from assetgen.providers.draft import DraftProvider
from assetgen.spec import AssetSpec
from assetgen.testing.provider_kit import (
    ProviderCase,
    RecordingContext,
    check_provider,
    contract_tests,
    spec_for,
)
from tests.providers.evolink_fakes import KEY, FakeClock, FakeGateway, FakeTask, make_provider

REFUSED = "FORBIDDEN-CONTRACT-PROMPT"


def _fake_gateway_case() -> ProviderCase:
    """EvoLink against FakeGateway: refusals echo the key (it must be redacted)."""

    def refuse(body: dict[str, Any]) -> tuple[str, str] | None:
        if REFUSED in body["prompt"]:
            return ("content_policy_violation", f"refused for key {KEY}")
        return None

    gateway = FakeGateway(polls=1, fail_hook=refuse)

    def journal(spec: AssetSpec) -> TaskRef:
        from assetgen.providers.evolink.body import request_body

        task_id = f"task-unified-1767225600-j{len(gateway.tasks):07d}"
        gateway.tasks[task_id] = FakeTask(task_id, request_body(spec), polls_left=0)
        return TaskRef(task_id, spec.credits)

    return ProviderCase(
        "evolink",
        lambda: make_provider(gateway.handler, FakeClock()),
        secrets=(KEY, KEY.removeprefix("sk-evo-")),
        failing_prompt=f"a picture {REFUSED}",
        journal=journal,
        paid_submits=lambda: gateway.accepted,
        id="evolink-fake-gateway",
    )


class _EmulatorBackend:
    """Starts the emulator around each check, with the environment ``from_env`` reads."""

    KEY = "sk-evo-contract-0123456789SECRET"

    def __init__(self) -> None:
        self.emu: Any = None

    @contextmanager
    def running(self) -> Iterator[None]:
        emulator = pytest.importorskip("assetgen.emulator", reason="needs the emulator extra")
        pytest.importorskip("uvicorn")
        env = {
            "EVOLINK_API_KEY": self.KEY,
            "ASSETGEN_EVOLINK_POLL_INTERVAL": "0.05",
            "ASSETGEN_EVOLINK_MAX_POLL_INTERVAL": "0.2",
            "ASSETGEN_EVOLINK_FIRST_POLL_MAX": "0.05",
            "ASSETGEN_EVOLINK_BACKOFF_BASE": "0.05",
        }
        config = emulator.EmulatorConfig(key=self.KEY, latency=0.05, fail_prompts=(REFUSED,))
        saved = {k: os.environ.get(k) for k in [*env, "EVOLINK_BASE_URL"]}
        with emulator.run_emulator(config) as emu:
            self.emu = emu
            os.environ.update(env, EVOLINK_BASE_URL=emu.base_url)
            try:
                yield
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
                self.emu = None

    def journal(self, spec: AssetSpec) -> TaskRef:
        """A task submitted (and paid) behind the provider's back, as a killed build leaves it."""
        from assetgen.providers.evolink.body import request_body

        reply = httpx.post(
            f"{self.emu.base_url}/v1/images/generations",
            json=request_body(spec),
            headers={"Authorization": f"Bearer {self.KEY}"},
        )
        reply.raise_for_status()
        return TaskRef(reply.json()["id"], spec.credits)

    def submits(self) -> int:
        return int(self.emu.stats()["submits"])


def _emulator_case() -> ProviderCase:
    backend = _EmulatorBackend()
    return ProviderCase(
        "evolink",
        lambda: create_provider("evolink"),  # from the environment, as a build makes it
        secrets=(backend.KEY, backend.KEY.removeprefix("sk-evo-")),
        failing_prompt=f"a picture {REFUSED}",
        journal=backend.journal,
        paid_submits=backend.submits,
        context=backend.running,
        id="evolink-emulator",
    )


class _OpenAIEmulatorBackend:
    """The emulator's OpenAI mode around each check, with the environment ``from_env`` reads."""

    KEY = "sk-proj-contract-0123456789SECRET"

    @contextmanager
    def running(self) -> Iterator[None]:
        emulator = pytest.importorskip("assetgen.emulator", reason="needs the emulator extra")
        pytest.importorskip("uvicorn")
        saved = {k: os.environ.get(k) for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
        config = emulator.EmulatorConfig(key=self.KEY, latency=0.05, api="openai")
        with emulator.run_emulator(config) as emu:
            os.environ.update(OPENAI_API_KEY=self.KEY, OPENAI_BASE_URL=emu.base_url + "/v1")
            try:
                yield
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v


def _openai_emulator_case() -> ProviderCase:
    backend = _OpenAIEmulatorBackend()
    return ProviderCase(
        "openai",
        lambda: create_provider("openai"),
        requests=(
            {"model": "gpt-image-1", "size": "1024x1024", "quality": "low"},
            {"model": "gpt-image-1-mini", "size": "1536x1024", "quality": "low"},
        ),
        deterministic=False,  # no seed: generating again gives another image
        secrets=(backend.KEY, backend.KEY.removeprefix("sk-proj-")),
        tasks=False,  # synchronous: the image is in the reply
        context=backend.running,
        id="openai-emulator",
    )


CASES = [
    ProviderCase("draft", lambda: create_provider("draft")),
    _fake_gateway_case(),
    _emulator_case(),
    _openai_emulator_case(),
]

test_provider_contract = contract_tests(*CASES)


# --- the kit itself catches what it promises to catch -----------------------------------


class _Unjournalled(DraftProvider):
    """Claims to be remote, and never journals a task."""

    name = "unjournalled"
    remote = True


class _Negative(DraftProvider):
    """Reports a negative charge."""

    name = "negative"

    async def generate(self, spec: AssetSpec, ctx: Any) -> Any:
        from dataclasses import replace

        return replace(await super().generate(spec, ctx), credits=-1.0)


class _WrongSize(DraftProvider):
    name = "small"

    async def generate(self, spec: AssetSpec, ctx: Any) -> Any:
        from dataclasses import replace

        small = replace(spec, width=64, height=64)
        return await super().generate(small, ctx)


class _Leaky(DraftProvider):
    name = "leaky"

    async def generate(self, spec: AssetSpec, ctx: Any) -> Any:
        from assetgen.errors import PermanentProviderError

        if REFUSED in spec.prompt:
            raise PermanentProviderError("refused: key sk-leaked-123 was not allowed")
        return await super().generate(spec, ctx)


def test_kit_refuses_a_remote_provider_that_does_not_journal() -> None:
    """A remote provider that never calls submitted() fails the kit."""
    with pytest.raises(AssertionError, match=r"a provider with tasks never called ctx\.submitted"):
        check_provider(ProviderCase("unjournalled", _Unjournalled))


def test_kit_lets_a_synchronous_remote_provider_skip_journalling() -> None:
    """A remote provider without tasks (`tasks=False`) passes without calling submitted()."""
    results = check_provider(ProviderCase("unjournalled", _Unjournalled, tasks=False))
    assert results["check_generates_images"] is None
    assert results["check_resumes_journalled_task"] is None


def test_kit_refuses_a_negative_charge() -> None:
    """Credits below zero fail the kit."""
    with pytest.raises(AssertionError, match=r"credits is -1\.0"):
        check_provider(ProviderCase("negative", _Negative))


def test_kit_refuses_an_image_of_another_size() -> None:
    """Bytes that decode to another pixel size than the spec's fail the kit."""
    from assetgen.errors import IntegrityError

    with pytest.raises(IntegrityError):
        check_provider(ProviderCase("small", _WrongSize))


def test_kit_finds_a_secret_in_an_error() -> None:
    """A ProviderError that shows a declared secret fails the kit."""
    case = ProviderCase("leaky", _Leaky, secrets=("sk-leaked-123",), failing_prompt=REFUSED)
    with pytest.raises(AssertionError, match="a secret appears in the error"):
        check_provider(case)


def test_kit_spec_for_uses_the_catalog_pixels() -> None:
    """spec_for resolves fields like a manifest: 16:9 at 2K is the catalog's 2688x1472."""
    spec = spec_for("anything", {"size": "16:9", "quality": "2K", "seed": 7})
    assert (spec.provider, spec.width, spec.height, spec.seed) == ("anything", 2688, 1472, 7)
    assert RecordingContext().journalled_task() is None


class _KeyInRepr(DraftProvider):
    name = "keyed"

    def __repr__(self) -> str:
        return "_KeyInRepr(key='sk-shown-123')"


def test_kit_finds_a_secret_in_the_providers_repr() -> None:
    with pytest.raises(AssertionError, match="a secret appears in the provider's repr"):
        check_provider(ProviderCase("keyed", _KeyInRepr, secrets=("sk-shown-123",)))
