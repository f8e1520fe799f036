"""What one build holds while it runs: the project, the cache, the lock's changes, the summary.

BuildContext is the executor's state and the few steps every phase shares (stop,
fail, commit a lock change); the job steps (jobs.py) and the phases (run.py) build on it."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace

import anyio

from ..cache.records import Cache
from ..errors import (
    DiskFullError,
    ProviderAuthError,
    QuotaExhaustedError,
)
from ..lock.model import LockEntry, Lockfile
from ..plan.actions import DerivedAction
from ..plan.planner import Action
from ..project import Project
from ..providers import Provider
from ..spec import AssetSpec, Manifest
from .journal import Journal, JournalTask
from .report import BuildSummary, JobResult, Reporter
from .selection import BuildOptions

ProviderFactory = Callable[[str], Provider]


KEY_REFUSED = "stopped: the API key was refused"  # assets after the first a 401/403 stopped


class BuildContext:
    """One build's state: set up once by run_build, read and changed by every job."""

    def __init__(
        self,
        project: Project,
        manifest: Manifest,
        cache: Cache,
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
        self.derived_plan: Sequence[DerivedAction] = ()  # the plan's derived files
        self._derive_slots = anyio.CapacityLimiter(2 * max(1, os.cpu_count() or 1))

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

    def _finish(self, result: JobResult) -> None:
        if result.source not in ("skipped", "running"):
            self.attempted.add(result.name)
        if not result.ok and result.action in ("create", "update", "restore"):
            self.unbuilt += 1
        self.summary.add(result)
        self.reporter.finished(result)
        if not result.ok and result.source == "failed" and self.options.fail_fast:
            self._stop(f"{result.name} failed; --fail-fast: starting nothing new")

    @staticmethod
    def _failed(action: Action, spec: AssetSpec, error: str) -> JobResult:
        return JobResult(spec.name, action.action, False, "failed", spec.output, error=error)

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
        before = self.lock.entries.get(replaces or name)
        if not entry.derived and before is not None and before.derived:
            # The files derived before stay recorded until derive.py replaces them.
            entry = replace(entry, derived=before.derived)
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
