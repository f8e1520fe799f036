"""``assetgen pick``: pin a candidate's seed (or any seed) in the manifest, proved first."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..cache.open import project_cache
from ..errors import ManifestError, UsageError
from ..plan.render import credits_text
from ..project import Project

if TYPE_CHECKING:
    from ..spec import Manifest


def state_path(project: Project) -> Path:
    from ..explore.state import state_file

    return state_file(project)


def _settled(project: Project, provider: str | None) -> Manifest:
    from ..lock.seeds import settle_manifest

    return settle_manifest(project.load_manifest(provider), project.load_lock())


def pick(
    project: Project,
    name: str,
    *,
    k: int | None = None,
    seed: int | None = None,
    out: IO[str] | None = None,
) -> int:
    """Pin candidate ``k``'s seed (or ``seed``) for asset ``name`` in the manifest."""
    from ..explore.candidates import MAX_CANDIDATES, candidate, seed_range
    from ..explore.pick import Edit, PickRefused, check_edit, plan_edit
    from ..fsutil import atomic_write
    from ..manifest.resolve import parse_manifest

    out = out or sys.stdout
    if (k is None) == (seed is None):
        raise UsageError(
            "pick takes a candidate number or --seed N, not both\n"
            "  hint: `assetgen pick NAME 3` or `assetgen pick NAME --seed 48213`"
        )
    data = project.manifest_path.read_bytes() if project.manifest_path.exists() else None
    manifest = _settled(project, None)  # validates (exit 2 when invalid) and settles seeds
    spec = next((s for s in manifest.specs if s.name == name), None)
    if spec is None or data is None:
        raise UsageError(f"no asset named `{name}`\n  hint: `assetgen plan --json` lists the names")
    if not spec.reproducible:
        raise UsageError(
            f"{name}: model `{spec.model}` takes no seed, so there is no seed to pin; "
            "its image is the one its lock entry records\n"
            "  hint: give the asset a seeded model to pick among candidates"
        )
    if k is not None:
        if not 1 <= k <= MAX_CANDIDATES:
            raise UsageError(f"candidate {k}: candidates are numbered 1 to {MAX_CANDIDATES}")
        chosen = candidate(spec, k)
        seed = chosen.seed
    assert seed is not None
    low, high = seed_range(spec)
    if not low <= seed <= high:
        raise UsageError(f"--seed {seed} is outside {low}..{high} for {spec.model}")
    label = f"candidate {k}, seed {seed}" if k is not None else f"seed {seed}"
    if not spec.seed_derived and spec.seed == seed:
        out.write(f"{name}: already pinned to {label}; nothing to do\n")
        return 0
    shown = project.display(project.manifest_path)
    origins: dict[str, list[str]] = {}
    old = parse_manifest(data, shown, origins=origins)
    template = next(t for t, names in origins.items() if name in names)
    matrix = template != name or len(origins[template]) != 1
    text = data.decode("utf-8")

    def proved(edit: Edit) -> Manifest:
        try:
            new = parse_manifest(edit.text.encode("utf-8"), shown)
        except ManifestError as exc:
            raise PickRefused(
                f"asset `{name}`: pinning the seed would make the manifest invalid "
                f"({exc.diagnostics[0].message if exc.diagnostics else exc}); it is unchanged\n"
                "  hint: edit `seed:` by hand"
            ) from None
        check_edit(old, new, name, seed)
        return new

    edit = plan_edit(text, template, name, seed, matrix=matrix)
    new = proved(edit)
    target = _write_target(project, shown)
    atomic_write(target, edit.text.encode("utf-8"))
    from ..lock.seeds import settle_manifest

    after = next(s for s in settle_manifest(new, project.load_lock()).specs if s.name == name)
    from ..explore.candidates import with_provider
    from ..explore.state import read_state

    asked = (read_state(state_path(project)) or {}).get(name)
    cache = project_cache(project, new, push=False)
    try:
        free = cache.has(after.spec_hash)
        # Explored with another provider (`--provider draft`, say): say where it is free.
        elsewhere = (
            asked.provider
            if asked is not None
            and asked.provider != after.provider
            and not free
            and cache.has(with_provider(after, asked.provider).spec_hash)
            else None
        )
    finally:
        cache.close()
    where = "in `seeds:`" if edit.where == "seeds" else "in its entry"
    cost = (
        "from the cache, free"
        if free
        else f"a new generation, {credits_text(after.credits)} credits"
    )
    if elsewhere is not None:
        cost = f"with --provider {elsewhere}: from the cache, free; with {after.provider}: {cost}"
    out.write(
        f"{name}: pinned {label} {where} ({shown}:{edit.line}); "
        f"next: `assetgen build {name}` ({cost})\n"
    )
    return 0


def _write_target(project: Project, shown: str) -> Path:
    """The file ``pick`` writes: the manifest, or the file its symbolic link names when that
    is inside the project (writing the link's path would replace the link with a copy)."""
    path = project.manifest_path
    if not path.is_symlink():
        return path
    target = path.resolve()
    if not target.is_relative_to(project.root.resolve()):
        raise UsageError(
            f"{shown}: a symbolic link to {target}, outside the project; pick writes only "
            "inside it, so the manifest is unchanged\n"
            "  hint: pin the seed by hand in the linked file, or make the manifest a file"
        )
    return target
