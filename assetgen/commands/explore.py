"""``assetgen explore`` and ``assetgen pick``: candidates, their review page, and the pin
(pick.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from ..cache.open import local_cache, project_cache
from ..errors import UsageError
from ..project import Project
from .pick import _settled, pick, state_path

if TYPE_CHECKING:
    from ..build.context import ProviderFactory
    from ..build.selection import BuildOptions
    from ..cache.store import LocalCache
    from ..explore.run import Planned
    from ..spec import AssetSpec

__all__ = ["clear", "dispatch", "explore", "explore_page", "pick"]

DEFAULT_N = 4


def explore(
    project: Project,
    *,
    selection: Sequence[str] = (),
    n: int = DEFAULT_N,
    options: BuildOptions,
    provider: str | None = None,
    as_json: bool = False,
    page: bool = False,
    out: IO[str] | None = None,
    provider_factory: ProviderFactory | None = None,
) -> int:
    """Generate candidates 1..n of the selected assets (what is cached is not paid again),
    then, with ``page``, write the review page."""
    out = out or sys.stdout
    if not selection:
        if page:  # the page alone: without the build executor's imports
            return explore_page(project, provider=provider, as_json=as_json, out=out)
        raise UsageError(
            "name the assets to explore: `assetgen explore NAME -n 4` (names or globs)\n"
            "  hint: `assetgen explore --page` writes the review page of what was explored"
        )
    from ..build.selection import match_names
    from ..explore.candidates import MAX_CANDIDATES, candidates
    from ..explore.run import check_budget, journalled, plan_candidates, run_candidates
    from ..explore.state import Asked, load_state, write_state

    if not 1 <= n <= MAX_CANDIDATES:
        raise UsageError(f"-n {n}: ask for 1 to {MAX_CANDIDATES} candidates per asset")
    manifest = _settled(project, provider)
    chosen = match_names([s.name for s in manifest.specs], selection)
    specs = [s for s in manifest.specs if s.name in chosen]
    cache = project_cache(project, manifest, push=options.push)
    try:
        cands = [c for s in specs for c in candidates(s, n)]
        planned = plan_candidates(cands, cache, journalled(project, cands))
        _show_plan(specs, planned, n, as_json, out)
        check_budget(planned, options)
        project.ensure_state_dir()
        path = state_path(project)
        state = load_state(path, manifest.specs, cache.local.has)
        for s in specs:  # before the run: a killed explore still shows what it asked for
            old = state.get(s.name)
            more = old.n if old is not None and old.provider == s.provider else 0
            state[s.name] = Asked(max(more, n), s.provider)
        write_state(path, state)
        from ..providers import create_provider
        from .project import _reporter

        reporter = _QuietReporter() if as_json else _reporter(False, out)
        cache.on_warning = reporter.warn
        outcome = run_candidates(
            project,
            manifest.provider,
            planned,
            cache,
            reporter,
            options,
            provider_factory or create_provider,
        )
    finally:
        cache.close()
    done = outcome.summary
    stopped = done.failed or done.credits_ran_out or done.unfinished
    code = 130 if done.interrupted else (1 if stopped else 0)
    local = local_cache(project)
    if as_json:
        for p in planned:
            out.write(json.dumps(_event(p, outcome.results, local), separators=(",", ":")) + "\n")
        summary = {
            "event": "summary",
            "candidates": len(planned),
            "generated": done.generated,
            "cached": done.from_cache,
            "failed": done.failed,
            "credits": round(done.credits, 6),
        }
        out.write(json.dumps(summary, separators=(",", ":")) + "\n")
    if page:
        explore_page(project, provider=provider, as_json=as_json, out=out)
    elif not as_json:
        first = specs[0].name
        out.write(f"review: `assetgen explore --page`, then pin one: `assetgen pick {first} K`\n")
    return code


def _show_plan(
    specs: Sequence[AssetSpec], planned: Sequence[Planned], n: int, as_json: bool, out: IO[str]
) -> None:
    """What exploring will do and cost, before anything is submitted."""
    from ..explore.run import estimate

    todo = [p for p in planned if not p.cached]
    paid = sum(1 for p in todo if p.paid)
    credits = round(sum(p.credits for p in planned), 6)
    if as_json:
        event = {
            "event": "plan",
            "assets": len(specs),
            "candidates": len(planned),
            "to_generate": len(todo),
            "cached": len(planned) - len(todo),
            "paid": paid,
            "credits": credits,
            "credits_max": round(sum(p.most_credits for p in planned), 6),
        }
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
        return
    width = max(len(s.name) for s in specs)
    for s in specs:
        mine = [p for p in planned if p.candidate.asset == s.name]
        new = [p for p in mine if not p.cached]
        cost = sum(p.most_credits for p in new)
        price = f"{estimate(new)} cr" if cost else "free"
        collected = sum(1 for p in new if p.paid)
        also = f" ({collected} paid before: collected free)" if collected else ""
        out.write(
            f"  ? {s.name:<{width}}  {n} candidate{'s' if n != 1 else ''}: {len(new)} to generate"
            f"{also}, {len(mine) - len(new)} cached  {price}\n"
        )
    also = f" ({paid} paid before: collected free)" if paid else ""
    out.write(
        f"\nExplore: {len(planned)} candidates of {len(specs)} asset{'s' if len(specs) != 1 else ''}, "
        f"{len(todo)} to generate{also}, {len(planned) - len(todo)} cached. "
        f"Estimated cost: {estimate(planned)} credits.\n"
    )


def _event(p: Planned, results: dict[str, Any], cache: LocalCache) -> dict[str, Any]:
    from ..explore.page import cached_image

    c = p.candidate
    r = results.get(c.spec.name)
    if p.cached:
        source = "cached"
    elif r is None:
        source = "failed"
    elif r.ok:
        source = "generated"
    else:  # a paid task still running (after ^C or a transient error) is not a failure
        source = r.source if r.source in ("running", "skipped") else "failed"
    image = cached_image(cache, c.spec)
    event: dict[str, Any] = {
        "event": "candidate",
        "name": c.asset,
        "k": c.k,
        "seed": c.seed,
        "spec_hash": c.spec.spec_hash,
        "source": source,
        "credits": round(r.credits, 6) if r is not None else 0.0,
        "path": str(image) if image is not None else None,
    }
    if r is not None and r.error:
        event["error"] = r.error
    return event


class _QuietReporter:
    """With ``--json`` the candidates are the events; warnings still go to stderr."""

    def start(self, total: int, credits: float) -> None:
        pass

    def state(self, name: str, state: str) -> None:
        pass

    def finished(self, result: object) -> None:
        pass

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    def summary(self, summary: object) -> None:
        pass


def explore_page(
    project: Project,
    *,
    provider: str | None = None,
    as_json: bool = False,
    out: IO[str] | None = None,
) -> int:
    from ..explore.page import build_explore_page

    out = out or sys.stdout
    result = build_explore_page(project, provider=provider, state_file=state_path(project))
    if as_json:
        event = {"event": "page", "path": str(result.path), "assets": result.assets}
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
    else:
        out.write(
            f"explore page: {project.display(result.path)} ({result.assets} asset"
            f"{'s' if result.assets != 1 else ''}, {result.candidates} candidates; "
            f"{result.thumbnails_made} new thumbnails)\n"
        )
    return 0


def clear(project: Project, names: Sequence[str], *, out: IO[str] | None = None) -> int:
    """Forget the candidates of ``names`` (all when empty); their images stay in the cache."""
    from ..build.selection import match_names
    from ..explore.state import read_state, write_state

    out = out or sys.stdout
    path = state_path(project)
    state = read_state(path) or {}
    if names and not state:
        raise UsageError("no asset has candidates here\n  hint: `assetgen explore NAME -n 4`")
    gone = set(state)
    if names:
        try:
            gone = match_names(sorted(state), names)
        except UsageError as exc:  # its hint names `plan`, which lists manifest names
            what = str(exc).splitlines()[0].replace("no asset matches", "no explored asset matches")
            known = sorted(state)
            shown = ", ".join(known[:8]) + (" ..." if len(known) > 8 else "")
            raise UsageError(
                f"{what}\n  hint: the assets with candidates here: {shown} "
                "(the review page, `assetgen explore --page`, shows them all)"
            ) from None
    if project.state_dir.is_dir():
        write_state(path, {k: v for k, v in state.items() if k not in gone})
    out.write(
        f"forgot the candidates of {len(gone)} asset{'s' if len(gone) != 1 else ''} "
        "(their images stay in the cache until `assetgen cache gc`)\n"
    )
    return 0


def dispatch(project: Project, args: Any) -> int:
    """The ``explore`` and ``pick`` command lines (see parser.py)."""
    if args.command == "pick":
        return pick(project, args.name, k=args.k, seed=args.seed)
    if args.clear:
        if args.page or args.json:
            raise UsageError("--clear takes only names\n  hint: `assetgen explore --clear NAME`")
        return clear(project, tuple(args.names))
    from ..build.selection import BuildOptions

    options = BuildOptions(
        jobs=args.jobs,
        max_credits=args.max_credits,
        balance_check=args.balance_check,
        push=args.push,
    )
    return explore(
        project,
        selection=tuple(args.names),
        n=args.n,
        options=options,
        provider=args.provider,
        as_json=args.json,
        page=args.page,
    )
