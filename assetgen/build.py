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
from pathlib import Path

import anyio
from anyio.abc import TaskGroup

from .errors import (
    AssetgenError,
    CreditLimitError,
    DiskFullError,
    IntegrityError,
    PermanentProviderError,
    ProviderAuthError,
    QuotaExhaustedError,
)
from .fsutil import FULL_ERRNOS, sweep_temp_files
from .imagesize import header_size
from .journal import Journal, JournalTask
from .lock import LockEntry, Lockfile, updated, write_lock
from .orphans import collect_unwanted, unwanted_tasks
from .outpaths import outside_paths, shown, use_problem
from .outputs import remove_if_unchanged, write_output
from .plan import Action, Plan
from .plan import paths_to_check as plan_paths
from .project import Project
from .providers import Provider, create_provider
from .relocate import (
    Claimed,
    claimed_paths,
    finish_removals,
    guard_targets,
    in_use,
    move,
    remove_vacated,
)
from .report import BuildSummary, JobResult, Reporter
from .seeds import settle_manifest
from .selection import BuildOptions, plan_selection
from .spec import AssetSpec, Manifest
from .store import CacheRecord, LocalCache
from .tasks import TaskContext, checked_record, settle_tasks


@dataclass
class BuildOutcome:
    plan: Plan
    summary: BuildSummary
    lock_written: bool

    @property
    def exit_code(self) -> int:
        if self.summary.interrupted:
            return 130
        s = self.summary
        return 1 if s.failed or s.credits_ran_out or s.unfinished else 0


ProviderFactory = Callable[[str], Provider]
KEY_REFUSED = "stopped: the API key was refused"  # assets after the first a 401/403 stopped


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


def entry_from_record(
    spec: AssetSpec, record: CacheRecord, data: bytes, sha256: str
) -> LockEntry | None:
    """The lock entry for ``spec`` written as ``data``, whose digest ``sha256`` the caller
    has computed or verified: the same whether just generated or restored. Its size and
    pixel size are those of ``data`` itself, never a record's; None when ``data``'s
    header is not ``spec``'s format and pixel size (see imagesize.py)."""
    if header_size(data) != (spec.format, spec.width, spec.height):
        return None
    return LockEntry(
        spec_hash=spec.spec_hash,
        request=spec.request,
        path=spec.output,
        sha256=sha256,
        bytes=len(data),
        width=spec.width,
        height=spec.height,
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
    planned: tuple[Lockfile, Plan] | None = None,
) -> BuildOutcome:
    """Build ``manifest``'s plan (``options.dry_run`` is the caller's: this always builds).

    ``planned`` is a plan the caller already made, with the lock it was made from:
    it is used as is unless the lock changed before this build got the project lock.
    """
    with project.exclusive("build"):
        journal = Journal(project.state_file("journal.db"))  # one per manifest, like the lock
        try:
            outcome = _locked_build(
                project, manifest, cache, reporter, options, journal, provider_factory, planned
            )
            project.running_marker.unlink(missing_ok=True)  # a clean end; a killed build leaves it
            return outcome
        except AssetgenError:
            project.running_marker.unlink(missing_ok=True)
            raise
        finally:
            journal.close()


def _locked_build(
    project: Project,
    manifest: Manifest,
    cache: LocalCache,
    reporter: Reporter,
    options: BuildOptions,
    journal: Journal,
    provider_factory: ProviderFactory,
    planned: tuple[Lockfile, Plan] | None,
) -> BuildOutcome:
    memo_path = project.state_file("lock.memo")
    lock = project.load_lock()
    # Derived seeds the lock already chose are kept, so the journal, the recovery and
    # the plan all see the specs this build will really request.
    manifest = settle_manifest(manifest, lock)
    if project.running_marker.exists():
        # The last build was killed: drop the temp files it left beside outputs.
        paths = plan_paths(manifest.specs, lock)
        sweep_temp_files(
            {
                (project.root / p).parent
                for p in paths
                if use_problem(project.root, p, manifest.output_dir) is None
            }
        )
    project.running_marker.touch()
    recovered = reconcile(lock, journal, manifest, project.root)
    if recovered is not lock:
        write_lock(project.lock_path, recovered, memo_path)
        lock = recovered
    journal.clear_finished()
    finish_removals(project.root, journal, lock, manifest)  # what a stopped build left
    settle_tasks(journal, manifest, cache)
    unwanted = unwanted_tasks(journal, manifest)

    if planned is not None and planned[0].entries == lock.entries:
        plan = planned[1]  # nothing changed since the caller planned: do not stat everything again
    else:
        plan = plan_selection(project, manifest, lock, cache, options)
    if options.max_credits is not None and plan.credits > options.max_credits:
        raise CreditLimitError(
            f"the plan is estimated at {plan.credits:.2f} credits, above --max-credits {options.max_credits:g}; "
            "nothing was started\n  hint: raise --max-credits, or build a subset by name"
        )
    if not plan.work and not unwanted:
        summary = BuildSummary(kept=len(plan.kept))
        reporter.summary(summary)
        project.state_file("pending").unlink(missing_ok=True)
        return BuildOutcome(plan, summary, False)
    executor = _Executor(
        project, manifest, cache, reporter, options, journal, provider_factory, lock
    )
    summary = executor.run(plan, unwanted)
    final = updated(lock, executor.changes)
    written = write_lock(project.lock_path, final, memo_path)
    journal.clear_finished()
    _remember_failures(project, manifest, executor.attempted, summary)
    if executor.fatal is not None:
        raise executor.fatal  # after the lock: what finished is kept
    return BuildOutcome(plan, summary, written)


def _remember_failures(
    project: Project, manifest: Manifest, attempted: set[str], summary: BuildSummary
) -> None:
    """Keep this build's failures for later views (see failures.py)."""
    from .failures import record_failures

    hashes = {s.name: s.spec_hash for s in manifest.specs}
    failed = {n: (hashes[n], e) for n, e in summary.failures if n in hashes}
    record_failures(project.state_file("failures.json"), attempted, failed, hashes)


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
        self.fatal: ProviderAuthError | DiskFullError | None = (
            None  # raised once the lock is written
        )
        self.quota: QuotaExhaustedError | None = None
        self.unbuilt = 0  # generation jobs that did not produce their asset
        self.unwanted: list[JournalTask] = []  # paid tasks of specs no longer wanted
        self.committed = 0.0  # credits this build may spend: the plan's, plus unplanned ones
        self.attempted: set[str] = set()  # assets that ran (not skipped): failures.py
        self._writers = anyio.CapacityLimiter(1)  # images being written; one per job slot

    def run(self, plan: Plan, unwanted: list[JournalTask] | None = None) -> BuildSummary:
        """Do ``plan``'s work; alongside, collect ``unwanted`` tasks into the cache."""
        started = time.monotonic()
        work = plan.work
        self.unwanted = unwanted or []
        self.committed = plan.credits
        self.summary.kept = len(plan.kept)  # left as they are (see adopt.py)
        if any(a.generates for a in work):
            # Before anything is shown: a missing key is a usage error, not a failed build.
            self.provider = self.provider_factory(self.manifest.provider)
            if self.options.balance_check:  # and one that cannot pay is refused (balance.py)
                from .balance import check_balance

                try:
                    check_balance(
                        self.provider,
                        lambda: self.provider_factory(self.manifest.provider),
                        plan.credits,
                        self.reporter.warn,
                    )
                except AssetgenError:  # refused: nothing was started
                    anyio.run(self.provider.aclose)
                    raise
        elif self.unwanted:
            try:
                self.provider = self.provider_factory(self.manifest.provider)
            except AssetgenError:
                self.unwanted = []  # e.g. no key in this shell: a later build collects them
        self.reporter.start(len(work), plan.credits)
        try:
            # What the remote alone has, fetched at once (a fresh clone's restores): staging
            # and restoring would each fetch them one by one.
            self.cache.prefetch(
                [
                    a.locked
                    for a in work
                    if a.action == "restore" and a.cached and a.locked and a.spec
                    if a.locked.image_format == a.spec.format  # else the restore converts
                ]
            )
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
        tasks = self.journal.tasks()
        running = [
            t for t in tasks if t.provider == self.manifest.provider and t.spec_hash in wanted
        ]
        self.summary.still_running = len(running)
        if running:
            n = len(running)
            self.reporter.warn(
                f"{n} paid task{'s are' if n != 1 else ' is'} still running on the gateway: "
                "the next `assetgen build` collects them without paying again"
            )
        if self.summary.unwanted_running:
            n = self.summary.unwanted_running
            self.reporter.warn(
                f"{n} paid task{'s' if n != 1 else ''} for specs no longer wanted "
                f"{'are' if n != 1 else 'is'} still running: a later build caches "
                f"{'their images' if n != 1 else 'its image'}"
            )
        # A no-op build skips the executor unless something is left to collect.
        pending = self.project.state_file("pending")
        if tasks or self.journal.removals():  # old files of moves left to remove, too
            pending.touch()
        else:
            pending.unlink(missing_ok=True)

    # --- orchestration ---------------------------------------------------------------

    async def _main(self, work: tuple[Action, ...]) -> None:
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watch_signals, tg)
                tg.start_soon(self._checkpoint_lock)
                async with anyio.create_task_group() as both:
                    both.start_soon(self._collect_unwanted)
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
        self.blocked = await anyio.to_thread.run_sync(
            guard_targets, self.root, self.cache, self.lock, work
        )
        for a in moves:
            self._finish(await self._move(a))
        limiter = anyio.CapacityLimiter(max(1, self.options.jobs))
        self._writers = anyio.CapacityLimiter(max(1, self.options.jobs))
        async with anyio.create_task_group() as tg:
            for a in jobs:
                tg.start_soon(self._job, a, limiter)
        if self.stopping:
            return  # deletes and clean-ups start nothing new either; the next build does them
        claimed = claimed_paths(s.output for s in self.manifest.specs)
        for a in deletes:
            self._finish(self._delete(a, claimed))
        for _, old in self.vacated:
            remove_vacated(self.root, old, claimed, self.manifest.output_dir)
        self.journal.forget_removals([old.path for _, old in self.vacated])

    async def _collect_unwanted(self) -> None:
        collect = getattr(self.provider, "collect", None)
        if not self.unwanted or collect is None:
            return
        with anyio.CancelScope() as scope:  # ^C cancels it with the build's own tasks
            self.in_flight.add(scope)
            try:
                done, running = await collect_unwanted(
                    self.provider,  # type: ignore[arg-type]
                    self.unwanted,
                    self.journal,
                    self.cache,
                    self.reporter,
                )
            except DiskFullError as exc:  # what it did not collect stays journalled
                self._disk_full(exc)
                return
            finally:
                self.in_flight.discard(scope)
        if not scope.cancelled_caught:
            self.summary.unwanted_collected = done
            self.summary.unwanted_running = running

    async def _watch_signals(self, tg: TaskGroup) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if self.stopping and self.summary.interrupted:
                    raise KeyboardInterrupt  # a second ^C: stop now; the journal has what finished
                self.summary.interrupted = True
                again = "^C again" if signum == signal.SIGINT else "SIGTERM again"
                self._stop(
                    f"{'interrupted' if signum == signal.SIGINT else 'terminated'}: stopping; "
                    "what finished is kept and locked, paid tasks still running are collected "
                    f"by the next build ({again} to quit at once: the next build recovers "
                    "what finished)"
                )

    def _disk_full(self, exc: DiskFullError) -> None:
        """No write can succeed: submit nothing more, but let what is paid for finish
        (its task is journalled for the next build), and end with this error."""
        if self.fatal is None:
            self.fatal = exc
        if not self.stopping:
            self.reporter.warn(f"{str(exc).splitlines()[0]}: starting nothing new")
        self.stopping = True

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
                try:
                    write_lock(
                        self.project.lock_path,
                        updated(self.lock, self.changes),
                        self.project.state_file("lock.memo"),
                    )
                except DiskFullError as exc:  # the journal has what finished
                    self._disk_full(exc)
                    return

    def _finish(self, result: JobResult) -> None:
        if result.source not in ("skipped", "running"):
            self.attempted.add(result.name)
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
        async with _Slot(limiter) as slot:
            if self.stopping:
                self._finish(
                    JobResult(
                        spec.name, action.action, False, "skipped", spec.output, error="not started"
                    )
                )
                return
            t0 = time.monotonic()
            recap = ""
            try:
                result = await self._produce(action, spec, slot)
            except ProviderAuthError as exc:
                # The key cannot work for anyone: stop everything, keep what finished. The
                # first asset's line and the final error say why; the others, briefly.
                if self.fatal is None:
                    # Its full text is the build's final error, printed once, at the end.
                    result = self._failed(action, spec, "the API key was refused (see below)")
                    recap = "the API key was refused (the error is below)"
                    self.fatal = exc
                    self._stop("the API key was refused: stopping the build, starting nothing new")
                else:
                    result = JobResult(
                        spec.name, action.action, False, "skipped", spec.output, error=KEY_REFUSED
                    )
            except QuotaExhaustedError as exc:
                result = self._out_of_credits(action, spec, exc)
            except DiskFullError as exc:
                result = self._failed(action, spec, str(exc).splitlines()[0])
                self._disk_full(exc)
            except AssetgenError as exc:
                if isinstance(exc, (PermanentProviderError, IntegrityError)):
                    self.journal.forget_task(spec.spec_hash)  # the task is over; never resume it
                    if action.forced:
                        self.journal.forget_nonce(spec.spec_hash)
                    result = self._failed(action, spec, str(exc))
                else:  # transient: still paid and running when its task stays journalled
                    result = self._interrupted(action, spec, why=str(exc), otherwise=True)
            except OSError as exc:  # the cache or state folder refused a write: that asset fails
                result = self._failed(
                    action, spec, f"{exc.filename or spec.output}: {exc.strerror or exc}"
                )
                if exc.errno in FULL_ERRNOS:
                    self._disk_full(DiskFullError(exc.filename or spec.output))
            except anyio.get_cancelled_exc_class():
                self._finish(self._interrupted(action, spec))
                raise
            self._finish(replace(result, seconds=time.monotonic() - t0))
            if recap:  # said in full on its line and as the final error: the recap points there
                self.summary.failures[-1] = (spec.name, recap)

    def _interrupted(
        self, action: Action, spec: AssetSpec, *, why: str = "", otherwise: bool = False
    ) -> JobResult:
        """A job cut short (``why``): paid and still running when its task is journalled
        (the next build collects it); else not started (nothing paid, nothing to show),
        or, with ``otherwise``, failed with ``why``."""
        task = self.journal.task_for(spec.spec_hash)
        if task is not None and task.provider == spec.provider:
            note = "paid, still running: the next build collects it"
            return JobResult(
                spec.name,
                action.action,
                False,
                "running",
                spec.output,
                error=f"{why.splitlines()[0]}; {note}" if why else note,
            )
        if otherwise:
            return self._failed(action, spec, why)
        return JobResult(
            spec.name, action.action, False, "skipped", spec.output, error="not started"
        )

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

    async def _produce(self, action: Action, spec: AssetSpec, slot: _Slot) -> JobResult:
        if spec.name in self.blocked:
            return self._failed(action, spec, self.blocked[spec.name])
        if not action.generates:
            entry = None
            edit = action.locked
            if action.edit and edit is not None:
                # An adopted edit comes back as those bytes, not as the generated original.
                entry = await anyio.to_thread.run_sync(self._restore_edit, edit, spec)
                if entry is None:
                    self.reporter.warn(
                        f"{spec.name}: its adopted image is no longer in the cache; "
                        "restoring the generated one"
                    )
            if entry is None:
                entry = await anyio.to_thread.run_sync(self._restore_from_cache, spec)
            if entry is not None:
                self._commit(spec.name, entry, replaces=action.old_name, vacates=action.locked)
                return JobResult(spec.name, action.action, True, "cache", spec.output)
            if action.cached:
                # Planned as free: paying for it now must still respect --max-credits.
                limit = self.options.max_credits
                if limit is not None and self.committed + spec.credits > limit:
                    return self._failed(
                        action,
                        spec,
                        "its cached image could not be read (see warnings), and generating "
                        f"it would take the build past --max-credits {limit:g}",
                    )
                self.committed += spec.credits
                self.reporter.warn(
                    f"{spec.name}: its cache entry is unreadable; generating it again"
                )
        if self.provider is None:
            self.provider = self.provider_factory(self.manifest.provider)
        fresh = action.forced and action.action != "restore"  # a new task, not a replay
        ctx = TaskContext(
            self.journal, self.reporter, self.summary, spec, self._disk_full, forced=fresh
        )
        ctx.state("running")
        with anyio.CancelScope() as scope:
            self.in_flight.add(scope)
            try:
                generated = await self.provider.generate(spec, ctx)
            finally:
                self.in_flight.discard(scope)
        if scope.cancelled_caught:
            if isinstance(self.fatal, ProviderAuthError):
                return JobResult(
                    spec.name, action.action, False, "skipped", spec.output, error=KEY_REFUSED
                )
            return self._interrupted(action, spec)
        with anyio.CancelScope(shield=True):  # what is paid for is always written
            async with self._writers:
                if getattr(self.provider, "remote", False):
                    slot.release()  # the image is in hand: the next task can start meanwhile
                entry = await anyio.to_thread.run_sync(self._materialize, spec, generated)
            self._commit(spec.name, entry, replaces=action.old_name, vacates=action.locked)
            if generated.task_id is not None:
                self.journal.forget_task(spec.spec_hash)  # cached and written: collected
            if fresh:
                self.journal.forget_nonce(spec.spec_hash)
        return JobResult(
            spec.name,
            action.action,
            True,
            "generated",
            spec.output,
            credits=generated.credits,
            collected=generated.collected,
            # the price table's figure for what was charged here (a collected task: nothing)
            listed=0.0 if generated.collected else spec.credits,
        )

    def _materialize(self, spec: AssetSpec, generated: object) -> LockEntry:
        """Verify, convert, cache, then write the output (runs in a worker thread)."""
        from . import imaging
        from .providers import Generated

        assert isinstance(generated, Generated)
        info, record = checked_record(spec, generated)
        data = imaging.convert(generated.data, info, spec.format)
        blobs = {spec.format: data}
        if info.format != spec.format:
            blobs[info.format] = generated.data  # keep what was delivered, too
        record = self.cache.put(record, blobs, replace=True)  # a new generation
        entry = entry_from_record(spec, record, data, hashlib.sha256(data).hexdigest())
        if entry is None:  # verify() passed and convert() keeps the size: a bug
            raise AssertionError(f"{spec.name}: the converted image is not {spec.format}")
        write_output(self.root, spec.output, data)
        return entry

    def _restore_edit(self, edit: LockEntry, spec: AssetSpec) -> LockEntry | None:
        """Write an adopted edit's bytes (kept in the cache by digest) back to the output."""
        if edit.image_format != spec.format:
            return None
        data = self.cache.read_blob(edit.sha256)
        if data is None:
            return None
        write_output(self.root, spec.output, data)
        return edit.moved(spec.output)

    def _restore_from_cache(self, spec: AssetSpec) -> LockEntry | None:
        record = self.cache.record_for(spec.spec_hash, spec.format)
        if record is None:
            return None
        data, entry = None, None
        if spec.format in record.blobs:
            sha = record.blobs[spec.format][0]
            data = self.cache.read_blob(sha)  # verified: its digest is ``sha``
            entry = None if data is None else entry_from_record(spec, record, data, sha)
        if entry is None:
            from . import imaging

            # Another format of the same image is cached: convert it rather than pay again.
            for sha, _ in record.blobs.values():
                original = self.cache.read_blob(sha)
                if original is None:
                    continue
                try:
                    info = imaging.verify(original, spec.width, spec.height)
                except IntegrityError:
                    continue
                data = imaging.convert(original, info, spec.format)
                record = self.cache.put(record, {spec.format: data})
                entry = entry_from_record(spec, record, data, hashlib.sha256(data).hexdigest())
                break
        if data is None or entry is None:
            return None
        write_output(self.root, spec.output, data)
        return entry

    def _commit(
        self,
        name: str,
        entry: LockEntry,
        *,
        replaces: str | None = None,
        vacates: LockEntry | None = None,
    ) -> None:
        """Record a finished asset (on the event loop: the lock checkpoint reads ``changes``).

        Its output is written: with no room to journal it, the lock at the end still
        records it, if there is room for that."""
        try:
            if vacates is not None and vacates.path != entry.path:
                self.journal.record_removal(vacates.path, vacates.sha256)  # first: see relocate.py
            self.journal.record_finished(name, entry)
        except DiskFullError as exc:
            self._disk_full(exc)
        self.changes[name] = entry
        if replaces:
            self.changes[replaces] = None  # a rename: the old name leaves the lock
        if vacates is not None and vacates.path != entry.path:
            self.vacated.append((name, vacates))  # its old file goes once all is written
        self._dirty = True

    # --- moves and deletes -----------------------------------------------------------

    async def _move(self, action: Action) -> JobResult:
        entry, spec = action.locked, action.spec
        assert entry is not None and spec is not None
        if spec.name in self.blocked:
            return self._failed(action, spec, self.blocked[spec.name])
        try:
            new = await anyio.to_thread.run_sync(
                move, self.root, self.cache, entry, spec, action.source
            )
        except DiskFullError as exc:
            self._disk_full(exc)
            return self._failed(action, spec, str(exc).splitlines()[0])
        except AssetgenError as exc:
            return self._failed(action, spec, str(exc))
        self._commit(spec.name, new, replaces=action.old_name, vacates=entry)
        return JobResult(spec.name, "move", True, "moved", spec.output)

    def _delete(self, action: Action, claimed: Claimed) -> JobResult:
        entry = action.locked
        assert entry is not None
        self.changes[action.name] = None
        self._dirty = True
        if in_use(self.root, entry.path, claimed):
            return JobResult(action.name, "delete", True, "deleted", entry.path)
        if outside_paths([(action.name, entry.path)], self.manifest.output_dir):
            if (self.root / entry.path).exists():
                self.reporter.warn(
                    f"{entry.path}: kept, it is outside output_dir `{self.manifest.output_dir}` "
                    f"(asset `{action.name}` left the manifest); assetgen removes files only in "
                    "its output folder: remove it by hand if nothing needs it"
                )
                return JobResult(action.name, "delete", True, "kept", entry.path)
            return JobResult(action.name, "delete", True, "deleted", entry.path)
        problem = use_problem(self.root, entry.path, self.manifest.output_dir)
        if problem is not None and (self.root / entry.path).exists():
            self.reporter.warn(
                f"{shown(entry.path)}: kept, the path {problem} "
                f"(asset `{action.name}` left the manifest)"
            )
            return JobResult(action.name, "delete", True, "kept", entry.path)
        if (
            not remove_if_unchanged(self.root, entry.path, entry.sha256, self.manifest.output_dir)
            and (self.root / entry.path).exists()
        ):
            self.reporter.warn(
                f"{entry.path}: kept, it was modified since it was built "
                f"(asset `{action.name}` left the manifest)"
            )
            return JobResult(action.name, "delete", True, "kept", entry.path)
        return JobResult(action.name, "delete", True, "deleted", entry.path)


class _Slot:
    """A job's place under ``--jobs``, given back early once its image is in hand.

    Verifying, caching and writing an image is local work; while it runs, the next
    asset can already be submitted. The writers' own limiter (also ``--jobs``) is
    taken before the slot is given back, so images waiting to be written never
    pile up in memory.
    """

    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self._limiter = limiter
        self._held = False

    async def __aenter__(self) -> _Slot:
        await self._limiter.acquire()
        self._held = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self._held:
            self._held = False
            self._limiter.release()
