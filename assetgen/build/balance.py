"""Before a build that would spend: can the balance cover the estimate?

Without it, a build too big for the account learns so from a 402 in the middle,
having paid for part of the work and leaving the rest for later. One
``GET /v1/credits`` (free) before the first submit turns that into a refusal that
costs nothing. It runs only when the estimate is above a threshold (a few credits:
small builds need no extra round trip), only for a provider that can read its
balance, and ``build --no-balance-check`` turns it off. A check that cannot be
made (a network error, a reply without a balance) is a warning, never a refusal;
a key the gateway refuses stops the build here, before anything is submitted.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import anyio

from ..errors import AssetgenError, CreditLimitError, ProviderAuthError, UsageError
from ..plan.planner import Action
from ..plan.render import credits_text
from ..providers import Provider

THRESHOLD_ENV = "ASSETGEN_BALANCE_CHECK_ABOVE"
DEFAULT_THRESHOLD = 5.0  # credits: about 11 1K images or 3 2K ones


def threshold(env: Mapping[str, str] | None = None) -> float:
    """The estimate above which a build checks the balance (``ASSETGEN_BALANCE_CHECK_ABOVE``)."""
    text = (os.environ if env is None else env).get(THRESHOLD_ENV, "").strip()
    if not text:
        return DEFAULT_THRESHOLD
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 0):
        raise UsageError(
            f"{THRESHOLD_ENV}={text!r} is not a number of credits (0 or more)\n"
            f"  hint: unset it for the default ({DEFAULT_THRESHOLD:g}), or use "
            "`build --no-balance-check`"
        )
    return value


def available(data: Mapping[str, Any]) -> float | None:
    """What the key may still spend: the lower of its own limit (unless unlimited) and the
    account's balance; None when the reply gives neither."""
    found: list[float] = []
    for part in ("token", "user"):
        got = data.get(part)
        if not isinstance(got, Mapping) or got.get("unlimited_credits") is True:
            continue
        left = got.get("remaining_credits")
        if isinstance(left, (int, float)) and not isinstance(left, bool) and math.isfinite(left):
            found.append(float(left))
    return min(found) if found else None


def check_balance(
    build: Provider,
    make: Callable[[], Provider],
    estimate: float,
    warn: Callable[[str], None],
) -> None:
    """Refuse (CreditLimitError, exit 2) when the balance cannot cover ``estimate``.

    ``make`` gives a provider for this check alone, closed here: its connections live
    in this check's event loop, and the ``build``'s provider runs in another one.
    """
    if getattr(build, "credits", None) is None or estimate <= threshold():
        return  # no balance to ask for (the draft provider is free anyway)
    provider = make()
    read = getattr(provider, "credits", None)
    if read is None:
        return

    async def ask() -> dict[str, Any]:
        try:
            data: dict[str, Any] = await read()
            return data
        finally:
            if provider is not build:  # a factory that hands out one instance: the build's
                with anyio.CancelScope(shield=True):
                    await provider.aclose()

    try:
        data = anyio.run(ask)
    except ProviderAuthError:
        raise  # no submit could succeed either
    except AssetgenError as exc:
        warn(f"could not check the balance ({str(exc).splitlines()[0]}); building anyway")
        return
    left = available(data)
    if left is None:
        warn("the gateway's balance reply names no remaining credits; building anyway")
        return
    if left + 1e-9 < estimate:
        raise CreditLimitError(
            f"the balance is {credits_text(left)} credits, below this build's estimate of "
            f"{credits_text(estimate)} credits; nothing was started\n"
            "  hint: top up the account, or build a subset by name (`--max-credits X` caps a "
            "build's estimate); `--no-balance-check` skips this check"
        )


def check_build_balance(
    build: Provider,
    make: Callable[[], Provider],
    estimate: float,
    work: Sequence[Action],
    warn: Callable[[str], None],
) -> None:
    """``check_balance`` of the build's provider against the plan's ``estimate``; of a
    Router's each provider against its own specs' share of ``work``: an EvoLink balance
    never has to cover a mixed manifest's OpenAI assets."""
    from .route import Router

    if not isinstance(build, Router):
        check_balance(build, make, estimate, warn)
        return
    for name, provider in build.made.items():
        estimate = sum(
            a.credits
            for a in work
            if a.generates and a.spec is not None and a.spec.provider == name
        )
        check_balance(provider, partial(build.factory, name), round(estimate, 6), warn)
