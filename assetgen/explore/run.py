"""Generating candidates through the build executor, with outputs and the lock left alone.

Candidates are ordinary generations, so they go through the very executor a build
uses (build/run.py, build/jobs.py): the same provider seam, ``--jobs`` limiter,
balance check, signal handling, and the journal of paid tasks, so a candidate whose
task was submitted before a kill -9 is collected by the next ``explore`` (or build)
instead of being paid again. What differs is overridden, and only that: jobs are only
generations (``_run_all``); an image goes to the cache only, never to an output path,
and its thumbnail is made then, for the review page (``_write_generated``); a finished
candidate is recorded in this run's results (``_finish``), never in the lock or its
journal table (``_commit``); there is no lock checkpoint (``_checkpoint_lock``); and the
messages name explore as what collects a paid task left running.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import anyio

from ..build.context import ProviderFactory
from ..build.journal import Journal
from ..build.report import BuildSummary, JobResult, Reporter
from ..build.route import routed
from ..build.run import Executor  # the build's executor: the seam explore shares
from ..build.selection import BuildOptions
from ..build.tasks import settle_tasks
from ..cache.open import local_cache
from ..cache.records import Cache
from ..errors import CreditLimitError
from ..lock.model import LockEntry, Lockfile
from ..plan.planner import Action, Plan
from ..project import Project
from ..spec import AssetSpec, Manifest
from .candidates import Candidate, image_sha


@dataclass(frozen=True, slots=True)
class Planned:
    """One candidate and whether the cache already has it (free), an earlier explore's
    task for it is journalled (paid: collected, free) or it is to generate."""

    candidate: Candidate
    cached: bool
    paid: bool = False

    @property
    def credits(self) -> float:
        return 0.0 if self.cached or self.paid else self.candidate.spec.credits

    @property
    def most_credits(self) -> float:
        """The upper bound of ``credits`` (a token-billed model's range)."""
        return 0.0 if self.cached or self.paid else self.candidate.spec.most_credits


@dataclass
class ExploreOutcome:
    summary: BuildSummary
    results: dict[str, JobResult] = field(default_factory=dict)  # by candidate spec name


def journalled(project: Project, cands: Sequence[Candidate]) -> frozenset[str]:
    """Spec hashes of candidates whose task a killed or stopped explore paid for: the
    next one collects them. Read whether or not a build left its marker (plan/paid.py
    gates on it): an explore leaves none."""
    from ..build.journal import task_hashes

    path = project.state_file("journal.db")
    providers = {c.spec.provider for c in cands if c.spec.provider != "draft"}
    return frozenset(h for p in sorted(providers) for h in task_hashes(path, p))


def plan_candidates(
    cands: Sequence[Candidate], cache: Cache, paid: frozenset[str] = frozenset()
) -> list[Planned]:
    """Each candidate with its cache state (asked of a remote in one go, as a plan does)
    and whether its task is ``paid`` already."""
    lookahead = cache.lookahead()
    if lookahead is not None:
        lookahead([c.spec.spec_hash for c in cands])
    out = []
    for c in cands:
        cached = cache.has(c.spec.spec_hash)
        out.append(Planned(c, cached, not cached and c.spec.spec_hash in paid))
    return out


def estimate(planned: Sequence[Planned]) -> str:
    """``X`` credits, or ``X to Y`` when a token-billed model's price is a range."""
    low = round(sum(p.credits for p in planned), 6)
    high = round(sum(p.most_credits for p in planned), 6)
    return f"{low:.2f}" + (f" to {high:.2f}" if high != low else "")


def check_budget(planned: Sequence[Planned], options: BuildOptions) -> None:
    """Refuse, before anything is started, an estimate whose upper bound is above
    ``--max-credits`` (as a build does)."""
    most = round(sum(p.most_credits for p in planned), 6)
    if options.max_credits is not None and most > options.max_credits:
        raise CreditLimitError(
            f"exploring is estimated at {estimate(planned)} credits, above --max-credits "
            f"{options.max_credits:g}; nothing was started\n"
            "  hint: raise --max-credits, ask for fewer candidates (-n), or explore fewer assets"
        )


def run_candidates(
    project: Project,
    provider: str,
    planned: Sequence[Planned],
    cache: Cache,
    reporter: Reporter,
    options: BuildOptions,
    provider_factory: ProviderFactory,
) -> ExploreOutcome:
    """Generate the candidates ``planned`` says are not cached; fetch cached ones a remote
    alone has into the local cache, so the review page can show them."""
    check_budget(planned, options)
    local = cache.local
    for p in planned:
        if p.cached and not local.has(p.candidate.spec.spec_hash):
            _fetch(cache, p.candidate.spec)
    specs = tuple(p.candidate.spec for p in planned)
    manifest = Manifest(provider=provider, output_dir="", specs=specs)
    work = tuple(
        Action(
            p.candidate.spec.name,
            "create",
            "candidate",
            False,
            p.credits,
            p.candidate.spec,
            paid=p.paid,
        )
        for p in planned
        if not p.cached
    )
    # A mixed manifest's candidates go to their own model's provider, as a build's assets do.
    provider_factory = routed(provider_factory, manifest)
    if not work:
        summary = BuildSummary(from_cache=len(planned))
        reporter.summary(summary)
        return ExploreOutcome(summary)
    with project.exclusive("explore"):  # one journal user at a time, as builds are
        journal = Journal(project.state_file("journal.db"))
        try:
            settle_tasks(journal, manifest, cache)
            executor = _CandidateExecutor(
                project,
                manifest,
                cache,
                _CandidateReporter(reporter, {p.candidate.spec.name: p for p in planned}),
                options,
                journal,
                provider_factory,
                Lockfile(),
            )
            summary = executor.run(Plan(work))
        finally:
            journal.close()
    summary.from_cache += len(planned) - len(work)
    if executor.fatal is not None:
        raise executor.fatal
    return ExploreOutcome(summary, executor.results)


def _fetch(cache: Cache, spec: AssetSpec) -> None:
    sha = image_sha(cache.record_for(spec.spec_hash, spec.format), spec)
    if sha is not None:
        cache.read_blob(sha)  # a remote hit is copied locally


class _CandidateReporter:
    """The build's reporter, showing a candidate's seed where a build shows its output path."""

    def __init__(self, inner: Reporter, planned: dict[str, Planned]) -> None:
        self.inner = inner
        self.planned = planned

    def start(self, total: int, credits: float) -> None:
        self.inner.start(total, credits)

    def state(self, name: str, state: str) -> None:
        self.inner.state(name, state)

    def finished(self, result: JobResult) -> None:
        p = self.planned.get(result.name)
        self.inner.finished(replace(result, path=f"seed {p.candidate.seed}") if p else result)

    def warn(self, message: str) -> None:
        self.inner.warn(message)

    def rate_limited(self, note: str | None) -> None:
        tell = getattr(self.inner, "rate_limited", None)
        if tell is not None:
            tell(note)

    def summary(self, summary: BuildSummary) -> None:
        self.inner.summary(summary)


class _CandidateExecutor(Executor):
    """The build's executor, writing candidates to the cache only."""

    KEPT = "kept in the cache"
    NEXT = "the next `assetgen explore`"
    NEXT_ALL = "the next `assetgen explore` of those assets"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.results: dict[str, JobResult] = {}
        from ..views.thumbs import ThumbnailCache

        self.thumbs = ThumbnailCache(self.project.state_dir / "thumbs")
        self.store = local_cache(self.project)  # where the candidates' blobs land

    def _finish(self, result: JobResult) -> None:
        self.results[result.name] = result
        super()._finish(result)

    async def _run_all(self, work: tuple[Action, ...]) -> None:
        """Only generations: no moves, deletes or derived files."""
        for a in work:
            self.reporter.state(a.name, "queued")
        limiter = self._limiters()
        async with anyio.create_task_group() as tg:
            for a in work:
                tg.start_soon(self._job, a, limiter)

    async def _checkpoint_lock(self) -> None:
        """Explore never writes the lock."""

    def _write_generated(self, spec: AssetSpec, entry: LockEntry, data: bytes) -> None:
        """No output file: the candidate is cached. Its thumbnail now, while a remote task
        would be waited on anyway: the review page then only links it (the gallery's
        thumbnail cache, keyed by the image's digest)."""
        self.thumbs.ensure({entry.sha256: self.store.blob_path(entry.sha256)}, workers=1)

    def _commit(
        self,
        name: str,
        entry: LockEntry,
        *,
        replaces: str | None = None,
        vacates: LockEntry | None = None,
    ) -> None:
        """A candidate is done once cached: nothing goes to the lock or its journal table."""
