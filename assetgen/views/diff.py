"""``assetgen diff``: what changed in the asset set between an older lock and now.

The old side is a lock: ``assetgen.lock`` at a git revision (HEAD by default) or any
lock file. The new side is what the next build produces: the current manifest's
specs, with the current lock's facts where the asset is already built. Per asset
the diff lists the request fields that changed (the prompt also as a word diff),
and where each side's image can be had: the working tree, the content cache (by
spec hash), or git at the old revision. Finding out is cheap (stats, cache
records, ``git cat-file --batch-check``); only ``--html`` reads image bytes.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from ..cache.records import Cache
from ..errors import UsageError
from ..lock.model import LockEntry, Lockfile
from ..lock.read import parse_lock
from ..lock.seeds import settle_seeds
from ..project import Project
from ..spec import REQUEST_FIELDS, AssetSpec, Manifest
from ..statcache import StatCache
from .gitfiles import GitRevision, NoCommitsYet

STATUSES = ("changed", "renamed", "added", "removed")
SYMBOLS = {"changed": "~", "renamed": ">", "added": "+", "removed": "-"}
WORKTREE, CACHE, GIT = "working tree", "cache", "git"


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str  # a request field, "output" (the path), "image" (same request, other bytes),
    # or "derived" (the paths of derived files that changed, were added or removed)
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class ImageRef:
    """Where one side's image can be read: a source and what to ask it for."""

    source: str  # WORKTREE | CACHE | GIT
    sha256: str
    format: str  # "png", "jpeg", "webp"
    path: str | None = None  # WORKTREE and GIT: relative to the manifest's folder


@dataclass(frozen=True, slots=True)
class AssetChange:
    name: str
    status: str  # one of STATUSES
    old: LockEntry | None  # the old lock's entry (None when added)
    new: AssetSpec | None  # the manifest's spec (None when removed)
    built: LockEntry | None  # the current lock's entry when it is this spec's build
    changes: tuple[FieldChange, ...] = ()
    old_name: str | None = None  # renamed from
    old_image: ImageRef | None = None
    new_image: ImageRef | None = None


@dataclass(frozen=True)
class AssetDiff:
    old_label: str  # "assetgen.lock at HEAD (1a2b3c4)" or the lock file's name
    changes: tuple[AssetChange, ...]
    unchanged: int
    git: GitRevision | None = None

    @property
    def summary(self) -> dict[str, int]:
        counts = {s: sum(1 for c in self.changes if c.status == s) for s in STATUSES}
        return {**counts, "unchanged": self.unchanged}


def old_lock(
    project: Project, *, against: str | None, lock_file: Path | None
) -> tuple[Lockfile, str, GitRevision | None]:
    """The old side: ``--lock FILE``, else the lock at ``against`` (HEAD by default).

    Returns the lock, a label for people, and the revision when it came from git.
    """
    if lock_file is not None:
        try:
            data = lock_file.read_bytes()
        except OSError as exc:
            raise UsageError(f"--lock {lock_file}: cannot read it ({exc.strerror})") from None
        label = project.display(lock_file.absolute())
        return _parse(data, label), label, None
    rev = against or "HEAD"
    try:
        git = GitRevision(project.lock_path.parent, rev)
    except NoCommitsYet:
        # A repository's very first pull request: no revision has a lock.
        return Lockfile(), f"{project.lock_path.name} (no commits yet: every asset is new)", None
    name = project.lock_path.name
    at_rev = git.read(name)
    if at_rev is None:
        # The first pull request of a project: nothing was built at that revision, so
        # the old side is empty and every asset is new (not an error).
        return Lockfile(), f"{name} (not in {rev} {git.commit[:7]}: every asset is new)", git
    label = f"{name} at {rev} ({git.commit[:7]})"
    return _parse(at_rev, label), label, git


def _parse(data: bytes, label: str) -> Lockfile:
    from ..lock.fast import parse_canonical

    if not data.strip():
        return Lockfile()
    return parse_canonical(data.decode("utf-8", "replace")) or parse_lock(data, label)


def compare(
    project: Project,
    manifest: Manifest,
    current: Lockfile,
    old: Lockfile,
    cache: Cache,
    *,
    label: str,
    git: GitRevision | None = None,
    only: set[str] | None = None,
) -> AssetDiff:
    """The diff from ``old`` to the manifest (built as far as ``current`` says); ``only``
    keeps the assets so named, now or (removed or renamed from) in ``old``."""
    stats = project.stat_cache()
    root = str(project.root)
    specs = {s.name: s for s in settle_seeds(manifest.specs, current)[0]}
    gone = {n: e for n, e in old.entries.items() if n not in specs}
    by_hash: dict[str, list[str]] = {}
    for n in sorted(gone):
        by_hash.setdefault(gone[n].spec_hash, []).append(n)
    changes: list[AssetChange] = []
    unchanged = 0
    for name, spec in specs.items():
        built = current.get(name)
        if built is not None and built.spec_hash != spec.spec_hash:
            built = None
        entry, old_name = old.get(name), None
        if entry is None and by_hash.get(spec.spec_hash):
            old_name = by_hash[spec.spec_hash].pop(0)
            entry = gone.pop(old_name)
        if only is not None and name not in only and old_name not in only:
            continue
        fields = _fields(entry, spec, built) if entry is not None else ()
        derived = derived_change(entry, spec, current.get(name))
        if derived is not None:
            fields = (*fields, derived)
        if entry is not None and not fields and old_name is None:
            unchanged += 1
            continue
        status = "added" if entry is None else "renamed" if old_name else "changed"
        # Images are located afterwards, in one pass, so git is asked once for all of them.
        changes.append(AssetChange(name, status, entry, spec, built, fields, old_name))
    for name, entry in gone.items():
        if only is None or name in only:
            changes.append(AssetChange(name, "removed", entry, None, None))
    changes.sort(key=lambda c: (STATUSES.index(c.status), c.name))
    located = _locate(changes, project, stats, root, cache, git)
    stats.save()
    return AssetDiff(label, tuple(located), unchanged, git)


def derived_change(
    old: LockEntry | None, spec: AssetSpec, now: LockEntry | None
) -> FieldChange | None:
    """``derived``: the derived files that differ (old side: changed or gone; new side:
    changed or new, as the current lock has them), or None when they are the same."""
    before = {d.path: d.sha256 for d in old.derived} if old is not None else {}
    built = {d.path: d.sha256 for d in now.derived} if now is not None else {}
    after = {p: built.get(p) for p, _ in spec.derived}
    if old is None and not after:
        return None
    differ = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    if not differ:
        return None
    return FieldChange(
        "derived", [p for p in differ if p in before], [p for p in differ if p in after]
    )


def _fields(entry: LockEntry, spec: AssetSpec, built: LockEntry | None) -> tuple[FieldChange, ...]:
    new = spec.request
    out = [
        FieldChange(f, entry.request.get(f), new[f])
        for f in REQUEST_FIELDS
        if entry.request.get(f) != new[f]
    ]
    if entry.path != spec.output:
        out.append(FieldChange("output", entry.path, spec.output))
    if not out and entry.spec_hash != spec.spec_hash:
        out.append(FieldChange("spec_hash", entry.spec_hash, spec.spec_hash))  # hash version
    if built is not None and entry.spec_hash == spec.spec_hash and built.sha256 != entry.sha256:
        out.append(FieldChange("image", entry.sha256, built.sha256))  # regenerated (--force)
    return tuple(out)


def _locate(
    changes: list[AssetChange],
    project: Project,
    stats: StatCache,
    root: str,
    cache: Cache,
    git: GitRevision | None,
) -> list[AssetChange]:
    """Fill in where each side's image comes from (see ImageRef)."""
    olds: dict[str, ImageRef | None] = {}
    want_git: dict[str, LockEntry] = {}
    for c in changes:
        if c.old is None:
            continue
        ref = _from_worktree(c.old, stats, root) or _from_cache(c.old.spec_hash, c.old, cache)
        olds[c.name] = ref
        if ref is None and git is not None:
            want_git[c.name] = c.old
    if want_git and git is not None:
        sizes = git.sizes(e.path for e in want_git.values())
        for name, e in want_git.items():
            if sizes.get(e.path) == e.bytes:  # a Git LFS pointer is not the image
                olds[name] = ImageRef(GIT, e.sha256, _fmt(e), e.path)
    out = []
    for c in changes:
        new_ref = None
        if c.new is not None:
            if c.built is not None:
                new_ref = _from_worktree(c.built, stats, root, c.new.output)
            new_ref = new_ref or _from_cache(c.new.spec_hash, None, cache, c.new.format)
        out.append(replace(c, old_image=olds.get(c.name), new_image=new_ref))
    return out


def _fmt(e: LockEntry) -> str:
    return e.image_format or "png"


def _from_worktree(
    e: LockEntry, stats: StatCache, root: str, prefer: str | None = None
) -> ImageRef | None:
    for path in dict.fromkeys(p for p in (prefer, e.path) if p):
        if stats.digest(root, path) == e.sha256:
            return ImageRef(WORKTREE, e.sha256, _fmt(e), path)
    return None


def _from_cache(
    spec_hash: str, e: LockEntry | None, cache: Cache, fmt: str | None = None
) -> ImageRef | None:
    record = cache.record(spec_hash)
    if record is None:
        return None
    fmt = fmt or (_fmt(e) if e is not None else "png")
    blob = record.blobs.get(fmt)
    if blob is None or (e is not None and blob[0] != e.sha256):
        return None
    return ImageRef(CACHE, blob[0], fmt)


# --- output -----------------------------------------------------------------------------

_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """``[("=", "a city at "), ("-", "dawn"), ("+", "dusk")]``: words kept, removed, added."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    out: list[tuple[str, str]] = []

    def emit(op: str, tokens: list[str]) -> None:
        if not tokens:
            return
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + "".join(tokens))
        else:
            out.append((op, "".join(tokens)))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            emit("=", a[i1:i2])
        else:
            emit("-", a[i1:i2])
            emit("+", b[j1:j2])
    return out


def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def change_text(c: FieldChange, colour: bool = False) -> str:
    if c.field == "prompt" and isinstance(c.old, str) and isinstance(c.new, str):
        paint = {"-": ("[-", "-]", "31"), "+": ("{+", "+}", "32")}
        parts = []
        for op, text in word_diff(c.old, c.new):
            if op == "=":
                parts.append(text)
                continue
            start, end, code = paint[op]
            parts.append(
                f"\x1b[{code}m{start}{text}{end}\x1b[0m" if colour else f"{start}{text}{end}"
            )
        return "".join(parts)
    return f"{_value(c.old)} -> {_value(c.new)}"


def image_text(ref: ImageRef | None, side: str) -> str:
    if ref is not None:
        return f"{side} from the {ref.source}" if ref.source != GIT else f"{side} from git"
    return f"{side} unavailable" if side == "before" else f"{side} not built yet"


def write_text(diff: AssetDiff, out: IO[str] | None = None, *, colour: bool = False) -> None:
    out = out or sys.stdout
    s = diff.summary
    counts = ", ".join(f"{s[k]} {k}" for k in (*STATUSES, "unchanged") if s[k] or k == "unchanged")
    out.write(f"{diff.old_label} -> working tree: {counts}\n")
    width = max((len(c.name) for c in diff.changes), default=0)
    for c in diff.changes:
        where = c.new.output if c.new is not None else c.old.path if c.old else ""
        extra = f"  (renamed from {c.old_name})" if c.old_name else ""
        out.write(f"\n{SYMBOLS[c.status]} {c.name.ljust(width)}  {where}{extra}\n")
        for f in c.changes:
            out.write(f"    {f.field}: {change_text(f, colour)}\n")
        sides = []
        if c.old is not None:
            sides.append(image_text(c.old_image, "before"))
        if c.new is not None:
            sides.append(image_text(c.new_image, "after"))
        out.write(f"    image: {', '.join(sides)}\n")


def diff_json(
    diff: AssetDiff, files: Mapping[tuple[str, str], str] | None = None
) -> dict[str, Any]:
    """The ``diff --json`` object (see the README); ``files`` adds ``file`` links for pages."""

    def side(ref: ImageRef | None, key: tuple[str, str]) -> dict[str, Any]:
        d: dict[str, Any] = {"image": ref.source if ref else None}
        if files is not None and key in files:
            d["file"] = files[key]
        return d

    assets = []
    for c in diff.changes:
        item: dict[str, Any] = {"name": c.name, "status": c.status}
        if c.old_name:
            item["renamed_from"] = c.old_name
        item["changes"] = [
            {"field": f.field, "old": f.old, "new": f.new}
            | ({"words": word_diff(f.old, f.new)} if f.field == "prompt" else {})
            for f in c.changes
        ]
        item["old"] = (
            None
            if c.old is None
            else {
                "spec_hash": c.old.spec_hash,
                "path": c.old.path,
                "sha256": c.old.sha256,
                "request": dict(c.old.request),
                **side(c.old_image, (c.name, "old")),
            }
        )
        item["new"] = (
            None
            if c.new is None
            else {
                "spec_hash": c.new.spec_hash,
                "path": c.new.output,
                "sha256": c.built.sha256 if c.built else None,
                "built": c.built is not None,
                "request": c.new.request,
                **side(c.new_image, (c.name, "new")),
            }
        )
        assets.append(item)
    return {
        "old": {"label": diff.old_label, "commit": diff.git.commit if diff.git else None},
        "new": {"label": "working tree"},
        "summary": diff.summary,
        "assets": assets,
    }
