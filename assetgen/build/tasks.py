"""Paid provider tasks between submit and result: what the journal keeps of them.

A provider reports through TaskContext the moment a task exists (so its id is
durable before anything is awaited), and asks it for a journalled task to resume
instead of paying again. ``settle_tasks`` tidies the journal before a build plans.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..cache.records import Cache, CacheRecord
from ..errors import DiskFullError
from ..providers import Generated, TaskRef
from ..spec import AssetSpec, Manifest
from .journal import Journal
from .report import BuildSummary, Reporter

if TYPE_CHECKING:
    from ..imaging import ImageInfo


def settle_tasks(journal: Journal, manifest: Manifest, cache: Cache) -> None:
    """Tidy the journal of paid tasks before planning.

    Tasks whose result is already in the local cache are done (a remote cache's
    "yes" is only a promise until its bytes are here: such a task stays journalled,
    so a failed fetch never means paying again). Tasks for a spec the manifest no
    longer wants stay journalled: the build collects them into the cache
    (orphans.py). Tasks of another provider (a ``--provider draft`` run between two
    real builds) are left for a later build.
    """
    for task in journal.tasks():
        if task.provider == manifest.provider and cache.local.has(task.spec_hash):
            journal.forget_task(task.spec_hash)


def checked_record(spec: AssetSpec, generated: Generated) -> tuple[ImageInfo, CacheRecord]:
    """Decode a generation's bytes and check their pixel size against ``spec``; returns
    what was found and the cache record of this new generation (blobs still to add).

    Raises:
        IntegrityError: the bytes do not decode, or decode to another size.
    """
    from ..imaging import verify

    info = verify(generated.data, spec.width, spec.height, f"{spec.size} at {spec.quality}")
    record = CacheRecord(
        spec_hash=spec.spec_hash,
        width=info.width,
        height=info.height,
        blobs={},
        task_id=generated.task_id,
        results=(),  # result links expire in 24 h and may carry a token: not kept
        credits=round(generated.credits + generated.collected, 6),  # what the image cost
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        request=spec.request,
    )
    return info, record


class TaskContext:
    """The JobContext a provider sees for one asset: journal, reporter and summary."""

    def __init__(
        self,
        journal: Journal,
        reporter: Reporter,
        summary: BuildSummary,
        spec: AssetSpec,
        disk_full: Callable[[DiskFullError], None] | None = None,
        *,
        forced: bool = False,
    ) -> None:
        self.forced = forced  # build --force: a new task, under a key of its own
        self._nonce: str | None = None
        self.journal = journal
        self.reporter = reporter
        self.summary = summary
        self.spec = spec
        self.disk_full = disk_full  # the build's: stop submitting
        self.shown: str | None = None  # the last state reported for this asset

    def state(self, state: str) -> None:
        # Providers say "running" on every poll loop and the builder says it before
        # calling them: a state is reported once per change, not once per saying.
        if state != self.shown:
            self.shown = state
            self.reporter.state(self.spec.name, state)

    def submitted(self, task_id: str, credits: float | None = None) -> None:
        from .tasks import task_info

        spec = self.spec
        info = task_info(spec, credits)
        try:
            self.journal.record_task(spec.spec_hash, spec.name, spec.provider, task_id, info)
        except DiskFullError as exc:
            # Paid, and in hand: this build still waits for it, rather than drop it.
            if self.disk_full is None:
                raise
            self.warn("its task could not be journalled (the disk is full): collecting it now")
            self.disk_full(exc)

    def journalled_task(self) -> TaskRef | None:
        task = self.journal.task_for(self.spec.spec_hash)
        if task is None or task.provider != self.spec.provider:
            return None
        credits = task.info.get("credits")
        return TaskRef(task.task_id, float(credits) if isinstance(credits, (int, float)) else None)

    def forced_nonce(self) -> str | None:
        """For a forced build, the nonce of this spec's forced submit: the one journalled
        by an earlier try of it, if any (the gateway then replays, charging nothing),
        else a new one, journalled before the submit it is for."""
        if not self.forced:
            return None
        if self._nonce is None:
            nonce = self.journal.nonce_for(self.spec.spec_hash)
            if nonce is None:
                nonce = secrets.token_hex(16)
                self.journal.record_nonce(self.spec.spec_hash, nonce)
            self._nonce = nonce
        return self._nonce

    def rate_limited(self, window: int | None, was: int) -> None:
        tell = getattr(self.reporter, "rate_limited", None)
        if tell is not None:
            tell(None if window is None else f"rate limited: {window} in flight (was {was})")

    def warn(self, message: str) -> None:
        self.reporter.warn(f"{self.spec.name}: {message}")

    def possible_double_charge(self, why: str) -> None:
        self.summary.possible_double_charges += 1
        self.warn(f"possible double charge: {why}")


def task_info(spec: AssetSpec, credits: float | None) -> dict[str, Any]:
    """What the journal keeps with a submitted task, so it can be collected unwanted."""
    info: dict[str, Any] = {"request": spec.request, "width": spec.width, "height": spec.height}
    if credits is not None:
        info["credits"] = credits
    return info
