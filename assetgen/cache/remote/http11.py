"""One HTTP/1.1 client connection, for the remote cache's GET, PUT and HEAD.

Why not httpx, or the standard library's http.client: a pull is thousands of
small GETs, and per request httpx spends about 0.6 ms of CPU and http.client about
0.3 ms (most of it parsing headers through the email package), against well under
0.1 ms here. On a two-core CI runner that decides whether a pull keeps up with
``curl --parallel`` (benchmarks/remote_pull_bench.py). The subset needed is small:
keep-alive, pipelined GETs (a pull keeps many requests in flight on each
connection), TLS, a CONNECT tunnel through a proxy, and response bodies framed by
Content-Length, by chunks, or by the end of a closing connection.
"""

from __future__ import annotations

import socket
import ssl
import struct
import sys
from collections.abc import Iterable
from dataclasses import dataclass

MAX_HEAD = 64 * 1024  # a response head longer than this is not from a cache server
MAX_BODY = 256 * 1024 * 1024  # a cached image or record is far smaller; refuse, never allocate
# A head is read in small pieces: with pipelining, whatever follows it (its body, then
# more answers) is copied once more for each byte read past it. A body is read
# straight into its own buffer, and a body of unknown length in large pieces.
_HEAD_RECV = 4 * 1024
_BODY_RECV = 256 * 1024


class ProtocolError(OSError):
    """The server's answer is not HTTP/1.x as this client reads it."""


class ConnectionClosed(ProtocolError):
    """The server closed the connection before answering (a stale keep-alive, usually)."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes | bytearray  # a large body is read in place, not copied once more
    keep_alive: bool


class Connection:
    """A socket speaking HTTP/1.1 to one server; not thread-safe (pool them)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = b""

    @classmethod
    def open(
        cls,
        host: str,
        port: int,
        *,
        connect_timeout: float,
        read_timeout: float,
        tls: ssl.SSLContext | None = None,
        via: tuple[str, int] | None = None,
    ) -> Connection:
        """Connect (to ``via``, a proxy, when given), tunnel and start TLS as needed."""
        sock = socket.create_connection(via or (host, port), timeout=connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if via is not None and tls is not None:
                tunnel = cls(sock)
                where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                answer = tunnel.request("CONNECT", where, f"Host: {where}\r\n")
                if answer.status != 200:
                    raise ProtocolError(f"proxy answered CONNECT with {answer.status}")
            if tls is not None:
                sock = tls.wrap_socket(sock, server_hostname=host)
            if tls is not None or sys.platform == "win32":
                sock.settimeout(read_timeout)
            else:
                # The kernel keeps the timeout (on each send and recv call, which is all a
                # stuck server needs): Python's own costs a poll() per recv.
                sock.settimeout(None)
                limit = struct.pack("ll", int(read_timeout), int(read_timeout % 1 * 1e6))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    def close(self) -> None:
        self.sock.close()

    def request(
        self, method: str, target: str, headers: str, body: bytes | None = None
    ) -> Response:
        """Send one request (``headers``: complete ``Name: value\\r\\n`` lines) and read
        the response. Raises OSError (ProtocolError included) on any failure; the
        connection is then unusable."""
        head = f"{method} {target} HTTP/1.1\r\n{headers}"
        if body is not None or method in ("PUT", "POST"):
            head += f"Content-Length: {len(body or b'')}\r\n"
        data = (head + "\r\n").encode("latin-1")
        if body and len(body) <= 64 * 1024:
            self._send(data + body)
        else:
            self._send(data)
            if body:
                self._send(body)
        return self.read_response(method)

    def send_gets(self, targets: Iterable[str], headers: str) -> None:
        """Send a GET for each target at once, without waiting for answers: HTTP/1.1
        pipelining. Read the answers, in the same order, with ``read_response``."""
        self._send("".join(f"GET {t} HTTP/1.1\r\n{headers}\r\n" for t in targets).encode("latin-1"))

    def _send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except BlockingIOError as exc:  # SO_SNDTIMEO ran out
            raise TimeoutError("timed out") from exc

    def read_response(self, method: str = "GET") -> Response:
        """The next response on this connection, to a request of ``method``. Raises
        OSError (ProtocolError included); ConnectionClosed when the server closed
        before sending a byte of it."""
        try:
            return self._read_response(method)
        except BlockingIOError as exc:  # SO_RCVTIMEO ran out
            raise TimeoutError("timed out") from exc

    def _read_response(self, method: str) -> Response:
        while True:
            status, fields, version = self._read_head()
            if not 100 <= status < 200:
                break  # 1xx (100 Continue and the like) come before the real answer
        connection = fields.get("connection", "").lower()
        keep_alive = "close" not in connection and (
            version != "HTTP/1.0" or "keep-alive" in connection
        )
        if method in ("HEAD", "CONNECT") or status in (204, 304):
            return Response(status, b"", keep_alive)
        if "chunked" in fields.get("transfer-encoding", "").lower():
            return Response(status, self._read_chunked(), keep_alive)
        length = fields.get("content-length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                size = -1
            if not 0 <= size <= MAX_BODY:
                raise ProtocolError(f"bad or oversized Content-Length {length[:40]!r}")
            return Response(status, self._read_exactly(size), keep_alive)
        return Response(status, self._read_to_end(), False)

    # --- reading ------------------------------------------------------------------------

    def _fill(self, size: int = _HEAD_RECV) -> bool:
        chunk = self.sock.recv(size)
        if not chunk:
            return False
        self._buf += chunk
        return True

    def _read_head(self) -> tuple[int, dict[str, str], str]:
        first = True
        while (end := self._buf.find(b"\r\n\r\n")) < 0:
            if len(self._buf) > MAX_HEAD:
                raise ProtocolError("response head too long")
            if not self._fill():
                if first and not self._buf:
                    raise ConnectionClosed("closed before answering")
                raise ProtocolError("closed in the middle of a response head")
            first = False
        head, self._buf = self._buf[:end].decode("latin-1"), self._buf[end + 4 :]
        status_line, *lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        fields: dict[str, str] = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if sep:
                key = name.strip().lower()
                fields[key] = f"{fields[key]}, {value.strip()}" if key in fields else value.strip()
        return int(parts[1]), fields, parts[0]

    def _read_exactly(self, size: int) -> bytes | bytearray:
        if len(self._buf) >= size:
            data, self._buf = self._buf[:size], self._buf[size:]
            return data
        out = bytearray(size)
        view = memoryview(out)
        have = len(self._buf)
        view[:have] = self._buf
        self._buf = b""
        while have < size:
            got = self.sock.recv_into(view[have:])
            if not got:
                raise ProtocolError(f"closed after {have} of {size} bytes")
            have += got
        return out

    def _read_line(self) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            if len(self._buf) > MAX_HEAD or not self._fill():
                raise ProtocolError("bad chunked body")
        line, self._buf = self._buf[:end], self._buf[end + 2 :]
        return line

    def _read_chunked(self) -> bytes:
        parts: list[bytes | bytearray] = []
        while True:
            try:
                size = int(self._read_line().split(b";", 1)[0], 16)
            except ValueError:
                size = -1
            if not 0 <= size <= MAX_BODY:
                raise ProtocolError("bad or oversized chunk size")
            if size == 0:
                while self._read_line():  # trailers, up to the empty line
                    pass
                return b"".join(parts)
            parts.append(self._read_exactly(size))
            if self._read_line():
                raise ProtocolError("chunk not followed by CRLF")

    def _read_to_end(self) -> bytes:
        while self._fill(_BODY_RECV):
            pass
        data, self._buf = self._buf, b""
        return data
