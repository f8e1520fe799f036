"""Remote cache backends: a shared disk, an HTTP cache server, or an S3 bucket.

Every backend stores two kinds of object under one base, with the layout of Bazel's
HTTP remote cache so that bazel-remote, an nginx WebDAV location or a plain
directory can serve it::

    <base>/cas/<sha256 of the bytes>   image bytes
    <base>/ac/<spec hash hex>          the CacheRecord JSON (see records.py)

A backend moves bytes and nothing else: it never raises anything but
``RemoteError`` subclasses, and the caller (``tiered.TieredCache``,
``sync``) decides that a failure is a warning, not a failed build.
Uploads are never visible half-written: a file is renamed into place, nginx's dav
module writes a temp file and renames it, an S3 PUT is atomic. Credentials come
from each backend's own environment and config (``~/.netrc`` or the URL's user
info for HTTP, the AWS chain for S3), never from the lock.

bazel-remote checks ``/ac/`` uploads as ActionResult protobufs unless started with
``--disable_http_ac_validation``; assetgen's records are JSON.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from ...errors import UsageError
from ...fsutil import atomic_write
from .fanout import Feed, run_workers

Kind = Literal["cas", "ac"]
Blob = bytes | bytearray  # what a GET gives: a bytearray when read in place, uncopied
Sink = Callable[[str, "Blob | None"], None]  # takes each fetched key's bytes (None: absent)
TIMEOUT_ENV = "ASSETGEN_REMOTE_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT = 3.0  # a remote that is down must not hold a build up for long
READ_TIMEOUT = 60.0  # a remote that answers may be slow; a stuck one still ends
DEFAULT_CONNECTIONS = 16  # a bound on the pool; transfers pick their own concurrency
_KEY = re.compile(r"[0-9a-f]{64}")


class RemoteError(Exception):
    """Base of what a backend raises; never leaves the cache layer during a build."""


class RemoteUnavailable(RemoteError):
    """The remote did not answer usefully: unreachable, timed out, 5xx, auth refused."""


class UploadRefused(RemoteError):
    """The remote serves reads but refused a write (read-only credentials, no PUT)."""


class RemoteCorrupt(RemoteError):
    """An object whose bytes do not match its key; it is never used."""


class RemoteStore(Protocol):
    """Bytes by (kind, key) on a shared store; ``key`` is 64 lowercase hex digits."""

    url: str  # for messages: no credentials in it

    def get(self, kind: Kind, key: str) -> Blob | None:
        """The object's bytes, or None when it is absent (unverified: see ``get_blob``)."""
        ...

    def put(self, kind: Kind, key: str, data: bytes) -> None:
        """Store a complete object; readers see the old object or the new one, never a part."""
        ...

    def exists(self, kind: Kind, key: str) -> bool:
        """Whether the object is there, without transferring it."""
        ...

    def get_each(self, kind: Kind, keys: Iterable[str], sink: Sink, *, jobs: int) -> None:
        """``get`` every key, ``jobs`` at a time, handing each answer to ``sink`` as it
        arrives: in any order, from up to ``jobs`` threads at once. Stops at the first
        exception (a RemoteError, or whatever ``sink`` raised) and raises it."""
        ...

    def close(self) -> None: ...


def get_each_threaded(
    remote: RemoteStore, kind: Kind, keys: Iterable[str], sink: Sink, *, jobs: int
) -> None:
    """``RemoteStore.get_each`` from ``get`` calls in ``jobs`` threads, each passing its
    answers on itself: for backends without a cheaper way to ask for many."""
    feed = Feed(keys)

    def work(stop: threading.Event) -> None:
        while not stop.is_set() and (batch := feed.take(1)):
            sink(batch[0], remote.get(kind, batch[0]))

    run_workers(work, max(1, jobs), "assetgen-get")


def get_blob(remote: RemoteStore, sha256: str) -> Blob | None:
    """The bytes with this digest from ``remote``, verified; RemoteCorrupt when they differ."""
    data = remote.get("cas", sha256)
    if data is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise RemoteCorrupt(f"cas/{sha256} does not match its digest")
    return data


def remote_timeout() -> float:
    """The connect timeout in seconds: ``$ASSETGEN_REMOTE_TIMEOUT`` or 3."""
    text = os.environ.get(TIMEOUT_ENV)
    if not text:
        return DEFAULT_CONNECT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise UsageError(f"{TIMEOUT_ENV}={text}: use a number of seconds, like 3 or 0.5")
    return value


def display_url(url: str) -> str:
    """``url`` without user info, for messages: a password never reaches a log."""
    try:
        parts = urlsplit(url)
    except ValueError:  # malformed: cut what could be user info by hand
        scheme, sep, rest = url.partition("://")
        netloc, slash, path = rest.partition("/")
        return f"{scheme}{sep}{netloc.rsplit('@', 1)[-1]}{slash}{path}"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


class FileRemote:
    """A directory, usually on a shared disk: ``file:///mnt/team/assetgen-cache``.

    Same layout as the HTTP store, so nginx can serve the very same directory.
    Objects are written to a temp file beside their final name and renamed, with
    fsync: a shared disk outlives any one process writing to it.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise UsageError(
                f"remote cache {url}: a file URL names a local path, like file:///srv/cache"
            )
        from urllib.request import url2pathname  # 16 ms of imports: only for a file:// remote

        self.url = url
        self.root = Path(url2pathname(parts.path))
        self._root_seen = False

    def make_root(self) -> None:
        """Create the remote's folder (``cache push --mkdir``): never done unasked."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RemoteUnavailable(f"cannot create {self.root} ({exc.strerror or exc})") from exc

    def _checked(self, kind: Kind, key: str) -> Path:
        # A share that is not mounted must not quietly become a folder on the local disk
        # (writes) or a cache that never hits (reads): the folder must already exist.
        if not self._root_seen:
            if not self.root.is_dir():
                raise RemoteUnavailable(
                    f"{self.root} does not exist (a shared folder that is not mounted?); "
                    "mount it, or create it with `assetgen cache push --mkdir`"
                )
            self._root_seen = True
        return self.root / _check(kind, key)

    def get(self, kind: Kind, key: str) -> bytes | None:
        path = self._checked(kind, key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RemoteUnavailable(f"cannot read ({exc.strerror or exc})") from exc

    def put(self, kind: Kind, key: str, data: bytes) -> None:
        path = self._checked(kind, key)
        try:
            atomic_write(path, data)
        except PermissionError as exc:
            raise UploadRefused(f"cannot write ({exc.strerror or exc})") from exc
        except OSError as exc:
            raise RemoteUnavailable(f"cannot write ({exc.strerror or exc})") from exc

    def exists(self, kind: Kind, key: str) -> bool:
        return self._checked(kind, key).is_file()

    def get_each(self, kind: Kind, keys: Iterable[str], sink: Sink, *, jobs: int) -> None:
        get_each_threaded(self, kind, keys, sink, jobs=jobs)

    def close(self) -> None:
        pass


class S3Remote:
    """An S3 (or S3-compatible) bucket through s3fs: ``s3://bucket/prefix``.

    Endpoint, region and credentials come from the AWS chain (``AWS_ENDPOINT_URL``,
    ``AWS_PROFILE``, ``~/.aws/config``, instance roles...). A PUT of a whole object
    is atomic in S3. Retries are kept to one so a down endpoint is noticed quickly.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_CONNECT_TIMEOUT,
        connections: int = DEFAULT_CONNECTIONS,
    ) -> None:
        try:
            s3fs = importlib.import_module("s3fs")  # an extra, and untyped
        except ImportError:
            raise UsageError(
                f"remote cache {display_url(url)}: s3:// needs the s3 extra\n"
                "  hint: pip install 'assetgen-cli[s3]'"
            ) from None
        parts = urlsplit(url)
        if not parts.netloc:
            raise UsageError(f"remote cache {url}: name a bucket, like s3://bucket/prefix")
        self.url = url
        self._base = f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/")
        self._bucket = parts.netloc
        self._prefix = parts.path.strip("/")
        self._fs: Any = s3fs.S3FileSystem(
            skip_instance_cache=True,
            use_listings_cache=False,
            config_kwargs={
                "connect_timeout": timeout,
                "read_timeout": READ_TIMEOUT,
                "retries": {"total_max_attempts": 2, "mode": "standard"},
                "max_pool_connections": connections,
            },
        )
        self._fs.retries = 1  # s3fs's own retry loop, on top of botocore's

    def _path(self, kind: Kind, key: str) -> str:
        return f"{self._base}/{_check(kind, key)}"

    def _do(self, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except FileNotFoundError:
            if what == "PUT":  # the bucket itself is missing
                raise RemoteUnavailable("no such bucket") from None
            return None
        except PermissionError as exc:
            if what == "PUT":
                raise UploadRefused("access denied on PUT") from exc
            raise RemoteUnavailable("access denied") from exc
        except Exception as exc:  # botocore and aiohttp raise many unrelated types
            raise RemoteUnavailable(f"unreachable ({type(exc).__name__})") from exc

    def get(self, kind: Kind, key: str) -> bytes | None:
        data: bytes | None = self._do("GET", self._fs.cat_file, self._path(kind, key))
        return data

    def put(self, kind: Kind, key: str, data: bytes) -> None:
        self._do("PUT", self._fs.pipe_file, self._path(kind, key), data)

    def exists(self, kind: Kind, key: str) -> bool:
        # One HEAD: fs.exists() would also list the "directory" on a miss.
        key_name = f"{self._prefix}/{_check(kind, key)}" if self._prefix else _check(kind, key)
        head = self._do("HEAD", self._fs.call_s3, "head_object", Bucket=self._bucket, Key=key_name)
        return head is not None

    def get_each(self, kind: Kind, keys: Iterable[str], sink: Sink, *, jobs: int) -> None:
        get_each_threaded(self, kind, keys, sink, jobs=jobs)

    def close(self) -> None:
        pass


def _check(kind: Kind, key: str) -> str:
    if kind not in ("cas", "ac") or not _KEY.fullmatch(key):
        raise ValueError(f"not a cache key: {kind}/{key}")  # a bug: keys are our own digests
    return f"{kind}/{key}"
