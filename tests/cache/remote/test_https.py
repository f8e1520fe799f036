"""The HTTP remote over TLS and through proxies, against nginx with a self-signed certificate."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assetgen.cache.remote.http import HttpRemote
from assetgen.cache.remote.stores import RemoteUnavailable
from tests.servers import nginx_binary, nginx_server
from tests.test_pipeline import fetch

KEYS = [f"{i:064x}" for i in range(30)]


def body(key: str) -> bytes:
    return key.encode() * 500  # 32 kB: several TLS records each


@pytest.fixture
def nginx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (.ci/run installs Debian's nginx)")
    pytest.importorskip("cryptography", reason="makes the test certificate")
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    with nginx_server(tmp_path / "nginx", tls=True) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.cert))  # trust it, as a CA bundle
        remote = HttpRemote(server.url)
        for key in KEYS:
            remote.put("cas", key, body(key))
        remote.close()
        yield server


def test_https_reads_writes_and_pipelines(nginx: Any) -> None:
    remote = HttpRemote(nginx.tls_url)
    remote.put("cas", "ee" * 32, b"over tls")
    assert remote.get("cas", "ee" * 32) == b"over tls" and remote.exists("cas", KEYS[0])
    remote.close()
    assert fetch(nginx.tls_url, KEYS) == {k: body(k) for k in KEYS}


def test_an_untrusted_certificate_is_the_remote_down(
    nginx: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "empty.pem").write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with pytest.raises(RemoteUnavailable, match="TLS: CERTIFICATE_VERIFY_FAILED"):
        HttpRemote(nginx.tls_url).get("cas", KEYS[0])


class Proxy:
    """A forward proxy on 127.0.0.1 that sends everything to nginx: a CONNECT tunnel to
    its HTTPS port, any other request (absolute-form) to its HTTP port. Notes each
    connection's first line."""

    def __init__(self, nginx: Any) -> None:
        self.nginx = nginx
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.first_lines: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode()
        self.first_lines.append(line)
        if line.startswith("CONNECT "):
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            upstream = socket.create_connection(("127.0.0.1", self.nginx.tls_port))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            head = head.split(b"\r\n\r\n", 1)[1]
        else:
            upstream = socket.create_connection(("127.0.0.1", self.nginx.port))
        if head:
            upstream.sendall(head)
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        self._pipe(client, upstream)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxy(nginx: Any) -> Iterator[Proxy]:
    server = Proxy(nginx)
    yield server
    server.close()


def test_https_through_a_connect_tunnel(
    nginx: Any, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """https_proxy: a CONNECT tunnel, TLS inside it to the remote's own name."""
    monkeypatch.setenv("https_proxy", proxy.url)
    url = nginx.tls_url.replace("127.0.0.1", "127.0.0.2")  # loopback hosts skip the proxy
    assert fetch(url, KEYS[:10]) == {k: body(k) for k in KEYS[:10]}
    assert proxy.first_lines and all(
        line == f"CONNECT 127.0.0.2:{nginx.tls_port} HTTP/1.1" for line in proxy.first_lines
    )


def test_plain_http_through_a_proxy_one_request_at_a_time(
    nginx: Any, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """http_proxy: absolute-form targets, and no pipelining (proxies are where it breaks)."""
    monkeypatch.setenv("http_proxy", proxy.url)
    url = nginx.url.replace("127.0.0.1", "127.0.0.2")
    assert fetch(url, KEYS[:10], jobs=1) == {k: body(k) for k in KEYS[:10]}
    assert proxy.first_lines == [f"GET {url}/cas/{KEYS[0]} HTTP/1.1"]
