"""The executor: runs a Plan against a provider, the cache and the output tree.

Phases: reconcile the journal into the lock -> plan -> select -> (moves, then
generation jobs under one task group and a CapacityLimiter, then deletes) -> lock.
Every generated image goes to the cache before its output is written, and every
written output is journalled before the next is started, so a kill at any instant
loses nothing that was paid for and the next build neither pays again nor forgets.
``--jobs 1`` runs the very same path with a limiter of one.
"""

from __future__ import annotations

import hashlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import anyio
from anyio.abc import TaskGroup

from .errors import (
    AssetgenError,
    BuildLockedError,
    CreditLimitError,
    IntegrityError,
    PermanentProviderError,
    ProviderAuthError,
    QuotaExhaustedError,
)
from .fsutil import sweep_temp_files
from .journal import Journal
from .lock import LockEntry, Lockfile, updated, write_lock
from .outputs import file_sha256, read_verified, remove_if_unchanged, write_output
from .plan import Action, Plan
from .plan import paths_to_check as plan_paths
from .project import Project
from .providers import Provider, TaskRef, create_provider
from .report import BuildSummary, JobResult, Reporter
from .selection import BuildOptions, plan_selection
from .spec import AssetSpec, Manifest, format_for_path
from .store import CacheRecord, LocalCache


@dataclass
class BuildOutcome:
    plan: Plan
    summary: BuildSummary
    lock_written: bool

    @property
    def exit_code(self) -> int:
        if self.summary.interrupted:
            return 130
        return 1 if self.summary.failed or self.summary.credits_ran_out else 0


ProviderFactory = Callable[[str], Provider]


def reconcile(lock: Lockfile, journal: Journal, manifest: Manifest, root: Path) -> Lockfile:
    """Fold assets a previous build finished (but did not get to lock) into the lock."""
    wanted = {s.name: s for s in manifest.specs}
    changes: dict[str, LockEntry | None] = {}
    for name, entry in journal.finished():
        spec = wanted.get(name)
        if spec is None or spec.spec_hash != entry.spec_hash or spec.output != entry.path:
            continue
        try:
            data = (root / entry.path).read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == entry.sha256:
            changes[name] = entry
    return updated(lock, changes) if changes else lock


def entry_from_record(spec: AssetSpec, record: CacheRecord) -> LockEntry:
    """The lock entry for ``spec`` served from ``record``: the same whether just generated or restored."""
    sha, size = record.blobs[spec.format]
    return LockEntry(
        spec_hash=spec.spec_hash,
        request=spec.request,
        path=spec.output,
        sha256=sha,
        bytes=size,
        width=record.width,
        height=record.height,
        format=spec.format,
        task_id=record.task_id,
        results=record.results,
        credits=record.credits,
        generated_at=record.generated_at,
    )


def run_build(
    project: Project,
    manifest: Manifest,
    cache: LocalCache,
    reporter: Reporter,
    options: BuildOptions,
    *,
    provider_factory: ProviderFactory = create_provider,
) -> BuildOutcome:
    """Build ``manifest``'s plan (``options.dry_run`` is the caller's: this always builds)."""
    from filelock import FileLock, Timeout

    state = project.ensure_state_dir()
    guard = FileLock(str(state / "build.lock"))
    try:
        guard.acquire(timeout=0)
    except Timeout:
        raise BuildLockedError(
            f"another assetgen build is running in {project.display(project.root)}\n"
            "  hint: wait for it to finish (only one build at a time per project)"
        ) from None
    journal = Journal(project.state_file("journal.db"))  # one per manifest, like the lock
    try:
        outcome = _locked_build(
            project, manifest, cache, reporter, options, journal, provider_factory
        )
        project.running_marker.unlink(missing_ok=True)  # a clean end; a killed build leaves it
        return outcome
    except AssetgenError:
        project.running_marker.unlink(missing_ok=True)
        raise
    finally:
        journal.close()
        guard.release()


def _locked_build(
    project: Project,
    manifest: Manifest,
    cache: LocalCache,
    reporter: Reporter,
    options: BuildOptions,
    journal: Journal,
    provider_factory: ProviderFactory,
) -> BuildOutcome:
    memo_path = project.state_file("lock.memo")
    lock = project.load_lock()
    if project.running_marker.exists():
        # The last build was killed: drop the temp files it left beside outputs.
        sweep_temp_files({(project.root / p).parent for p in plan_paths(manifest.specs, lock)})
    project.running_marker.touch()
    recovered = reconcile(lock, journal, manifest, project.root)
    if recovered is not lock:
        write_lock(project.lock_path, recovered, memo_path)
        lock = recovered
    journal.clear_finished()
    settle_tasks(journal, manifest, cache, reporter)

    plan = plan_selection(project, manifest, lock, cache, options)
    if options.max_credits is not None and plan.credits > options.max_credits:
        raise CreditLimitError(
            f"the plan is estimated at {plan.credits:.2f} credits, above --max-credits {options.max_credits:g}; "
            "nothing was started\n  hint: raise --max-credits, or build a subset by name"
        )
    if not plan.work:
        summary = BuildSummary()
        reporter.summary(summary)
        return BuildOutcome(plan, summary, False)
    executor = _Executor(
        project, manifest, cache, reporter, options, journal, provider_factory, lock
    )
    summary = executor.run(plan)
    final = updated(lock, executor.changes)
    written = write_lock(project.lock_path, final, memo_path)
    journal.clear_finished()
    if executor.fatal is not None:
        raise executor.fatal  # after the lock: what finished is kept
    return BuildOutcome(plan, summary, written)


def settle_tasks(
    journal: Journal, manifest: Manifest, cache: LocalCache, reporter: Reporter
) -> None:
    """Tidy the journal of paid tasks before planning.

    Tasks whose result is already cached are done. Tasks for a spec the manifest no
    longer wants are reported: they are paid for and may still run (the gateway has no
    cancel endpoint), but nothing will collect them. Tasks of another provider (a
    ``--provider draft`` run between two real builds) are left for a later build.
    """
    wanted = {s.spec_hash for s in manifest.specs}
    for task in journal.tasks():
        if task.provider != manifest.provider:
            continue
        if cache.has(task.spec_hash):
            journal.forget_task(task.spec_hash)
        elif task.spec_hash not in wanted:
            reporter.warn(
                f"task {task.task_id} (for `{task.name}`, changed or removed since) may still be "
                "running and is paid for; no build will use it, so it is forgotten "
                "(the gateway cannot cancel tasks)"
            )
            journal.forget_task(task.spec_hash)


class _Executor:
    def __init__(
        self,
        project: Project,
        manifest: Manifest,
        cache: LocalCache,
        reporter: Reporter,
        options: BuildOptions,
        journal: Journal,
        provider_factory: ProviderFactory,
        lock: Lockfile,
    ) -> None:
        self.project = project
        self.root = project.root
        self.manifest = manifest
        self.cache = cache
        self.reporter = reporter
        self.options = options
        self.journal = journal
        self.provider_factory = provider_factory
        self.lock = lock
        self.changes: dict[str, LockEntry | None] = {}
        self.vacated: list[tuple[str, LockEntry]] = []  # (asset, entry whose old file to drop)
        self.blocked: dict[str, str] = {}  # assets whose output path holds someone else's file
        self.summary = BuildSummary()
        self.stopping = False
        self.provider: Provider | None = None
        self.in_flight: set[anyio.CancelScope] = set()
        self._dirty = False
        self.fatal: ProviderAuthError | None = None  # raised once the lock is written
        self.quota: QuotaExhaustedError | None = None
        self.unbuilt = 0  # generation jobs that did not produce their asset

    def run(self, plan: Plan) -> BuildSummary:
        started = time.monotonic()
        work = plan.work
        if any(a.generates for a in work):
            # Before anything is shown: a missing key is a usage error, not a failed build.
            self.provider = self.provider_factory(self.manifest.provider)
        self.reporter.start(len(work), plan.credits)
        try:
            anyio.run(self._main, work)
        finally:
            self.summary.seconds = time.monotonic() - started
            self._tally_tasks()
            self.reporter.summary(self.summary)
        return self.summary

    def _tally_tasks(self) -> None:
        """Say what is left on the gateway and why the build stopped early, if it did."""
        if self.quota is not None:
            self.summary.credits_ran_out = True
            self.summary.remaining = self.unbuilt
        wanted = {s.spec_hash for s in self.manifest.specs}
        running = [
            t
            for t in self.journal.tasks()
            if t.provider == self.manifest.provider and t.spec_hash in wanted
        ]
        self.summary.still_running = len(running)
        if running:
            n = len(running)
            self.reporter.warn(
                f"{n} paid task{'s are' if n != 1 else ' is'} still running on the gateway: "
                "the next `assetgen build` collects them without paying again"
            )

    # --- orchestration ---------------------------------------------------------------

    async def _main(self, work: tuple[Action, ...]) -> None:
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watch_signals, tg)
                tg.start_soon(self._checkpoint_lock)
                await self._run_all(work)
                tg.cancel_scope.cancel()
        finally:
            if self.provider is not None:
                with anyio.CancelScope(shield=True):
                    await self.provider.aclose()

    async def _run_all(self, work: tuple[Action, ...]) -> None:
        moves = [a for a in work if a.action == "move"]
        jobs = [a for a in work if a.action in ("create", "update", "restore")]
        deletes = [a for a in work if a.action == "delete"]
        for a in (*moves, *jobs):
            self.reporter.state(a.name, "queued")
        # Before anything is written: every locked file this build will overwrite or
        # remove has its bytes in the cache, so nothing paid for can be lost.
        self.blocked = await anyio.to_thread.run_sync(self._guard_targets, work)
        for a in moves:
            result, entry = await anyio.to_thread.run_sync(self._move, a)
            if entry is not None:
                self._commit(a.name, entry, replaces=a.old_name, vacates=a.locked)
            self._finish(result)
        limiter = anyio.CapacityLimiter(max(1, self.options.jobs))
        async with anyio.create_task_group() as tg:
            for a in jobs:
                tg.start_soon(self._job, a, limiter)
        if self.stopping:
            return  # deletes and clean-ups start nothing new either; the next build does them
        claimed = {s.output.casefold() for s in self.manifest.specs}
        for a in deletes:
            self._finish(self._delete(a, claimed))
        for _, old in self.vacated:
            if old.path.casefold() not in claimed:
                remove_if_unchanged(self.root, old.path, old.sha256)

    async def _watch_signals(self, tg: TaskGroup) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                if self.stopping and self.summary.interrupted:
                    raise KeyboardInterrupt  # a second ^C: stop now; the journal has what finished
                self.summary.interrupted = True
                self._stop(
                    "interrupted: starting nothing new, finishing what is in hand (^C again to abort)"
                )

    def _stop(self, why: str) -> None:
        if not self.stopping:
            self.reporter.warn(why)
        self.stopping = True
        for scope in list(self.in_flight):
            scope.cancel()

    async def _checkpoint_lock(self) -> None:
        """Rewrite the lock now and then during a long build, from what is finished."""
        while True:
            await anyio.sleep(self.options.lock_every_s)
            if self._dirty:
                self._dirty = False
                write_lock(
                    self.project.lock_path,
                    updated(self.lock, self.changes),
                    self.project.state_file("lock.memo"),
                )

    def _finish(self, result: JobResult) -> None:
        if not result.ok and result.action in ("create", "update", "restore"):
            self.unbuilt += 1
        self.summary.add(result)
        self.reporter.finished(result)
        if not result.ok and result.source == "failed" and self.options.fail_fast:
            self._stop(f"{result.name} failed; --fail-fast: starting nothing new")

    # --- one generation job -------------------------------------------------------------

    async def _job(self, action: Action, limiter: anyio.CapacityLimiter) -> None:
        spec = action.spec
        assert spec is not None
        async with limiter:
            if self.stopping:
                self._finish(
                    JobResult(
                        spec.name, action.action, False, "skipped", spec.output, error="not started"
                    )
                )
                return
            t0 = time.monotonic()
            try:
                result = await self._produce(action, spec)
            except ProviderAuthError as exc:
                # The key cannot work for anyone: stop everything, keep what finished.
                result = self._failed(action, spec, str(exc))
                if self.fatal is None:
                    self.fatal = exc
                    self._stop(f"{str(exc).splitlines()[0]}: stopping the build")
            except QuotaExhaustedError as exc:
                result = self._out_of_credits(action, spec, exc)
            except AssetgenError as exc:
                if isinstance(exc, (PermanentProviderError, IntegrityError)):
                    self.journal.forget_task(spec.spec_hash)  # the task is over; never resume it
                result = self._failed(action, spec, str(exc))
            except OSError as exc:  # the cache or state folder refused a write: that asset fails
                result = self._failed(
                    action, spec, f"{exc.filename or spec.output}: {exc.strerror or exc}"
                )
            except anyio.get_cancelled_exc_class():
                result = JobResult(
                    spec.name, action.action, False, "skipped", spec.output, error="interrupted"
                )
                self._finish(result)
                raise
            self._finish(replace(result, seconds=time.monotonic() - t0))

    @staticmethod
    def _failed(action: Action, spec: AssetSpec, error: str) -> JobResult:
        return JobResult(spec.name, action.action, False, "failed", spec.output, error=error)

    def _out_of_credits(
        self, action: Action, spec: AssetSpec, exc: QuotaExhaustedError
    ) -> JobResult:
        """The first 402 fails its asset and stops new submits; tasks in flight go on."""
        if self.quota is not None:
            return JobResult(
                spec.name,
                action.action,
                False,
                "skipped",
                spec.output,
                error="not started: credits ran out",
            )
        self.quota = exc
        self.stopping = True  # no cancel: what is already paid for still finishes
        self.reporter.warn(
            "credits ran out: submitting nothing more; tasks already running will finish"
        )
        return self._failed(action, spec, str(exc))

    async def _produce(self, action: Action, spec: AssetSpec) -> JobResult:
        if spec.name in self.blocked:
            return self._failed(action, spec, self.blocked[spec.name])
        if not action.generates:
            entry = await anyio.to_thread.run_sync(self._restore_from_cache, spec)
            if entry is not None:
                self._commit(spec.name, entry, replaces=action.old_name, vacates=action.locked)
                return JobResult(spec.name, action.action, True, "cache", spec.output)
            if action.cached:
                self.reporter.warn(
                    f"{spec.name}: its cache entry is unreadable; generating it again"
                )
        if self.provider is None:
            self.provider = self.provider_factory(self.manifest.provider)
        self.reporter.state(spec.name, "running")
        with anyio.CancelScope() as scope:
            self.in_flight.add(scope)
            try:
                generated = await self.provider.generate(spec, _Context(self, spec))
            finally:
                self.in_flight.discard(scope)
        if scope.cancelled_caught:
            return JobResult(
                spec.name, action.action, False, "skipped", spec.output, error="interrupted"
            )
        with anyio.CancelScope(shield=True):  # what is paid for is always written
            entry = await anyio.to_thread.run_sync(self._materialize, spec, generated)
            self._commit(spec.name, entry, replaces=action.old_name, vacates=action.locked)
            if generated.task_id is not None:
                self.journal.forget_task(spec.spec_hash)  # cached and written: collected
        return JobResult(
            spec.name, action.action, True, "generated", spec.output, credits=generated.credits
        )

    def _materialize(self, spec: AssetSpec, generated: object) -> LockEntry:
        """Verify, convert, cache, then write the output (runs in a worker thread)."""
        from . import imaging
        from .providers import Generated

        assert isinstance(generated, Generated)
        what = f"{spec.size} at {spec.quality}"
        info = imaging.verify(generated.data, spec.width, spec.height, what)
        data = imaging.convert(generated.data, info, spec.format)
        blobs = {spec.format: data}
        if info.format != spec.format:
            blobs[info.format] = generated.data  # keep what was delivered, too
        record = CacheRecord(
            spec_hash=spec.spec_hash,
            width=info.width,
            height=info.height,
            blobs={},
            task_id=generated.task_id,
            results=generated.results,
            credits=generated.credits,
            generated_at=_now(),
            request=spec.request,
        )
        record = self.cache.put(record, blobs, replace=True)  # a new generation
        entry = entry_from_record(spec, record)
        write_output(self.root, spec.output, data)
        return entry

    def _restore_from_cache(self, spec: AssetSpec) -> LockEntry | None:
        record = self.cache.record(spec.spec_hash)
        if record is None:
            return None
        data = None
        if spec.format in record.blobs:
            data = self.cache.read_blob(record.blobs[spec.format][0])
        if data is None:
            from . import imaging

            # Another format of the same image is cached: convert it rather than pay again.
            for sha, _ in record.blobs.values():
                original = self.cache.read_blob(sha)
                if original is None:
                    continue
                try:
                    info = imaging.verify(original, record.width, record.height)
                except IntegrityError:
                    continue
                data = imaging.convert(original, info, spec.format)
                record = self.cache.put(record, {spec.format: data})
                break
        if data is None:
            return None
        write_output(self.root, spec.output, data)
        return entry_from_record(spec, record)

    def _commit(
        self,
        name: str,
        entry: LockEntry,
        *,
        replaces: str | None = None,
        vacates: LockEntry | None = None,
    ) -> None:
        """Record a finished asset (on the event loop: the lock checkpoint reads ``changes``)."""
        self.journal.record_finished(name, entry)
        self.changes[name] = entry
        if replaces:
            self.changes[replaces] = None  # a rename: the old name leaves the lock
        if vacates is not None and vacates.path != entry.path:
            self.vacated.append((name, vacates))  # its old file goes once all is written
        self._dirty = True

    # --- moves and deletes -----------------------------------------------------------

    def _guard_targets(self, work: tuple[Action, ...]) -> dict[str, str]:
        """Stage locked bytes about to be overwritten or removed; refuse to overwrite others.

        Returns the assets that must not be written, with why: their output path holds
        bytes that are neither cached nor a locked output (a user's file, or a locked one
        modified by hand), which a build never overwrites.
        """
        by_path = {e.path.casefold(): e for e in self.lock.entries.values()}
        blocked: dict[str, str] = {}
        for a in work:
            if a.locked is not None and a.action in ("move", "update", "restore", "delete"):
                self._stage(a.locked)
            if a.spec is None or a.action == "delete":
                continue
            target = a.spec.output
            if a.action == "restore" and a.locked is not None and a.locked.path == target:
                continue  # restoring an asset's own output is what restore is for
            if a.action == "move" and a.source == target:
                continue
            have = file_sha256(self.root, target)
            if have is None:
                continue
            if self.cache.read_blob(have) is not None:
                continue  # those bytes are safe in the cache: overwriting loses nothing
            owner = by_path.get(target.casefold())
            if owner is not None and owner.sha256 == have and self._stage(owner):
                continue
            blocked[a.name] = (
                f"{target} exists and is not an unmodified assetgen output; "
                "move it away (or delete it) and build again"
            )
        return blocked

    def _stage(self, entry: LockEntry) -> bool:
        """Make sure the cache holds ``entry``'s exact bytes; False if they are nowhere."""
        if self.cache.read_blob(entry.sha256) is not None:
            return True
        data = read_verified(self.root, entry.path, entry.sha256)
        if data is None:
            return False
        record = CacheRecord(
            entry.spec_hash, entry.width, entry.height, {}, entry.task_id, entry.results,
            entry.credits, entry.generated_at, dict(entry.request),
        )  # fmt: skip
        self.cache.put(record, {entry.format or format_for_path(entry.path): data})
        return True

    def _move(self, action: Action) -> tuple[JobResult, LockEntry | None]:
        """Copy the locked bytes to the new path (worker thread); the old file goes at the end."""
        entry, spec = action.locked, action.spec
        assert entry is not None and spec is not None
        if spec.name in self.blocked:
            return self._failed(action, spec, self.blocked[spec.name]), None
        if action.source == spec.output:  # already in place (moved by hand, or a rename)
            return JobResult(spec.name, "move", True, "moved", spec.output), entry.moved(
                spec.output
            )
        data = read_verified(self.root, entry.path, entry.sha256) or self.cache.read_blob(
            entry.sha256
        )
        if data is None:
            return self._failed(
                action, spec, f"{entry.path} is gone and not cached; build again to restore it"
            ), None
        new = entry.moved(spec.output)
        if spec.format != (entry.format or format_for_path(entry.path)):
            from . import imaging

            data = imaging.convert(
                data, imaging.verify(data, entry.width, entry.height), spec.format
            )
            new = replace(
                new, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), format=spec.format
            )
        write_output(self.root, spec.output, data)
        return JobResult(spec.name, "move", True, "moved", spec.output), new

    def _delete(self, action: Action, claimed: set[str]) -> JobResult:
        entry = action.locked
        assert entry is not None
        self.changes[action.name] = None
        self._dirty = True
        if entry.path.casefold() in claimed:
            return JobResult(action.name, "delete", True, "deleted", entry.path)
        if (
            not remove_if_unchanged(self.root, entry.path, entry.sha256)
            and (self.root / entry.path).exists()
        ):
            self.reporter.warn(
                f"{entry.path}: kept, it was modified since it was built "
                f"(asset `{action.name}` left the manifest)"
            )
            return JobResult(action.name, "delete", True, "kept", entry.path)
        return JobResult(action.name, "delete", True, "deleted", entry.path)


class _Context:
    """The JobContext a provider sees for one asset."""

    def __init__(self, executor: _Executor, spec: AssetSpec) -> None:
        self.executor = executor
        self.spec = spec

    def state(self, state: str) -> None:
        self.executor.reporter.state(self.spec.name, state)

    def submitted(self, task_id: str, credits: float | None = None) -> None:
        info = {} if credits is None else {"credits": credits}
        spec = self.spec
        self.executor.journal.record_task(spec.spec_hash, spec.name, spec.provider, task_id, info)

    def journalled_task(self) -> TaskRef | None:
        task = self.executor.journal.task_for(self.spec.spec_hash)
        if task is None or task.provider != self.spec.provider:
            return None
        credits = task.info.get("credits")
        return TaskRef(task.task_id, float(credits) if isinstance(credits, (int, float)) else None)

    def warn(self, message: str) -> None:
        self.executor.reporter.warn(f"{self.spec.name}: {message}")

    def possible_double_charge(self, why: str) -> None:
        self.executor.summary.possible_double_charges += 1
        self.warn(f"possible double charge: {why}")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
