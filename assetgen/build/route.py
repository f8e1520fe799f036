"""One build, several providers: each asset goes to the provider of its model.

A manifest may mix models of different providers (krea-2-turbo on EvoLink, a
gpt-image-1 asset on OpenAI); the spec names its provider. When it mixes them, the
builder gets a Router in place of one provider: ``generate`` goes to the spec's
provider, made on first use through the same factory, and everything else a build
asks of "the provider" (its balance, collecting journalled tasks) goes to the
manifest's own. A manifest with one provider gets that provider itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..providers import Generated, JobContext, Provider
    from ..spec import AssetSpec, Manifest
    from .context import ProviderFactory


class Router:
    """A Provider that hands each spec to the provider named in it."""

    def __init__(self, factory: ProviderFactory, primary: str) -> None:
        self._factory = factory
        self._made: dict[str, Provider] = {}
        self.primary = self._get(primary)
        self.name = self.primary.name
        self.remote = True  # some of its providers are: give the slot back while writing

    def _get(self, name: str) -> Provider:
        if name not in self._made:
            self._made[name] = self._factory(name)
        return self._made[name]

    async def generate(self, spec: AssetSpec, ctx: JobContext) -> Generated:
        return await self._get(spec.provider).generate(spec, ctx)

    def __getattr__(self, name: str) -> Any:
        # ``credits``, ``collect``: the manifest's provider answers for the build.
        return getattr(self.primary, name)

    async def aclose(self) -> None:
        for provider in self._made.values():
            await provider.aclose()


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
