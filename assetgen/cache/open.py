"""Opening the cache a project uses: the local store, alone or in front of a remote one (TieredCache)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from ..project import Project
    from ..spec import Manifest
from .records import Cache
from .store import CACHE_ENV, REMOTE_ENV, LocalCache


def cache_root(project: Project) -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else project.state_dir / "cache"


def open_cache(
    project: Project,
    remote: str | None = None,
    *,
    push: bool = True,
    on_warning: Callable[[str], None] | None = None,
) -> Cache:
    """The project's cache: the local directory, behind which a remote one when configured.

    Args:
        remote: the remote cache URL (``file://``, ``http(s)://``, ``s3://``); None
            reads ``$ASSETGEN_REMOTE_CACHE``, and ``""`` means none at all.
        push: upload what this process generates (``build --no-push`` passes False).
        on_warning: where the one remote-failure warning goes (default: stderr).

    Returns a LocalCache, or a TieredCache wrapping one when there is a remote. Call
    ``close()`` on it when done: for a TieredCache it waits for uploads; for a
    LocalCache it does nothing.

    Raises:
        UsageError: a remote URL with an unknown scheme, or s3:// without s3fs.
    """
    url = remote_url(None) if remote is None else remote
    if not url:
        return local_cache(project)
    from .remote.connect import open_remote
    from .tiered import TieredCache

    remote_store = open_remote(url)
    return TieredCache(local_cache(project), remote_store, push=push, on_warning=on_warning)


def local_cache(project: Project) -> LocalCache:
    """The project's local cache directory alone: for what only concerns this
    checkout (``cache info|gc``, adopted edits), never a remote."""
    return LocalCache(cache_root(project))


def remote_url(manifest: Manifest | None) -> str:
    """The remote cache to use: ``$ASSETGEN_REMOTE_CACHE``, else the manifest's
    ``cache.remote``; ``none`` in the variable turns a manifest's remote off."""
    env = os.environ.get(REMOTE_ENV, "").strip()
    if env.lower() == "none":
        return ""
    return env or (manifest.remote_cache if manifest is not None else None) or ""


def project_cache(project: Project, manifest: Manifest | None, *, push: bool) -> Cache:
    """The cache for commands that read or build: local, behind the remote when one is set."""
    url = remote_url(manifest)
    try:
        return open_cache(project, url, push=push)
    except UsageError as exc:
        if url != os.environ.get(REMOTE_ENV, "").strip():
            raise
        raise UsageError(f"{REMOTE_ENV}: {exc}") from None  # say where the URL came from
