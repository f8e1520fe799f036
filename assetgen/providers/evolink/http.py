"""The evolink provider's HTTP edge: configuration, one request at a time, and error translation.

Every httpx exception and every non-2xx answer is turned into ``ApiError`` or
``TransportFailure`` here (and the key is scrubbed from any text), so nothing above
this module sees httpx. Retrying is the caller's business: whether a failed call may
be repeated depends on what it was (a paid submit or a free read).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
import httpx

from ..._version import __version__
from .config import EvoLinkConfig
from .fetch import MAX_REDIRECTS, RateGuard, UnsafeLink, check_link, redirect_target
from .secrets import redact, scrub

__all__ = ["redact"]  # re-exported: the provider's one redaction function lives in evolink_secrets

USER_AGENT = f"assetgen/{__version__}"


class ApiError(Exception):
    """A non-2xx answer, with the envelope's fields (``code`` as text: it may come as an integer)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.retry_after = retry_after

    def describe(self) -> str:
        """``message (code, param: p)``: what a user needs to fix the request."""
        extra = self.code + (f", param: {self.param}" if self.param else "")
        return f"{self.message} ({extra})"


class TransportFailure(Exception):
    """No HTTP answer. ``sent`` is False only when the request certainly never left (connect failed)."""

    def __init__(self, why: str, *, sent: bool) -> None:
        super().__init__(why)
        self.sent = sent


class DownloadTruncated(Exception):
    """Fewer bytes arrived than Content-Length promised."""


class DownloadTooLarge(Exception):
    """The image is larger than ``max_download_bytes``."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A 2xx JSON answer and whether the gateway replayed it for a repeated Idempotency-Key."""

    body: dict[str, Any]
    replayed: bool = False


_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _semaphore(n: int) -> anyio.Semaphore:
    """A semaphore that takes a free slot without yielding (anyio >= 4.5), so adding it
    changes no interleaving of jobs; with older anyio it yields once (harmless, though
    a 402 may then meet one more submit already under way)."""
    try:
        return anyio.Semaphore(n, fast_acquire=True)
    except TypeError:  # pragma: no cover - anyio < 4.5
        return anyio.Semaphore(n)


class Gateway:
    """One attempt per call against the gateway, over a shared client."""

    def __init__(
        self,
        config: EvoLinkConfig,
        client: httpx.AsyncClient,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.client = client
        self.monotonic = monotonic  # paces downloads (RateGuard); the provider's clock in tests
        self._auth = {"Authorization": f"Bearer {config.api_key}", "User-Agent": USER_AGENT}
        c = config
        self._read = httpx.Timeout(c.read_timeout, connect=c.connect_timeout)
        self._submit = httpx.Timeout(c.submit_timeout, connect=c.connect_timeout)
        # Requests wait here rather than in httpcore's pool, whose bookkeeping costs
        # O(connections x queued requests) per request plus two syscalls per idle
        # connection: 16 slots instead of 100 saved ~3 ms of CPU per asset (50 jobs).
        self._slots = _semaphore(max(1, c.max_connections))

    async def create_task(self, body: dict[str, Any], idempotency_key: str) -> Reply:
        headers = {**self._auth, "Idempotency-Key": idempotency_key}
        return await self._json("POST", "/v1/images/generations", headers, self._submit, body)

    async def get_task(self, task_id: str) -> dict[str, Any]:
        path = "/v1/tasks/" + quote(task_id, safe="")
        return (await self._json("GET", path, self._auth, self._read)).body

    async def get_credits(self) -> dict[str, Any]:
        return (await self._json("GET", "/v1/credits", self._auth, self._read)).body

    async def _json(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        timeout: httpx.Timeout,
        body: dict[str, Any] | None = None,
    ) -> Reply:
        try:
            async with self._slots:
                response = await self.client.request(
                    method,
                    self.config.base_url + path,
                    headers=headers,
                    json=body,
                    timeout=timeout,
                    follow_redirects=False,
                )
        except httpx.HTTPError as exc:
            raise self._transport(exc) from None
        if not 200 <= response.status_code < 300:
            raise self._api_error(response)
        try:
            data = response.json()
        except (ValueError, RecursionError):  # a reply nested deeper than Python's stack
            raise ApiError(
                response.status_code, "bad_response", "the gateway answered with invalid JSON"
            ) from None
        if not isinstance(data, dict):
            raise ApiError(
                response.status_code, "bad_response", "the gateway answered non-object JSON"
            )
        replayed = response.headers.get("idempotency-replayed", "").strip().lower() == "true"
        return Reply(scrub(data, self.config.api_key), replayed)

    async def download(self, url: str) -> bytes:
        """The bytes at ``url``, at most ``max_download_bytes``, within the download deadline.

        Redirects are followed here, each hop checked (``check_link``) before it is
        requested; the key goes only to the gateway's origin, and never again once a
        hop left it.

        Raises:
            UnsafeLink: a hop points where assetgen does not fetch from.
            DownloadTooSlow: past the deadline or under the minimum rate.
        """
        cfg = self.config
        limit = cfg.max_download_bytes
        trusted = True
        try:
            async with self._slots:
                guard = RateGuard(cfg.download_deadline, cfg.download_min_rate, self.monotonic())
                with anyio.fail_after(cfg.download_deadline + cfg.read_timeout):
                    for hop in range(MAX_REDIRECTS + 1):
                        try:
                            check_link(url, cfg.base_url, redirected=hop > 0)
                        except UnsafeLink as exc:  # its origin may echo the key
                            raise UnsafeLink(redact(str(exc), cfg.api_key)) from None
                        trusted = trusted and _origin(url) == _origin(cfg.base_url)
                        headers = self._auth if trusted else {"User-Agent": USER_AGENT}
                        async with self.client.stream(
                            "GET", url, headers=headers, timeout=self._read, follow_redirects=False
                        ) as response:
                            target = redirect_target(response)
                            if target is not None:
                                url = target
                                continue
                            return await self._body(response, limit, guard)
                    raise ApiError(0, "too_many_redirects", f"over {MAX_REDIRECTS} redirects")
        except TimeoutError:
            raise TransportFailure(
                f"the download took over {cfg.download_deadline:g}s", sent=True
            ) from None
        except httpx.HTTPError as exc:
            raise self._transport(exc) from None

    async def _body(self, response: httpx.Response, limit: int, guard: RateGuard) -> bytes:
        if not 200 <= response.status_code < 300:
            await response.aread()
            raise self._api_error(response)
        expected = _content_length(response.headers)
        if expected is not None and expected > limit:
            raise DownloadTooLarge(f"{expected} bytes, over the {limit}-byte cap")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise DownloadTooLarge(f"over the {limit}-byte cap")
            guard.check(size, self.monotonic())
            chunks.append(chunk)
        if expected is not None and size != expected:
            raise DownloadTruncated(f"got {size} of {expected} bytes")
        return b"".join(chunks)

    def _transport(self, exc: httpx.HTTPError) -> TransportFailure:
        why = redact(
            f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, self.config.api_key
        )
        return TransportFailure(why, sent=not isinstance(exc, _UNSENT))

    def _api_error(self, response: httpx.Response) -> ApiError:
        code, message, param = _envelope(response)
        key = self.config.api_key
        # Redacted whole, then cut: a key cut in half by the cut would no longer match.
        return ApiError(
            response.status_code,
            redact(code, key)[:_MAX_CODE],
            redact(message, key)[:_MAX_MESSAGE],
            param=redact(param, key)[:_MAX_CODE] if param else None,
            retry_after=redact(response.headers.get("retry-after") or "", key)[:64] or None,
        )


_MAX_MESSAGE = 500  # characters of a gateway's error message that reach a person
_MAX_CODE = 100


def _envelope(response: httpx.Response) -> tuple[str, str, str | None]:
    """``(code, message, param)`` from ``{"error": {...}}``, tolerating integer codes and junk."""
    default = response.reason_phrase or f"HTTP {response.status_code}"
    try:
        data = json.loads(response.content or b"null")
    except (ValueError, RecursionError):
        return str(response.status_code), default, None
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return str(response.status_code), default, None
    code = err.get("code")
    code_text = (
        str(code) if isinstance(code, (str, int)) and str(code) else str(response.status_code)
    )
    message = err.get("message")
    message_text = message if isinstance(message, str) and message else default
    param = err.get("param")
    return code_text, message_text, param if isinstance(param, str) and param else None


def _content_length(headers: httpx.Headers) -> int | None:
    if headers.get("content-encoding", "identity").lower() not in ("", "identity"):
        return None  # the length counts encoded bytes; we count decoded ones
    try:
        value = int(headers.get("content-length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port
