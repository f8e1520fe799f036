"""The provider seam, public: a request in, image bytes out.

This module is the one reference for writing a provider (the README's "Writing a
provider" shows the packaging). Everything here, and ``AssetSpec`` (assetgen.spec)
and ``ProviderError`` (assetgen.errors), is importable from ``assetgen.providers``.

A provider is small on purpose: ``generate`` is one coroutine per asset, and it
reports what happens inside it (a task id once submitted, state changes) through
the JobContext, so the builder can journal a paid task id before waiting for it.

The request is an ``AssetSpec``: ``provider``, ``model``, ``prompt``, ``size``,
``quality``, ``seed`` and ``nsfw_check`` are what to ask for (its ``spec_hash``
names exactly those); ``width`` x ``height`` is the pixel size the builder checks
the result against; ``name`` and ``output`` are for messages only. The answer is a
``Generated``: the image bytes as delivered (PNG, JPEG or WebP: the builder decodes
them, checks the pixel size, converts to the output's format and caches them).

Rules every provider keeps (the contract kit, ``assetgen.testing.provider_kit``,
checks what can be checked from outside):

1. Journal before waiting. Once a request may be charged (a task exists), call
   ``ctx.submitted(task_id, credits)`` before awaiting anything else, so a build
   killed at that instant can collect the task instead of paying again. (A
   synchronous API, the image in the reply and no task id, has nothing to journal.)
2. Resume, never pay twice. Before submitting, ask ``ctx.journalled_task()``: a
   TaskRef means an earlier build paid for this very spec; poll or fetch that task
   (and return ``Generated(collected=...)``, ``credits=0``). A provider that charges
   nothing and has no tasks (``draft``) may ignore it.
3. Report charges truthfully. ``Generated.credits`` is what this build was charged
   for the image, in the credits the plan estimates in (0.0 when nothing was, a
   float, never negative); ``collected`` is what an earlier build paid for a task
   collected here. The summary and ``--max-credits`` bookkeeping add these up.
4. Say when a charge may have doubled. When a retry may have been paid a second
   time (a timeout after the request was sent, an expired result fetched again),
   call ``ctx.possible_double_charge(why)``; it is counted in the summary.
5. Never show a secret. An API key never appears in a log line, a warning, an
   exception message, ``Generated.task_id``/``results`` or anything returned;
   redact what a server echoes back before using it.
6. Fail one asset with ``ProviderError``. Raise ``PermanentProviderError`` when the
   same request will fail again (refused content, bad parameters: the journalled
   task is dropped), ``TransientProviderError`` when a later build may succeed (the
   task stays journalled), ``ProviderAuthError`` for a key that cannot work (the
   build stops) and ``QuotaExhaustedError`` when credits ran out (nothing new is
   submitted). Any other exception is a bug: it ends the build with a traceback.
   Messages are for people: one line, what failed and, if useful, what to do.
7. ``remote``: True when the work happens elsewhere (a gateway), so the builder
   gives the asset's ``--jobs`` slot back as soon as the bytes are in hand; False
   for a local renderer (CPU-bound work keeps its slot).
8. ``aclose`` releases connections; the builder calls it once at the end, and a
   second call does nothing.
9. Be deterministic where the model is: a seeded request gives the same image
   again when the service allows it. Where it cannot (a model without a seed),
   the lock's bytes are the record; say so in the provider's documentation.

Optional: ``async def credits(self) -> dict``, the account's balance, read (free)
before a build estimated above ``ASSETGEN_BALANCE_CHECK_ABOVE`` credits, shaped
``{"user": {"remaining_credits": float, "unlimited_credits": bool}, "token": {...}}``
(either part may be missing; see build/balance.py). A provider without it is not
checked.

A provider is made by a zero-argument factory (a function, or the class itself when
its constructor takes none), when a build first needs to generate (and once more,
for that check alone, when the provider has ``credits``): read
configuration from the environment there, and raise ``UsageError`` (assetgen.errors)
for a missing or bad setting. Built-in factories are ``FACTORIES`` in the registry
(assetgen.providers); other packages add theirs through the ``assetgen.providers``
entry-point group (providers/plugins.py).
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
    """What the builder calls: ``generate`` per asset (many at once), ``aclose`` once."""

    name: str  # the name the manifest's ``provider:`` uses
    # Generation happens elsewhere (a gateway), so a --jobs slot may be given back while
    # the image is written locally; a local renderer keeps it, or writes would pile up.
    remote: bool

    async def generate(self, spec: AssetSpec, ctx: JobContext) -> Generated:
        """Produce the image for ``spec``; raise ProviderError for this asset's failures."""
        ...

    async def aclose(self) -> None:
        """Release connections; called once when the build ends."""
        ...
