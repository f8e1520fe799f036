"""The remote cache's HTTP/1.1 connection: response framing, read from canned server bytes."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assetgen.cache.remote.http import HttpRemote
from assetgen.cache.remote.http11 import Connection, ConnectionClosed, ProtocolError
from assetgen.cache.remote.stores import RemoteUnavailable
from tests.servers import nginx_binary, nginx_server


@pytest.fixture
def pair() -> Iterator[tuple[Connection, socket.socket]]:
    """A client Connection and the server end of its socket."""
    client, server = socket.socketpair()
    conn = Connection(client)
    yield conn, server
    conn.close()
    server.close()


def answer(server: socket.socket, *parts: bytes) -> bytes:
    """Send ``parts`` as the server (one send each), return what the client had sent."""
    request = server.recv(65536)
    for part in parts:
        server.sendall(part)
    return request


def exchange(
    pair: tuple[Connection, socket.socket], method: str, *parts: bytes, body: bytes | None = None
) -> tuple[Any, bytes]:
    conn, server = pair
    sent: list[bytes] = []
    thread = threading.Thread(target=lambda: sent.append(answer(server, *parts)))
    thread.start()
    try:
        resp = conn.request(method, "/cache/cas/x", "Host: h\r\n", body)
    finally:
        thread.join()
    return resp, sent[0]


def test_a_body_framed_by_content_length_arrives_whole(
    pair: tuple[Connection, socket.socket],
) -> None:
    """The head and the body may come in any pieces; the body is exactly Content-Length."""
    resp, sent = exchange(
        pair, "GET", b"HTTP/1.1 200 OK\r\nContent-Len", b"gth: 10\r\n\r\n0123", b"456789"
    )
    assert (resp.status, resp.body, resp.keep_alive) == (200, b"0123456789", True)
    assert sent == b"GET /cache/cas/x HTTP/1.1\r\nHost: h\r\n\r\n"


def test_a_put_sends_its_length_and_body(pair: tuple[Connection, socket.socket]) -> None:
    """A PUT carries Content-Length and the bytes, in one write when small."""
    resp, sent = exchange(
        pair, "PUT", b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", body=b"abc"
    )
    assert resp.status == 201 and resp.body == b""
    assert sent.endswith(b"Content-Length: 3\r\n\r\nabc")


def test_chunked_bodies_with_extensions_and_trailers(
    pair: tuple[Connection, socket.socket],
) -> None:
    """Transfer-Encoding: chunked is decoded, chunk extensions and trailers skipped."""
    resp, _ = exchange(
        pair,
        "GET",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n",
        b"5\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\n",
    )
    assert resp.body == b"Wikipedia" and resp.keep_alive


def test_interim_answers_are_skipped(pair: tuple[Connection, socket.socket]) -> None:
    """A 100 Continue before the real answer is not the answer."""
    resp, _ = exchange(
        pair, "PUT", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", body=b"x"
    )
    assert resp.status == 204


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno", False),
        (b"HTTP/1.0 404 Not Found\r\nContent-Length: 2\r\n\r\nno", False),
        (b"HTTP/1.0 404 Not Found\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nno", True),
    ],
)
def test_keep_alive_follows_the_version_and_connection_header(
    pair: tuple[Connection, socket.socket], head: bytes, keep_alive: bool
) -> None:
    """HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when told to keep it."""
    resp, _ = exchange(pair, "GET", head)
    assert (resp.status, resp.body, resp.keep_alive) == (404, b"no", keep_alive)


def test_a_body_without_length_runs_to_the_end(pair: tuple[Connection, socket.socket]) -> None:
    """No Content-Length, not chunked: the body ends when the server closes."""
    conn, server = pair

    def serve() -> None:
        answer(server, b"HTTP/1.1 200 OK\r\n\r\nall of it")
        server.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=serve)
    thread.start()
    resp = conn.request("GET", "/x", "Host: h\r\n")
    thread.join()
    assert (resp.body, resp.keep_alive) == (b"all of it", False)


def test_head_has_no_body(pair: tuple[Connection, socket.socket]) -> None:
    """A HEAD answer's Content-Length describes the object, not a body to read."""
    resp, _ = exchange(pair, "HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n")
    assert (resp.status, resp.body, resp.keep_alive) == (200, b"", True)


def test_a_close_before_answering_is_told_apart(pair: tuple[Connection, socket.socket]) -> None:
    """A server that closes without a byte (a stale keep-alive) raises ConnectionClosed."""
    conn, server = pair

    def read_then_close() -> None:
        server.recv(65536)
        server.close()

    thread = threading.Thread(target=read_then_close)
    thread.start()
    with pytest.raises(ConnectionClosed):
        conn.request("GET", "/x", "Host: h\r\n")
    thread.join()


@pytest.mark.parametrize(
    "reply",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_what_is_not_http_is_a_protocol_error(
    pair: tuple[Connection, socket.socket], reply: bytes
) -> None:
    """Garbage is an error (an OSError: the remote is then down), never a wrong body."""
    conn, server = pair
    thread = threading.Thread(target=answer, args=(server, reply))
    thread.start()
    with pytest.raises(ProtocolError):
        conn.request("GET", "/x", "Host: h\r\n")
    thread.join()


def test_a_truncated_body_is_an_error(pair: tuple[Connection, socket.socket]) -> None:
    """Fewer bytes than Content-Length, then a close: an error, not a short image."""
    conn, server = pair

    def serve() -> None:
        answer(server, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234")
        server.close()

    thread = threading.Thread(target=serve)
    thread.start()
    with pytest.raises(ProtocolError, match="5 of 10"):
        conn.request("GET", "/x", "Host: h\r\n")
    thread.join()


def test_a_restarted_server_is_reached_on_a_fresh_connection(tmp_path: Path) -> None:
    """Idle keep-alive connections the server dropped are replaced, not reported as down."""
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (.ci/run installs Debian's nginx)")
    with nginx_server(tmp_path / "nginx") as nginx:
        remote = HttpRemote(nginx.url, connections=2)
        key = "ab" * 32
        remote.put("cas", key, b"bytes")
        assert remote.get("cas", key) == b"bytes"
        nginx.stop()
        with pytest.raises(RemoteUnavailable, match="connection refused"):
            remote.get("cas", key)
        nginx.start()
        assert remote.get("cas", key) == b"bytes" and remote.exists("cas", key)
        remote.close()
