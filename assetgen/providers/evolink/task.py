"""One asset's task life on the EvoLink gateway: submit, poll, download, with retry budgets.

The provider (evolink.py) holds what jobs share: the client, the clock, the adaptive
window and the credits-ran-out latch. A ``Job`` holds what one asset spends: its
resubmissions, its ambiguous submit retry, its read retries.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
import anyio.to_thread

from ...errors import (
    IntegrityError,
    PermanentProviderError,
    ProviderAuthError,
    QuotaExhaustedError,
    TransientProviderError,
)
from ...lock.check import credits_problem
from ...spec import AssetSpec
from ..base import Generated, JobContext
from .fetch import DownloadTooSlow, UnsafeLink
from .http import KEY_ENV, ApiError, DownloadTooLarge, DownloadTruncated, TransportFailure
from .retry import Permit, parse_retry_after
from .secrets import task_id_problem

if TYPE_CHECKING:
    from .provider import EvoLinkProvider

# The gateway's task-level error codes: terminal ones fail the asset, retryable ones
# submit a new task (failed tasks are refunded).
TERMINAL_CODES = frozenset(
    {
        "content_policy_violation",
        "invalid_parameters",
        "image_processing_error",
        "image_dimension_mismatch",
        "resource_not_found",
        "request_cancelled",
    }
)
RETRYABLE_CODES = frozenset(
    {
        "service_error",
        "generation_timeout",
        "resource_exhausted",
        "quota_exceeded",
        "service_unavailable",
        "generation_failed_no_content",
    }
)


def idempotency_key(spec_hash: str, replaces: str | None = None, nonce: str | None = None) -> str:
    """A stable key per (spec, task replaced): a retried or re-run submit of the same request
    reuses it, while a deliberate resubmission after a failed task gets a new one.

    ``nonce``: a ``build --force`` of the spec, which wants a new task, not the gateway's
    replay of the last one; the nonce is journalled before the submit (tasks.py), so a
    retry of that same forced submit, even after a kill -9, still reuses its key."""
    seed = spec_hash if replaces is None else f"{spec_hash}\0{replaces}"
    if nonce is not None:
        seed = f"{seed}\0force:{nonce}"
    return "assetgen-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:48]


def request_body(spec: AssetSpec) -> dict[str, Any]:
    """The JSON of ``POST /v1/images/generations`` for ``spec``."""
    body: dict[str, Any] = {
        "model": spec.model,
        "prompt": spec.prompt,
        "size": spec.size,
        "quality": spec.quality,
        "seed": spec.seed,
        "nsfw_check": spec.nsfw_check,
    }
    if spec.callback_url:
        body["callback_url"] = spec.callback_url
    return body


def auth_error(err: ApiError) -> ProviderAuthError:
    """401: the key is refused; 403: it may not use the model (or that route). Worded for
    every caller (a build, which says itself that it stops, and ``assetgen credits``)."""
    what = (
        f"{KEY_ENV} was refused by the gateway"
        if err.status == 401
        else f"{KEY_ENV} is not allowed to use this model (or this task)"
    )
    return ProviderAuthError(
        f"{what} (HTTP {err.status}: {err.describe()})\n"
        f"  hint: check the key and its model access; `--provider draft` builds offline without one"
    )


@dataclass
class _Task:
    id: str
    credits: float | None
    resumed: bool
    estimated: float | None = None
    # Whether this build paid for it: not a journalled task of an earlier build, nor the
    # gateway's replay of a task an earlier build submitted with the same key.
    paid_here: bool = True


class _TaskGone(Exception):
    """The gateway no longer knows the task (404, an invalid id, another account's task)."""


class _TaskFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class _LinkDead(Exception):
    """The result link cannot be fetched any more and the task gives no fresh one."""


class StillRunning(Exception):
    """Collecting: the task is not finished yet; it stays journalled for a later build."""


class Job:
    """One asset's way through submit, poll and download, with its retry budgets."""

    def __init__(
        self, provider: EvoLinkProvider, spec: AssetSpec, ctx: JobContext, *, collect: bool = False
    ) -> None:
        """``collect``: only look at the journalled task (one poll, then its download),
        never submit: for a task whose spec is no longer wanted."""
        self.collect = collect
        self.p = provider
        self.cfg = provider.config
        self.gw = provider.gateway
        self.clock = provider.clock
        self.spec = spec
        self.ctx = ctx
        self.resubmits = 0

    def _backoff(self, attempt: int) -> float:
        return self.p.backoff.delay(attempt, self.p.rand)

    async def run(self) -> Generated:
        ref = self.ctx.journalled_task()
        if ref is not None and task_id_problem(ref.task_id) is not None:
            # Only a journal from an older assetgen can hold one; never send or lock it.
            self.ctx.warn(f"ignoring a journalled task: {task_id_problem(ref.task_id)}")
            ref = None
        task = _Task(ref.task_id, ref.credits, resumed=True, paid_here=False) if ref else None
        if task is None and self.collect:
            raise PermanentProviderError(
                "no journalled task to collect", asset=self.spec.name, provider="evolink"
            )
        replaces: str | None = None
        lost = 0.0  # what this build paid for tasks whose image it could not get (links gone)
        while True:
            if task is None:
                task, permit = await self._submit(replaces)
            else:
                permit = await self.p.window.acquire()
            pause = 0.0
            try:
                self.ctx.state("running")
                body = await self._wait(task)
            except _TaskGone as gone:
                self._spend_resubmit(f"task {task.id} {gone}")
                self.ctx.warn(f"task {task.id} {gone}; forgetting it and submitting again")
                replaces, task = task.id, None
                continue
            except _TaskFailed as failed:
                if failed.code == "quota_exceeded":  # the task-level face of a concurrency cap
                    self.p.throttled(permit, self.ctx)
                if not self._retryable(failed.code):
                    raise PermanentProviderError(
                        f"task {task.id} failed: {failed}", asset=self.spec.name, provider="evolink"
                    ) from None
                self._spend_resubmit(f"task {task.id} failed: {failed}")
                pause = self._backoff(self.resubmits)
                replaces, task = task.id, None
                continue
            finally:
                self.p.window.release(permit)
                if pause:
                    await self.clock.sleep(pause)
            try:
                data, results = await self._fetch(task, body)
            except _LinkDead as dead:
                lost += self._charged(task, body) if task.paid_here else 0.0
                self._spend_resubmit(f"the image of task {task.id} is gone ({dead})")
                self.ctx.possible_double_charge(
                    f"the result link of task {task.id} expired ({dead}); submitted again, paying again"
                )
                replaces, task = task.id, None
                continue
            charged = self._charged(task, body)
            # A task an earlier build paid for (journalled, or replayed by the gateway) is
            # collected here, not charged: the summary keeps the two apart.
            return Generated(
                data=data,
                task_id=task.id,
                results=results,
                credits=round(lost + charged if task.paid_here else lost, 6),
                collected=0.0 if task.paid_here else charged,
            )

    def _charged(self, task: _Task, body: dict[str, Any]) -> float:
        """What the gateway charged for a completed task: the usage of its final answer
        where it gives one, else what it reserved at submit, else the price table."""
        used = usage_credits(body)
        if used is not None:
            return used
        return task.credits if task.credits is not None else self.spec.credits

    def _retryable(self, code: str) -> bool:
        if code in TERMINAL_CODES:
            return False
        if code in RETRYABLE_CODES:
            return True
        if code.isdigit():  # an HTTP status as the code: a server-side one is worth another try
            return int(code) >= 500 or int(code) == 429
        return self.cfg.retry_unknown_error  # unknown_error, and anything new

    def _spend_resubmit(self, why: str) -> None:
        if self.collect:
            raise PermanentProviderError(
                f"{why}; not submitted again, as nothing wants it now",
                asset=self.spec.name,
                provider="evolink",
            )
        if self.resubmits >= self.cfg.task_retries:
            raise PermanentProviderError(
                f"{why}; gave up after {self.resubmits + 1} tasks",
                asset=self.spec.name,
                provider="evolink",
            )
        self.resubmits += 1

    # --- submit -----------------------------------------------------------------------

    async def _submit(self, replaces: str | None) -> tuple[_Task, Permit]:
        body = request_body(self.spec)
        fresh = getattr(self.ctx, "forced_nonce", None)  # a JobContext before issue 12 has none
        nonce = fresh() if fresh is not None else None
        key = idempotency_key(self.spec.spec_hash, replaces, nonce)
        unsent = ambiguous = throttled = 0
        doubt: str | None = None
        started = self.clock.monotonic()
        while True:
            if self.p.quota_exhausted:
                raise QuotaExhaustedError(
                    "not submitted: credits ran out", asset=self.spec.name, submitted=False
                )
            permit = await self.p.window.acquire()
            try:
                with anyio.CancelScope(shield=True):  # a paid task id must reach the journal
                    reply = await self.gw.create_task(body, key)
                    task = self._accepted(reply.body)
            except ApiError as err:
                self.p.window.release(permit)
                if err.status == 429:
                    self.p.throttled(permit, self.ctx)
                    wait = parse_retry_after(
                        err.retry_after, self.clock.time(), self.cfg.retry_after_max
                    )
                    wait = self._backoff(throttled) if wait is None else wait
                    throttled += 1
                    if self.clock.monotonic() + wait - started > self.cfg.task_deadline:
                        raise TransientProviderError(
                            f"still rate limited (HTTP 429) after {throttled} tries; nothing was submitted"
                        ) from None
                    await self.clock.sleep(wait)
                    continue
                if err.status < 500:
                    self._refused(err)
                why = f"HTTP {err.status} {err.code}"
            except TransportFailure as fail:
                self.p.window.release(permit)
                if not fail.sent:
                    if unsent >= self.cfg.http_retries:
                        raise TransientProviderError(
                            f"could not reach the gateway ({fail}); nothing was submitted"
                        ) from None
                    await self.clock.sleep(self._backoff(unsent))
                    unsent += 1
                    continue
                why = str(fail)
            except BaseException:
                self.p.window.release(permit)
                raise
            else:
                self.p.succeeded(permit, self.ctx)
                # A replay answers a submit an earlier build made with this key: not paid
                # now. After an unclear first try of this build's own, it may be that try's.
                task.paid_here = not reply.replayed or doubt is not None
                if doubt is not None and not reply.replayed:
                    self.ctx.possible_double_charge(
                        f"the submit was retried after {doubt} (same Idempotency-Key); "
                        "the gateway may have charged twice"
                    )
                return task, permit
            # The request may have reached the gateway: one retry with the same key at most.
            if ambiguous >= self.cfg.submit_ambiguous_retries:
                raise TransientProviderError(
                    f"the submit failed after it was sent ({why}); the gateway may have created "
                    "a task assetgen cannot see (possibly charged)"
                )
            doubt = why
            await self.clock.sleep(self._backoff(ambiguous))
            ambiguous += 1

    def _accepted(self, body: dict[str, Any]) -> _Task:
        task_id = body.get("id")
        if not isinstance(task_id, str) or not task_id:
            raise TransientProviderError("the gateway accepted the submit but sent no task id")
        problem = task_id_problem(task_id)
        if problem is not None:  # it names a journal row, a URL and a lock field: never use it
            raise PermanentProviderError(
                f"the gateway accepted the submit but sent {problem}; assetgen cannot follow "
                "that task (it may have been charged)",
                asset=self.spec.name,
                provider="evolink",
            )
        usage = body.get("usage")
        reserved = usage.get("credits_reserved") if isinstance(usage, dict) else None
        # A NaN, an infinity or a negative reservation is no amount: unknown, never recorded.
        credits = None
        if isinstance(reserved, (int, float)) and not credits_problem(reserved):
            credits = float(reserved)
        info = body.get("task_info")
        est = info.get("estimated_time") if isinstance(info, dict) else None
        estimated = float(est) if isinstance(est, (int, float)) and est >= 0 else None
        self.ctx.submitted(task_id, credits)
        return _Task(task_id, credits, resumed=False, estimated=estimated)

    def _refused(self, err: ApiError) -> NoReturn:
        if err.status in (401, 403):
            raise auth_error(err)
        if err.status == 402:
            self.p.quota_exhausted = True
            raise QuotaExhaustedError(
                f"credits ran out (HTTP 402: {err.describe()})", asset=self.spec.name
            )
        raise PermanentProviderError(
            f"the gateway refused the request: {err.describe()}",
            asset=self.spec.name,
            provider="evolink",
        )

    # --- poll ---------------------------------------------------------------------------

    async def _wait(self, task: _Task) -> dict[str, Any]:
        cfg = self.cfg
        deadline = self.clock.monotonic() + cfg.task_deadline
        if task.resumed:
            delay = 0.0  # it may have finished long ago
        else:
            first = task.estimated if task.estimated is not None else cfg.poll_interval
            delay = min(cfg.first_poll_max, first)
        interval = cfg.poll_interval
        while True:
            await self.clock.sleep(delay)
            body = await self._read_task(task, deadline)
            status = str(body.get("status") or "")
            if status == "completed":
                return body
            if status in ("failed", "cancelled"):
                raise _TaskFailed(*_task_error(body, status))
            if self.collect:
                raise StillRunning(task.id)
            now = self.clock.monotonic()
            if now >= deadline:
                raise TransientProviderError(
                    f"task {task.id} is still {status or 'running'} after {cfg.task_deadline:g}s; "
                    "it stays journalled and the next build collects it without paying again"
                )
            delay = min(interval * (0.8 + 0.4 * self.p.rand()), deadline - now)
            interval = min(cfg.max_poll_interval, interval * 1.5)

    async def _read_task(self, task: _Task, deadline: float) -> dict[str, Any]:
        """``GET /v1/tasks/{id}``, retrying 5xx, 429 and network errors."""
        failures = 0
        while True:
            try:
                return await self.gw.get_task(task.id)
            except ApiError as err:
                if err.status == 401 or (err.status == 403 and not task.resumed):
                    raise auth_error(err) from None
                if err.status == 403:
                    raise _TaskGone("is not visible to this key (HTTP 403)") from None
                if err.status in (400, 404, 410):
                    raise _TaskGone(
                        f"is unknown to the gateway (HTTP {err.status} {err.code})"
                    ) from None
                why = f"HTTP {err.status} {err.code}: {err.message}"
                if err.status == 429:
                    hint = parse_retry_after(
                        err.retry_after, self.clock.time(), self.cfg.retry_after_max
                    )
                    wait = self._backoff(min(failures, 5)) if hint is None else hint
                    if self.clock.monotonic() + wait < deadline:
                        await self.clock.sleep(wait)
                        continue
                elif err.status < 500:
                    failures = self.cfg.http_retries  # not worth retrying: report it
            except TransportFailure as fail:
                why = str(fail)
            if failures >= self.cfg.http_retries:
                raise TransientProviderError(
                    f"could not read task {task.id} ({why}); it stays journalled and the next "
                    "build collects it without paying again"
                )
            await self.clock.sleep(self._backoff(failures))
            failures += 1

    # --- download -------------------------------------------------------------------------

    async def _fetch(self, task: _Task, body: dict[str, Any]) -> tuple[bytes, tuple[str, ...]]:
        """The image bytes, checked whole here (``check_complete``), so a cut or damaged transfer is fetched again."""
        self.ctx.state("downloading")
        results = _results(body)
        refreshed = False
        failures = 0
        while True:
            undecodable = False
            try:
                if not results:
                    raise ApiError(404, "no_results", "the completed task lists no result link")
                data = await self.gw.download(results[0])
                # CRCs only, about 0.1 ms per MB: not worth a thread hop
                check_complete(data, self.spec.width, self.spec.height)
                return data, results
            except ApiError as err:
                if err.status in (403, 404, 410):
                    if refreshed:
                        raise _LinkDead(f"HTTP {err.status}") from None
                    refreshed = True  # links expire: ask the task for a fresh one
                    try:
                        fresh = _results(await self._read_task(task, self.clock.monotonic() + 60))
                    except _TaskGone:
                        raise _LinkDead(f"HTTP {err.status}, and the task is gone") from None
                    if fresh == results:
                        raise _LinkDead(f"HTTP {err.status}") from None
                    results = fresh
                    continue
                why = f"HTTP {err.status} {err.code}"
            except DownloadTooLarge as exc:
                raise PermanentProviderError(
                    f"the image of task {task.id} is too large: {exc}", asset=self.spec.name
                ) from None
            except UnsafeLink as exc:
                raise PermanentProviderError(
                    f"the result link of task {task.id} was not fetched: {exc}",
                    asset=self.spec.name,
                    provider="evolink",
                ) from None
            except (TransportFailure, DownloadTruncated, DownloadTooSlow) as exc:
                why = str(exc)
            except IntegrityError as exc:
                why, undecodable = str(exc), True
            failures += 1
            if failures > self.cfg.http_retries:
                if undecodable:
                    raise PermanentProviderError(
                        f"the image of task {task.id} does not decode ({why})", asset=self.spec.name
                    )
                raise TransientProviderError(
                    f"could not download the image of task {task.id} ({why}); it stays "
                    "journalled and the next build downloads it without paying again"
                )
            await self.clock.sleep(self._backoff(failures - 1))


_PNG = b"\x89PNG\r\n\x1a\n"


def check_complete(data: bytes, width: int | None = None, height: int | None = None) -> None:
    """Raise ``IntegrityError`` unless ``data`` is a whole image file (of ``width`` x ``height``).

    The builder decodes every image completely before it stores anything
    (``imaging.verify``), so this check only has to catch what a transfer does to a
    file, a cut or damaged body, and it does so without decompressing pixels: a PNG
    must have every chunk's CRC right up to IEND, a JPEG its start and end markers,
    a WebP the length its RIFF header announces. Anything else, or anything that
    fails those, gets the full decode (``imaging.probe``), which says what is wrong.
    A second full decode here cost about 6 ms of CPU per 1K image. With a size given,
    that decode happens only once the header says the size is right.
    """
    if not _whole(data):
        from ...imaging import probe, verify

        if width is not None and height is not None:
            verify(data, width, height)
        else:
            probe(data)


def _whole(data: bytes) -> bool:
    n = len(data)
    if data.startswith(_PNG):
        view, pos = memoryview(data), len(_PNG)
        while pos + 12 <= n:
            end = pos + 12 + int.from_bytes(view[pos : pos + 4], "big")
            if end > n or zlib.crc32(view[pos + 4 : end - 4]) != int.from_bytes(
                view[end - 4 : end], "big"
            ):
                return False
            if data[pos + 4 : pos + 8] == b"IEND":
                return True
            pos = end
        return False
    if data.startswith(b"\xff\xd8\xff"):
        return data.endswith(b"\xff\xd9")
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return int.from_bytes(data[4:8], "little") + 8 in (n, n - 1)
    return False


def usage_credits(body: dict[str, Any]) -> float | None:
    """The credits a finished task's ``usage`` says were charged (``credits_used``, or
    ``cost.credits``, as EvoLink's own client reads them); None when it says nothing
    usable (absent, NaN, negative): the caller falls back to the reservation."""
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None
    used = usage.get("credits_used")
    if used is None:
        cost = usage.get("cost")
        used = cost.get("credits") if isinstance(cost, dict) else None
    if used is None or credits_problem(used) is not None:
        return None
    return float(used)


def _results(body: dict[str, Any]) -> tuple[str, ...]:
    results = body.get("results")
    if not isinstance(results, list):
        return ()
    return tuple(r for r in results if isinstance(r, str) and r)


def _task_error(body: dict[str, Any], status: str) -> tuple[str, str]:
    """``(code, message)`` of a failed task; ``code`` may arrive as an integer."""
    err = body.get("error")
    default = "request_cancelled" if status == "cancelled" else "unknown_error"
    if not isinstance(err, dict):
        return default, ""
    code = err.get("code")
    code_text = str(code) if isinstance(code, (str, int)) and str(code) else default
    message = err.get("message")
    return code_text, message[:500] if isinstance(message, str) else ""
