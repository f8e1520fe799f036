"""Paid tasks the manifest no longer wants: their images go to the cache, not to waste.

A build interrupted while tasks ran leaves them journalled. If the manifest then
changes under them (a prompt edited, an asset removed), no build will put their
image in the output tree, but it is paid for, and the gateway cannot cancel it.
Each build that talks to the provider polls such tasks once, alongside its own
work: a finished one is downloaded, checked, and cached under its spec hash (so
reverting the edit restores it for free); one still running stays journalled for
the next build; a failed or vanished one is forgotten. Nothing is ever submitted
for them.

The journal row carries what is needed to check and cache the image (the request
and the pixel size, recorded at submit). Rows written before that was recorded
cannot be checked, and are only reported and forgotten.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import anyio
import anyio.to_thread

from ..cache.records import Cache
from ..digests import is_side, is_spec_hash
from ..errors import AssetgenError, ProviderAuthError, TransientProviderError
from ..providers import Generated, TaskRef
from ..spec import REQUEST_FIELDS, AssetSpec, Manifest
from .journal import Journal, JournalTask
from .report import Reporter

COLLECT_AT_ONCE = 8  # orphans polled at once: they must not crowd out the build's own work


class Collector(Protocol):
    """A provider that can fetch a journalled task's image without submitting anything."""

    async def collect(self, spec: AssetSpec, ctx: Any) -> Generated | None: ...


def unwanted_tasks(journal: Journal, manifest: Manifest) -> list[JournalTask]:
    """This provider's journalled tasks whose spec the manifest no longer has."""
    wanted = {s.spec_hash for s in manifest.specs}
    return [
        t for t in journal.tasks() if t.provider == manifest.provider and t.spec_hash not in wanted
    ]


def spec_of(task: JournalTask) -> AssetSpec | None:
    """The spec a task was submitted for, rebuilt from its journal row (None: not recorded)."""
    info = task.info
    request, width, height = info.get("request"), info.get("width"), info.get("height")
    if not isinstance(request, Mapping) or any(f not in request for f in REQUEST_FIELDS):
        return None
    if not (is_spec_hash(task.spec_hash) and is_side(width) and is_side(height)):
        return None  # a damaged row: its spec hash would name a cache path
    credits = info.get("credits")
    return AssetSpec(
        name=task.name,
        provider=str(request["provider"]),
        model=str(request["model"]),
        prompt=str(request["prompt"]),
        size=str(request["size"]),
        quality=str(request["quality"]),
        seed=int(request["seed"]),
        nsfw_check=bool(request["nsfw_check"]),
        output=f"{task.name}.png",  # unused: the image goes to the cache only
        width=width,
        height=height,
        credits=float(credits) if isinstance(credits, (int, float)) else 0.0,
        spec_hash=task.spec_hash,
    )


class _Context:
    """The JobContext of a collection: the journalled task, and warnings named for it."""

    def __init__(self, task: JournalTask, reporter: Reporter) -> None:
        self.task = task
        self.reporter = reporter

    def state(self, state: str) -> None:
        pass  # not one of the build's assets: nothing to show in its progress

    def submitted(self, task_id: str, credits: float | None = None) -> None:
        raise AssertionError("collecting never submits")

    def journalled_task(self) -> TaskRef:
        credits = self.task.info.get("credits")
        return TaskRef(
            self.task.task_id, float(credits) if isinstance(credits, (int, float)) else None
        )

    def warn(self, message: str) -> None:
        self.reporter.warn(
            f"task {self.task.task_id} (`{self.task.name}`, no longer wanted): {message}"
        )

    def possible_double_charge(self, why: str) -> None:
        self.warn(why)


async def collect_unwanted(
    provider: Collector,
    tasks: list[JournalTask],
    journal: Journal,
    cache: Cache,
    reporter: Reporter,
) -> tuple[int, int]:
    """Poll each unwanted task once; cache what finished. Returns (collected, still running)."""
    counts = [0, 0]
    limiter = anyio.CapacityLimiter(COLLECT_AT_ONCE)

    async def one(task: JournalTask) -> None:
        spec = spec_of(task)
        what = f"task {task.task_id} (for `{task.name}`, changed or removed since)"
        if spec is None:
            reporter.warn(f"{what} is paid for but cannot be checked; forgotten")
            journal.forget_task(task.spec_hash)
            return
        async with limiter:
            try:
                generated = await provider.collect(spec, _Context(task, reporter))
            except ProviderAuthError:
                return  # the build's own jobs report the key; the task stays journalled
            except TransientProviderError as exc:  # a network blip: look again next build
                reporter.warn(f"{what}: {exc}; it stays journalled for the next build")
                counts[1] += 1
                return
            except AssetgenError as exc:  # failed, vanished, or its link is dead
                reporter.warn(f"{what}: {exc}; forgotten")
                journal.forget_task(task.spec_hash)
                return
        if generated is None:
            counts[1] += 1
            return
        try:
            await anyio.to_thread.run_sync(_store, cache, spec, generated)
        except OSError as exc:  # a side job: the cache refusing a write must not stop the build
            reporter.warn(f"{what}: could not cache its image ({exc}); it stays journalled")
            counts[1] += 1
            return
        except AssetgenError as exc:
            reporter.warn(f"{what}: its image is unusable ({exc}); forgotten")
        else:
            counts[0] += 1
            reporter.warn(
                f"{what} finished: its image is in the cache, so reverting the edit restores it free"
            )
        journal.forget_task(task.spec_hash)

    async with anyio.create_task_group() as tg:
        for task in tasks:
            tg.start_soon(one, task)
    return counts[0], counts[1]


def _store(cache: Cache, spec: AssetSpec, generated: Generated) -> None:
    from .tasks import checked_record

    info, record = checked_record(spec, generated)
    cache.put(record, {info.format: generated.data}, replace=True)
