"""The HTTP face of the emulator: a Starlette app that turns ``EmulatorState`` replies into responses.

Only this module and ``__init__.serve`` import the server libraries, and only when an
emulator starts, so ``import assetgen`` works without the ``emulator`` extra.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..imaging import ImageInfo, convert
from .common import draft_image
from .contract import EVOLINK_MODELS, MODEL, Reply, ratio_pixels
from .openai import OpenAIState
from .state import EmulatorState
from .tasks import Task


def render_result(task: Task, image_format: str) -> bytes:
    """The draft of a task's request at the catalog's exact pixel size, as PNG or JPEG.

    The image depends on the request only (not the task id), so the same spec gives the
    same bytes in every run, as a reproducible pipeline expects of a cache.
    """
    req = dict(task.request)
    info = EVOLINK_MODELS.get(req["model"], MODEL)
    width, height = info.dimensions(req["size"], req["quality"]) or ratio_pixels(req["size"])
    request = {"provider": "evolink", **req}
    data = draft_image("evolink-emulator", request, req["prompt"], width, height, task.credits)
    if image_format == "jpeg":
        data = convert(data, ImageInfo("png", width, height), "jpeg")
    return data


def _json(reply: Reply) -> Response:
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


class _TruncatedResponse(Response):
    """Announces the full Content-Length, sends only part of the body, then drops the connection.

    ASGI has no "close now" message; returning before the final body chunk makes the
    server close the connection (it logs that, and ``serve`` filters the log line).
    """

    def __init__(self, data: bytes, cut: int, media_type: str) -> None:
        super().__init__(data[:cut], media_type=media_type)
        self._full = len(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", (self.media_type or "").encode("latin-1")),
            (b"content-length", str(self._full).encode("latin-1")),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})


TRUNCATION_LOG = "ASGI callable returned without completing response."


def create_app(state: EmulatorState) -> Starlette:
    """The ASGI app serving the contract's routes plus ``/_emulator/stats`` and ``/_emulator/reset``."""
    render_locks: dict[str, anyio.Lock] = {}
    image_format = state.config.image_format
    media_type = "image/jpeg" if image_format == "jpeg" else "image/png"

    def base_url(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    async def submit(request: Request) -> Response:
        raw = await request.body()
        reply = state.submit(
            request.headers.get("authorization"), raw, request.headers.get("idempotency-key")
        )
        return _json(reply)

    async def get_task(request: Request) -> Response:
        task_id = request.path_params["task_id"]
        return _json(
            state.get_task(request.headers.get("authorization"), task_id, base_url(request))
        )

    async def credits(request: Request) -> Response:
        return _json(state.credits(request.headers.get("authorization")))

    async def image(task: Task) -> bytes:
        key = task.spec_key
        data = state.cached_image(key)
        if data is not None:
            return data
        # One render per spec even when many clients ask at once; renders run in a
        # worker thread so polls keep being answered meanwhile.
        lock = render_locks.setdefault(key, anyio.Lock())
        async with lock:
            data = state.cached_image(key)
            if data is None:
                data = await anyio.to_thread.run_sync(render_result, task, image_format)
                state.cache_image(key, data)
        render_locks.pop(key, None)
        return data

    async def download(request: Request) -> Response:
        found = state.download(request.path_params["name"])
        if isinstance(found, Reply):
            return _json(found)
        data = await image(found.task)
        if found.truncate_at is not None:
            return _TruncatedResponse(data, int(len(data) * found.truncate_at), media_type)
        return Response(data, media_type=media_type)

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats())

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    async def not_found(request: Request, exc: Any) -> Response:
        body = {
            "error": {
                "code": "not_found",
                "message": "No such route",
                "type": "invalid_request_error",
            }
        }
        return Response(json.dumps(body), status_code=404, media_type="application/json")

    routes = [
        Route("/v1/images/generations", submit, methods=["POST"]),
        Route("/v1/tasks/{task_id}", get_task, methods=["GET"]),
        Route("/v1/credits", credits, methods=["GET"]),
        Route("/files/{name}", download, methods=["GET"]),
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found})


def create_openai_app(state: OpenAIState) -> Starlette:
    """The OpenAI-compatible routes (openai.py), plus ``/_emulator/stats`` and ``/_emulator/reset``."""

    async def generate(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            body = None
        admitted = state.admit(request.headers.get("authorization"), body)
        if isinstance(admitted, Reply):
            return _json(admitted)
        try:
            await anyio.sleep(state.config.latency)
        except BaseException:  # the client went away: the generation is abandoned
            state.abandon(admitted)
            raise
        return _json(await anyio.to_thread.run_sync(state.finish, admitted))

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats())

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    routes = [
        Route("/v1/images/generations", generate, methods=["POST"]),
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
    ]
    return Starlette(routes=routes)
