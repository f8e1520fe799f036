"""A local EvoLink gateway for offline pipelines, tests and benchmarks (``assetgen emulator``).

It speaks the EvoLink gateway contract (docs.evolink.ai) over real HTTP: submit, poll, credits and
result downloads, with the gateway's validation and error envelopes, progress over
time, and draft images at the exact pixel sizes; plus knobs for latency, a concurrency
cap, injected faults and a stats endpoint. It needs the ``emulator`` extra (Starlette
and uvicorn), imported only when a server starts, so the rest of assetgen never pays
for it::

    with run_emulator(EmulatorConfig(latency=0.05)) as emu:
        httpx.get(f"{emu.base_url}/v1/credits", headers={"Authorization": f"Bearer {emu.key}"})
        emu.stats()["submits"]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TextIO

from .contract import TASK_ERRORS, EmulatorConfig, spec_key
from .openai import OpenAIState
from .state import EmulatorState

if TYPE_CHECKING:
    import uvicorn

__all__ = [
    "TASK_ERRORS",
    "Emulator",
    "EmulatorConfig",
    "EmulatorState",
    "OpenAIState",
    "run_emulator",
    "serve",
    "serve_command",
    "spec_key",
    "start_emulator",
]

INSTALL_HINT = "the emulator needs its extra: pip install 'assetgen-cli[emulator]'"
_BACKLOG = 2048  # connections queued before accept: enough for 2,000 clients at once


class _DropTruncationNoise(logging.Filter):
    """uvicorn logs every deliberately truncated download as an app error; those are ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        from .app import TRUNCATION_LOG

        return record.getMessage() != TRUNCATION_LOG


def _bind(host: str, port: int) -> socket.socket:
    """Listen before the server starts, so the port is known (and printable) up front."""
    family, kind, proto, _, addr = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        if sys.platform != "win32":  # on Windows the option lets two servers share a port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _state(config: EmulatorConfig) -> EmulatorState | OpenAIState:
    return OpenAIState(config) if config.api == "openai" else EmulatorState(config)


def _server(state: EmulatorState | OpenAIState) -> uvicorn.Server:
    import uvicorn

    from .app import create_app, create_openai_app

    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropTruncationNoise) for f in logger.filters):
        logger.addFilter(_DropTruncationNoise())
    config = uvicorn.Config(
        create_openai_app(state) if isinstance(state, OpenAIState) else create_app(state),
        log_config=None,  # leave the host program's logging alone
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="h11",
        ws="none",
        loop="asyncio",
        backlog=_BACKLOG,
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


class Emulator:
    """A running emulator in a background thread; stop it with ``stop()`` or ``with``.

    Attributes:
        base_url: ``http://127.0.0.1:<port>``, what ``EVOLINK_BASE_URL`` should be.
        key: the API key it accepts.
        config: the configuration it runs with.
        state: its state, for assertions beyond ``stats()``.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.key = config.key
        self.state = _state(config)
        self._server = _server(self.state)  # ImportError without the extra
        self._sock = _bind(config.host, config.port)
        self.base_url = _url(self._sock)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator did not start")
            time.sleep(0.005)

    def stats(self) -> dict[str, Any]:
        """The same counters as ``GET /_emulator/stats``."""
        return self.state.stats()

    def reset(self) -> None:
        """Forget all tasks and counters, as ``POST /_emulator/reset`` does."""
        self.state.reset()

    def stop(self) -> None:
        """Stop serving and wait for the thread (at most a few seconds)."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(config: EmulatorConfig | None = None, **overrides: Any) -> Emulator:
    """Start an emulator (default: 127.0.0.1, a free port) and return once it accepts requests.

    Args:
        config: the knobs; ``EmulatorConfig()`` when omitted.
        **overrides: fields to replace in ``config``, e.g. ``latency=0``.

    Raises:
        ImportError: the ``emulator`` extra is not installed.
        OSError: the host/port cannot be bound.
    """
    return Emulator(replace(config or EmulatorConfig(), **overrides))


@contextlib.contextmanager
def run_emulator(config: EmulatorConfig | None = None, **overrides: Any) -> Iterator[Emulator]:
    """``start_emulator`` as a context manager that stops the server on exit."""
    emulator = start_emulator(config, **overrides)
    try:
        yield emulator
    finally:
        emulator.stop()


def serve(config: EmulatorConfig, out: TextIO | None = None) -> int:
    """Serve in the foreground until interrupted (``assetgen emulator``); returns an exit code.

    The first line on ``out`` (stdout) is ``emulator listening on <url> (key <key>)``,
    flushed, so a script that started it with ``--port 0`` can read the port.
    """
    out = out or sys.stdout
    state = _state(config)
    try:
        server = _server(state)
    except ImportError:
        print(f"assetgen: {INSTALL_HINT}", file=sys.stderr)
        return 2
    try:
        sock = _bind(config.host, config.port)
    except OSError as exc:
        print(f"assetgen: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 2
    url = _url(sock)
    print(f"emulator listening on {url} (key {config.key})", file=out, flush=True)
    env = (
        f"OPENAI_BASE_URL={url}/v1 OPENAI_API_KEY={config.key}"
        if config.api == "openai"
        else f"EVOLINK_BASE_URL={url} EVOLINK_API_KEY={config.key}"
    )
    print(
        f"assetgen: point a pipeline at it with {env}; "
        f"stats at {url}/_emulator/stats; Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


def serve_command(args: argparse.Namespace) -> int:
    """``assetgen emulator``: the parsed flags to an ``EmulatorConfig``, then ``serve``."""
    try:
        config = EmulatorConfig(
            host=args.host,
            port=args.port,
            key=args.key,
            denied_keys=tuple(args.denied_key or ()),
            credits=args.credits,
            charge_factor=args.charge_factor,
            latency=args.latency,
            jitter=args.jitter,
            seed=args.seed,
            max_in_flight=args.max_in_flight,
            retry_after=args.retry_after,
            error_rate=args.error_rate,
            fail_rate=args.fail_rate,
            fail_codes=tuple(c.strip() for c in args.fail_codes.split(",") if c.strip()),
            fail_prompts=tuple(args.fail_prompt or ()),
            truncate_rate=args.truncate_rate,
            url_lifetime=args.url_lifetime,
            image_format=args.format,
            results=args.results,
            api=getattr(args, "api", "evolink"),
        )
    except ValueError as exc:
        print(f"assetgen emulator: {exc}", file=sys.stderr)
        return 2
    return serve(config)
