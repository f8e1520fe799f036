"""Paid provider tasks between submit and result: what the journal keeps of them.

A provider reports through TaskContext the moment a task exists (so its id is
durable before anything is awaited), and asks it for a journalled task to resume
instead of paying again. ``settle_tasks`` tidies the journal before a build plans.
"""

from __future__ import annotations

from .journal import Journal
from .providers import TaskRef
from .report import BuildSummary, Reporter
from .spec import AssetSpec, Manifest
from .store import LocalCache


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


class TaskContext:
    """The JobContext a provider sees for one asset: journal, reporter and summary."""

    def __init__(
        self, journal: Journal, reporter: Reporter, summary: BuildSummary, spec: AssetSpec
    ) -> None:
        self.journal = journal
        self.reporter = reporter
        self.summary = summary
        self.spec = spec

    def state(self, state: str) -> None:
        self.reporter.state(self.spec.name, state)

    def submitted(self, task_id: str, credits: float | None = None) -> None:
        info = {} if credits is None else {"credits": credits}
        spec = self.spec
        self.journal.record_task(spec.spec_hash, spec.name, spec.provider, task_id, info)

    def journalled_task(self) -> TaskRef | None:
        task = self.journal.task_for(self.spec.spec_hash)
        if task is None or task.provider != self.spec.provider:
            return None
        credits = task.info.get("credits")
        return TaskRef(task.task_id, float(credits) if isinstance(credits, (int, float)) else None)

    def warn(self, message: str) -> None:
        self.reporter.warn(f"{self.spec.name}: {message}")

    def possible_double_charge(self, why: str) -> None:
        self.summary.possible_double_charges += 1
        self.warn(f"possible double charge: {why}")
