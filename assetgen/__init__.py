"""assetgen: a lockfile build tool for AI-generated images.

The library API the CLI is built on::

    import assetgen
    project = assetgen.find_project("path/to/dir")
    manifest = project.load_manifest()          # raises ManifestError, with every problem
    plan = assetgen.plan_project(project)       # a Plan: one Action per asset
    print(plan.summary, plan.credits)
"""

from __future__ import annotations

from ._version import __version__
from .errors import (
    AssetgenError,
    Diagnostic,
    LockfileError,
    ManifestError,
    ProviderError,
    UsageError,
)
from .lock import LockEntry, Lockfile, read_lock, write_lock
from .manifest import Manifest, parse_manifest
from .plan import Action, Plan, make_plan
from .project import Project, find_project
from .spec import HASH_VERSION, AssetSpec, spec_hash

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


def plan_project(project: Project, *, provider: str | None = None) -> Plan:
    """Load ``project``'s manifest and lock and plan against its cache and files."""
    from .store import open_cache

    manifest = project.load_manifest(provider)
    return project.plan(manifest, project.load_lock(), open_cache(project).has)
