"""Derived files in a build: rendered in a process pool as soon as their master is ready.

Image codecs hold the interpreter lock for long stretches, so renders run in worker
processes (one task per asset: its master is sent once), or in a thread where a pool
cannot start. Each file is taken from the cache by its recipe hash when it is there,
else rendered and verified (it decodes, at the pixel size its recipe makes); then
cached, written by temp file and rename, and recorded in the asset's lock entry.
A file edited by hand (plan action ``modified``) is never touched here.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import anyio

from ..cache.derived import put_derived, read_derived
from ..derive.recipe import recipe_hash_json
from ..errors import AssetgenError, DiskFullError
from ..imagesize import header_size
from ..imaging import worker_context
from ..lock.model import DerivedEntry, LockEntry
from ..outpaths import shown, use_problem
from ..plan.actions import DerivedAction
from ..spec import AssetSpec
from .context import BuildContext
from .outputs import file_sha256, read_verified, remove_if_unchanged, write_output

Rendered = tuple[bytes, int, int] | str  # (bytes, width, height), or why it failed


class _Todo(NamedTuple):
    """One derived file to make: its path, canonical recipe, recipe hash, old record."""

    path: str
    canon: str
    hash: str
    old: DerivedEntry | None


def render_files(master: bytes, recipes: Sequence[str]) -> list[Rendered]:
    """Render and verify each canonical recipe from ``master`` (in a worker process).

    Any exception fails its own recipe only (a bad param, a decompression bomb, a bug
    in one template): the other files and the build go on."""
    from ..derive import engine

    head = header_size(master)  # the master's size from its header: render decodes it
    out: list[Rendered] = []
    for text in recipes:
        try:
            if head is None:
                raise AssetgenError("the master is not an image assetgen can read")
            recipe = json.loads(text)
            data = engine.render(master, recipe)
            want = engine.output_size((head[1], head[2]), recipe)
            got = (0, 0) if want is None else _decoded_size(data)
            if want is not None and got != tuple(want):
                raise AssetgenError(
                    f"rendered {got[0]}x{got[1]}, not the recipe's {want[0]}x{want[1]}"
                )
            out.append((data, got[0], got[1]))
        except Exception as exc:  # one recipe's failure, reported as such
            out.append(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return out


def _decoded_size(data: bytes) -> tuple[int, int]:
    """The size of a rendered file, decoded in full: a truncated file fails here."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()
        width, height = im.size
        return int(width), int(height)


def served_size(data: bytes, canon: str, master: tuple[int, int]) -> tuple[int, int] | None:
    """The pixel size of bytes the cache serves for ``canon`` (0 x 0 for text), or None
    when they are not that recipe's file: another format, another size, not text.

    Read from the header only (no decode in the build's own process); a wrong blob is
    a miss, rendered again, rather than a failure every later build repeats."""
    recipe = json.loads(canon)
    if recipe.get("format") == "text":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return None if header_size(data) is not None else (0, 0)
    head = header_size(data)
    if head is None or head[0] != recipe.get("format"):
        return None
    if min(master) > 0:
        from ..derive.engine import output_size

        if output_size(master, recipe) != (head[1], head[2]):
            return None
    return head[1], head[2]


class DeriveSteps(BuildContext):
    """The derive steps of the executor (run.py starts them; jobs.py makes masters)."""

    _pool: Executor | None = None
    _pool_failed = False
    _wanted: frozenset[str] | None = None  # _wanted_paths, made once

    def _start_pool(self) -> Executor | None:
        if self._pool is None and not self._pool_failed:
            try:
                self._pool = ProcessPoolExecutor(
                    max_workers=max(1, os.cpu_count() or 1), mp_context=worker_context()
                )
            except (OSError, NotImplementedError):
                self._pool_failed = True  # no processes here (a sandbox): render in a thread
        return self._pool

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    async def _render(self, master: bytes, recipes: list[str]) -> list[Rendered]:
        pool = self._start_pool()
        if pool is not None:
            try:
                future = pool.submit(render_files, master, recipes)
                return await anyio.to_thread.run_sync(future.result)
            except (OSError, NotImplementedError, BrokenProcessPool):
                self._pool_failed = True
                self._pool = None
        return await anyio.to_thread.run_sync(render_files, master, recipes)

    async def _derive(
        self, spec: AssetSpec | None, name: str, planned: list[DerivedAction]
    ) -> None:
        """Make, restore or delete asset ``name``'s derived files, then record them.

        Workers (threads, processes) return what happened; the summary is counted
        here, on the event loop, never from two threads at once."""
        entry = self.changes.get(name, self.lock.entries.get(name))
        if entry is None or self.stopping:
            return  # stopping, or no master (said on its line): the next build derives them
        locked = {d.path: d for d in entry.derived}
        by_path = {d.path: d for d in planned}
        done: dict[str, DerivedEntry | None] = {}
        todo: list[_Todo] = []
        for path, canon in spec.derived if spec is not None else ():
            d = by_path.get(path)
            old = locked.get(path) or (d.locked if d is not None else None)
            if d is not None and d.action == "modified":
                continue  # edited by hand: kept, with its old record
            h = recipe_hash_json(entry.sha256, canon)
            if old is not None and old.recipe == h and (d is None or d.action == "noop"):
                continue  # unchanged (a restored or moved master keeps its bytes)
            todo.append(_Todo(path, canon, h, old))
        deletes = [d for d in planned if d.action == "delete" and d.locked is not None]
        if deletes:
            wanted = self._wanted_paths()
            for d in deletes:
                removed, why = await anyio.to_thread.run_sync(self._remove_derived, d, wanted)
                if removed:
                    self.summary.derived_deleted += 1
                elif why is not None:
                    self.reporter.warn(why)
                done[d.path] = None
        if todo:
            made = await self._make(name, entry, todo)
            done.update(made)
        self._record(name, spec, entry, done)

    async def _make(
        self, name: str, entry: LockEntry, todo: list[_Todo]
    ) -> dict[str, DerivedEntry | None]:
        done: dict[str, DerivedEntry | None] = {}
        render: list[_Todo] = []
        for item in todo:
            served = await anyio.to_thread.run_sync(self._served, entry, item)
            if served is None:
                render.append(item)
                continue
            got = await self._write(name, item, *served, served=True)
            if got is not None:
                done[item.path] = got
                self.summary.derived_cached += 1
        if not render:
            return done
        master = await anyio.to_thread.run_sync(self._master_bytes, entry)
        if master is None:
            why = "its master's bytes are neither on disk nor in the cache"
            self._derive_failed(name, why, [t.path for t in render])
            return done
        async with self._derive_slots:
            results = await self._render(master, [t.canon for t in render])
        for item, result in zip(render, results, strict=True):
            if isinstance(result, str):
                self._derive_failed(name, result, [item.path])
                continue
            got = await self._write(name, item, result[0], (result[1], result[2]))
            if got is not None:
                done[item.path] = got
        return done

    def _served(self, entry: LockEntry, item: _Todo) -> tuple[bytes, tuple[int, int]] | None:
        """The file's bytes from the cache and their size, or None (render it).

        A restore (same recipe hash as the lock's) takes the locked bytes first, by
        their digest, then whatever the index holds for the recipe hash; either only
        when it is that recipe's file (``served_size``)."""
        master = (entry.width, entry.height)
        old = item.old
        if old is not None and old.recipe == item.hash:
            data = self.cache.read_blob(old.sha256)
            # The Cache protocol promises verified bytes; these are about to be written
            # into the project, so a cache that broke it costs a hash, not a wrong file.
            if data is not None and hashlib.sha256(data).hexdigest() == old.sha256:
                size = served_size(data, item.canon, master)
                if size is not None:
                    return data, size
        data = read_derived(self.cache, item.hash)
        if data is None:
            return None
        size = served_size(data, item.canon, master)
        return None if size is None else (data, size)

    async def _write(
        self, name: str, item: _Todo, data: bytes, size: tuple[int, int], *, served: bool = False
    ) -> DerivedEntry | None:
        """Cache and write one file (in a worker thread), then count it; None: failed.
        ``served``: the bytes came from the cache, not from a render."""
        try:
            got = await anyio.to_thread.run_sync(self._write_derived, item, data, size)
        except DiskFullError as exc:
            self._disk_full(exc)
            self._derive_failed(name, str(exc).splitlines()[0], [item.path])
            return None
        except (AssetgenError, OSError) as exc:
            self._derive_failed(name, str(exc).splitlines()[0], [item.path])
            return None
        old = item.old
        if not served and old is not None and old.recipe == item.hash and old.sha256 != got.sha256:
            self.summary.derived_rerendered += 1  # same recipe, other bytes: library versions
        self.summary.derived += 1
        return got

    def _master_bytes(self, entry: LockEntry) -> bytes | None:
        data = read_verified(self.root, entry.path, entry.sha256)
        return data if data is not None else self.cache.read_blob(entry.sha256)

    def _write_derived(self, item: _Todo, data: bytes, size: tuple[int, int]) -> DerivedEntry:
        """Cache, then write one derived file (a worker thread: it changes no counter)."""
        sha = put_derived(self.cache, item.hash, data)
        if file_sha256(self.root, item.path) != sha:
            write_output(self.root, item.path, data, derived=True)
        return DerivedEntry(item.path, sha, len(data), int(size[0]), int(size[1]), item.hash)

    def _wanted_paths(self) -> frozenset[str]:
        """Every path the manifest writes (images and derived files), case-folded: built
        once per build, so a delete is a set lookup."""
        if self._wanted is None:
            self._wanted = frozenset(
                p.casefold()
                for spec in self.manifest.specs
                for p in (spec.output, *(path for path, _ in spec.derived))
            )
        return self._wanted

    def _remove_derived(self, d: DerivedAction, wanted: frozenset[str]) -> tuple[bool, str | None]:
        """Delete a derived file whose recipe is gone: (removed, why it was kept or None).

        Only a file assetgen derived: its locked bytes are in the cache (every derived
        file goes through ``put_derived``). A lock naming some other file of the output
        folder (an index.html with its own digest) deletes nothing; the record is
        dropped from the lock all the same."""
        assert d.locked is not None
        if d.path.casefold() in wanted:
            return False, None  # a file the manifest still wants is never removed
        where = shown(d.path)
        problem = use_problem(self.root, d.path, self.manifest.output_dir, derived=True)
        if not _exists(self.root, d.path):
            return False, None
        if problem is not None:
            return False, f"{where}: not deleted, the path {problem}"
        if not self.cache.has_blob(d.locked.sha256):
            return False, (
                f"{where}: kept, the lock's bytes for it are not in the cache (not a file "
                "assetgen derived, or its cache was cleared); dropped from the lock"
            )
        if remove_if_unchanged(
            self.root, d.path, d.locked.sha256, self.manifest.output_dir, derived=True
        ):
            return True, None
        return False, f"{where}: kept, it was modified since it was derived ({d.reason})"

    def _record(
        self,
        name: str,
        spec: AssetSpec | None,
        entry: LockEntry,
        done: dict[str, DerivedEntry | None],
    ) -> None:
        """The asset's lock entry with its derived files, in the manifest's order."""
        locked = {d.path: d for d in entry.derived}
        derived: list[DerivedEntry] = []
        for path, _ in spec.derived if spec is not None else ():
            if path in done:
                new = done[path]
                if new is not None:
                    derived.append(new)
            elif path in locked:
                derived.append(locked[path])  # unchanged, kept, or failed: its old record
        if spec is None:
            return
        new_entry = replace(entry, derived=tuple(derived))
        if new_entry != entry:
            self.changes[name] = new_entry
            self._dirty = True

    def _derive_failed(self, name: str, why: str, paths: list[str]) -> None:
        for path in paths:
            self.summary.failed += 1
            self.summary.failures.append((f"{name} ({path})", why))


def _exists(root: Path, rel: str) -> bool:
    try:
        return os.path.lexists(root / rel)
    except (OSError, ValueError):  # a NUL in a hostile path
        return False
