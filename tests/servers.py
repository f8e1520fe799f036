"""Real remote-cache servers on 127.0.0.1, for the tests and the benchmarks.

- ``nginx_server``: Debian's nginx with a WebDAV location (``dav_methods PUT``),
  which speaks the GET/PUT/HEAD protocol of Bazel's HTTP cache as it is; every
  path it uses (config, pid, logs, temp files, store) is under one directory.
- ``moto_server``: moto's standalone S3 server (``moto[server]``).

Each can be stopped and started again on the same port, to play a remote that
goes down in the middle of a build. ``remote_backend`` gives the tests one of the
three remote kinds (a directory too) behind the same stop/start interface.
"""

from __future__ import annotations

import contextlib
import grp
import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {LOOPBACK}:{port} after {timeout:g}s")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_NGINX_CONF = """\
{user}worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log error;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    log_not_found off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests {keepalive_requests};
    default_type application/octet-stream;
    client_body_temp_path {prefix}/client_body_temp;
    proxy_temp_path {prefix}/proxy_temp;
    fastcgi_temp_path {prefix}/fastcgi_temp;
    uwsgi_temp_path {prefix}/uwsgi_temp;
    scgi_temp_path {prefix}/scgi_temp;
    server {{
        listen {host}:{port};
        {tls_listen}
        # Read-write, as a team's cache: PUT goes to a temp file, then a rename.
        location /cache/ {{
            root {store};
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw group:rw all:r;
            client_max_body_size 64m;
        }}
        # The same objects, read-only (PUT answers 405), as for developers' laptops.
        location /readonly/ {{
            alias {store}/cache/;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    """A running nginx; ``url`` is the read-write cache, ``readonly_url`` the same objects."""

    prefix: Path
    port: int
    keepalive_requests: int = 100000  # after this many, nginx closes a connection
    tls_port: int | None = None  # also HTTPS here, with a self-signed ``cert``
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def tls_url(self) -> str:
        return f"https://{LOOPBACK}:{self.tls_port}/cache"

    @property
    def cert(self) -> Path:
        """The server's certificate: trust it with SSL_CERT_FILE."""
        return self.prefix / "cert.pem"

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/cache"

    @property
    def readonly_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/readonly"

    @property
    def store(self) -> Path:
        """Where the objects land: ``store/cas/<sha>``, ``store/ac/<key>``."""
        return self.prefix / "store" / "cache"

    def start(self) -> None:
        binary = nginx_binary()
        assert binary is not None
        conf = self.prefix / "nginx.conf"
        # A root master runs its workers as `nobody`, who may not write here: run them as us.
        tls_listen = ""
        if self.tls_port is not None:
            if not self.cert.exists():
                self_signed(self.cert, self.prefix / "key.pem")
            tls_listen = (
                f"listen {LOOPBACK}:{self.tls_port} ssl; ssl_certificate {self.cert}; "
                f"ssl_certificate_key {self.prefix / 'key.pem'};"
            )
        user = ""
        if os.geteuid() == 0:
            user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(0).gr_name};\n"
        conf.write_text(
            _NGINX_CONF.format(
                user=user,
                prefix=self.prefix,
                host=LOOPBACK,
                port=self.port,
                store=self.prefix / "store",
                keepalive_requests=self.keepalive_requests,
                tls_listen=tls_listen,
            ),
            encoding="utf-8",
        )
        self.store.mkdir(parents=True, exist_ok=True)
        log = str(self.prefix / "error.log")
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf), "-p", str(self.prefix), "-e", log, "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc)

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None


@contextlib.contextmanager
def nginx_server(
    prefix: Path, *, keepalive_requests: int = 100000, tls: bool = False
) -> Iterator[Nginx]:
    """nginx on a free loopback port with everything under ``prefix``; stopped on exit.
    ``tls``: HTTPS too, on another port (needs ``cryptography`` to make the certificate)."""
    prefix.mkdir(parents=True, exist_ok=True)
    server = Nginx(prefix, free_port(), keepalive_requests, free_port() if tls else None)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def self_signed(cert: Path, key: Path) -> None:
    """A certificate for 127.0.0.1 and 127.0.0.2 (IP address SANs), signed by its own key."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                # 127.0.0.2 too: a host that is not skipped as loopback, for proxy tests
                [x509.IPAddress(ipaddress.ip_address(ip)) for ip in (LOOPBACK, "127.0.0.2")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


# Environment for an S3 client talking to moto: fake keys, no host config, no metadata service.
def s3_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@dataclass
class Moto:
    """A running moto S3 server; ``endpoint`` is its URL."""

    port: int
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc)

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None

    def create_bucket(self, name: str) -> None:
        """moto accepts an unsigned CreateBucket; no AWS client needed."""
        import httpx

        httpx.put(f"{self.endpoint}/{name}").raise_for_status()


@contextlib.contextmanager
def moto_server() -> Iterator[Moto]:
    """moto's S3 on a free loopback port; stopped on exit. Buckets live in memory."""
    server = Moto(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- one of three remotes, for parametrized tests ----------------------------------------

BACKENDS = ("file", "http", "s3")
_buckets = itertools.count()


@dataclass
class Backend:
    """A remote cache a test can stop and start again; ``env`` is what clients need."""

    name: str
    url: str
    server: Any = None
    path: Path | None = None  # file:// only
    env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        else:  # a directory "goes down" as a disk that is not mounted: a file in its place
            assert self.path is not None
            self.path.rename(self.path.with_suffix(".away"))
            self.path.write_bytes(b"not mounted")

    def start(self) -> None:
        if self.server is not None:
            self.server.start()
        else:
            assert self.path is not None
            self.path.unlink()
            self.path.with_suffix(".away").rename(self.path)


def have_moto() -> bool:
    return (
        importlib.util.find_spec("moto") is not None
        and importlib.util.find_spec("s3fs") is not None
    )


@contextlib.contextmanager
def remote_backend(
    kind: str, tmp_path: Path, moto: Callable[[], Moto], setenv: Callable[[str, str], None]
) -> Iterator[Backend]:
    """A fresh remote of ``kind`` (file, http or s3), skipping the test when its server is
    not installed. ``moto`` gives a running moto (shared: a bucket per test), and
    ``setenv`` sets what S3 clients in this process need."""
    if kind == "file":
        root = tmp_path / "shared"
        root.mkdir()
        yield Backend("file", root.as_uri(), path=root)
    elif kind == "http":
        if nginx_binary() is None:
            pytest.skip("nginx is not installed (.ci/run installs Debian's nginx)")
        with nginx_server(tmp_path / "nginx") as server:
            yield Backend("http", server.url, server)
    else:
        if not have_moto():
            pytest.skip("needs moto[server] and s3fs (the test and s3 extras)")
        s3 = moto()
        env = s3_env(s3.endpoint)
        for key, value in env.items():
            setenv(key, value)
        bucket = f"team-assets-{next(_buckets)}"
        s3.create_bucket(bucket)
        yield Backend("s3", f"s3://{bucket}/assetgen/cache", s3, env=env)
        if s3.proc is None:  # the test stopped it: back up for the next (buckets are lost)
            s3.start()
