"""The ``openai`` provider: ``POST {OPENAI_BASE_URL}/images/generations``, synchronous.

One request per asset; the image comes back in the response as ``b64_json`` (GPT
image models always answer so; for other models on a compatible server the body
asks for it when the model takes ``response_format``). A ``url`` instead of base64
is refused: fetching a link a server names would need the link checks of the
evolink provider, and no server assetgen supports needs it.

What may be retried: this API takes no Idempotency-Key, so a request that reached
the server and got no answer (a timeout, a dropped connection, a 5xx) may have been
generated and charged. Only what certainly was not (a failed connect, a 429) is
retried freely; the rest fails the asset and says it may have been charged, unless
``ASSETGEN_OPENAI_AMBIGUOUS_RETRIES`` allows a retry, which is then reported as a
possible double charge. A 429 ``insufficient_quota`` (or a 402) is QuotaExhaustedError:
the build submits nothing more. ``ASSETGEN_OPENAI_TIMEOUT`` bounds the whole request
(httpx's read timeout is per chunk). The response is read up to a bound (an image
reply over it may have been charged), the base64 decoded and the image's pixel size
checked against the request before anything is stored.

Credits: the response's ``usage`` tokens at the spec's token prices (those of the
catalog the plan used, ``models:`` included; converted at the catalog's rate);
without ``usage``, or with counts out of range, the plan's price of the request, the
upper bound for a token-billed model, with a warning. The key is sent
only in the ``Authorization`` header and scrubbed from every message (secrets.py).
Variables: see config.py (and the README's provider section).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import random
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import httpx

from ... import catalog
from ..._version import __version__
from ...errors import (
    ProviderAuthError,
    ProviderError,
    QuotaExhaustedError,
    TransientProviderError,
)
from ...imagesize import header_size
from ...spec import AssetSpec
from ..base import Generated, JobContext
from ..evolink.body import check_complete
from ..evolink.net import make_client
from ..evolink.retry import Backoff, Clock, Random, SystemClock, parse_retry_after
from .config import KEY_ENV, OpenAIConfig, config_from_env
from .secrets import redact

USER_AGENT = f"assetgen/{__version__}"
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class _Ambiguous(Exception):
    """The request was sent and no usable answer came back: it may have been charged."""


class _Retry(Exception):
    """Certainly not generated (unsent, or a 429): safe to send again."""

    def __init__(self, why: str, wait: float | None = None) -> None:
        super().__init__(why)
        self.wait = wait


LANE = 8  # connections per httpx client
MAX_USAGE_TOKENS = 10**8  # more in one image's usage is a broken reply, not a bill


class Lanes:
    """Several small httpx clients instead of one large one.

    Generations are long (seconds to minutes), so with ``--jobs 50`` fifty requests
    are open at once; httpcore's pool rescans every connection of its pool on every
    request event, which cost about 9 ms of CPU per asset with one pool of 64. Clients
    of ``LANE`` connections each, a request going to the one with most free slots and
    never queueing inside httpcore, keep each scan short."""

    def __init__(self, total: int, transport: httpx.AsyncBaseTransport | None = None) -> None:
        headers = {"User-Agent": USER_AGENT}
        per = min(LANE, total)
        limits = httpx.Limits(max_connections=per, max_keepalive_connections=per)
        count = -(-total // per)
        context = httpx.create_ssl_context() if transport is None else None  # one CA load
        self.clients = [
            make_client(limits, headers, context)
            if transport is None
            else httpx.AsyncClient(transport=transport, headers=headers, limits=limits)
            for _ in range(count)
        ]
        self.free = [per] * count
        self._slots = anyio.Semaphore(per * count)

    @contextlib.asynccontextmanager
    async def lane(self) -> AsyncIterator[httpx.AsyncClient]:
        async with self._slots:
            i = max(range(len(self.free)), key=self.free.__getitem__)
            self.free[i] -= 1
            try:
                yield self.clients[i]
            finally:
                self.free[i] += 1

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def request_body(spec: AssetSpec) -> dict[str, Any]:
    """The JSON for ``spec``: only the fields its model takes, one PNG image.

    PNG because assetgen converts to the output's format itself (lossless first),
    so ``output_format`` is the same for every request and the spec hash, which
    covers model, prompt, size and quality, covers the whole request."""
    info = catalog.MODELS.get(spec.model)
    takes = spec.fields or (info.fields if info else ("model", "prompt", "size", "quality", "n"))
    body: dict[str, Any] = {"model": spec.model, "prompt": spec.prompt}
    if "size" in takes:
        body["size"] = spec.size
    if "quality" in takes:
        body["quality"] = spec.quality
    if "n" in takes:
        body["n"] = 1
    if "output_format" in takes:
        body["output_format"] = "png"
    if "response_format" in takes:
        body["response_format"] = "b64_json"
    return body


class OpenAIProvider:
    """Generates through the OpenAI Images API over one shared ``httpx.AsyncClient``."""

    name = "openai"
    remote = True

    def __init__(
        self,
        config: OpenAIConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        rand: Random | None = None,
    ) -> None:
        self.config = config
        self.lanes = Lanes(max(1, config.max_connections), transport)
        self._headers = {"Authorization": f"Bearer {config.api_key}"}
        if config.organization:
            self._headers["OpenAI-Organization"] = config.organization
        if config.project:
            self._headers["OpenAI-Project"] = config.project
        self._timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout)
        self.clock: Clock = clock or SystemClock()
        self.rand: Random = rand or random.random
        self.backoff = Backoff(config.backoff_base, config.backoff_max)
        self.quota_exhausted = False  # a reply said so: nothing more is sent

    async def generate(self, spec: AssetSpec, ctx: JobContext) -> Generated:
        try:
            return await self._generate(spec, ctx)
        except (ProviderError, ProviderAuthError) as exc:
            text = str(exc)  # the last line of defence: no message leaves with the key
            clean = redact(text, self.config.api_key)
            if clean != text:
                exc.args = (clean,)
            raise

    async def _generate(self, spec: AssetSpec, ctx: JobContext) -> Generated:
        if self.quota_exhausted:
            raise QuotaExhaustedError("not submitted: the quota ran out", submitted=False)
        body = request_body(spec)
        ctx.state("running")
        retries = ambiguous = 0
        while True:
            try:
                reply = await self._post(body)
                break
            except _Retry as again:
                if retries >= self.config.http_retries:
                    raise TransientProviderError(
                        f"gave up after {retries} retries: {again}"
                    ) from None
                wait = (
                    again.wait if again.wait is not None else self.backoff.delay(retries, self.rand)
                )
                retries += 1
                await self.clock.sleep(wait)
            except _Ambiguous as lost:
                if ambiguous >= self.config.ambiguous_retries:
                    raise TransientProviderError(
                        f"{lost}; the request reached the server, so it may have been "
                        "generated and charged (this API cannot say); the next build asks again"
                    ) from None
                ambiguous += 1
                ctx.possible_double_charge(
                    f"retried after {lost}: the first request may have been charged too"
                )
                await self.clock.sleep(self.backoff.delay(ambiguous - 1, self.rand))
        ctx.state("downloading")
        data = self._image(reply)
        header = header_size(data)
        if header is not None and header[1:] != (spec.width, spec.height):
            raise ProviderError(
                f"the image does not match the request: {header[1]}x{header[2]}, "
                f"not the {spec.width}x{spec.height} of size {spec.size}"
            )
        try:
            check_complete(data, spec.width, spec.height)
        except Exception as exc:  # IntegrityError or a decoder's: the image is not the request's
            raise ProviderError(f"the image does not match the request: {exc}") from None
        return Generated(data=data, credits=self._credits(spec, reply, ctx))

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        url = self.config.base_url + "/images/generations"
        try:
            async with self.lanes.lane() as client:
                # httpx's read timeout is per chunk: a trickling reply would never end it.
                with anyio.fail_after(self.config.timeout):
                    async with client.stream(
                        "POST", url, json=body, headers=self._headers, timeout=self._timeout
                    ) as response:
                        raw = await self._read(response)
                        status = response.status_code
                        retry_after = response.headers.get("retry-after")
        except _UNSENT as exc:
            raise _Retry(f"could not connect ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise _Ambiguous(f"no answer ({type(exc).__name__})") from None
        except TimeoutError:
            raise _Ambiguous(
                f"no complete answer within {self.config.timeout:g} s (ASSETGEN_OPENAI_TIMEOUT)"
            ) from None
        if raw is None:
            over = f"the response is over the {self.config.max_response_bytes:,}-byte limit"
            if 200 <= status < 300:  # the server made the image, and may have charged it
                raise _Ambiguous(over)
            raise ProviderError(f"HTTP {status}: {over}")
        if 200 <= status < 300:
            try:
                parsed = json.loads(raw)
            except (ValueError, RecursionError):  # nested deeper than Python's stack
                raise _Ambiguous(f"HTTP {status} with a body that is not JSON") from None
            if not isinstance(parsed, dict):
                raise _Ambiguous(f"HTTP {status} with a body that is not a JSON object")
            return parsed
        message, code = self._message(raw)
        if status == 402 or (
            status == 429 and (code == "insufficient_quota" or "quota" in message.lower())
        ):
            # Out of credits, not a rate limit: the build submits nothing more (rule 6).
            self.quota_exhausted = True
            raise QuotaExhaustedError(f"the account's quota ran out (HTTP {status}: {message})")
        if status == 429:
            wait = parse_retry_after(retry_after, self.clock.time(), self.config.retry_after_max)
            raise _Retry(f"HTTP 429 {message}", wait)
        if status in (401, 403):
            raise ProviderAuthError(
                f"{KEY_ENV} was refused (HTTP {status}: {message})\n"
                "  hint: check the key, OPENAI_ORGANIZATION / OPENAI_PROJECT and the model's access"
            )
        if status >= 500:
            raise _Ambiguous(f"HTTP {status} {message}")
        raise ProviderError(f"HTTP {status}: {message}")  # 400s: fix the request

    async def _read(self, response: httpx.Response) -> bytes | None:
        """The body, or None when it is (or says it is) over the size limit."""
        limit = self.config.max_response_bytes
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _message(self, raw: bytes) -> tuple[str, str]:
        """The error's message (redacted, bounded) and its ``code`` ("" when none)."""
        try:
            err = json.loads(raw).get("error")
        except (ValueError, AttributeError, RecursionError):
            err = None
        text = err.get("message") if isinstance(err, dict) else None
        if not isinstance(text, str):
            text = raw[:200].decode("utf-8", "replace")
        code = err.get("code") if isinstance(err, dict) else None
        return redact(text[:500], self.config.api_key), code if isinstance(code, str) else ""

    def _image(self, reply: Mapping[str, Any]) -> bytes:
        data = reply.get("data")
        first = data[0] if isinstance(data, list) and data else None
        if not isinstance(first, dict):
            raise ProviderError("the response has no image (`data` is empty)")
        b64 = first.get("b64_json")
        if not isinstance(b64, str) or not b64:
            if isinstance(first.get("url"), str):
                raise ProviderError(
                    "the server answered with a `url`, not `b64_json`; assetgen reads base64 "
                    "only (declare `fields: [..., response_format]` for this model under `models:`)"
                )
            raise ProviderError("the response has no `b64_json` image")
        try:
            return base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise ProviderError("the image's base64 is damaged") from None

    def _credits(self, spec: AssetSpec, reply: Mapping[str, Any], ctx: JobContext) -> float:
        """What this call cost: its ``usage`` at the spec's token prices (the catalog the
        plan used, ``models:`` overrides included) when it has them, else the plan's price
        (its upper bound when token-billed, with a warning)."""
        rates = spec.token_usd_per_m
        usage = reply.get("usage")
        if rates is not None and isinstance(usage, dict):
            got = usage.get("input_tokens"), usage.get("output_tokens")
            tokens = [t for t in got if isinstance(t, int) and not isinstance(t, bool)]
            if len(tokens) == 2 and all(0 <= t <= MAX_USAGE_TOKENS for t in tokens):
                return catalog.usd_tokens_to_credits(rates, tokens[0], tokens[1])
            if len(tokens) == 2:
                ctx.warn(
                    f"{spec.name}: the response's token usage is out of range; "
                    f"counted at the plan's upper estimate ({spec.most_credits:.2f} credits)"
                )
                return spec.most_credits
        if spec.credits_max is not None:
            ctx.warn(
                f"{spec.name}: the response reported no token usage; "
                f"counted at the plan's upper estimate ({spec.credits_max:.2f} credits)"
            )
        return spec.most_credits

    async def aclose(self) -> None:
        await self.lanes.aclose()


def from_env(env: Mapping[str, str] | None = None, **inject: Any) -> OpenAIProvider:
    """The provider configured from the environment (the ``openai`` registry entry)."""
    return OpenAIProvider(config_from_env(env), **inject)
