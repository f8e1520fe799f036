"""The remote cache over HTTP: Bazel's GET/PUT/HEAD protocol, spoken by bazel-remote
or an nginx WebDAV location (the layout is in stores.py).

A pull is thousands of small GETs, so ``get_each`` pipelines them (HTTP/1.1
allows a client to send requests before the answers come; the server answers in
order): each connection keeps up to ``ASSETGEN_REMOTE_PIPELINE`` GETs in flight.
One request per round trip spent most of a pull waiting on a local server, and
all of it on a distant one. A server that closes a pipelined connection early
(its keep-alive limit, say) is asked again for what it did not answer, on a new
connection; set the variable to 1 for a server or proxy that mishandles pipelines.
"""

from __future__ import annotations

import base64
import functools
import netrc
import os
import socket
import ssl
import threading
from collections import deque
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit

from ...errors import UsageError
from .fanout import Feed, run_workers
from .http11 import Connection, ConnectionClosed, Response
from .stores import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_CONNECTIONS,
    READ_TIMEOUT,
    Blob,
    Kind,
    RemoteUnavailable,
    Sink,
    UploadRefused,
    _check,
    display_url,
)

PIPELINE_ENV = "ASSETGEN_REMOTE_PIPELINE"
DEFAULT_PIPELINE = 16  # GETs in flight per connection; past 8 a local pull gains little
# At most this many: a top-up is then a few KB of request heads, which the server's
# socket takes at once even while it is blocked writing answers not yet read.
MAX_PIPELINE = 64


def pipeline_depth() -> int:
    """How many GETs a connection keeps in flight: ``$ASSETGEN_REMOTE_PIPELINE`` or 16."""
    text = os.environ.get(PIPELINE_ENV, "").strip()
    if not text:
        return DEFAULT_PIPELINE
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PIPELINE:
        raise UsageError(
            f"{PIPELINE_ENV}={text}: use a whole number from 1 (no pipelining) to {MAX_PIPELINE}"
        )
    return int(text)


class HttpRemote:
    """Bazel's HTTP remote cache protocol: GET, PUT and HEAD of ``/cas/<sha>`` and ``/ac/<key>``.

    A pool of keep-alive HTTP/1.1 connections (``connections`` at most, shared by
    every thread; see http11.py for why not httpx). Credentials: user info in the
    URL, else the host's ``~/.netrc`` entry; ``https_proxy``/``http_proxy`` and
    ``no_proxy`` are honoured. A 404 is a miss; any other failure is
    RemoteUnavailable (or UploadRefused for a PUT that 401/403/405s, so a read-only
    remote still serves reads).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_CONNECT_TIMEOUT,
        connections: int = DEFAULT_CONNECTIONS,
    ) -> None:
        from ..._version import __version__

        parts = urlsplit(url)
        if parts.hostname is None:
            raise UsageError(f"remote cache {display_url(url)}: no host in the URL")
        self.url = display_url(url)
        self._https = parts.scheme.lower() == "https"
        try:
            self._host = parts.hostname.encode("idna").decode("ascii")
            self._port = parts.port or (443 if self._https else 80)
        except (ValueError, UnicodeError):
            raise UsageError(
                f"remote cache {self.url}: the host or port is not valid\n"
                "  hint: write it as http(s)://HOST[:PORT]/path"
            ) from None
        self._base = quote(parts.path.rstrip("/"), safe="/%")  # on the wire: ASCII only
        self._parts = parts
        self._version = __version__
        self._timeout = timeout
        self._slots = threading.BoundedSemaphore(max(1, connections))
        self._idle: list[Connection] = []
        self._idle_lock = threading.Lock()

    # Made at the first request, not when opened: a null plan opens the remote and never
    # asks it anything, and a TLS context alone costs it 20 ms. (Two threads making one
    # at once make the same value.)

    @functools.cached_property
    def _headers(self) -> str:
        parts = self._parts
        headers = [
            f"Host: {_bracketed(self._host)}{f':{parts.port}' if parts.port else ''}",
            f"User-Agent: assetgen/{self._version}",
        ]
        login = _credentials(parts.hostname or "", parts.username, parts.password)
        if login is not None:
            token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode("ascii")
            headers.append(f"Authorization: Basic {token}")
        return "".join(f"{h}\r\n" for h in headers)

    @functools.cached_property
    def _proxy(self) -> tuple[str, int] | None:
        return _proxy_for(self._parts.scheme.lower(), self._parts.hostname or "")

    @functools.cached_property
    def _tls(self) -> ssl.SSLContext | None:
        return ssl.create_default_context() if self._https else None

    def _connect(self) -> Connection:
        via = self._proxy
        if via is not None and not self._https:
            return Connection.open(*via, connect_timeout=self._timeout, read_timeout=READ_TIMEOUT)
        return Connection.open(
            self._host,
            self._port,
            connect_timeout=self._timeout,
            read_timeout=READ_TIMEOUT,
            tls=self._tls,
            via=via,
        )

    def _target(self, kind: Kind, key: str) -> str:
        target = f"{self._base}/{_check(kind, key)}"
        if self._proxy is not None and not self._https:
            return f"http://{_bracketed(self._host)}:{self._port}{target}"  # a plain proxy wants the URL
        return target

    def _checkout(self) -> tuple[Connection, bool]:
        """An idle connection (True: reused, so maybe closed by the server since) or a new one."""
        with self._idle_lock:
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def _checkin(self, conn: Connection) -> None:
        with self._idle_lock:
            self._idle.append(conn)

    def _request(self, method: str, kind: Kind, key: str, body: bytes | None = None) -> Response:
        target = self._target(kind, key)
        with self._slots:
            for _ in range(2):
                conn: Connection | None = None
                reused = False
                try:
                    conn, reused = self._checkout()
                    resp = conn.request(method, target, self._headers, body)
                except OSError as exc:
                    if conn is not None:
                        conn.close()
                    if reused and isinstance(exc, _STALE):
                        # A keep-alive connection the server had closed, and likely all the
                        # idle ones with it: drop them and try once on a fresh connection.
                        self.close()
                        continue
                    raise RemoteUnavailable(f"unreachable ({_reason(exc)})") from exc
                if resp.keep_alive:
                    self._checkin(conn)
                else:
                    conn.close()
                return resp
        raise RemoteUnavailable("unreachable (connection closed)")

    def get(self, kind: Kind, key: str) -> Blob | None:
        resp = self._request("GET", kind, key)
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise RemoteUnavailable(f"HTTP {resp.status} on GET")
        return resp.body

    def put(self, kind: Kind, key: str, data: bytes) -> None:
        status = self._request("PUT", kind, key, data).status
        if status in (401, 403, 405):
            raise UploadRefused(f"HTTP {status} on PUT")
        if not 200 <= status < 300:
            raise RemoteUnavailable(f"HTTP {status} on PUT")

    def exists(self, kind: Kind, key: str) -> bool:
        status = self._request("HEAD", kind, key).status
        if status == 404:
            return False
        if status != 200:
            raise RemoteUnavailable(f"HTTP {status} on HEAD")
        return True

    def get_each(self, kind: Kind, keys: Iterable[str], sink: Sink, *, jobs: int) -> None:
        """Pipelined GETs on ``jobs`` connections, each handing its answers to ``sink``
        in its own thread (a pull hashes and writes there, so the threads overlap)."""
        # Through a plain HTTP proxy, one request at a time: proxies are where pipelines
        # break. (Read here, not when opened: a bad value only stops what would use it.)
        depth = 1 if self._proxy is not None and not self._https else pipeline_depth()
        feed = Feed(keys)
        run_workers(lambda stop: self._stream(kind, feed, sink, stop, depth), jobs, "assetgen-get")

    def _stream(
        self, kind: Kind, feed: Feed[str], sink: Sink, stop: threading.Event, depth: int
    ) -> None:
        """One connection's share of ``get_each``: keep up to ``depth`` GETs in flight,
        topped up when half are answered, until the feed is dry. What a connection
        that closed did not answer is asked for again on the next one."""
        backlog: deque[str] = deque()  # taken from the feed, not (or no longer) asked for
        pending: deque[str] = deque()  # asked for on ``conn``, not yet answered
        conn: Connection | None = None
        reused = False
        answered = 0  # on ``conn``

        def drop() -> None:
            nonlocal conn
            if conn is not None:
                conn.close()
                conn = None
            backlog.extendleft(reversed(pending))
            pending.clear()

        with self._slots:
            try:
                while not stop.is_set():
                    try:
                        if conn is None:
                            if not backlog:
                                backlog.extend(feed.take(depth))
                                if not backlog:
                                    break
                            answered, reused = 0, False  # a failed connect is no progress
                            conn, reused = self._checkout()
                        if len(pending) <= depth // 2:
                            want = depth - len(pending)
                            batch = [backlog.popleft() for _ in range(min(want, len(backlog)))]
                            batch += feed.take(want - len(batch))
                            if batch:
                                pending.extend(batch)
                                self._send_gets(conn, kind, batch)
                        if not pending:
                            break
                        resp = conn.read_response("GET")
                    except OSError as exc:
                        drop()
                        if isinstance(exc, _STALE) and (reused or answered):
                            # A stale keep-alive, or a server that ended the pipeline early
                            # (every answer so far was whole): ask again on a new connection.
                            if reused:
                                self.close()
                            continue
                        raise RemoteUnavailable(f"unreachable ({_reason(exc)})") from exc
                    key = pending.popleft()
                    answered += 1
                    if not resp.keep_alive:
                        drop()
                        if answered == 1:  # one answer per connection: ask for one at a time
                            depth = 1
                    if resp.status == 200:
                        sink(key, resp.body)
                    elif resp.status == 404:
                        sink(key, None)
                    else:
                        raise RemoteUnavailable(f"HTTP {resp.status} on GET")
            finally:
                if conn is not None:
                    if pending:
                        conn.close()  # answers still on their way: the connection is spent
                    else:
                        self._checkin(conn)

    def _send_gets(self, conn: Connection, kind: Kind, keys: Iterable[str]) -> None:
        conn.send_gets([self._target(kind, key) for key in keys], self._headers)

    def close(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


_STALE = (ConnectionClosed, ConnectionResetError, BrokenPipeError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    return type(exc).__name__


def _bracketed(host: str) -> str:
    """An IPv6 literal as a URL or Host header writes it."""
    return f"[{host}]" if ":" in host else host


def _credentials(host: str, user: str | None, password: str | None) -> tuple[str, str] | None:
    """User info from the URL, else the host's own ``$NETRC`` / ``~/.netrc`` entry.

    Never netrc's ``default`` entry: a manifest edit pointing the remote at another
    host must not hand it credentials meant for somewhere else.
    """
    if user is not None:
        return unquote(user), unquote(password or "")
    path = os.environ.get("NETRC") or os.path.expanduser("~/.netrc")
    if not os.path.isfile(path):
        return None
    try:
        entry = netrc.netrc(path).hosts.get(host)
    except (OSError, netrc.NetrcParseError):
        return None
    return None if entry is None else (entry[0], entry[2] or "")


def _proxy_for(scheme: str, host: str) -> tuple[str, int] | None:
    """The ``http(s)_proxy`` to go through, unless ``no_proxy`` or a loopback host says not."""
    import urllib.request  # 16 ms, for a remote actually asked something

    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or host in ("localhost", "127.0.0.1", "::1") or urllib.request.proxy_bypass(host):
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parts.hostname is None:
        return None
    return parts.hostname, parts.port or 80
