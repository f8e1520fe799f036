"""The EvoLink client's transport: pooled connections reused, and dropped ones noticed."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import anyio
import httpx
import pytest

from assetgen.providers.evolink import net as evolink_net
from assetgen.providers.evolink.net import FastTransport, make_client

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


@pytest.fixture
def server() -> Iterator[tuple[int, list[int], threading.Event]]:
    """A keep-alive HTTP server on 127.0.0.1 that closes each connection after one
    response when ``hang_up`` is set. Yields (port, accepted connections, hang_up)."""
    lsock = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []
    hang_up = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            buf = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    _, buf = buf.split(b"\r\n\r\n", 1)
                    conn.sendall(RESPONSE)
                    if hang_up.is_set():
                        return

    def accept() -> None:
        while True:
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            accepted.append(1)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield lsock.getsockname()[1], accepted, hang_up
    lsock.close()


def run_requests(port: int, n: int) -> list[int]:
    async def main() -> list[int]:
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
        async with make_client(limits, {}) as client:
            assert isinstance(client._transport, FastTransport)
            codes = []
            for _ in range(n):
                codes.append((await client.get(f"http://127.0.0.1:{port}/")).status_code)
                await anyio.sleep(0.02)  # let a server's close arrive before the next request
            return codes

    return anyio.run(main)


def test_a_kept_alive_connection_is_reused(server: tuple[int, list[int], threading.Event]) -> None:
    port, accepted, _ = server
    assert run_requests(port, 5) == [200] * 5
    assert len(accepted) == 1


def test_a_connection_the_server_closed_is_not_reused(
    server: tuple[int, list[int], threading.Event],
) -> None:
    """The idle check sees the server's close (the socket reads EOF) and dials again."""
    port, accepted, hang_up = server
    hang_up.set()
    assert run_requests(port, 4) == [200] * 4
    assert len(accepted) == 4


def test_a_proxy_in_the_environment_keeps_httpx_default_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    client = make_client(httpx.Limits(), {})
    assert not isinstance(client._transport, FastTransport)
    anyio.run(client.aclose)


def test_readable_is_true_for_a_closed_socket() -> None:
    a, b = socket.socketpair()
    assert not evolink_net._readable(a)
    b.close()
    assert evolink_net._readable(a)
    a.close()
    assert evolink_net._readable(a)  # no descriptor: treated as gone
