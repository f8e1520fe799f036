"""The provider seam: a request in, image bytes out.

A provider is small on purpose: ``generate`` is one coroutine per asset, and it
reports what happens inside it (a task id once submitted, state changes) through
the JobContext, so the builder can journal a paid task id before waiting for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..spec import AssetSpec


@dataclass(frozen=True, slots=True)
class Generated:
    """One generation's result: the bytes as delivered, and what it cost."""

    data: bytes
    task_id: str | None = None
    results: tuple[str, ...] = ()
    credits: float = 0.0  # what the gateway charged for it in this build
    collected: float = 0.0  # what an earlier build paid for the task collected here


@dataclass(frozen=True, slots=True)
class TaskRef:
    """A paid task a previous build submitted for this spec and never collected."""

    task_id: str
    credits: float | None = None  # what the gateway reserved for it, when known


class JobContext(Protocol):
    """What a provider may tell the builder (and ask it) while it works on one asset."""

    def state(self, state: str) -> None:
        """``running`` once the request is accepted, ``downloading`` while fetching bytes."""

    def submitted(self, task_id: str, credits: float | None = None) -> None:
        """A paid task now exists: called before waiting on it, so it can be journalled.

        A later call for the same asset replaces the journalled task (a resubmission).
        """

    def journalled_task(self) -> TaskRef | None:
        """The task an earlier (killed or interrupted) build left running for this spec.

        A provider polls it instead of submitting again, so resuming never pays twice.
        """

    def warn(self, message: str) -> None:
        """Something the user should know about this asset that does not fail it."""

    def possible_double_charge(self, why: str) -> None:
        """A request may have been paid twice (an ambiguous retry, an expired result link)."""

    # Optional (a provider looks them up with getattr, so older contexts still work):
    #   forced_nonce() -> str | None: for ``build --force``, a nonce journalled before the
    #     submit, for an Idempotency-Key of its own (None: not forced).
    #   rate_limited(window: int | None, was: int) -> None: 429s hold the provider at
    #     ``window`` tasks in flight, below the ``was`` it reached (None: no longer).


class Provider(Protocol):
    name: str
    # Generation happens elsewhere (a gateway), so a --jobs slot may be given back while
    # the image is written locally; a local renderer keeps it, or writes would pile up.
    remote: bool

    async def generate(self, spec: AssetSpec, ctx: JobContext) -> Generated:
        """Produce the image for ``spec``; raise ProviderError for this asset's failures."""
        ...

    async def aclose(self) -> None:
        """Release connections; called once when the build ends."""
        ...
