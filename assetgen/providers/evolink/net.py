"""The HTTP transport of the EvoLink client: httpx's, with a cheaper idle-connection check.

Before each request and after each response, httpcore's connection pool asks every
pooled connection whether it expired, and for an idle one that means "is the socket
readable?". Its anyio stream answers through ``anyio``'s typed attributes, which
rebuild a dict of every socket attribute (``getpeername`` included) on each call: with
50 tasks polling over a pool of 16 connections that was a third of the client's CPU.
This backend wraps each stream, keeps its raw socket, and answers with one
``poll(0)``. Everything else is httpcore's own AnyIO backend, unchanged.

When a proxy is configured in the environment, httpx's default client is used
instead (an explicit transport turns off httpx's environment proxies).
"""

from __future__ import annotations

import select
import socket
import ssl
import typing
import urllib.request

import httpcore
import httpx


def make_client(
    limits: httpx.Limits, headers: dict[str, str], ssl_context: ssl.SSLContext | None = None
) -> httpx.AsyncClient:
    """The shared client: the fast transport unless the environment names a proxy.

    ``ssl_context``: one to share between clients (loading the CA bundle costs tens of
    milliseconds of CPU per context)."""
    proxies = urllib.request.getproxies()
    if any(k in proxies for k in ("http", "https", "all")):
        return httpx.AsyncClient(headers=headers, limits=limits, verify=ssl_context or True)
    return httpx.AsyncClient(headers=headers, transport=FastTransport(limits, ssl_context))


class FastTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` over a pool whose streams check idleness cheaply."""

    def __init__(self, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        context = ssl_context or httpx.create_ssl_context()
        super().__init__(limits=limits, verify=context)
        # httpx keeps its httpcore pool in ``_pool``; if a future httpx changes that,
        # keep its own pool (correct, only slower) rather than break.
        if type(getattr(self, "_pool", None)) is httpcore.AsyncConnectionPool:
            self._pool = httpcore.AsyncConnectionPool(
                ssl_context=context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=_Backend(),
            )


class _Backend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._sock: socket.socket | None = inner.get_extra_info("socket")
        self._poller = _poller(self._sock)  # made once: the pool asks on every request

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":
            if self._poller is None or self._sock is None or self._sock.fileno() < 0:
                return _readable(self._sock)
            return bool(self._poller.poll(0))
        if info == "socket":
            return self._sock
        return self._inner.get_extra_info(info)


def _poller(sock: socket.socket | None) -> select.poll | None:
    fd = -1 if sock is None else sock.fileno()
    if fd < 0 or not hasattr(select, "poll"):
        return None
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return poller


def _readable(sock: socket.socket | None) -> bool:
    """Would ``recv`` return at once? For an idle pooled connection that means the
    server closed it (or sent something unasked): either way it must not be reused.
    A socket without a descriptor counts as readable, as in httpcore."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
