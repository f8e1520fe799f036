"""assetgen: a lockfile build tool for AI-generated images.

The library API the CLI is built on::

    import assetgen
    project = assetgen.find_project("path/to/dir")
    manifest = project.load_manifest()          # raises ManifestError, with every problem
    plan = assetgen.plan_project(project)       # a Plan: one Action per asset
    print(plan.summary, plan.credits)

Names are imported on first use, so that ``assetgen plan`` starts without loading
the YAML parser, the validator or the image stack it may not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .errors import (
        AssetgenError,
        Diagnostic,
        LockfileError,
        ManifestError,
        ProviderError,
        UsageError,
    )
    from .lock.model import LockEntry, Lockfile, write_lock
    from .lock.read import read_lock
    from .manifest.resolve import parse_manifest
    from .plan.planner import Action, Plan, make_plan
    from .project import Project, find_project
    from .spec import HASH_VERSION, AssetSpec, Manifest, spec_hash

_EXPORTS = {
    "AssetgenError": "errors",
    "Diagnostic": "errors",
    "LockfileError": "errors",
    "ManifestError": "errors",
    "ProviderError": "errors",
    "UsageError": "errors",
    "LockEntry": "lock.model",
    "Lockfile": "lock.model",
    "read_lock": "lock.read",
    "write_lock": "lock.model",
    "parse_manifest": "manifest.resolve",
    "Action": "plan.planner",
    "Plan": "plan.planner",
    "make_plan": "plan.planner",
    "Project": "project",
    "find_project": "project",
    "HASH_VERSION": "spec",
    "AssetSpec": "spec",
    "Manifest": "spec",
    "spec_hash": "spec",
}

__all__ = [
    "HASH_VERSION",
    "Action",
    "AssetSpec",
    "AssetgenError",
    "Diagnostic",
    "LockEntry",
    "Lockfile",
    "LockfileError",
    "Manifest",
    "ManifestError",
    "Plan",
    "Project",
    "ProviderError",
    "UsageError",
    "__version__",
    "find_project",
    "make_plan",
    "parse_manifest",
    "plan_project",
    "read_lock",
    "spec_hash",
    "write_lock",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'assetgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def plan_project(project: Project, *, provider: str | None = None) -> Plan:
    """Load ``project``'s manifest and lock and plan against its cache and files."""
    from .cache.derived import recipe_lookup
    from .cache.open import project_cache

    manifest = project.load_manifest(provider)
    cache = project_cache(project, manifest, push=False)
    try:
        return project.plan(
            manifest,
            project.load_lock(),
            cache.has,
            lookahead=cache.lookahead(),
            is_ours=cache.has_blob,
            has_recipe=recipe_lookup(cache),
        )
    finally:
        cache.close()
