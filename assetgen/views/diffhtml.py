"""``assetgen diff --html``: the before/after page a reviewer opens on a pull request.

Unlike the gallery, this page copies the images it shows into its own folder
(``images/``, named by content digest) because the old ones exist nowhere in the
working tree: they come from the cache or from git. The folder is therefore
complete on its own and can be published as a CI artifact.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..cache.records import Cache
from ..fsutil import atomic_write
from ..lock.model import format_entry
from ..project import Project
from .diff import CACHE, GIT, STATUSES, WORKTREE, AssetChange, AssetDiff, ImageRef, word_diff
from .gallery import alt_text
from .page import claim_folder, esc, render_page, write_page
from .thumbs import ThumbnailCache, thumb_size

EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}
LABELS = {"changed": "changed", "renamed": "renamed", "added": "added", "removed": "removed"}

_SOURCES = {WORKTREE: "the working tree", CACHE: "the cache", GIT: "git"}
Side = tuple[str, str]  # (asset name, "old" | "new")


def materialize(diff: AssetDiff, project: Project, cache: Cache, folder: Path) -> dict[Side, str]:
    """Write every available image into ``folder`` once; (asset, side) -> file name.

    Each image is read from where it was located first, then from any other source
    that may have the same bytes (the cache holds blobs by digest; git at the old
    revision holds the old files), and is verified against its digest.
    """
    folder.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, tuple[ImageRef, str | None]] = {}  # sha -> (ref, old path for git)
    sides: dict[Side, str] = {}
    for c in diff.changes:
        for side, ref in (("old", c.old_image), ("new", c.new_image)):
            if ref is None:
                continue
            sides[(c.name, side)] = ref.sha256
            git_path = c.old.path if side == "old" and c.old is not None else None
            wanted.setdefault(ref.sha256, (ref, git_path))
    names = {sha: f"{sha}.{EXTENSIONS.get(ref.format, 'png')}" for sha, (ref, _) in wanted.items()}
    missing: dict[str, str] = {}  # sha -> git path, for one batch
    for sha, (ref, git_path) in wanted.items():
        dest = folder / names[sha]
        if dest.is_file():
            continue
        data = None
        if ref.source == WORKTREE and ref.path:
            with contextlib.suppress(OSError):
                data = (project.root / ref.path).read_bytes()
        if data is None or hashlib.sha256(data).hexdigest() != sha:
            data = cache.read_blob(sha)
        if data is not None:
            atomic_write(dest, data, durable=False)
        elif diff.git is not None and (git_path or ref.source == GIT):
            missing[sha] = git_path or ref.path or ""
    if missing and diff.git is not None:
        by_path = {p: sha for sha, p in missing.items()}
        for path, data in diff.git.read_many(by_path):
            sha = by_path[path]
            if data is not None and hashlib.sha256(data).hexdigest() == sha:
                atomic_write(folder / names[sha], data, durable=False)
    present = {sha for sha in wanted if (folder / names[sha]).is_file()}
    _prune(folder, {names[sha] for sha in present})
    return {key: names[sha] for key, sha in sides.items() if sha in present}


def _prune(folder: Path, keep: set[str]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name not in keep and entry.is_file():
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def write_diff_page(
    diff: AssetDiff, project: Project, cache: Cache, out_dir: Path, thumbs: ThumbnailCache
) -> tuple[Path, dict[Side, str]]:
    """Write ``out_dir/index.html`` with its images; returns it and (asset, side) -> file."""
    claim_folder(out_dir, project.display(out_dir))
    files = materialize(diff, project, cache, out_dir / "images")
    sources = {f.split(".", 1)[0]: out_dir / "images" / f for f in files.values()}
    have = thumbs.ensure(sources)
    thumb_names = thumbs.publish(have, out_dir / "thumbs")
    sections = []
    index = 0
    records: list[dict[str, Any]] = []
    for status in STATUSES:
        group = [c for c in diff.changes if c.status == status]
        if not group:
            continue
        cards = []
        for c in group:
            cards.append(_card(index, c, diff, files, thumb_names))
            records.append(_record(c, diff, files))
            index += 1
        sections.append(
            f'<section class="group" aria-label="{LABELS[status]}">\n'
            f"<h2>{LABELS[status]} <small>({len(group)})</small></h2>\n"
            f'<ul class="grid wide">\n' + "\n".join(cards) + "\n</ul>\n</section>"
        )
    summary = diff.summary
    counts = ", ".join(f"{summary[k]} {k}" for k in (*STATUSES, "unchanged"))
    body = "\n".join(sections) or "<p>No asset changed.</p>"
    text = render_page(
        title=f"{project.root.name}: assetgen diff",
        subtitle=f"{diff.old_label} -> working tree: {counts}",
        states=[(s, f"{LABELS[s]} ({summary[s]})") for s in STATUSES],
        total=len(diff.changes),
        body=body,
        records=records,
    )
    return write_page(out_dir, text), files


def _figure(
    c: AssetChange,
    side: str,
    files: Mapping[Side, str],
    thumbs: Mapping[str, str],
    caption: str,
) -> str:
    file = files.get((c.name, side))
    if file is None:
        note = _missing_note(c, side)
        return f'<figure><button type="button" class="open none">{esc(note)}</button><figcaption>{esc(caption)}</figcaption></figure>'
    sha = file.split(".", 1)[0]
    thumb = thumbs.get(sha)
    link = f"images/{esc(file)}"
    if thumb is None:
        inner = f'<a class="open none" href="{link}">no preview</a>'
    else:
        w, h = _dims(c, side)
        tw, th = thumb_size(w, h)
        inner = (
            f'<a class="open" href="{link}"><img src="thumbs/{esc(thumb)}" alt="{esc(_alt(c, side))}" '
            f'loading="lazy" decoding="async" width="{tw}" height="{th}"></a>'
        )
    return f"<figure>{inner}<figcaption>{esc(caption)}</figcaption></figure>"


def _missing_note(c: AssetChange, side: str) -> str:
    if side == "old":
        return "new asset" if c.old is None else "old image unavailable"
    return "removed" if c.new is None else "not built yet"


def _dims(c: AssetChange, side: str) -> tuple[int, int]:
    if side == "old" and c.old is not None:
        return c.old.width, c.old.height
    if c.new is not None:
        return c.new.width, c.new.height
    return 0, 0


def _alt(c: AssetChange, side: str) -> str:
    if side == "old" and c.old is not None:
        prompt, provider = str(c.old.request.get("prompt", "")), str(c.old.request.get("provider"))
    elif c.new is not None:
        prompt, provider = c.new.prompt, c.new.provider
    else:
        return ""
    return f"{'Before' if side == 'old' else 'After'}: {alt_text(prompt, provider)}"


def _change_html(field: str, old: Any, new: Any) -> str:
    if field == "prompt" and isinstance(old, str) and isinstance(new, str):
        tags = {"=": ("", ""), "-": ("<del>", "</del>"), "+": ("<ins>", "</ins>")}
        return "".join(f"{tags[op][0]}{esc(t)}{tags[op][1]}" for op, t in word_diff(old, new))
    return f"<del>{esc(old)}</del> &rarr; <ins>{esc(new)}</ins>"


def _card(
    i: int,
    c: AssetChange,
    diff: AssetDiff,
    files: Mapping[Side, str],
    thumbs: Mapping[str, str],
) -> str:
    before = f"before ({diff.old_label})" if c.old is not None else "before"
    pair = _figure(c, "old", files, thumbs, before) + _figure(c, "new", files, thumbs, "after")
    rows = "".join(
        f'<tr><th scope="row">{esc(f.field)}</th><td>{_change_html(f.field, f.old, f.new)}</td></tr>'
        for f in c.changes
    )
    renamed = f'<p class="facts">renamed from {esc(c.old_name)}</p>' if c.old_name else ""
    where = c.new.output if c.new is not None else c.old.path if c.old is not None else ""
    prompts = {str(c.old.request.get("prompt", "")) if c.old else "", c.new.prompt if c.new else ""}
    search = " ".join([c.name, c.old_name or "", *sorted(prompts)]).lower()
    table = f'<table class="changes">{rows}</table>' if rows else ""
    return (
        f'<li class="card" data-i="{i}" data-state="{c.status}" data-search="{esc(search)}">\n'
        f'<div class="pair">{pair}</div>\n<div class="meta">\n<h3 class="name">{esc(c.name)}</h3>\n'
        f'<span class="badge st-{c.status}">{LABELS[c.status]}</span>\n'
        f'<p class="facts">{esc(where)}</p>{renamed}\n{table}\n</div>\n</li>'
    )


def _record(c: AssetChange, diff: AssetDiff, files: Mapping[Side, str]) -> dict[str, Any]:
    images = []
    for side, caption in (("old", f"before ({diff.old_label})"), ("new", "after")):
        file = files.get((c.name, side))
        ref = c.old_image if side == "old" else c.new_image
        source = f", from {_SOURCES[ref.source]}" if ref is not None else ""
        images.append(
            {
                "src": f"images/{file}" if file else None,
                "alt": _alt(c, side),
                "caption": caption + (source if file else ""),
                "note": _missing_note(c, side),
            }
        )
    details = [["status", LABELS[c.status] + (f" (from {c.old_name})" if c.old_name else "")]]
    details += [
        [f.field, f"{f.old!r} -> {f.new!r}" if f.field != "prompt" else f"{f.old}\n-> {f.new}"]
        for f in c.changes
    ]
    entries = []
    if c.old is not None:
        entries.append(f"# before\n{format_entry(c.old_name or c.name, c.old)}")
    if c.built is not None:
        entries.append(f"# after\n{format_entry(c.name, c.built)}")
    elif c.new is not None:
        entries.append(f"# after: not built yet (spec_hash {c.new.spec_hash})")
    return {"title": c.name, "images": images, "details": details, "entry": "\n".join(entries)}
