"""Opening a remote cache from its URL: a directory, ``http(s)://`` or ``s3://``."""

from __future__ import annotations

from urllib.parse import urlsplit

from ...errors import UsageError
from ...urls import has_control_character
from .stores import (
    DEFAULT_CONNECTIONS,
    FileRemote,
    RemoteStore,
    S3Remote,
    display_url,
    remote_timeout,
)


def open_remote(
    url: str, *, timeout: float | None = None, connections: int = DEFAULT_CONNECTIONS
) -> RemoteStore:
    """The backend for ``url``: ``file://``, ``http(s)://`` or ``s3://``.

    Args:
        url: the remote's base; objects live under ``<url>/cas/`` and ``<url>/ac/``.
        timeout: connect timeout in seconds (default ``remote_timeout()``).
        connections: how many requests may be in flight at once (the pool size).

    Raises:
        UsageError: an unknown scheme, a malformed URL, or s3fs not installed.
    """
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as exc:  # "https://[::1:1/x": the backends would parse it again
        raise UsageError(
            f"remote cache {display_url(url)}: not a valid URL ({exc})\n"
            "  hint: write it as file:///shared/dir, http(s)://host/path or s3://bucket/prefix"
        ) from None
    if has_control_character(url):
        raise UsageError(
            f"remote cache {display_url(url)!r}: a control character (or its %-escape) is "
            "in the URL\n  hint: write the URL without it"
        )
    connect = remote_timeout() if timeout is None else timeout
    if scheme == "file":
        return FileRemote(url)
    if scheme in ("http", "https"):
        from .http import HttpRemote

        return HttpRemote(url, timeout=connect, connections=connections)
    if scheme == "s3":
        return S3Remote(url, timeout=connect, connections=connections)
    raise UsageError(
        f"remote cache {display_url(url)}: unknown scheme `{scheme or url}`\n"
        "  hint: use file:///shared/dir, http(s)://host/path or s3://bucket/prefix"
    )
