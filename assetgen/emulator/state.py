"""The emulator's behaviour without HTTP: tasks, credits, faults and stats.

Every task is a record with timestamps; its status and progress are computed when
someone asks, never by a timer, so 2,000 tasks in flight cost a few dicts and a heap.
Replies are plain ``Reply`` values; ``app.py`` only turns them into HTTP responses.
The clock is injectable so this module can be exercised without sleeping.
"""

from __future__ import annotations

import heapq
import json
import math
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

from .common import ImageCache, bearer_token, retry_later, rng_stream
from .contract import (
    EVOLINK_MODELS,
    IDEMPOTENCY_KEY,
    MODEL,
    SPEC_FIELDS,
    TASK_ERRORS,
    TASK_PREFIX,
    EmulatorConfig,
    Reply,
    error,
    price_of,
    spec_key,
    validate,
)
from .tasks import _ID_ALPHABET, Download, Task, _money, _task_body


class EmulatorState(ImageCache):
    """All mutable state, behind one lock so a test thread can read stats safely."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        seed = self.config.seed
        self._rng_ids, self._rng_latency = rng_stream(seed, "ids"), rng_stream(seed, "latency")
        self._rng_fail, self._rng_error, self._rng_cut = (
            rng_stream(seed, "fail"),
            rng_stream(seed, "error"),
            rng_stream(seed, "cut"),
        )
        self.tasks: dict[str, Task] = {}
        self._running: list[tuple[float, str]] = []  # heap of (done_at, task id)
        self._idempotent: dict[tuple[str, str], tuple[str, str]] = {}  # -> (body, task id)
        self._images: OrderedDict[str, bytes] = OrderedDict()  # spec key -> bytes, LRU
        self._per_spec: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._n = Counter[str]()
        self._charged = self._refunded = 0.0

    def reset(self) -> None:
        """Forget every task, key, cached image and counter; reseed the fault streams."""
        with self._lock:
            self._reset()

    # -- time --------------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        """Settle tasks that reached a terminal status: in-flight count, refunds, totals."""
        while self._running and self._running[0][0] <= now:
            _, task_id = heapq.heappop(self._running)
            task = self.tasks[task_id]
            if task.fail_code is None:
                self._n["tasks_completed"] += 1
                self._charged -= task.credits - self._used(task)  # settled below the reservation
            else:
                self._n["tasks_failed"] += 1
                self._refunded += task.credits

    def _used(self, task: Task) -> float:
        """What a completed task is finally charged (a failed one is refunded: 0)."""
        return _money(task.credits * self.config.charge_factor)

    def _status(self, task: Task, now: float) -> tuple[str, int]:
        elapsed = now - task.started
        if elapsed >= task.duration:
            return ("completed", 100) if task.fail_code is None else ("failed", 0)
        fraction = elapsed / task.duration
        if fraction < 0.1:
            return "pending", 0
        return "processing", min(99, max(1, int(fraction * 100)))

    # -- faults and auth ---------------------------------------------------------------

    def _sent(self, reply: Reply) -> Reply:
        if reply.status >= 400:
            self._errors[str(reply.status)] += 1
        return reply

    def _fault(self, what: str) -> Reply | None:
        """A 5xx at the configured rate, in both envelope forms (string and integer code)."""
        if self.config.error_rate <= 0 or self._rng_error.random() >= self.config.error_rate:
            return None
        self._n["server_errors"] += 1
        status = self._rng_error.choice((500, 502, 503))
        if status == 500:
            return error(500, "internal_error", what, "api_error")
        if status == 502:
            reply = error(502, 502, "Upstream service error", "upstream_error")
        else:
            reply = error(503, 503, "Service temporarily unavailable", "service_unavailable_error")
        reply.body["error"]["fallback_suggestion"] = "retry after 30 seconds"
        return reply

    def _auth(self, authorization: str | None) -> str | None:
        token = bearer_token(authorization)
        if token is None:
            return None
        if token == self.config.key or token in self.config.denied_keys:
            return token
        return None

    def _unauthorized(self, message: str) -> Reply:
        return error(401, "unauthorized", message, "authentication_error")

    # -- routes ------------------------------------------------------------------------

    def submit(self, authorization: str | None, raw: bytes, idempotency_key: str | None) -> Reply:
        """``POST /v1/images/generations``."""
        with self._lock:
            self._n["submit_requests"] += 1
            return self._sent(self._submit(authorization, raw, idempotency_key))

    def _submit(self, authorization: str | None, raw: bytes, idempotency_key: str | None) -> Reply:
        fault = self._fault("Internal server error")
        if fault is not None:
            return fault
        key = self._auth(authorization)
        if key is None:
            return self._unauthorized("Invalid or expired token")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return error(
                400, "invalid_request", "The body is not valid JSON", "invalid_request_error"
            )
        now = self._clock()
        self._advance(now)
        canon = json.dumps(body, sort_keys=True, separators=(",", ":"))
        if idempotency_key is not None:
            if not IDEMPOTENCY_KEY.match(idempotency_key):
                return error(
                    400,
                    "invalid_request",
                    "Idempotency-Key must be 16-96 characters of [A-Za-z0-9._-]",
                    "invalid_request_error",
                    "Idempotency-Key",
                )
            seen = self._idempotent.get((key, idempotency_key))
            if seen is not None:
                if seen[0] != canon:
                    return error(
                        409,
                        "idempotency_conflict",
                        "This Idempotency-Key was used with a different request body",
                        "invalid_request_error",
                        "Idempotency-Key",
                    )
                self._n["idempotent_replays"] += 1
                reply = self._created(self.tasks[seen[1]])
                reply.headers["idempotency-replayed"] = "true"
                return reply
        problem = validate(body)
        if problem is not None:
            return problem
        if key in self.config.denied_keys:
            message = f"Token does not have access to model: {body.get('model')}"
            return error(403, "model_access_denied", message, "invalid_request_error")
        cap = self.config.max_in_flight
        if cap is not None and len(self._running) >= cap:
            self._n["rate_limited"] += 1
            return retry_later(
                error(
                    429,
                    "rate_limit_exceeded",
                    "Too many requests, please try again later",
                    "rate_limit_error",
                ),
                self.config.retry_after,
            )
        price = price_of(body)
        if self._charged - self._refunded + price > self.config.credits + 1e-9:
            message = "Insufficient quota. Please top up your account."
            return error(402, "insufficient_quota", message, "insufficient_quota")
        task = self._create(body, price, now)
        if idempotency_key is not None:
            self._idempotent[(key, idempotency_key)] = (canon, task.id)
        return self._created(task)

    def _create(self, body: dict[str, Any], price: float, now: float) -> Task:
        created = int(time.time())
        while True:
            suffix = "".join(self._rng_ids.choices(_ID_ALPHABET, k=8))
            task_id = f"{TASK_PREFIX}{created}-{suffix}"
            if task_id not in self.tasks:
                break
        cfg = self.config
        duration = max(0.0, cfg.latency + self._rng_latency.uniform(-cfg.jitter, cfg.jitter))
        fail_code = None
        if cfg.fail_rate > 0 and self._rng_fail.random() < cfg.fail_rate:
            fail_code = self._rng_fail.choice(cfg.fail_codes)
        if any(marker in body["prompt"] for marker in cfg.fail_prompts):
            fail_code = "content_policy_violation"  # after the draw: other faults stay put
        request = {f: body[f] for f in SPEC_FIELDS if f in body}
        info = EVOLINK_MODELS.get(str(body.get("model")), MODEL)
        request.setdefault("size", info.default_size)
        request.setdefault("quality", info.default_quality)
        request.setdefault("seed", 0)
        request.setdefault("nsfw_check", False)
        key = spec_key(request)
        task = Task(task_id, created, now, duration, request, key, price, fail_code)
        self.tasks[task_id] = task
        heapq.heappush(self._running, (task.done_at, task_id))
        self._per_spec[key] += 1
        self._n["submits"] += 1
        self._n["max_in_flight_seen"] = max(self._n["max_in_flight_seen"], len(self._running))
        self._charged += price
        return task

    @staticmethod
    def _usage(task: Task, used: float) -> dict[str, Any]:
        """A finished task's usage: what it reserved and what it was charged in the end
        (``credits_used``, the field EvoLink's own client reads on finished tasks)."""
        return {
            "billing_rule": "per_call",
            "credits_reserved": task.credits,
            "credits_used": used,
            "user_group": "default",
        }

    def _created(self, task: Task) -> Reply:
        body = _task_body(task, "pending", 0)
        body["task_info"]["estimated_time"] = max(1, math.ceil(self.config.latency))
        body["usage"] = {
            "billing_rule": "per_call",
            "credits_reserved": task.credits,
            "user_group": "default",
        }
        return Reply(200, body)

    def get_task(self, authorization: str | None, task_id: str, base_url: str) -> Reply:
        """``GET /v1/tasks/{task_id}``; result URLs are made absolute with ``base_url``."""
        with self._lock:
            self._n["polls"] += 1
            return self._sent(self._get_task(authorization, task_id, base_url))

    def _get_task(self, authorization: str | None, task_id: str, base_url: str) -> Reply:
        fault = self._fault("Failed to retrieve task status")
        if fault is not None:
            return fault
        if self._auth(authorization) is None:
            return self._unauthorized("Authentication required")
        if not task_id.startswith(TASK_PREFIX):
            message = f"Invalid task ID format, must start with '{TASK_PREFIX}'"
            return error(400, "invalid_task_id", message, "invalid_request_error", "task_id")
        task = self.tasks.get(task_id)
        if task is None:
            message = "The requested task could not be found"
            return error(404, "task_not_found", message, "invalid_request_error")
        now = self._clock()
        self._advance(now)
        status, progress = self._status(task, now)
        body = _task_body(task, status, progress)
        if status == "completed":
            ext = self.config.extension
            body["results"] = [
                f"{base_url}/files/{task.id}_{i}.{ext}" for i in range(self.config.results)
            ]
            body["usage"] = self._usage(task, self._used(task))
        elif status == "failed":
            assert task.fail_code is not None
            code = task.fail_code
            body["error"] = {"code": code, "message": TASK_ERRORS[code], "type": "task_error"}
            body["usage"] = self._usage(task, 0.0)  # refunded
        return Reply(200, body)

    def credits(self, authorization: str | None) -> Reply:
        """``GET /v1/credits``: the key and the account share one balance here."""
        with self._lock:
            fault = self._fault("Internal server error")
            if fault is not None:
                return self._sent(fault)
            if self._auth(authorization) is None:
                return self._sent(self._unauthorized("Invalid or expired token"))
            self._advance(self._clock())
            used = _money(self._charged - self._refunded)
            remaining = _money(self.config.credits - used)
            return Reply(
                200,
                {
                    "success": True,
                    "message": "",
                    "data": {
                        "token": {
                            "remaining_credits": remaining,
                            "used_credits": used,
                            "unlimited_credits": False,
                        },
                        "user": {"remaining_credits": remaining, "used_credits": used},
                    },
                },
            )

    def download(self, name: str) -> Download | Reply:
        """``GET /files/{name}``: the task behind a result URL, or a 404/410 reply."""
        with self._lock:
            found = self._download(name)
            if isinstance(found, Reply):
                return self._sent(found)
            return found

    def _download(self, name: str) -> Download | Reply:
        missing = error(404, "file_not_found", "No such file", "invalid_request_error")
        stem, dot, ext = name.rpartition(".")
        task_id, _, index = stem.rpartition("_")
        task = self.tasks.get(task_id)
        if not dot or ext != self.config.extension or task is None or not index.isdigit():
            return missing
        if int(index) >= self.config.results:
            return missing
        now = self._clock()
        self._advance(now)
        if self._status(task, now)[0] != "completed":
            return missing
        if now > task.done_at + self.config.url_lifetime:
            self._n["expired_downloads"] += 1
            return error(410, "url_expired", "This result URL has expired", "invalid_request_error")
        self._n["downloads"] += 1
        cut = None
        if self.config.truncate_rate > 0 and self._rng_cut.random() < self.config.truncate_rate:
            self._n["truncated_downloads"] += 1
            cut = self._rng_cut.uniform(0.1, 0.9)
        return Download(task, cut)

    # -- stats -------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """The counters tests and benchmarks assert on (documented in the README)."""
        with self._lock:
            self._advance(self._clock())
            n = self._n
            return {
                "submit_requests": n["submit_requests"],
                "submits": n["submits"],
                "submits_per_spec": dict(self._per_spec),
                "duplicate_submits": sum(c - 1 for c in self._per_spec.values()),
                "idempotent_replays": n["idempotent_replays"],
                "credits_charged": _money(self._charged),
                "credits_refunded": _money(self._refunded),
                "credits_remaining": _money(self.config.credits - self._charged + self._refunded),
                "rate_limited": n["rate_limited"],
                "server_errors": n["server_errors"],
                "errors": dict(self._errors),
                "polls": n["polls"],
                "tasks_in_flight": len(self._running),
                "max_in_flight_seen": n["max_in_flight_seen"],
                "tasks_completed": n["tasks_completed"],
                "tasks_failed": n["tasks_failed"],
                "downloads": n["downloads"],
                "truncated_downloads": n["truncated_downloads"],
                "expired_downloads": n["expired_downloads"],
            }
