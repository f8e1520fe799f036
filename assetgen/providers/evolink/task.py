"""One asset's task life on the EvoLink gateway: submit, poll, download, with retry budgets.

The provider (evolink.py) holds what jobs share: the client, the clock, the adaptive
window and the credits-ran-out latch. A ``Job`` holds what one asset spends: its
resubmissions, its ambiguous submit retry, its read retries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import anyio
import anyio.to_thread

from ...errors import (
    IntegrityError,
    PermanentProviderError,
    QuotaExhaustedError,
    TransientProviderError,
)
from ...lock.check import credits_problem
from ...spec import AssetSpec
from ..base import Generated, JobContext
from .fetch import DownloadTooSlow, UnsafeLink
from .http import ApiError, DownloadTooLarge, DownloadTruncated, TransportFailure
from .retry import Permit, parse_retry_after
from .secrets import task_id_problem

if TYPE_CHECKING:
    from .provider import EvoLinkProvider
from .body import (
    RETRYABLE_CODES,
    TERMINAL_CODES,
    StillRunning,
    _LinkDead,
    _results,
    _Task,
    _task_error,
    _TaskFailed,
    _TaskGone,
    auth_error,
    check_complete,
    idempotency_key,
    request_body,
    usage_credits,
)


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
