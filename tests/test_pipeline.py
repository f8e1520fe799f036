"""Pipelined GETs (``HttpRemote.get_each``) against a canned server that misbehaves on cue."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assetgen.cache.remote.http import HttpRemote, pipeline_depth
from assetgen.cache.remote.stores import Blob, RemoteUnavailable
from assetgen.errors import UsageError
from tests.servers import nginx_binary, nginx_server

KEYS = [f"{i:064x}" for i in range(40)]

# (connection number, answer number on it, key) -> what to send: bytes, or None to
# close the connection there without answering.
Policy = Callable[[int, int, str], "bytes | None"]


def ok(key: str, *, close: bool = False) -> bytes:
    body = f"body of {key}".encode()
    extra = b"Connection: close\r\n" if close else b""
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


class Canned:
    """A one-thread-per-connection HTTP server on 127.0.0.1 that answers GETs per ``policy``
    and notes, for each connection, how many requests had arrived before each answer."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/cache"
        self.connections = 0
        self.in_flight: list[int] = []  # requests received but unanswered, at each answer
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn, self.connections))
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket, number: int) -> None:
        buf, answered = b"", 0
        conn.settimeout(0.05)
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                except TimeoutError:
                    pass  # nothing more sent: answer what arrived
                except OSError:
                    return
                while b"\r\n\r\n" in buf:
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    key = head.split(b" ")[1].decode().rsplit("/", 1)[1]
                    self.in_flight.append(1 + buf.count(b"\r\n\r\n"))
                    reply = self.policy(number, answered, key)
                    if reply is None:
                        return
                    try:
                        conn.sendall(reply)
                    except OSError:  # the client gave up on this connection
                        return
                    answered += 1
                    if b"Connection: close" in reply:
                        return

    def close(self) -> None:
        self.listener.close()
        for thread in self._threads:
            thread.join(5)


@contextmanager
def canned(policy: Policy) -> Iterator[Canned]:
    server = Canned(policy)
    try:
        yield server
    finally:
        server.close()


def fetch(url: str, keys: list[str], jobs: int = 2) -> dict[str, Blob | None]:
    got: dict[str, Blob | None] = {}
    lock = threading.Lock()

    def sink(key: str, data: Blob | None) -> None:
        with lock:
            assert key not in got, f"{key} handed over twice"
            got[key] = data

    remote = HttpRemote(url, timeout=2)
    try:
        remote.get_each("cas", keys, sink, jobs=jobs)
    finally:
        remote.close()
    return got


def test_many_gets_are_in_flight_at_once_and_all_arrive() -> None:
    with canned(lambda conn, n, key: ok(key)) as server:
        got = fetch(server.url, KEYS)
    assert got == {k: ok(k).split(b"\r\n\r\n")[1] for k in KEYS}
    assert max(server.in_flight) > 1 and server.connections == 2


def test_a_server_that_stops_answering_midway_is_asked_again_for_the_rest() -> None:
    """A keep-alive limit: each connection answers 3, then closes with requests unanswered."""
    with canned(lambda conn, n, key: ok(key) if n < 3 else None) as server:
        got = fetch(server.url, KEYS)
    assert sorted(got) == sorted(KEYS) and all(got.values())
    assert server.connections >= len(KEYS) // 3


def test_connection_close_ends_the_pipeline_and_the_rest_go_on_a_new_one() -> None:
    with canned(lambda conn, n, key: ok(key, close=n == 1)) as server:
        got = fetch(server.url, KEYS, jobs=1)
    assert sorted(got) == sorted(KEYS) and server.connections == len(KEYS) // 2


def test_a_server_that_never_answers_is_down_not_a_loop() -> None:
    with canned(lambda conn, n, key: None) as server, pytest.raises(RemoteUnavailable):
        fetch(server.url, KEYS)
    assert server.connections <= 2  # one fresh try per stream, no retrying forever


def test_a_miss_is_none_and_a_server_error_stops_the_pull() -> None:
    missing = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    with canned(lambda conn, n, key: missing if key == KEYS[5] else ok(key)) as server:
        got = fetch(server.url, KEYS)
    assert got[KEYS[5]] is None and sum(v is not None for v in got.values()) == len(KEYS) - 1
    broken = b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"
    with (
        canned(lambda conn, n, key: broken if key == KEYS[5] else ok(key)) as server,
        pytest.raises(RemoteUnavailable, match="HTTP 500"),
    ):
        fetch(server.url, KEYS)


def test_a_failing_sink_stops_every_stream() -> None:
    calls = []

    def sink(key: str, data: Blob | None) -> None:
        calls.append(key)
        if len(calls) == 3:
            raise OSError("disk full")

    with canned(lambda conn, n, key: ok(key)) as server:
        remote = HttpRemote(server.url)
        with pytest.raises(OSError, match="disk full"):
            remote.get_each("cas", KEYS, sink, jobs=2)
        remote.close()
    assert len(calls) < len(KEYS)


def test_one_at_a_time_when_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """ASSETGEN_REMOTE_PIPELINE=1 for servers or proxies that mishandle pipelines."""
    monkeypatch.setenv("ASSETGEN_REMOTE_PIPELINE", "1")
    with canned(lambda conn, n, key: ok(key)) as server:
        got = fetch(server.url, KEYS)
    assert len(got) == len(KEYS) and set(server.in_flight) == {1}
    for bad in ("0", "many", "-3"):
        monkeypatch.setenv("ASSETGEN_REMOTE_PIPELINE", bad)
        with pytest.raises(UsageError, match="ASSETGEN_REMOTE_PIPELINE"):
            pipeline_depth()


def test_nginx_closing_at_its_keepalive_limit(tmp_path: Path) -> None:
    """A real server's keep-alive limit, reached in the middle of a pipeline."""
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (.ci/run installs Debian's nginx)")
    with nginx_server(tmp_path / "nginx", keepalive_requests=7) as nginx:
        remote = HttpRemote(nginx.url)
        for key in KEYS:
            remote.put("cas", key, key.encode())
        remote.close()
        got = fetch(nginx.url, [*KEYS, "ff" * 32])
    assert got == {**{k: k.encode() for k in KEYS}, "ff" * 32: None}


def test_a_server_without_keep_alive_is_asked_one_at_a_time() -> None:
    """A connection that closes after its first answer: the stream stops pipelining."""
    with canned(lambda conn, n, key: ok(key, close=True)) as server:
        got = fetch(server.url, KEYS, jobs=1)
    assert sorted(got) == sorted(KEYS) and server.connections == len(KEYS)
    assert server.in_flight[0] > 1 and set(server.in_flight[1:]) == {1}


def test_a_reconnect_that_fails_ends_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a connection that answered some, a new one that cannot be opened (even with
    a reset, as a TLS handshake may) is the remote down, not a reason to try forever."""
    with canned(lambda conn, n, key: ok(key) if n < 2 else None) as server:
        remote = HttpRemote(server.url)
        real_connect = remote._connect
        calls = []

        def connect() -> object:
            calls.append(1)
            if len(calls) == 1:
                return real_connect()
            if len(calls) > 50:
                raise ConnectionRefusedError  # a regression ends here, not in a hang
            raise ConnectionResetError

        monkeypatch.setattr(remote, "_connect", connect)
        got: list[str] = []
        with pytest.raises(RemoteUnavailable, match="ConnectionResetError"):
            remote.get_each("cas", KEYS, lambda key, data: got.append(key), jobs=1)
        remote.close()
    assert len(got) == 2 and len(calls) == 2


def test_ctrl_c_is_not_held_up_by_a_hung_server() -> None:
    """^C during a pull from a server that accepts and never answers: raised at once in
    this thread, while the other stream is still blocked in its read (a daemon thread,
    which does not hold the process up at exit either)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept_two() -> None:
        for _ in range(2):
            accepted.append(listener.accept()[0])

    threading.Thread(target=accept_two, daemon=True).start()
    remote = HttpRemote(f"http://127.0.0.1:{listener.getsockname()[1]}/cache")
    main = threading.main_thread().ident
    assert main is not None
    timer = threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            remote.get_each("cas", KEYS, lambda key, data: None, jobs=2)
        stuck = [t for t in threading.enumerate() if t.name.startswith("assetgen-get")]
        assert stuck and all(t.daemon and t.is_alive() for t in stuck)
    finally:
        timer.cancel()
        for conn in accepted:
            conn.close()  # the stuck stream reads an end and stops
        listener.close()
        remote.close()
