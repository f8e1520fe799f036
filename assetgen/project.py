"""A project on disk: where its manifest, lock, outputs and local state live.

This is the edge where the pure stages meet the file system: it reads the manifest
and the lock (through memos keyed by their bytes, so an unchanged project skips YAML
and schema work), stats outputs through the stat cache, and hands plain values to
the planner.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import memo
from .errors import BuildLockedError, LockfileError, UsageError
from .lock.cost import priced
from .lock.model import Lockfile, yaml_str
from .lock.read import read_lock
from .outpaths import output_dir_problem
from .plan.paid import journalled_tasks, mark_paid
from .plan.planner import Plan, make_plan
from .providers import PROVIDERS, is_provider, unknown_provider_hint
from .spec import Manifest
from .statcache import StatCache

MANIFEST_NAME = "assetgen.yaml"
STATE_DIR = ".assetgen"


@dataclass(frozen=True)
class Project:
    root: Path
    manifest_path: Path

    @property
    def lock_path(self) -> Path:
        return self.manifest_path.with_suffix(".lock")

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def state_file(self, name: str) -> Path:
        return self.state_dir / f"{self.manifest_path.stem}.{name}"

    def page_dir(self, name: str) -> Path:
        """``.assetgen/<name>/`` for ``assetgen.yaml``; ``.assetgen/<stem>.<name>/`` for another
        manifest, so two manifests in one folder keep their own pages (gallery, diff)."""
        stem = self.manifest_path.stem
        return self.state_dir / (name if stem == "assetgen" else f"{stem}.{name}")

    @property
    def running_marker(self) -> Path:
        """Present while a build runs; still there at the next start means it was killed."""
        return self.state_file("building")

    def display(self, path: Path) -> str:
        """A path as the user should see it: relative to where they ran assetgen, when it can be."""
        try:
            rel = os.path.relpath(path)
        except ValueError:
            return str(path)
        return str(path) if rel.startswith("..") else rel

    def ensure_state_dir(self) -> Path:
        """``.assetgen/`` with its own ``.gitignore``, so it never shows up in ``git status``."""
        d = self.state_dir
        if not d.is_dir():
            if d.exists() or d.is_symlink():  # mkdir would say only "File exists"
                shown = self.display(d)
                what = "a file" if d.exists() else "a broken symlink"
                move = f"mv {shlex.quote(shown)} {shlex.quote(shown + '.old')}"
                raise UsageError(
                    f"{shown}: is {what}, not assetgen's state folder\n"
                    f"  hint: move it away (`{move}`): assetgen keeps its cache and journal "
                    f"in the folder {STATE_DIR}/"
                )
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageError(
                    f"{self.display(d)}: cannot create assetgen's state folder ({exc.strerror})\n"
                    "  hint: build in a writable checkout"
                ) from None
        ignore = d / ".gitignore"
        if not ignore.exists():
            with contextlib.suppress(OSError):
                ignore.write_text("# machine-local assetgen state\n*\n", encoding="utf-8")
        return d

    @contextlib.contextmanager
    def exclusive(self, what: str) -> Iterator[None]:
        """Hold the project's lock (``.assetgen/build.lock``) for ``what`` ("build",
        "cache gc", "cache pull"): what writes the lock or the cache runs one at a
        time, so a gc never drops what a running build or pull has stored but not yet
        recorded. Raises BuildLockedError when another holds it."""
        from filelock import FileLock, Timeout

        guard = FileLock(str(self.ensure_state_dir() / "build.lock"))
        try:
            guard.acquire(timeout=0)
        except Timeout:
            raise BuildLockedError(
                f"{what}: another assetgen build or cache command is running in "
                f"{self.display(self.root)}\n"
                "  hint: wait for it to finish (one at a time per project)"
            ) from None
        try:
            yield
        finally:
            guard.release()

    def load_manifest(self, provider: str | None = None, *, remember: bool = True) -> Manifest:
        """The resolved manifest; ``remember`` lets a valid one create ``.assetgen/`` for memos."""
        try:
            data = self.manifest_path.read_bytes()
        except FileNotFoundError:
            raise UsageError(
                f"{self.display(self.manifest_path)}: no manifest here"
                f"{' or in a parent folder' if self.manifest_path.name == MANIFEST_NAME else ''}\n"
                "  hint: run `assetgen init` to write one, or point at it with -C DIR or -f FILE"
            ) from None
        if provider is not None and not is_provider(provider):
            from .providers import available_providers

            raise UsageError(
                f"unknown provider `{provider}`; known: {', '.join(available_providers())}\n"
                f"  hint: {unknown_provider_hint(provider)}"
            )
        from .manifest.memo import load_manifest

        def parse(text: bytes, origins: dict[str, list[str]] | None) -> Manifest:
            from .manifest.resolve import parse_manifest

            return parse_manifest(
                text,
                self.display(self.manifest_path),
                provider=provider,
                origins=origins,
            )

        def create_state() -> Path | None:
            try:
                self.ensure_state_dir()
            except UsageError:
                return None  # a read-only checkout plans all the same, only slower
            return self.state_file("")

        state = self.state_file("") if self.state_dir.is_dir() else None
        with memo.long_lived():
            manifest = load_manifest(
                data, parse, provider, state, create_state if remember else None
            )
        if manifest.provider not in PROVIDERS and not is_provider(manifest.provider):
            parse(data, None)  # a memo of a plugin since uninstalled: the located error
        return manifest

    def load_lock(self) -> Lockfile:
        memo_path = self.state_file("lock.memo") if self.state_dir.is_dir() else None
        try:
            with memo.long_lived():
                return read_lock(self.lock_path, memo_path)
        except LockfileError as exc:  # a broken lock: say what deleting it would cost
            from .cache.open import cache_root
            from .cache.store import LocalCache

            cache = LocalCache(cache_root(self))
            raise priced(exc, lambda: self.load_manifest(remember=False), cache.has) from None

    def stat_cache(self) -> StatCache:
        with memo.long_lived():
            return StatCache(self.state_dir / "stat.memo" if self.state_dir.is_dir() else None)

    def plan(
        self,
        manifest: Manifest,
        lock: Lockfile,
        is_cached: Callable[[str], bool],
        *,
        force: Iterable[str] = (),
        lookahead: Callable[[list[str]], set[str]] | None = None,
        is_ours: Callable[[str], bool] | None = None,
        has_recipe: Callable[[str], bool] | None = None,
        rederive: Iterable[str] = (),
    ) -> Plan:
        """The plan; ``lookahead`` (``Cache.lookahead``), when given, is first called
        with every spec hash the plan will pass to ``is_cached``, so that a remote cache
        can be asked about them all at once rather than one round trip after another;
        it returns those it can serve, which answer the second pass. (The planner does
        not branch on the answers, so a first pass can list them.) ``is_ours`` is
        make_plan's (``Cache.has_blob``): which files at new paths are assetgen's.
        Generations whose task a stopped build journalled are paid already (paid.py).
        ``has_recipe`` says which derived files the cache holds, by recipe hash.
        ``rederive`` names assets whose derived files are made again (a hand edit
        overwritten) from the master as it is: it reaches the derived plan only, so the
        master is never regenerated for it."""
        force = frozenset(force)
        if not any(s.derived for s in manifest.specs) and not any(
            e.derived for e in lock.entries.values()
        ):
            digests = self.output_digests(manifest, lock)
            plan = self._plan(manifest, lock, is_cached, force, lookahead, is_ours, digests)
        else:
            from .plan.memoized import plan_with_derived

            self.check_layout(manifest, lock)
            plan = plan_with_derived(
                manifest,
                lock,
                lambda digests: self._plan(
                    manifest, lock, is_cached, force, lookahead, is_ours, digests
                ),
                root=self.root,
                memo_at=self.state_file("derived.memo") if self.state_dir.is_dir() else None,
                stats=self.stat_cache(),
                force=force | frozenset(rederive),
                is_ours=is_ours or _never,
                has_recipe=has_recipe or _never,
            )
        providers = (s.provider for s in manifest.specs)  # read only if a build left tasks
        return mark_paid(plan, journalled_tasks(self, providers))

    def _plan(
        self,
        manifest: Manifest,
        lock: Lockfile,
        is_cached: Callable[[str], bool],
        force: Iterable[str],
        lookahead: Callable[[list[str]], set[str]] | None,
        is_ours: Callable[[str], bool] | None,
        digests: dict[str, str | None],
    ) -> Plan:
        force = frozenset(force)  # read by both passes
        if lookahead is None:
            return make_plan(manifest.specs, lock, digests, is_cached, force=force, is_ours=is_ours)
        asked: list[str] = []

        def note(spec_hash: str) -> bool:
            asked.append(spec_hash)
            return False

        plan = make_plan(manifest.specs, lock, digests, note, force=force, is_ours=is_ours)
        if not asked:  # nothing to look up (a null plan): this is the plan
            return plan
        served = lookahead(asked)
        return make_plan(
            manifest.specs, lock, digests, served.__contains__, force=force, is_ours=is_ours
        )

    def output_digests(self, manifest: Manifest, lock: Lockfile) -> dict[str, str | None]:
        """The sha256 of every output path the plan looks at (None: absent), through the
        stat cache, which is saved for the next command."""
        from .plan.actions import derived_paths, master_paths

        self.check_layout(manifest, lock)
        stats = self.stat_cache()
        root = str(self.root)
        digests = stats.digests(root, master_paths(manifest.specs, lock))
        wanted = derived_paths(manifest.specs, lock)
        if wanted:
            digests.update(stats.digests(root, wanted, derived=True))
        stats.save()
        return digests

    def check_layout(self, manifest: Manifest, lock: Lockfile) -> None:
        """Refuse (exit 2) an output folder reached through a symlink: what a build would
        write or delete there is not its own (outpaths.py). A lock entry outside the
        output folder (``output_dir`` changed since it was built) is read, as the source
        of a move, but never written or deleted: build says what it left there."""
        problem = output_dir_problem(self.root, manifest.output_dir)
        if problem is not None:
            where = self.display(self.manifest_path) + self._line_of("output_dir")
            raise UsageError(
                f"{where}: output_dir `{manifest.output_dir}` {problem[0]}\n  hint: {problem[1]}"
            )

    def _line_of(self, key: str) -> str:
        """``:LINE:COL`` of a top-level ``key:`` in the manifest, for an error ('' if not found)."""
        try:
            text = self.manifest_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        for i, line in enumerate(text.splitlines(), 1):
            if line.startswith(f"{key}:"):
                value = line[len(key) + 1 :]
                return f":{i}:{len(key) + 2 + len(value) - len(value.lstrip())}"
        return ""

    def _lock_line(self, name: str) -> str:
        """``:LINE:COL`` of asset ``name``'s path in the lock, for an error ('' if not found)."""
        try:
            lines = self.lock_path.read_text("utf-8", "replace").splitlines()
            start = lines.index(f"  {yaml_str(name)}:")
        except (OSError, ValueError):
            return ""
        for i in range(start + 1, len(lines)):
            if lines[i].startswith("    path:"):
                return f":{i + 1}:11"
            if not lines[i].startswith("    "):
                break
        return ""


def _never(key: str) -> bool:
    return False


def find_project(
    directory: Path | None = None, manifest: str | None = None, *, search: bool = True
) -> Project:
    """The project for ``-C DIR`` and ``-f FILE`` (both optional).

    Without ``-f``, the nearest ``assetgen.yaml`` in DIR (default: the current folder) or
    its parents is the project, as git finds its repository: a command run in
    ``assets/icons/`` works on the project above it. The search stops after the root of a
    git repository (a folder holding ``.git``) and at the file-system root, so a
    checkout never picks up a manifest outside it. ``search=False`` (``assetgen init``)
    names the manifest in DIR itself."""
    base = Path(directory) if directory is not None else Path.cwd()
    if directory is not None and not base.is_dir():
        raise UsageError(f"-C {directory}: no such directory")
    if manifest is None and search:
        found = nearest_manifest(base.absolute())
        if found is not None:
            return Project(root=found.parent.resolve(), manifest_path=found)
    path = base / (manifest or MANIFEST_NAME)
    if path.is_dir():  # read_bytes, and init's write, would fail with a traceback
        shown = manifest or str(path)
        raise UsageError(
            f"{'-f ' if manifest else ''}{shown}: is a directory, not a manifest\n"
            f"  hint: name the file (-f {Path(shown) / MANIFEST_NAME}), or run in it with -C {shown}"
        )
    return Project(root=path.parent.resolve(), manifest_path=path.absolute())


def nearest_manifest(start: Path) -> Path | None:
    """The nearest ``assetgen.yaml`` in ``start`` or its parents, within its repository."""
    for folder in (start, *start.parents):
        candidate = folder / MANIFEST_NAME
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None  # the top of this repository: a manifest above it is not ours
    return None
