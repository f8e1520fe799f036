"""Derived files in a build: rendered in a process pool as soon as their master is ready.

Image codecs hold the interpreter lock for long stretches, so renders run in worker
processes (one task per asset: its master is sent once), or in a thread where a pool
cannot start. Each file is taken from the cache by its recipe hash when it is there,
else rendered and verified (it decodes, at the pixel size its recipe makes); then
cached, written by temp file and rename, and recorded in the asset's lock entry.
A file edited by hand (plan action ``modified``) is never touched here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

import anyio

from ..cache.derived import put_derived, read_derived
from ..derive.recipe import recipe_hash_json
from ..errors import AssetgenError, DiskFullError
from ..imaging import worker_context
from ..lock.model import DerivedEntry, LockEntry
from ..plan.actions import DerivedAction
from ..spec import AssetSpec
from .context import BuildContext
from .outputs import file_sha256, read_verified, remove_if_unchanged, write_output

Rendered = tuple[bytes, int, int] | str  # (bytes, width, height), or why it failed


def render_files(master: bytes, recipes: Sequence[str]) -> list[Rendered]:
    """Render and verify each canonical recipe from ``master`` (in a worker process)."""
    from ..derive import engine

    out: list[Rendered] = []
    size: tuple[int, int] | None = None
    for text in recipes:
        recipe = json.loads(text)
        try:
            if size is None:
                size = _image_size(master)
            data = engine.render(master, recipe)
            want = engine.output_size(size, recipe)
            got = (0, 0) if want is None else _image_size(data)
            if want is not None and got != tuple(want):
                raise AssetgenError(
                    f"rendered {got[0]}x{got[1]}, not the recipe's {want[0]}x{want[1]}"
                )
            out.append((data, got[0], got[1]))
        except (AssetgenError, OSError, ValueError) as exc:
            out.append(str(exc).splitlines()[0] or type(exc).__name__)
    return out


def _image_size(data: bytes) -> tuple[int, int]:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()  # the whole image decodes: a truncated file fails here
        width, height = im.size
        return int(width), int(height)


class DeriveSteps(BuildContext):
    """The derive steps of the executor (run.py starts them; jobs.py makes masters)."""

    _pool: Executor | None = None
    _pool_failed = False

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
        """Make, restore or delete asset ``name``'s derived files, then record them."""
        entry = self.changes.get(name, self.lock.entries.get(name))
        if entry is None or self.stopping:
            return  # stopping, or no master (said on its line): the next build derives them
        locked = {d.path: d for d in entry.derived}
        by_path = {d.path: d for d in planned}
        done: dict[str, DerivedEntry | None] = {}
        todo: list[tuple[str, str, str, DerivedEntry | None]] = []  # path, recipe, hash, old
        for path, canon in spec.derived if spec is not None else ():
            d = by_path.get(path)
            old = locked.get(path) or (d.locked if d is not None else None)
            if d is not None and d.action == "modified":
                continue  # edited by hand: kept, with its old record
            h = recipe_hash_json(entry.sha256, canon)
            if old is not None and old.recipe == h and (d is None or d.action == "noop"):
                continue  # unchanged (a restored or moved master keeps its bytes)
            todo.append((path, canon, h, old))
        for d in planned:
            if d.action == "delete" and d.locked is not None:
                await anyio.to_thread.run_sync(self._remove_derived, d)
                done[d.path] = None
        if todo:
            made = await self._make(name, entry, todo)
            done.update(made)
        self._record(name, spec, entry, done)

    async def _make(
        self, name: str, entry: LockEntry, todo: list[tuple[str, str, str, DerivedEntry | None]]
    ) -> dict[str, DerivedEntry | None]:
        done: dict[str, DerivedEntry | None] = {}
        render: list[tuple[str, str, str, DerivedEntry | None]] = []
        for item in todo:
            path, _, h, old = item
            data = await anyio.to_thread.run_sync(read_derived, self.cache, h)
            if data is None:
                render.append(item)
                continue
            got = await anyio.to_thread.run_sync(
                self._write_derived, name, path, h, data, old, None
            )
            if got is not None:
                done[path] = got
                self.summary.derived_cached += 1
        if not render:
            return done
        master = await anyio.to_thread.run_sync(self._master_bytes, entry)
        if master is None:
            self._derive_failed(
                name,
                [],
                "its master's bytes are neither on disk nor in the cache",
                [p for p, *_ in render],
            )
            return done
        async with self._derive_slots:
            results = await self._render(master, [canon for _, canon, _, _ in render])
        for (path, _, h, old), result in zip(render, results, strict=True):
            if isinstance(result, str):
                self._derive_failed(name, [], result, [path])
                continue
            got = await anyio.to_thread.run_sync(
                self._write_derived, name, path, h, result[0], old, result[1:]
            )
            if got is not None:
                done[path] = got
        return done

    def _master_bytes(self, entry: LockEntry) -> bytes | None:
        data = read_verified(self.root, entry.path, entry.sha256)
        return data if data is not None else self.cache.read_blob(entry.sha256)

    def _write_derived(
        self,
        name: str,
        path: str,
        h: str,
        data: bytes,
        old: DerivedEntry | None,
        size: Any,
    ) -> DerivedEntry | None:
        """Cache, then write one derived file (a worker thread); None when it failed."""
        try:
            sha = put_derived(self.cache, h, data)
            if size is None:  # from the cache: verified by digest, sized from its header
                size = _cached_size(data, path)
            if file_sha256(self.root, path) != sha:
                write_output(self.root, path, data, derived=True)
        except DiskFullError as exc:
            self._disk_full(exc)
            self._derive_failed(name, [], str(exc).splitlines()[0], [path])
            return None
        except (AssetgenError, OSError) as exc:
            self._derive_failed(name, [], str(exc).splitlines()[0], [path])
            return None
        if old is not None and old.recipe == h and old.sha256 != sha:
            self.summary.derived_rerendered += 1  # same recipe, other bytes: library versions
        self.summary.derived += 1
        return DerivedEntry(path, sha, len(data), int(size[0]), int(size[1]), h)

    def _remove_derived(self, d: DerivedAction) -> None:
        assert d.locked is not None
        folded = d.path.casefold()
        for spec in self.manifest.specs:  # a file the manifest still wants is never removed
            if spec.output.casefold() == folded or any(
                p.casefold() == folded for p, _ in spec.derived
            ):
                return
        if remove_if_unchanged(
            self.root, d.path, d.locked.sha256, self.manifest.output_dir, derived=True
        ):
            self.summary.derived_deleted += 1
        elif os.path.exists(self.root / d.path):
            self.reporter.warn(f"{d.path}: kept, it was modified since it was derived ({d.reason})")

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

    def _derive_failed(
        self, name: str, planned: list[DerivedAction], why: str, paths: list[str] | None = None
    ) -> None:
        for path in paths if paths is not None else [d.path for d in planned if d.work]:
            self.summary.failed += 1
            self.summary.failures.append((f"{name} ({path})", why))


def _cached_size(data: bytes, path: str) -> tuple[int, int]:
    if path.rsplit(".", 1)[-1].lower() in ("json", "webmanifest", "html", "txt", "xml"):
        return (0, 0)
    return _image_size(data)
