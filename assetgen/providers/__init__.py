"""Provider registry: a plain dict from name to factory, imported lazily so that a plan
never pays for the HTTP stack."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..spec import AssetSpec
    from .base import Generated, JobContext, Provider, TaskRef

__all__ = ["PROVIDERS", "Generated", "JobContext", "Provider", "TaskRef", "create_provider"]


DRAFT_DELAY_ENV = "ASSETGEN_DRAFT_DELAY"


def __getattr__(name: str) -> Any:
    # The seam's types for other rooms, loaded on first use: a plan needs only the
    # provider names, and the dataclasses cost a null plan a millisecond.
    if name in ("Generated", "JobContext", "Provider", "TaskRef"):
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _draft() -> Provider:
    import os

    from .draft import DraftProvider

    # Simulated latency per draft, in seconds: lets a pipeline, the progress display
    # or an interrupted build be tried offline at a realistic pace.
    delay = float(os.environ.get(DRAFT_DELAY_ENV) or 0)
    return _Delayed(DraftProvider(), delay) if delay > 0 else DraftProvider()


class _Delayed:
    def __init__(self, inner: Provider, delay: float) -> None:
        self.inner = inner
        self.name = inner.name
        self.remote = inner.remote
        self.delay = delay

    async def generate(self, spec: AssetSpec, ctx: JobContext) -> Generated:
        import anyio

        ctx.state("running")
        await anyio.sleep(self.delay)
        return await self.inner.generate(spec, ctx)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _evolink() -> Provider:
    from .evolink.provider import from_env

    return from_env()


def _openai() -> Provider:
    from .openai.provider import from_env

    return from_env()


# The one list of providers: the manifest, the CLI and the project read their names here.
FACTORIES: dict[str, Callable[[], Provider]] = {
    "evolink": _evolink,
    "draft": _draft,
    "openai": _openai,
}
PROVIDERS: tuple[str, ...] = tuple(FACTORIES)


def create_provider(name: str) -> Provider:
    from ..errors import UsageError

    try:
        factory = FACTORIES[name]
    except KeyError:
        raise UsageError(f"unknown provider `{name}`") from None
    return factory()
