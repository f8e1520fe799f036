"""Provider registry: a plain dict from name to factory, imported lazily so that a plan
never pays for the HTTP stack."""

from __future__ import annotations

from collections.abc import Callable

from .base import Generated, JobContext, Provider

__all__ = ["Generated", "JobContext", "Provider", "create_provider"]


def _draft() -> Provider:
    from .draft import DraftProvider

    return DraftProvider()


FACTORIES: dict[str, Callable[[], Provider]] = {"draft": _draft}


def create_provider(name: str) -> Provider:
    from ..errors import UsageError

    try:
        factory = FACTORIES[name]
    except KeyError:
        if name == "evolink":
            raise UsageError(
                "the evolink provider is not available in this version yet\n"
                "  hint: build offline with `--provider draft`"
            ) from None
        raise UsageError(f"unknown provider `{name}`") from None
    return factory()
