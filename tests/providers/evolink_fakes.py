"""Test doubles for the evolink provider: a hand-driven clock, a recording JobContext,
scripted and stateful fake gateways behind httpx.MockTransport, and response builders."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.lowlevel
import httpx
from PIL import Image

from assetgen.catalog import MODELS
from assetgen.providers.base import TaskRef
from assetgen.providers.evolink.config import EvoLinkConfig
from assetgen.providers.evolink.provider import EvoLinkProvider

KEY = "sk-evo-TESTKEY0123456789abcdef"
BASE = "https://api.evolink.test"
TASK = "task-unified-1767225600-a1b2c3d4"
RESULT = "https://files.evolink.test/acct/images/x_0.png"


class FakeClock:
    """Time moves only when the provider sleeps; every sleep is recorded, none is real."""

    def __init__(self) -> None:
        self.now = 0.0
        self.epoch = 1_767_225_600.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.epoch + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


class RecordingContext:
    """A JobContext that records what the provider told it, in order."""

    def __init__(self, journalled: TaskRef | None = None) -> None:
        self.journalled = journalled
        self.events: list[tuple[str, Any]] = []
        self.task_ids: list[str] = []
        self.warnings: list[str] = []
        self.double_charges: list[str] = []

    def state(self, state: str) -> None:
        self.events.append(("state", state))

    def submitted(self, task_id: str, credits: float | None = None) -> None:
        self.events.append(("submitted", task_id))
        self.task_ids.append(task_id)
        self.journalled = TaskRef(task_id, credits)

    def journalled_task(self) -> TaskRef | None:
        return self.journalled

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def possible_double_charge(self, why: str) -> None:
        self.double_charges.append(why)


def png(width: int = 8, height: int = 8, colour: tuple[int, int, int] = (20, 40, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def jsonr(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def submitted(
    task_id: str = TASK, credits: float | None = 0.5, estimated: float = 45
) -> httpx.Response:
    body: dict[str, Any] = {
        "created": 1767225600,
        "id": task_id,
        "model": "krea-2-turbo",
        "object": "image.generation.task",
        "progress": 0,
        "status": "pending",
        "task_info": {"can_cancel": False, "estimated_time": estimated},
        "type": "image",
    }
    if credits is not None:
        body["usage"] = {"billing_rule": "per_call", "credits_reserved": credits}
    return jsonr(200, body)


def task(
    status: str,
    task_id: str = TASK,
    *,
    results: list[str] | None = None,
    code: str | int | None = None,
    message: str = "",
    progress: int = 0,
) -> httpx.Response:
    body: dict[str, Any] = {
        "id": task_id,
        "model": "krea-2-turbo",
        "object": "image.generation.task",
        "progress": 100 if status == "completed" else progress,
        "status": status,
        "task_info": {"can_cancel": False},
        "type": "image",
    }
    if status == "completed":
        body["results"] = results if results is not None else [RESULT]
    if code is not None:
        body["error"] = {"code": code, "message": message, "type": "task_error"}
    return jsonr(200, body)


def error(
    status: int,
    code: str | int,
    message: str = "",
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    err: dict[str, Any] = {"code": code, "message": message or f"error {code}", "type": "x"}
    if param:
        err["param"] = param
    return jsonr(status, {"error": err}, headers)


Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers each (method, path) from its queue of replies; the last one repeats."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, url_or_path: str, *replies: Reply) -> Script:
        path = httpx.URL(url_or_path).path if "://" in url_or_path else url_or_path
        self.routes.setdefault((method, path), []).extend(replies)
        return self

    def submit(self, *replies: Reply) -> Script:
        return self.on("POST", "/v1/images/generations", *replies)

    def poll(self, *replies: Reply, task_id: str = TASK) -> Script:
        return self.on("GET", f"/v1/tasks/{task_id}", *replies)

    def download(self, *replies: Reply, url: str = RESULT) -> Script:
        return self.on("GET", url, *replies)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path)
        queue = self.routes.get(key)
        assert queue, f"unexpected request {key}"
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        if "://" in path:
            path = httpx.URL(path).path
        return [r for r in self.requests if r.method == method and r.url.path == path]

    @property
    def submits(self) -> list[httpx.Request]:
        return self.calls("POST", "/v1/images/generations")


def make_provider(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: FakeClock | None = None,
    **config: Any,
) -> EvoLinkProvider:
    cfg = EvoLinkConfig(api_key=KEY, base_url=BASE, **config)
    return EvoLinkProvider(
        cfg, transport=httpx.MockTransport(handler), clock=clock or FakeClock(), rand=lambda: 0.5
    )


@dataclass
class FakeTask:
    id: str
    request: dict[str, Any]
    polls_left: int
    fail: tuple[str, str] | None = None


@dataclass
class FakeGateway:
    """A small stateful gateway for build-level tests: real-size PNGs, scripted refusals.

    ``submit_hook(request_json, n)`` may return a Response to answer the n-th submit
    (1-based) instead of accepting it; ``fail_hook(request_json)`` may return a
    task-level (code, message) to fail the task with; ``polls`` is how many polls a
    task stays processing (-1: forever).
    """

    polls: int = 1
    submit_hook: Callable[[dict[str, Any], int], httpx.Response | None] | None = None
    fail_hook: Callable[[dict[str, Any]], tuple[str, str] | None] | None = None
    tasks: dict[str, FakeTask] = field(default_factory=dict)
    submits: list[dict[str, Any]] = field(default_factory=list)
    accepted: int = 0
    downloads: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/v1/images/generations":
            body = json.loads(request.content)
            self.submits.append(body)
            if self.submit_hook is not None:
                answer = self.submit_hook(body, len(self.submits))
                if answer is not None:
                    return answer
            tid = f"task-unified-1767225600-{next(self._ids):08d}"
            fail = self.fail_hook(body) if self.fail_hook else None
            self.tasks[tid] = FakeTask(tid, body, self.polls, fail)
            self.accepted += 1
            credits = MODELS["krea-2-turbo"].credits[body["quality"]]
            return submitted(tid, credits=credits, estimated=5)
        if request.method == "GET" and path.startswith("/v1/tasks/"):
            t = self.tasks.get(path.rsplit("/", 1)[1])
            if t is None:
                return error(404, "task_not_found", "The requested task could not be found")
            if t.polls_left != 0:
                t.polls_left -= 1
                return task("processing", t.id, progress=50)
            if t.fail is not None:
                return task("failed", t.id, code=t.fail[0], message=t.fail[1])
            return task("completed", t.id, results=[f"{BASE}/files/{t.id}.png"])
        if request.method == "GET" and path.startswith("/files/"):
            t = self.tasks[path.rsplit("/", 1)[1].removesuffix(".png")]
            self.downloads += 1
            w, h = MODELS["krea-2-turbo"].pixels[t.request["size"]][t.request["quality"]]
            return httpx.Response(200, content=png(w, h), headers={"content-type": "image/png"})
        return error(404, "not_found", f"no route {request.method} {path}")

    def factory(self, clock: FakeClock | None = None, **config: Any) -> Callable[[str], Any]:
        def create(name: str) -> EvoLinkProvider:
            assert name == "evolink"
            return make_provider(self.handler, clock or FakeClock(), **config)

        return create
