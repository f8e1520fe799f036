"""The commands that read a project without building it: plain functions returning exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..cache.open import project_cache
from ..errors import UsageError
from ..plan import render
from ..project import Project

if TYPE_CHECKING:
    from ..build.context import ProviderFactory
    from ..build.report import Reporter
    from ..build.selection import BuildOptions

SCHEMA_FILE = "manifest.schema.json"
STARTER = """\
# yaml-language-server: $schema=./manifest.schema.json
# (that file is `assetgen schema`'s output, for editors: refresh it after an upgrade
#  with `assetgen schema > manifest.schema.json`)
# assetgen manifest: named image assets. `assetgen plan` shows what a build would do.
version: 1
# `draft` renders free, offline stand-ins at the exact pixel size; switch to `evolink`
# (with EVOLINK_API_KEY set) to generate the real images.
provider: draft
output_dir: assets
defaults:
  model: krea-2-turbo
  size: "1:1"
  quality: 1K
vars:
  style: "flat vector illustration, navy and sky-blue palette"
assets:
  hero:
    prompt: "${style}, a city skyline at dawn"
    size: "16:9"
  icon-${topic}:
    matrix: {topic: [search, settings]}
    prompt: "${style}, a simple icon for ${topic}"
    output: icons/${topic}.png
"""


def init(project: Project, *, force: bool = False, out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    path = project.manifest_path
    if path.exists() and not force:
        raise UsageError(
            f"{project.display(path)} already exists\n  hint: pass --force to overwrite it"
        )
    from ..schema import shipped as schema

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER, encoding="utf-8")
    wrote = [project.display(path)]
    # The starter's `$schema=` names this file, so an editor checks the manifest as
    # the CLI does; a schema file already there (perhaps newer) is left alone.
    schema_path = path.parent / SCHEMA_FILE
    if not schema_path.exists():
        schema_path.write_text(schema.schema_text("manifest"), encoding="utf-8")
        wrote.append(project.display(schema_path))
    out.write(f"wrote {' and '.join(wrote)}; next: `assetgen plan`, then `assetgen build`\n")
    from ..project import nearest_manifest

    top = path.parent.absolute()
    above = None if (top / ".git").exists() else nearest_manifest(top.parent)
    if above is not None:
        out.write(
            f"note: {project.display(above)} is another project above this one; commands run "
            "here now work on the new one (pass -C to choose)\n"
        )
    return 0


def validate(project: Project, *, provider: str | None = None, out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    manifest = project.load_manifest(provider)
    n = len(manifest.specs)
    out.write(
        f"{project.display(project.manifest_path)}: valid, {n} asset{'s' if n != 1 else ''}\n"
    )
    return 0


def plan(
    project: Project,
    *,
    provider: str | None = None,
    as_json: bool = False,
    check: bool = False,
    selection: Sequence[str] = (),
    out: IO[str] | None = None,
) -> int:
    """Print the plan (of the assets ``selection`` names, NAME or GLOB, as build takes them);
    with ``check``, exit 1 when there is anything to do or to decide (an output edited by
    hand, which build keeps: see adopt.py)."""
    from .. import plan_project

    out = out or sys.stdout
    result = plan_project(project, provider=provider)
    if selection:
        from ..build.selection import select

        result = result.select(select(result, selection))
    if as_json:
        render.write_json(result, out)
    else:
        render.write_text(result, out, colour=render.use_colour(out))
    return 1 if check and (not result.up_to_date or result.kept or result.derived_kept) else 0


def print_schema(which: str = "manifest", out: IO[str] | None = None) -> int:
    from ..schema import shipped as schema

    out = out or sys.stdout
    out.write(schema.schema_text(which))
    return 0


def _reporter(as_json: bool, out: IO[str], *, hold_summary: bool = False) -> Reporter:
    from ..build.live import LiveReporter
    from ..build.report import JsonReporter, LineReporter

    if as_json:
        return JsonReporter(out, hold_summary=hold_summary)
    if render.use_colour(out) or (out.isatty() and not os.environ.get("NO_COLOR")):
        return LiveReporter(out)
    return LineReporter(out)


def build(
    project: Project,
    *,
    options: BuildOptions,
    provider: str | None = None,
    as_json: bool = False,
    out: IO[str] | None = None,
    provider_factory: ProviderFactory | None = None,
    gallery: bool = False,
) -> int:
    """Make the output tree and the lock match the manifest (see build.run_build).

    ``gallery`` writes the gallery afterwards; without it, a build that did work says
    where an existing gallery is, so nobody reviews a stale page without knowing.
    """
    out = out or sys.stdout
    from ..build.selection import plan_selection

    if gallery and options.dry_run:
        raise UsageError(
            "--gallery with --dry-run: a dry run writes nothing\n"
            "  hint: run `assetgen gallery` to see the current state"
        )
    manifest = project.load_manifest(provider, remember=not options.dry_run)
    cache = project_cache(project, manifest, push=options.push and not options.dry_run)
    lock = project.load_lock()
    plan = plan_selection(project, manifest, lock, cache, options)
    if options.dry_run:  # touches nothing: no state directory, no journal, no lock
        if as_json:
            render.write_json(plan, out)
        else:
            render.write_text(plan, out, colour=render.use_colour(out))
        return 0
    from ..build.adopt import kept_notice

    notice = kept_notice(plan)  # files build keeps: said once, before anything is done
    if (
        plan.up_to_date
        and not project.running_marker.exists()
        and not project.state_file("pending").exists()
    ):
        # Nothing to do: decided without the project lock, the journal or the async
        # executor, so a no-op build costs what a null plan does. (``pending``: paid
        # tasks are journalled, which a build collects; see orphans.py.)
        from ..build.report import BuildSummary, JsonReporter, LineReporter

        quiet = JsonReporter(out) if as_json else LineReporter(out)
        if notice:
            quiet.warn(notice)
        if gallery and as_json:  # the summary stays the last line
            _gallery_after_build(project, provider, as_json, out)
        quiet.summary(BuildSummary(kept=len(plan.kept) if notice else 0))
        if gallery and not as_json:
            _gallery_after_build(project, provider, as_json, out)
        return 0
    from ..build.run import run_build
    from ..providers import create_provider

    reporter = _reporter(as_json, out, hold_summary=gallery)
    cache.on_warning = reporter.warn  # a remote cache's one warning, in the build's output
    if notice:
        reporter.warn(notice)
    try:
        outcome = run_build(
            project,
            manifest,
            cache,
            reporter,
            options,
            provider_factory=provider_factory or create_provider,
            planned=(lock, plan),
        )
    except KeyboardInterrupt:  # a second ^C: leave now, not after the uploads
        cache.abandon()
        _release(reporter)
        raise
    except BaseException:
        cache.close()
        _release(reporter)
        raise
    cache.close()  # waits for uploads to the remote cache still in flight
    if gallery:
        _gallery_after_build(project, provider, as_json, out)
        _release(reporter)
    elif not as_json:
        page = project.page_dir("gallery") / "index.html"
        if page.is_file():
            out.write(f"gallery: {project.display(page)} (refresh with --gallery)\n")
    return outcome.exit_code


def _release(reporter: Reporter) -> None:
    from ..build.report import JsonReporter

    if isinstance(reporter, JsonReporter):
        reporter.release()


def _gallery_after_build(
    project: Project, provider: str | None, as_json: bool, out: IO[str]
) -> None:
    from ..views.gallery import build_gallery

    result = build_gallery(project, provider=provider)
    if as_json:
        import json

        event = {"event": "gallery", "path": str(result.path), "states": dict(result.counts)}
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
    else:
        out.write(f"gallery: {project.display(result.path)}\n")


def gallery(
    project: Project,
    *,
    provider: str | None = None,
    out_dir: Path | None = None,
    selection: Sequence[str] = (),
    out: IO[str] | None = None,
) -> int:
    """Write the HTML gallery of every asset, or of those ``selection`` names (see
    gallery.py), and say where it is."""
    from ..views.gallery import STATE_LABELS, build_gallery

    out = out or sys.stdout
    result = build_gallery(project, provider=provider, out_dir=out_dir, selection=selection)
    n = sum(result.counts.values())
    states = ", ".join(f"{c} {STATE_LABELS[s]}" for s, c in result.counts.items() if c)
    made = result.thumbnails_made
    out.write(
        f"gallery: {project.display(result.path)} ({n} asset{'s' if n != 1 else ''}"
        f"{': ' + states if states else ''}; {made} new thumbnail{'s' if made != 1 else ''})\n"
    )
    return 0


def diff(
    project: Project,
    *,
    against: str | None = None,
    lock_file: Path | None = None,
    provider: str | None = None,
    html: bool = False,
    as_json: bool = False,
    out_dir: Path | None = None,
    selection: Sequence[str] = (),
    out: IO[str] | None = None,
) -> int:
    """Compare an older lock with the manifest (see diffview.py), for every asset or those
    ``selection`` names (now or in the old lock); informational: exit 0."""
    from ..views import diff as diffview

    out = out or sys.stdout
    manifest = project.load_manifest(provider)
    old, label, git = diffview.old_lock(project, against=against, lock_file=lock_file)
    only = None
    if selection:
        from ..build.selection import match_names

        only = match_names(sorted({s.name for s in manifest.specs} | set(old.entries)), selection)
    cache = project_cache(project, manifest, push=False)
    result = diffview.compare(
        project, manifest, project.load_lock(), old, cache, label=label, git=git, only=only
    )
    files = None
    if html:
        from ..views.diffhtml import write_diff_page
        from ..views.thumbs import ThumbnailCache

        project.ensure_state_dir()
        thumbs = ThumbnailCache(project.state_dir / "thumbs")
        page, files = write_diff_page(
            result, project, cache, out_dir or project.page_dir("diff"), thumbs
        )
    if as_json:
        import json

        links = {k: f"images/{v}" for k, v in files.items()} if files is not None else None
        doc = diffview.diff_json(result, links)
        json.dump(doc, out, ensure_ascii=False, separators=(",", ":"))
        out.write("\n")
    elif html:
        s = result.summary
        counts = ", ".join(f"{s[k]} {k}" for k in s if s[k] or k == "unchanged")
        out.write(f"diff: {project.display(page)} ({label} -> working tree: {counts})\n")
    else:
        diffview.write_text(result, out, colour=render.use_colour(out))
    return 0
