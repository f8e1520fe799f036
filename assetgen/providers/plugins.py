"""Providers from other packages, found through the ``assetgen.providers`` entry-point group.

A distribution declares, in its ``pyproject.toml``::

    [project.entry-points."assetgen.providers"]
    foo = "assetgen_provider_foo:create"

and ``provider: foo`` in a manifest uses it. The object the entry point names is a
zero-argument callable returning a Provider: a factory function, or a Provider class
whose constructor needs no arguments. It is called once per build, when the first
asset needs generating; configuration comes from the environment, as for EvoLink.

Scanning entry points reads every installed distribution's metadata (milliseconds),
so the registry asks here only for a name it does not know itself: a manifest that
uses only built-in providers never scans. A built-in name always wins; a plugin that
declares one is never looked at. Everything a plugin does wrong before it works
(fails to import, raises, returns something that is not a Provider) is a UsageError
naming the plugin and its distribution, never a traceback.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, cast

from ..errors import AssetgenError, UsageError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from .base import Provider

GROUP = "assetgen.providers"  # ENTRY_POINT_GROUP in the registry
_SHOWN = 300  # characters of a plugin's own exception message shown to the user


@functools.cache
def _installed() -> dict[str, tuple[EntryPoint, ...]]:
    from importlib.metadata import entry_points

    found: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, []).append(ep)
    return {name: tuple(eps) for name, eps in found.items()}


def forget() -> None:
    """Scan again on the next lookup (after installing a package in this process)."""
    _installed.cache_clear()


def names(exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The names installed plugins declare, sorted, without ``exclude`` (the built-ins)."""
    return tuple(sorted(n for n in _installed() if n not in exclude))


def installed(name: str) -> bool:
    return name in _installed()


def distribution(ep: EntryPoint) -> str:
    """``name version`` of the distribution that declares ``ep`` (for messages)."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return f"the package of `{ep.value}`"
    return f"{getattr(dist, 'name', None) or '?'} {dist.version}"


def _origin(name: str, ep: EntryPoint) -> str:
    return f"provider `{name}` (entry point `{ep.value}` of {distribution(ep)})"


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load(name: str) -> Provider:
    """Create the plugin provider ``name``; a UsageError says what went wrong and where."""
    eps = _installed().get(name, ())
    if not eps:
        raise UsageError(f"unknown provider `{name}`")
    if len(eps) > 1:
        shown = " and ".join(distribution(ep) for ep in eps)
        raise UsageError(
            f"provider `{name}` is declared by more than one package: {shown}\n"
            "  hint: uninstall all but one of them"
        )
    ep = eps[0]
    origin = _origin(name, ep)
    try:
        factory = ep.load()
    except Exception as exc:  # its import failed: say so, not a traceback from its code
        raise UsageError(
            f"{origin} could not be loaded: {_why(exc)}\n"
            f"  hint: reinstall or upgrade {distribution(ep).split(' ')[0]}, "
            "or report it to its authors"
        ) from None
    if not callable(factory):
        raise UsageError(
            f"{origin} names {type(factory).__name__!s}, not a factory\n"
            "  hint: the entry point must name a zero-argument function or a Provider class"
        )
    try:
        provider = factory()
    except AssetgenError:
        raise  # the plugin's own user error (a missing key, say): already phrased for people
    except Exception as exc:
        raise UsageError(
            f"{origin} failed to start: {_why(exc)}\n"
            "  hint: check the settings it documents (environment variables, say)"
        ) from None
    problem = not_a_provider(provider)
    if problem is not None:
        raise UsageError(
            f"{origin} returned {type(provider).__name__}, which is not a Provider: {problem}\n"
            "  hint: see `Provider` in assetgen.providers (the README's 'Writing a provider')"
        )
    return cast("Provider", provider)


def not_a_provider(obj: Any) -> str | None:
    """Why ``obj`` does not keep the Provider protocol's shape, or None when it does."""
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        return "it has no `name` string"
    if not isinstance(getattr(obj, "remote", None), bool):
        return "it has no `remote` boolean"
    for method in ("generate", "aclose"):
        fn = getattr(obj, method, None)
        if not callable(fn):
            return f"it has no `{method}` method"
        if (inspect.isfunction(fn) or inspect.ismethod(fn)) and not inspect.iscoroutinefunction(fn):
            return f"`{method}` is not an async method (write `async def {method}`)"
    return None
