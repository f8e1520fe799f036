"""One build, several providers: each asset goes to the provider of its model.

A manifest may mix models of different providers (krea-2-turbo on EvoLink, a
gpt-image-1 asset on OpenAI); the spec names its provider. When it mixes them, the
builder gets a Router in place of one provider. The build opens, before anything is
submitted, exactly the providers its generating work needs (``open_for``): a missing
key of one of them is a usage error before any other is paid, and a provider the plan
does not need (a built EvoLink project gaining one OpenAI asset) is never made, so
its key is not asked for. ``generate`` goes to the spec's provider; what else a
build asks of "the provider" (collecting journalled tasks) goes to the manifest's
own, made then, and absent (AttributeError) when it cannot be made. Each provider's
balance is checked against its own specs' estimate (run.py). A manifest with one
provider gets that provider itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import AssetgenError

if TYPE_CHECKING:
    from ..providers import Generated, JobContext, Provider
    from ..spec import AssetSpec, Manifest
    from .context import ProviderFactory


class Router:
    """A Provider that hands each spec to the provider named in it."""

    def __init__(self, factory: ProviderFactory, primary: str) -> None:
        self.factory = factory  # the unrouted one: makes the provider of one name
        self._made: dict[str, Provider] = {}
        self.primary = primary
        self.name = primary
        self.remote = True  # some of its providers are: give the slot back while writing

    def _get(self, name: str) -> Provider:
        if name not in self._made:
            self._made[name] = self.factory(name)
        return self._made[name]

    def open(self, names: Iterable[str]) -> None:
        """Make the providers ``names`` lists now (a missing key raises its UsageError)."""
        for name in sorted(set(names)):
            self._get(name)

    @property
    def made(self) -> Mapping[str, Provider]:
        return dict(self._made)

    async def generate(self, spec: AssetSpec, ctx: JobContext) -> Generated:
        return await self._get(spec.provider).generate(spec, ctx)

    def __getattr__(self, name: str) -> Any:
        # ``collect``: the manifest's provider answers for the build, when it can be made.
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            primary = self._get(self.primary)
        except AssetgenError:  # e.g. its key is not set: nothing of it is asked for
            raise AttributeError(name) from None
        return getattr(primary, name)

    async def aclose(self) -> None:
        for provider in self._made.values():
            await provider.aclose()


def open_for(factory: ProviderFactory, primary: str, needed: Iterable[str]) -> Provider:
    """The build's provider, with every provider of ``needed`` (the spec providers of the
    plan's generating work) made now, before anything is submitted."""
    provider = factory(primary)
    if isinstance(provider, Router):
        try:
            provider.open(needed)
        except BaseException:
            import anyio

            anyio.run(provider.aclose)
            raise
    return provider


def routed(factory: ProviderFactory, manifest: Manifest) -> ProviderFactory:
    """``factory``, or one that makes a Router when the manifest's assets use several providers."""
    names = {s.provider for s in manifest.specs}
    if manifest.provider == "draft" or names <= {manifest.provider}:
        return factory
    if len(names) == 1:  # every asset's model is another provider's: use that one alone
        (only,) = names

        def alone(name: str) -> Provider:
            return factory(only) if name == manifest.provider else factory(name)

        return alone

    def make(name: str) -> Provider:
        return Router(factory, name) if name == manifest.provider else factory(name)

    return make
