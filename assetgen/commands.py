"""The commands that read a project without building it: plain functions returning exit codes."""

from __future__ import annotations

import sys
from typing import IO

from . import render, schema
from .errors import UsageError
from .project import Project
from .store import open_cache

STARTER = """\
# yaml-language-server: $schema=https://assetgen.dev/schemas/manifest.schema.json
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


def init(project: Project, *, force: bool = False, out: IO[str] = sys.stdout) -> int:
    path = project.manifest_path
    if path.exists() and not force:
        raise UsageError(f"{project.display(path)} already exists\n  hint: pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER, encoding="utf-8")
    out.write(f"wrote {project.display(path)}; next: `assetgen plan`, then `assetgen build`\n")
    return 0


def validate(project: Project, *, provider: str | None = None, out: IO[str] = sys.stdout) -> int:
    manifest = project.load_manifest(provider)
    n = len(manifest.specs)
    out.write(f"{project.display(project.manifest_path)}: valid, {n} asset{'s' if n != 1 else ''}\n")
    return 0


def plan(
    project: Project,
    *,
    provider: str | None = None,
    as_json: bool = False,
    check: bool = False,
    out: IO[str] = sys.stdout,
) -> int:
    """Print the plan; with ``check``, exit 1 when there is anything to do."""
    manifest = project.load_manifest(provider)
    lock = project.load_lock()
    cache = open_cache(project)
    result = project.plan(manifest, lock, cache.has)
    if as_json:
        render.write_json(result, out)
    else:
        render.write_text(result, out, colour=render.use_colour(out))
    return 1 if check and not result.up_to_date else 0


def print_schema(which: str = "manifest", out: IO[str] = sys.stdout) -> int:
    out.write(schema.schema_text(which))
    return 0
