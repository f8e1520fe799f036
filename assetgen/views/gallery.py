"""``assetgen gallery``: the whole asset set on one static page.

Each asset's state comes from the same plan ``assetgen plan`` prints (up to date,
stale, missing), plus "failed" when the last build failed on the very spec the
manifest asks for now (``.assetgen/<stem>.failures.json``, written by builds). The
image shown is whatever file is there, even a stale one: an old picture with a
"stale" badge says more than no picture. Full images are the output files
themselves, linked relatively; only thumbnails are written beside the page.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..build.failures import read_failures
from ..lock.model import LockEntry, Lockfile, format_entry
from ..plan.planner import make_plan
from ..plan.render import credits_text
from ..project import Project
from ..spec import AssetSpec, Manifest
from .page import claim_folder, esc, href, render_page, write_page
from .thumbs import ThumbnailCache, thumb_size

STATES = ("up-to-date", "stale", "missing", "failed")
STATE_LABELS = {
    "up-to-date": "up to date",
    "stale": "stale",
    "missing": "missing",
    "failed": "failed in the last build",
}


@dataclass(frozen=True, slots=True)
class GalleryItem:
    """One asset as the gallery shows it."""

    spec: AssetSpec
    state: str  # one of STATES
    reason: str  # the plan's reason ("up to date", "prompt changed", "output missing", ...)
    entry: LockEntry | None  # the lock entry the asset has (for a rename: its old name's)
    entry_name: str | None
    image: str | None  # the file shown, relative to the project root; None when there is none
    digest: str | None  # sha256 of that file
    error: str | None = None  # the last build's error, when state is "failed"


@dataclass(frozen=True)
class GalleryResult:
    path: Path  # index.html
    counts: Mapping[str, int]  # per state
    thumbnails_made: int


def gallery_items(project: Project, manifest: Manifest, lock: Lockfile) -> list[GalleryItem]:
    """Every asset of the manifest with its state and the file to show, sorted by name.

    The page does not say whether a stale asset could come from the cache, so the
    plan asks no cache (a remote one would be asked about every such asset)."""
    digests = project.output_digests(manifest, lock)  # also wanted below: which file to show
    plan = make_plan(manifest.specs, lock, digests, lambda spec_hash: False)
    failures = read_failures(project.state_file("failures.json"))
    items = []
    for a in plan.actions:
        if a.spec is None:  # in the lock only: not part of the set any more
            continue
        candidates = (a.spec.output, a.source, a.locked.path if a.locked else None)
        shown = next((p for p in candidates if p and digests.get(p)), None)
        failure = failures.get(a.name)
        if a.action == "noop":
            state = "up-to-date"
        elif failure is not None and failure["spec_hash"] == a.spec.spec_hash:
            state = "failed"
        else:
            state = "stale" if shown else "missing"
        items.append(
            GalleryItem(
                spec=a.spec,
                state=state,
                reason=a.reason,
                entry=a.locked,
                entry_name=(a.old_name or a.name) if a.locked else None,
                image=shown,
                digest=digests.get(shown) if shown else None,
                error=failure["error"] if state == "failed" and failure else None,
            )
        )
    return items


def write_gallery(
    project: Project,
    items: Sequence[GalleryItem],
    out_dir: Path,
    thumbs: ThumbnailCache,
    undecided: frozenset[str] = frozenset(),
) -> GalleryResult:
    """Make the missing thumbnails and write ``out_dir/index.html``; the ``undecided``
    assets have candidates to pick from (explore/state.py)."""
    claim_folder(out_dir, project.display(out_dir))
    sources = {it.digest: project.root / it.image for it in items if it.digest and it.image}
    made_before = thumbs.made
    have = thumbs.ensure(sources)
    names = thumbs.publish(have, out_dir / "thumbs")
    counts = {s: sum(1 for it in items if it.state == s) for s in STATES}
    groups: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        groups.setdefault(posixpath.dirname(it.spec.output) or ".", []).append(i)
    sections = []
    for group in sorted(groups):
        cards = "\n".join(
            _card(i, items[i], names, project, out_dir, items[i].spec.name in undecided)
            for i in groups[group]
        )
        n = len(groups[group])
        sections.append(
            f'<section class="group" aria-label="{esc(group)}">\n'
            f"<h2>{esc(group)}/ <small>({n})</small></h2>\n"
            f'<ul class="grid">\n{cards}\n</ul>\n</section>'
        )
    states = [(s, f"{STATE_LABELS[s]} ({counts[s]})") for s in STATES]
    summary = ", ".join(f"{counts[s]} {STATE_LABELS[s]}" for s in STATES if counts[s])
    n = len(items)
    text = render_page(
        title=f"{project.root.name}: assetgen gallery",
        subtitle=f"{project.manifest_path.name}: {n} asset{'s' if n != 1 else ''}"
        + (f" ({summary})" if summary else ""),
        states=states,
        total=n,
        body="\n".join(sections),
        records=[_record(it, project, out_dir) for it in items],
    )
    path = write_page(out_dir, text)
    return GalleryResult(path, counts, thumbs.made - made_before)


def build_gallery(
    project: Project,
    *,
    provider: str | None = None,
    out_dir: Path | None = None,
    thumbs: ThumbnailCache | None = None,
    selection: Sequence[str] = (),
) -> GalleryResult:
    """Plan ``project`` and write its gallery (default ``.assetgen/gallery/``), of every
    asset or of those ``selection`` names (NAME or GLOB)."""
    manifest = project.load_manifest(provider)
    items = gallery_items(project, manifest, project.load_lock())
    if selection:
        from ..build.selection import match_names

        chosen = match_names([it.spec.name for it in items], selection)
        items = [it for it in items if it.spec.name in chosen]
    project.ensure_state_dir()
    thumbs = thumbs or ThumbnailCache(project.state_dir / "thumbs")
    from ..explore.state import undecided_names

    undecided = undecided_names(project, [it.spec for it in items])
    return write_gallery(project, items, out_dir or project.page_dir("gallery"), thumbs, undecided)


def alt_text(prompt: str, provider: str) -> str:
    """The prompt describes the image; a draft is said to be a stand-in for it."""
    return f"Draft stand-in for: {prompt}" if provider == "draft" else prompt


def _dims(it: GalleryItem) -> tuple[int, int]:
    if it.state != "up-to-date" and it.entry is not None and it.image == it.entry.path:
        return it.entry.width, it.entry.height
    return it.spec.width, it.spec.height


def _shown_provider(it: GalleryItem) -> str:
    if it.entry is not None and it.image == it.entry.path:
        return str(it.entry.request.get("provider", it.spec.provider))
    return it.spec.provider


def _credits(it: GalleryItem) -> str:
    if it.state == "up-to-date" and it.entry is not None:
        return f"{credits_text(it.entry.credits)} credits" if it.entry.credits else "free"
    return f"{credits_text(it.spec.credits)} credits to build" if it.spec.credits else "free"


def _card(
    i: int,
    it: GalleryItem,
    thumbs: Mapping[str, str],
    project: Project,
    out_dir: Path,
    undecided: bool = False,
) -> str:
    s = it.spec
    alt = alt_text(s.prompt, _shown_provider(it))
    if it.image is None:
        note = "build failed" if it.state == "failed" else "not built yet"
        opener = f'<button type="button" class="open none">{note}</button>'
    else:
        link = href(project.root / it.image, out_dir)
        thumb = thumbs.get(it.digest or "")
        if thumb is None:
            opener = f'<a class="open none" href="{link}">no preview: {esc(it.image)}</a>'
        else:
            tw, th = thumb_size(*_dims(it))
            opener = (
                f'<a class="open" href="{link}"><img src="thumbs/{esc(thumb)}" alt="{esc(alt)}" '
                f'loading="lazy" decoding="async" width="{tw}" height="{th}"></a>'
            )
    facts = f"{s.size} · {s.quality} · {s.width}×{s.height} · seed {s.seed} · {_credits(it)}"
    notes = f'\n<p class="error">{esc(it.error)}</p>' if it.error else ""
    if undecided:  # candidates to pick from: `assetgen explore --page`
        notes += (
            '\n<p class="badge st-stale explore" title="assetgen explore --page">'
            "candidates to pick from</p>"
        )
    notes += _derived_list(it, project, out_dir)
    return (
        f'<li class="card" data-i="{i}" data-state="{it.state}" '
        f'data-search="{esc((s.name + " " + s.prompt).lower())}">\n{opener}\n'
        f'<div class="meta">\n<h3 class="name">{esc(s.name)}</h3>\n'
        f'<span class="badge st-{it.state}" title="{esc(it.reason)}">{STATE_LABELS[it.state]}</span>\n'
        f'<p class="facts">{esc(facts)}</p>\n<p class="prompt">{esc(s.prompt)}</p>{notes}\n</div>\n</li>'
    )


def _derived_list(it: GalleryItem, project: Project, out_dir: Path) -> str:
    """The files derived from this master, listed under it (linked where they exist)."""
    if not it.spec.derived:
        return ""
    locked = {d.path: d for d in it.entry.derived} if it.entry is not None else {}
    items = []
    for path, _ in it.spec.derived:
        d = locked.get(path)
        size = f" · {d.width}×{d.height}" if d is not None and d.width else ""
        if (project.root / path).is_file():
            link = href(project.root / path, out_dir)
            items.append(f'<li><a href="{link}">{esc(path)}</a>{esc(size)}</li>')
        else:
            items.append(f"<li>{esc(path)} (not derived yet)</li>")
    n = len(items)
    return (
        f'\n<details class="derived"><summary>{n} derived file{"s" if n != 1 else ""}</summary>'
        f"<ul>{''.join(items)}</ul></details>"
    )


def _record(it: GalleryItem, project: Project, out_dir: Path) -> dict[str, Any]:
    s = it.spec
    if it.image is None:
        image: dict[str, Any] = {
            "src": None,
            "note": "Not built yet: `assetgen build` makes it.",
            "caption": s.output,
        }
    else:
        w, h = _dims(it)
        image = {
            "src": href(project.root / it.image, out_dir),
            "alt": alt_text(s.prompt, _shown_provider(it)),
            "caption": f"{it.image} · {w}×{h}",
        }
    details = [
        ["state", STATE_LABELS[it.state] + (f" ({it.reason})" if it.state != "up-to-date" else "")],
        *([["error", it.error]] if it.error else []),
        ["prompt", s.prompt],
        ["size", f"{s.size} ({s.width}×{s.height})"],
        ["quality", s.quality],
        ["seed", f"{s.seed}{' (derived from the name)' if s.seed_derived else ''}"],
        ["model", s.model],
        ["provider", s.provider],
        ["output", s.output],
        ["credits", _credits(it)],
        ["spec hash", s.spec_hash],
        *([["derived", ", ".join(p for p, _ in s.derived)]] if s.derived else []),
    ]
    entry = (
        format_entry(it.entry_name or s.name, it.entry)
        if it.entry is not None
        else "(not in the lock yet)"
    )
    return {"title": s.name, "images": [image], "details": details, "entry": entry}
