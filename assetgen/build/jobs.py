"""One asset's job in a build: produce (generate or restore), verify, cache, write, commit; moves and deletes.

Each job holds a _Slot under --jobs, given back as soon as its image is in hand."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace

import anyio

from ..cache.records import CacheRecord
from ..errors import (
    AssetgenError,
    DiskFullError,
    IntegrityError,
    PermanentProviderError,
    ProviderAuthError,
    QuotaExhaustedError,
)
from ..fsutil import FULL_ERRNOS
from ..imagesize import header_size
from ..lock.model import LockEntry
from ..outpaths import outside_paths, shown, use_problem
from ..plan.actions import DerivedAction
from ..plan.planner import Action
from ..spec import AssetSpec
from .context import KEY_REFUSED
from .derive import DeriveSteps
from .outputs import remove_if_unchanged, write_output
from .relocate import (
    Claimed,
    in_use,
    move,
)
from .report import JobResult
from .tasks import TaskContext, checked_record


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


class JobRunner(DeriveSteps):
    """The job steps of the executor, over one BuildContext."""

    # What a stop keeps, and what collects a paid task left running (explore says its own).
    KEPT = "kept and locked"
    NEXT = "the next build"
    NEXT_ALL = "the next `assetgen build`"

    async def _job_then_derive(
        self, action: Action, limiter: anyio.CapacityLimiter, planned: list[DerivedAction]
    ) -> None:
        """Generate (or restore) a master, then derive from it at once: derivations
        stream behind the generations instead of waiting for all of them."""
        await self._job(action, limiter)
        spec = action.spec
        had = action.locked is not None and action.locked.derived
        if spec is not None and (spec.derived or had) and action.name in self.changes:
            await self._derive(spec, action.name, planned)

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
            note = f"paid, still running: {self.NEXT} collects it"
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
                if limit is not None and self.committed + spec.most_credits > limit:
                    return self._failed(
                        action,
                        spec,
                        "its cached image could not be read (see warnings), and generating "
                        f"it would take the build past --max-credits {limit:g}",
                    )
                self.committed += spec.most_credits
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
            listed_max=0.0 if generated.collected else spec.most_credits,
        )

    def _materialize(self, spec: AssetSpec, generated: object) -> LockEntry:
        """Verify, convert, cache, then write the output (runs in a worker thread)."""
        entry, data = self._cache_generated(spec, generated)
        self._write_generated(spec, entry, data)
        return entry

    def _cache_generated(self, spec: AssetSpec, generated: object) -> tuple[LockEntry, bytes]:
        """Verify and convert a generated image, and cache it: its lock entry and bytes."""
        from .. import imaging
        from ..providers import Generated

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
        return entry, data

    def _write_generated(self, spec: AssetSpec, entry: LockEntry, data: bytes) -> None:
        """Write a cached generation to its output (explore writes none)."""
        write_output(self.root, spec.output, data)

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
            from .. import imaging

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
