"""Provider registry: a plain dict from name to factory, imported lazily so that a plan
never pays for the HTTP stack, and then the ``assetgen.providers`` entry points of
installed packages (plugins.py), looked up only for a name the dict does not have.

The seam's types (``Provider``, ``AssetSpec``, ``Generated``, ``JobContext``,
``TaskRef``, ``ProviderError``) are public and documented in base.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..errors import ProviderError
    from ..spec import AssetSpec
    from .base import Generated, JobContext, Provider, TaskRef

__all__ = [
    "ENTRY_POINT_GROUP",
    "FACTORIES",
    "PROVIDERS",
    "AssetSpec",
    "Generated",
    "JobContext",
    "Provider",
    "ProviderError",
    "TaskRef",
    "available_providers",
    "create_provider",
    "is_provider",
    "unknown_provider_hint",
]

ENTRY_POINT_GROUP = "assetgen.providers"  # the same as plugins.GROUP, without importing it


DRAFT_DELAY_ENV = "ASSETGEN_DRAFT_DELAY"


def __getattr__(name: str) -> Any:
    # The seam's types for other rooms, loaded on first use: a plan needs only the
    # provider names, and the dataclasses cost a null plan a millisecond.
    if name in ("Generated", "JobContext", "Provider", "TaskRef"):
        from . import base

        return getattr(base, name)
    if name == "AssetSpec":
        from ..spec import AssetSpec

        return AssetSpec
    if name == "ProviderError":
        from ..errors import ProviderError

        return ProviderError
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


# The built-in providers: the manifest, the CLI and the project read their names here,
# and a name here always wins over a plugin's (plugins.py).
FACTORIES: dict[str, Callable[[], Provider]] = {
    "evolink": _evolink,
    "draft": _draft,
    "openai": _openai,
}
PROVIDERS: tuple[str, ...] = tuple(FACTORIES)


def is_provider(name: str) -> bool:
    """A built-in provider, or one an installed package declares (scanned only then)."""
    if name in FACTORIES:
        return True
    from . import plugins

    return plugins.installed(name)


def available_providers() -> tuple[str, ...]:
    """Every name ``provider:`` accepts: the built-ins, then installed plugins (a scan)."""
    from . import plugins

    return (*FACTORIES, *plugins.names(exclude=tuple(FACTORIES)))


def unknown_provider_hint(name: str) -> str:
    """What to say about a provider name nobody provides: a near name, or how to get one."""
    import difflib  # error paths only

    close = difflib.get_close_matches(name, available_providers(), n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    return (
        f"a provider from another package needs that package installed "
        f"(it declares `{name}` in the `{ENTRY_POINT_GROUP}` entry-point group)"
    )


def create_provider(name: str) -> Provider:
    """The provider ``name``, ready to generate: built-in, else an installed plugin's."""
    factory = FACTORIES.get(name)
    if factory is not None:
        return factory()
    from . import plugins

    if not plugins.installed(name):
        from ..errors import UsageError

        known = ", ".join(available_providers())
        raise UsageError(
            f"unknown provider `{name}`; known: {known}\n  hint: {unknown_provider_hint(name)}"
        )
    return plugins.load(name)
