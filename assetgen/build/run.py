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
from dataclasses import dataclass, replace
from pathlib import Path

import anyio
from anyio.abc import TaskGroup

from ..cache.records import Cache
from ..errors import (
    AssetgenError,
    CreditLimitError,
    DiskFullError,
)
from ..fsutil import FULL_ERRNOS, sweep_temp_files
from ..lock.model import LockEntry, Lockfile, updated, write_lock
from ..lock.seeds import settle_manifest
from ..plan.actions import DerivedAction, derived_changes
from ..plan.planner import Action, Plan
from ..project import Project
from ..providers import create_provider
from ..spec import Manifest
from .context import ProviderFactory
from .jobs import JobRunner
from .journal import Journal, JournalTask
from .orphans import collect_unwanted, unwanted_tasks
from .relocate import (
    claimed_paths,
    finish_removals,
    guard_targets,
    remove_vacated,
    temp_file_folders,
)
from .report import BuildSummary, Reporter
from .route import open_for, routed
from .selection import BuildOptions, plan_selection
from .tasks import settle_tasks


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
            before = lock.entries.get(name)
            if before is not None and before.derived:  # still on disk: re-checked by the plan
                entry = replace(entry, derived=before.derived)
            changes[name] = entry
    return updated(lock, changes) if changes else lock


def run_build(
    project: Project,
    manifest: Manifest,
    cache: Cache,
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
    provider_factory = routed(provider_factory, manifest)
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
    cache: Cache,
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
        sweep_temp_files(temp_file_folders(project.root, manifest, lock))
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
    if options.max_credits is not None and plan.credits_max > options.max_credits:
        estimate = f"{plan.credits:.2f}" + (
            f" to {plan.credits_max:.2f}" if plan.credits_max != plan.credits else ""
        )
        raise CreditLimitError(
            f"the plan is estimated at {estimate} credits, above --max-credits {options.max_credits:g}; "
            "nothing was started\n  hint: raise --max-credits, or build a subset by name"
        )
    if not plan.work and not plan.derived_work and not unwanted:
        summary = BuildSummary(kept=len(plan.kept))
        reporter.summary(summary)
        project.state_file("pending").unlink(missing_ok=True)
        return BuildOutcome(plan, summary, False)
    executor = Executor(
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


class Executor(JobRunner):
    """Runs a plan's work: ``run_build``'s engine, and the seam ``explore`` subclasses
    (its ``_run_all``, ``_write_generated``, ``_commit`` and ``_checkpoint_lock``)."""

    def run(self, plan: Plan, unwanted: list[JournalTask] | None = None) -> BuildSummary:
        """Do ``plan``'s work; alongside, collect ``unwanted`` tasks into the cache."""
        started = time.monotonic()
        work = plan.work
        self.derived_plan = plan.derived
        self.unwanted = unwanted or []
        self.committed = plan.credits_max
        self.summary.kept = len(plan.kept)  # left as they are (see adopt.py)
        if any(a.generates for a in work):
            # Before anything is shown: a missing key is a usage error, not a failed build;
            # only the providers this work needs are made (route.py).
            needed = {a.spec.provider for a in work if a.generates and a.spec is not None}
            self.provider = open_for(self.provider_factory, self.manifest.provider, needed)
            if self.options.balance_check:  # and one that cannot pay is refused (balance.py)
                from .balance import check_build_balance

                try:
                    check_build_balance(
                        self.provider,
                        lambda: self.provider_factory(self.manifest.provider),
                        plan.credits,
                        work,
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
                f"{self.NEXT_ALL} collects them without paying again"
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
        limiter = self._limiters()
        groups: dict[str, list[DerivedAction]] = {}
        for d in derived_changes(self.derived_plan):  # a noop is skipped as if unplanned
            groups.setdefault(d.name, []).append(d)
        specs = {s.name: s for s in self.manifest.specs}
        try:
            async with anyio.create_task_group() as tg:
                for a in jobs:
                    tg.start_soon(self._job_then_derive, a, limiter, groups.pop(a.name, []))
                for name, planned in groups.items():  # masters already there: derive now
                    if any(d.work for d in planned):
                        tg.start_soon(self._derive, specs.get(name), name, planned)
        finally:
            self._close_pool()
        if self.stopping:
            return  # deletes and clean-ups start nothing new either; the next build does them
        claimed = claimed_paths(s.output for s in self.manifest.specs)
        for a in deletes:
            self._finish(self._delete(a, claimed))
        for _, old in self.vacated:
            remove_vacated(self.root, old, claimed, self.manifest.output_dir)
        self.journal.forget_removals([old.path for _, old in self.vacated])

    def _limiters(self) -> anyio.CapacityLimiter:
        """The jobs' limiter under ``--jobs``, and the writers' (see jobs.py _Slot)."""
        self._writers = anyio.CapacityLimiter(max(1, self.options.jobs))
        return anyio.CapacityLimiter(max(1, self.options.jobs))

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
                    f"what finished is {self.KEPT}, paid tasks still running are collected "
                    f"by {self.NEXT} ({again} to quit at once: {self.NEXT} recovers "
                    "what finished)"
                )

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
                except OSError as exc:  # the journal has what finished
                    if exc.errno not in FULL_ERRNOS:
                        raise
                    full = (
                        exc
                        if isinstance(exc, DiskFullError)
                        else DiskFullError(exc.filename or self.project.lock_path)
                    )
                    self._disk_full(full)
                    return

    # --- one generation job -------------------------------------------------------------

    # --- moves and deletes -----------------------------------------------------------
