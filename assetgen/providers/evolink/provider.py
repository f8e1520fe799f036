"""The ``evolink`` provider: EvoLink's asynchronous krea-2-turbo route (docs.evolink.ai).

One paid task per asset: submit, hand the task id to the builder (which journals it
before anything else happens), poll until the task ends, download the image at once
(result links expire after 24 h). A build killed at any point finds the id in the
journal next time and polls it instead of paying again.

Submits are paid writes and are never repeated blindly: only what certainly did not
reach the gateway (a failed connect, a 429) is retried freely. A submit whose fate
is unknown (timeout, 5xx, dropped connection) is retried once with the same
``Idempotency-Key`` and counted as a possible double charge unless the gateway says
it replayed the first answer. Reads (polls, downloads) are retried with backoff.

Environment (all optional except the key; times in seconds):

=======================================  =======  ===========================================
``EVOLINK_API_KEY``                      -        required; never logged, locked or shown
``EVOLINK_BASE_URL``                     gateway  https, or http://127.0.0.1 / localhost
``ASSETGEN_EVOLINK_POLL_INTERVAL``       3        first steady poll period (grows 1.5x)
``ASSETGEN_EVOLINK_MAX_POLL_INTERVAL``   15       longest wait between polls
``ASSETGEN_EVOLINK_FIRST_POLL_MAX``      10       cap on the first wait (from estimated_time)
``ASSETGEN_EVOLINK_TASK_DEADLINE``       900      give up waiting (the id stays journalled)
``ASSETGEN_EVOLINK_CONNECT_TIMEOUT``     10       TCP/TLS connect
``ASSETGEN_EVOLINK_READ_TIMEOUT``        30       polls, credits, downloads
``ASSETGEN_EVOLINK_SUBMIT_TIMEOUT``      60       the submit
``ASSETGEN_EVOLINK_HTTP_RETRIES``        5        retries of reads and of unsent submits
``ASSETGEN_EVOLINK_TASK_RETRIES``        2        new tasks after retryable failures per asset
``ASSETGEN_EVOLINK_RETRY_UNKNOWN_ERROR`` 1        whether task error ``unknown_error`` is retried
``ASSETGEN_EVOLINK_RETRY_AFTER_MAX``     30       cap on an honoured Retry-After
``ASSETGEN_EVOLINK_BACKOFF_BASE``        1        first retry wait (doubles, half jittered)
``ASSETGEN_EVOLINK_BACKOFF_MAX``         30       longest retry wait
``ASSETGEN_EVOLINK_MAX_DOWNLOAD_MB``     64       refuse larger images
``ASSETGEN_EVOLINK_DOWNLOAD_DEADLINE``   300      per download, redirects included
``ASSETGEN_EVOLINK_DOWNLOAD_MIN_KBPS``   16       slower downloads fail (after 10 s)
``ASSETGEN_EVOLINK_INITIAL_IN_FLIGHT``   4        start of the adaptive (AIMD) task window
``ASSETGEN_EVOLINK_MAX_IN_FLIGHT``       256      its ceiling (``--jobs`` caps it as well)
``ASSETGEN_EVOLINK_MAX_CONNECTIONS``     16       HTTP requests at once; pooled connections
=======================================  =======  ===========================================
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

import httpx

from ...errors import ProviderAuthError, ProviderError, TransientProviderError
from ...spec import AssetSpec
from ..base import Generated, JobContext
from .body import StillRunning, auth_error, idempotency_key, request_body
from .config import EvoLinkConfig, config_from_env
from .http import USER_AGENT, ApiError, Gateway, TransportFailure, redact
from .net import make_client
from .retry import WINDOW_DECREASE, AIMDWindow, Backoff, Clock, Permit, Random, SystemClock
from .task import Job

__all__ = ["EvoLinkConfig", "EvoLinkProvider", "from_env", "idempotency_key", "request_body"]


class EvoLinkProvider:
    """Generates through the EvoLink gateway over one shared ``httpx.AsyncClient``.

    Args:
        config: the key, base URL and every timeout (see ``config_from_env``).
        client: a client to use (not closed by ``aclose``); else one is made.
        transport: the transport for the client made here (``httpx.MockTransport`` in tests).
        clock: monotonic time, wall time and sleep; tests pass a fake one.
        rand: the jitter source, ``random.random`` by default.
    """

    name = "evolink"
    remote = True

    def __init__(
        self,
        config: EvoLinkConfig,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        rand: Random | None = None,
    ) -> None:
        self.config = config
        self._owns_client = client is None
        # As many pooled connections as requests at once (Gateway's semaphore): nothing
        # queues inside httpcore, and none is closed and reopened between bursts.
        connections = max(1, config.max_connections)
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        headers = {"User-Agent": USER_AGENT}
        if client is None and transport is None:
            client = make_client(limits, headers)
        self.client = client or httpx.AsyncClient(
            transport=transport, headers=headers, limits=limits
        )
        self.clock: Clock = clock or SystemClock()
        self.gateway = Gateway(config, self.client, self.clock.monotonic)
        self.rand: Random = rand or random.random
        self.backoff = Backoff(config.backoff_base, config.backoff_max)
        self.window = AIMDWindow(
            config.initial_in_flight, maximum=config.max_in_flight, decrease=WINDOW_DECREASE
        )
        self.quota_exhausted = False
        self._rate_shown: int | None = None  # the window last reported as held down by 429s

    def throttled(self, permit: Permit, ctx: JobContext) -> None:
        """A 429 (or a task-level concurrency refusal): shrink the window, say so."""
        self.window.throttled(permit)
        self._window_moved(ctx)

    def succeeded(self, permit: Permit, ctx: JobContext) -> None:
        self.window.succeeded(permit)
        self._window_moved(ctx)

    def _window_moved(self, ctx: JobContext) -> None:
        """Tell the build while 429s hold the window below the most tasks it had in flight,
        once per change of the window (not once per 429), and once when that ends."""
        limit, peak = self.window.limit, self.window.peak
        shown = limit if limit < peak else None
        if shown == self._rate_shown:
            return
        self._rate_shown = shown
        tell = getattr(ctx, "rate_limited", None)
        if tell is not None:
            tell(shown, peak)

    async def generate(self, spec: AssetSpec, ctx: JobContext) -> Generated:
        """Submit (or resume) ``spec``'s task, wait for it and download its image."""
        return await self._run(Job(self, spec, ctx))

    async def collect(self, spec: AssetSpec, ctx: JobContext) -> Generated | None:
        """The image of the journalled task for ``spec`` if it has finished, else None.

        For tasks a build no longer wants (the manifest changed under them): they are
        paid for, so their image goes to the cache, where reverting the edit finds it.
        Polls once and never submits; a failed or vanished task raises ProviderError.
        """
        try:
            return await self._run(Job(self, spec, ctx, collect=True))
        except StillRunning:
            return None

    async def _run(self, job: Job) -> Generated:
        try:
            return await job.run()
        except (ProviderError, ProviderAuthError) as exc:
            # The last line of defence: no message leaves here with the key in it.
            text = str(exc)
            clean = redact(text, self.config.api_key)
            if clean != text:
                exc.args = (clean,)
            raise

    async def credits(self) -> dict[str, Any]:
        """The known fields of ``GET /v1/credits``'s ``data`` (token and user balances)."""
        for attempt in range(self.config.http_retries + 1):
            try:
                body = await self.gateway.get_credits()
            except ApiError as err:
                if err.status in (401, 403):
                    raise auth_error(err) from None
                if (err.status != 429 and err.status < 500) or attempt == self.config.http_retries:
                    raise TransientProviderError(f"could not read the balance: {err}") from None
            except TransportFailure as fail:
                if attempt == self.config.http_retries:
                    raise TransientProviderError(f"could not read the balance: {fail}") from None
            else:
                return known_credits(body.get("data"))
            await self.clock.sleep(self.backoff.delay(attempt, self.rand))
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        """Close the client if this provider made it."""
        if self._owns_client:
            await self.client.aclose()


_BALANCE_FIELDS = {"remaining_credits": float, "used_credits": float, "unlimited_credits": bool}


def known_credits(data: object) -> dict[str, Any]:
    """Only the balance fields assetgen knows, each of its type (finite numbers, booleans):
    ``credits --json`` prints this, so nothing else a gateway sends reaches the output."""
    out: dict[str, Any] = {}
    for part in ("token", "user"):
        got = data.get(part) if isinstance(data, dict) else None
        if not isinstance(got, dict):
            continue
        fields: dict[str, Any] = {}
        for name, kind in _BALANCE_FIELDS.items():
            value = got.get(name)
            if kind is bool and isinstance(value, bool):  # noqa: SIM114 - narrows differently
                fields[name] = value
            elif (
                kind is float
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
            ):
                fields[name] = value
        out[part] = fields
    return out


def from_env(env: Mapping[str, str] | None = None, **inject: Any) -> EvoLinkProvider:
    """The provider configured from the environment (the ``evolink`` registry entry)."""
    return EvoLinkProvider(config_from_env(env), **inject)
