"""``assetgen explore --page``: per explored asset, its current image and its candidates.

The gallery's page shell (views/page.py: look, filter box, viewer) and its thumbnail
cache (views/thumbs.py), with one row per asset instead of a grid of assets: the
current output first, then candidates 1..n at the same size, each with its seed and
the ``assetgen pick NAME K`` that pins it. ``explore.js`` adds the row keyboard:
arrows move, Enter enlarges, a number key selects that candidate of the row and
copies its command. Full images are the cache's blobs, copied into ``images/`` beside
the page (never hard-linked: an edited page image must not change the cache), so the
folder stands alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..cache.records import CacheRecord
from ..cache.store import LocalCache
from ..fsutil import atomic_open, atomic_write
from ..project import Project
from ..spec import AssetSpec
from ..views.page import claim_folder, esc, href, render_page, write_page
from ..views.thumbs import ThumbnailCache, thumb_size
from .candidates import image_sha
from .state import Explored, explored, load_state

STATES = (("undecided", "undecided"), ("picked", "picked"), ("waiting", "no candidate here"))


@dataclass(frozen=True)
class PageResult:
    path: Path
    assets: int
    candidates: int
    thumbnails_made: int


def cached_image(cache: LocalCache, spec: AssetSpec) -> Path | None:
    """The loose file of ``spec``'s image in the local cache, if there is one."""
    sha = image_sha(cache.record(spec.spec_hash), spec)
    if sha is None:
        return None
    path = cache.blob_path(sha)
    return path if path.is_file() else None


def _web(name: str) -> str:
    return (resources.files("assetgen.explore") / "web" / name).read_text(encoding="utf-8")


def build_explore_page(
    project: Project,
    *,
    state_file: Path,
    provider: str | None = None,
    out_dir: Path | None = None,
    thumbs: ThumbnailCache | None = None,
) -> PageResult:
    """Write the review page of every explored asset (default ``.assetgen/explore/``)."""
    from ..cache.open import local_cache
    from ..lock.seeds import settle_manifest

    lock = project.load_lock()
    manifest = settle_manifest(project.load_manifest(provider), lock)
    project.ensure_state_dir()
    cache = local_cache(project)  # what is here: the page asks no remote
    found: dict[str, CacheRecord | None] = {}

    def has(spec_hash: str) -> bool:  # each record read once: _publish needs it too
        record = found[spec_hash] = cache.record(spec_hash)
        return record is not None and any(cache.has_blob(sha) for sha, _ in record.blobs.values())

    asked = load_state(state_file, manifest.specs, has)
    rows = explored(manifest.specs, asked, has, provider)
    digests = project.output_digests(manifest, lock)
    if out_dir is None:
        out_dir = project.page_dir("explore")  # ours: it also holds the state
    else:
        claim_folder(out_dir, project.display(out_dir))
    thumbs = thumbs or ThumbnailCache(project.state_dir / "thumbs")
    images = out_dir / "images"
    images.mkdir(parents=True, exist_ok=True)
    tiles: list[list[_Tile]] = []
    sources: dict[str, Path] = {}
    for row in rows:
        current = _current(row.spec, lock, digests, project.root)
        mine = [current]
        if current.digest and current.file:
            sources[current.digest] = current.file
        for c in row.candidates:
            tile = _Tile(kind="candidate", k=c.k, spec=c.spec, picked=row.picked == c.k)
            if c.k in row.cached:
                published = _publish(cache, found.get(c.spec.spec_hash), c.spec, images)
                if published is not None:
                    tile.digest, tile.file = published
                    sources[published[0]] = published[1]
            mine.append(tile)
        tiles.append(mine)
    _prune(images, {t.file.name for ts in tiles for t in ts if t.file and t.kind == "candidate"})
    made = thumbs.made
    have = thumbs.ensure(sources)
    names = thumbs.publish(have, out_dir / "thumbs")
    records: list[dict[str, Any]] = []
    sections = []
    for row, mine in zip(rows, tiles, strict=True):
        state = "picked" if row.picked else ("undecided" if row.cached else "waiting")
        cards = []
        for tile in mine:
            cards.append(_card(len(records), tile, row, state, names, out_dir))
            records.append(_record(tile, row, out_dir))
        n = len(row.candidates)
        note = f"candidate {row.picked} picked" if row.picked else f"{len(row.cached)} of {n} here"
        sections.append(
            f'<section class="group row" aria-label="{esc(row.spec.name)}" data-name="{esc(row.spec.name)}">\n'
            f"<h2>{esc(row.spec.name)} <small>({esc(note)})</small></h2>\n"
            f'<ul class="grid explore">\n' + "\n".join(cards) + "\n</ul>\n</section>"
        )
    total = sum(len(r.candidates) for r in rows)
    body = "\n".join(sections) or (
        '<p class="empty">Nothing explored yet: <code>assetgen explore NAME -n 4</code></p>'
    )
    text = render_page(
        title=f"{project.root.name}: assetgen explore",
        subtitle=f"{len(rows)} asset{'s' if len(rows) != 1 else ''}, {total} candidates. "
        "Arrows move, Enter enlarges, a number key copies that candidate's pick command.",
        states=[(v, label) for v, label in STATES],
        total=sum(len(t) for t in tiles),
        body=body + '\n<p id="copied" role="status" aria-live="polite"></p>',
        records=records,
    )
    text = text.replace("</style>", _web("explore.css") + "</style>", 1)
    text = text.replace("</body>", f"<script>\n{_web('explore.js')}</script>\n</body>", 1)
    path = write_page(out_dir, text)
    return PageResult(path, len(rows), total, thumbs.made - made)


@dataclass
class _Tile:
    kind: str  # "current" | "candidate"
    spec: AssetSpec
    k: int = 0
    picked: bool = False
    digest: str | None = None
    file: Path | None = None  # the full image
    width: int = 0
    height: int = 0
    seed: int | None = None  # the current output's own seed, when the lock says it
    stale: bool = False  # the current output is of an older request


def _current(spec: AssetSpec, lock: Any, digests: dict[str, str | None], root: Path) -> _Tile:
    entry = lock.entries.get(spec.name)
    tile = _Tile(kind="current", spec=spec)
    path = spec.output if digests.get(spec.output) else (entry.path if entry else None)
    if path and digests.get(path):
        tile.digest, tile.file = digests[path], root / path
        if entry is not None and entry.path == path:
            tile.width, tile.height = entry.width, entry.height
            seed = entry.request.get("seed")
            tile.seed = seed if isinstance(seed, int) else spec.seed  # what the file was made with
            tile.stale = entry.spec_hash != spec.spec_hash
    return tile


def _publish(
    cache: LocalCache, record: CacheRecord | None, spec: AssetSpec, folder: Path
) -> tuple[str, Path] | None:
    """The candidate's image copied beside the page, by temp file + rename (a kill mid-copy
    leaves no truncated image that later runs would trust); a copy, not a hard link, so
    editing the page's image never changes the cache's blob."""
    sha = image_sha(record, spec)
    if record is None or sha is None:
        return None
    size = record.blobs[spec.format][1]
    ext = {"jpeg": "jpg"}.get(spec.format, spec.format)
    dest = folder / f"{sha}.{ext}"
    src = cache.blob_path(sha)
    with contextlib.suppress(OSError):
        st = dest.lstat()
        if stat.S_ISREG(st.st_mode) and st.st_size == size and st.st_nlink == 1:
            return sha, dest  # (a hard link an older page made is copied again)
    try:
        with src.open("rb") as blob, atomic_open(dest, durable=False) as f:
            shutil.copyfileobj(blob, f)
    except FileNotFoundError:  # packed (cache pull): write the bytes out
        data = cache.read_blob(sha)
        if data is None:
            return None
        atomic_write(dest, data, durable=False)
    return sha, dest


def _prune(folder: Path, keep: set[str]) -> None:
    with os.scandir(folder) as entries:
        for e in entries:
            if e.name not in keep and e.is_file():
                with contextlib.suppress(OSError):
                    os.unlink(e.path)


def _link(tile: _Tile, out_dir: Path) -> str:
    """A candidate's image is in ``images/`` beside the page; the current output anywhere."""
    assert tile.file is not None
    return f"images/{tile.file.name}" if tile.kind == "candidate" else href(tile.file, out_dir)


def _pick_command(name: str, k: int) -> str:
    return f"assetgen pick {name} {k}"


def _card(
    i: int, tile: _Tile, row: Explored, state: str, thumbs: dict[str, str], out_dir: Path
) -> str:
    s, name = tile.spec, row.spec.name
    w, h = (tile.width or s.width), (tile.height or s.height)
    if tile.file is None:
        note = "no output yet" if tile.kind == "current" else "not generated here"
        opener = f'<button type="button" class="open none">{note}</button>'
    else:
        link = _link(tile, out_dir)
        thumb = thumbs.get(tile.digest or "")
        if thumb is None:
            opener = f'<a class="open none" href="{link}">no preview</a>'
        else:
            tw, th = thumb_size(w, h)
            opener = (
                f'<a class="open" href="{link}"><img src="thumbs/{esc(thumb)}" '
                f'alt="{esc(_alt(tile))}" loading="lazy" decoding="async" width="{tw}" height="{th}"></a>'
            )
    search = esc((name + " " + row.spec.prompt).lower())
    if tile.kind == "current":
        title = "current"
        seed = s.seed if tile.seed is None else tile.seed
        stale = " · stale: another request than the manifest's" if tile.stale else ""
        facts = f"seed {seed}{' (derived)' if s.seed_derived else ''}{stale}"
        action = ""
        badge = '<span class="badge st-up-to-date">output</span>' if tile.file else ""
        data = 'data-k="0"'
    else:
        title = f"#{tile.k}"
        facts = f"seed {s.seed}"
        cmd = _pick_command(name, tile.k)
        action = (
            f'\n<button type="button" class="copy" data-cmd="{esc(cmd)}" '
            f'title="copy the command">copy <code>{esc(cmd)}</code></button>'
        )
        badge = '<span class="badge st-up-to-date">picked</span>' if tile.picked else ""
        data = f'data-k="{tile.k}" data-cmd="{esc(cmd)}"'
    return (
        f'<li class="card tile{" picked" if tile.picked else ""}" data-i="{i}" data-state="{state}" '
        f'{data} data-search="{search}">\n{opener}\n<div class="meta">\n'
        f'<h3 class="name">{esc(title)}</h3>{badge}\n<p class="facts">{esc(facts)}</p>{action}\n</div>\n</li>'
    )


def _alt(tile: _Tile) -> str:
    s = tile.spec
    what = "Draft stand-in for" if s.provider == "draft" else "Candidate for"
    return f"{what}: {s.prompt} (seed {s.seed})"


def _record(tile: _Tile, row: Explored, out_dir: Path) -> dict[str, Any]:
    s, name = tile.spec, row.spec.name
    if tile.file is None:
        image: dict[str, Any] = {"src": None, "note": "Not generated here yet."}
    else:
        image = {
            "src": _link(tile, out_dir),
            "alt": _alt(tile),
            "caption": f"{s.width}×{s.height} · seed {s.seed}",
        }
    title = f"{name}: current output" if tile.kind == "current" else f"{name} #{tile.k}"
    details = [
        ["seed", str(s.seed)],
        ["prompt", s.prompt],
        ["size", f"{s.size} ({s.width}×{s.height})"],
        ["quality", s.quality],
        ["model", s.model],
        ["provider", s.provider],
        ["spec hash", s.spec_hash],
    ]
    entry = "" if tile.kind == "current" else _pick_command(name, tile.k)
    return {"title": title, "images": [image], "details": details, "entry": entry}
