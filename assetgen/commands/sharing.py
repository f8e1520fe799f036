"""The commands that share a team's work: `cache push|pull`, `merge-lock`, `init --git`.

Plain functions returning exit codes, like commands.py; kept apart because they
are about other people's checkouts (a remote cache, a git merge) rather than this one.
"""

from __future__ import annotations

import sys
from typing import IO

from ..cache.open import project_cache
from ..cache.tiered import TieredCache
from ..errors import UsageError
from ..project import Project


def _remote_cache(project: Project, verb: str) -> TieredCache:
    manifest = project.load_manifest()
    cache = project_cache(project, manifest, push=False)
    if not isinstance(cache, TieredCache):  # only a remote makes the cache tiered
        raise UsageError(
            f"cache {verb}: no remote cache is set\n"
            "  hint: add `cache: {remote: URL}` to the manifest, or set ASSETGEN_REMOTE_CACHE"
        )
    return cache


def cache_transfer(
    project: Project,
    *,
    push: bool,
    jobs: int | None = None,
    mkdir: bool = False,
    out: IO[str] | None = None,
) -> int:
    """Copy every locked image to the remote (push) or from it into the local cache (pull).

    Exit 1 when some locked image is on neither side or the remote failed; a build
    only warns about a remote, but moving bytes is all this command was asked to do.
    """
    from ..cache.remote.stores import display_url
    from ..cache.sync import DEFAULT_TRANSFER_JOBS, pull_all, push_all

    out = out or sys.stdout
    cache = _remote_cache(project, "push" if push else "pull")
    remote = cache.remote
    if mkdir:
        from ..cache.remote.stores import FileRemote, RemoteError

        if not isinstance(remote, FileRemote):
            raise UsageError(
                "--mkdir is for a file:// remote; other remotes are created by their owners"
            )
        try:
            remote.make_root()
        except RemoteError as exc:
            raise UsageError(f"remote cache: {exc}") from None
    # An adopted edit (`edited`) is not a generation: its bytes live in the project (and
    # git), and a record made from its entry would serve them as its spec's image.
    entries = [e for e in project.load_lock().entries.values() if not e.edited]
    if push:
        stats = push_all(cache.local, remote, entries, jobs=jobs or DEFAULT_TRANSFER_JOBS)
    else:
        with project.exclusive("cache pull"):  # a gc would drop what is not recorded yet
            stats = pull_all(remote, cache.local, entries, jobs=jobs)  # None: per backend
    where = display_url(remote.url)
    verb, direction = ("pushed", "to") if push else ("pulled", "from")
    out.write(
        f"{verb} {stats.copied} image{'s' if stats.copied != 1 else ''} {direction} {where} "
        f"({stats.bytes / 1e6:.1f} MB in {stats.seconds:.2f}s, {stats.mb_per_s:.0f} MB/s); "
        f"{stats.present} already there"
        + (
            f"; {stats.missing} not found on the {'local' if push else 'remote'} side"
            if stats.missing
            else ""
        )
        + (
            f"; {stats.corrupt} corrupt on the remote (bytes that do not match their digest; "
            "not kept)"
            if stats.corrupt
            else ""
        )
        + "\n"
    )
    for problem in stats.problems:
        out.write(f"  {problem}\n")
    if stats.corrupt:
        out.write(
            "  hint: the remote's copies are damaged: remove them there (the cas/ files above "
            "and the ac/ records naming them), then `assetgen cache push` from a clone that "
            "has the images\n"
        )
    return 1 if stats.missing or stats.corrupt or stats.problems else 0


def merge_lock(argv: list[str], *, err: IO[str] | None = None) -> int:
    """``assetgen merge-lock BASE OURS THEIRS [PATH]``: the git merge driver (lockmerge.py)."""
    from ..lock.merge import main

    return main(argv, err=err)


def init_git(project: Project, *, out: IO[str] | None = None) -> int:
    """Send the lock to assetgen's merge driver: ``.gitattributes`` plus the config line."""
    from ..lock.merge import gitattributes_setup

    out = out or sys.stdout
    out.write(gitattributes_setup(project.root, project.lock_path.name) + "\n")
    return 0
