"""WebP thumbnails for the HTML views, cached by the digest of the image they show.

A thumbnail is a pure function of the source bytes, its size and the settings
below, so it is stored under ``<sha256 of the source>-<size>.webp`` in a folder
named after THUMB_VERSION: a second gallery of an unchanged set decodes nothing,
and a changed image gets a new name instead of a stale picture. The pages link
thumbnails into their own folder (a hard link where the file system allows it),
so a page directory never points into assetgen's private state.

Decoding dominates the cost (a 1K PNG takes about 10 ms to inflate), so missing
thumbnails are made in a pool of processes, one per core.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..fsutil import atomic_write
from ..imaging import worker_context

THUMB_VERSION = 1  # bump when the settings below change: old thumbnails are then not reused
THUMB_PX = 320  # longest side; sharp on a 160 px card at 2x density
WEBP_QUALITY = 76
WEBP_METHOD = 0  # the fastest encoder effort: thumbnails are small whatever the effort
POOL_THRESHOLD = 8  # fewer missing thumbnails than this are made in this process


def thumb_size(width: int, height: int, px: int = THUMB_PX) -> tuple[int, int]:
    """The pixel size of a thumbnail of a ``width`` x ``height`` image (never enlarged)."""
    if width <= 0 or height <= 0:
        return px, px
    scale = min(1.0, px / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def render_thumbnail(source: str, dest: str, px: int = THUMB_PX) -> bool:
    """Write a WebP thumbnail of the image at ``source`` to ``dest``; False if it cannot be read.

    Runs in worker processes, so it takes and returns only plain values.
    """
    from PIL import Image

    try:
        with Image.open(source) as im:
            im.draft("RGB", (px, px))  # JPEG: decode at 1/2, 1/4 or 1/8 scale directly
            im.load()
            small: Image.Image = im
            if im.mode not in ("RGB", "RGBA"):  # WebP takes only these; converting copies
                has_alpha = im.mode in ("LA", "PA") or "transparency" in im.info
                small = im.convert("RGBA" if has_alpha else "RGB")
            small.thumbnail((px, px), Image.Resampling.BILINEAR, reducing_gap=2.0)
            buf = io.BytesIO()
            small.save(buf, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    atomic_write(Path(dest), buf.getvalue(), durable=False)
    return True


class ThumbnailCache:
    """Thumbnails under ``root`` (``.assetgen/thumbs``), keyed by source digest and size."""

    def __init__(self, root: Path, px: int = THUMB_PX) -> None:
        self.root = root / f"v{THUMB_VERSION}"
        self.px = px
        self.made = 0  # thumbnails rendered by this instance (tests and benchmarks read it)

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}-{self.px}.webp"

    def ensure(self, sources: Mapping[str, Path], *, workers: int | None = None) -> set[str]:
        """Make the missing thumbnails of ``sources`` (digest -> image file).

        Returns the digests that have a thumbnail now. A source that is not a readable
        image simply has none; the page shows its name instead.
        """
        have = {d for d in sources if self.path(d).is_file()}
        todo = [(str(p), str(self.path(d)), d) for d, p in sources.items() if d not in have]
        if not todo:
            return have
        workers = min(workers or os.cpu_count() or 1, len(todo))
        done: list[bool] | None = None
        if workers >= 2 and len(todo) >= POOL_THRESHOLD:
            try:
                with ProcessPoolExecutor(workers, mp_context=worker_context()) as pool:
                    done = list(
                        pool.map(
                            render_thumbnail,
                            [t[0] for t in todo],
                            [t[1] for t in todo],
                            [self.px] * len(todo),
                            chunksize=max(1, min(16, len(todo) // (workers * 4))),
                        )
                    )
            except (OSError, NotImplementedError, BrokenProcessPool):
                done = None  # no processes here (a sandbox, no /dev/shm): one at a time
        if done is None:
            done = [render_thumbnail(src, dest, self.px) for src, dest, _ in todo]
        for (_, _, digest), ok in zip(todo, done, strict=True):
            if ok:
                have.add(digest)
                self.made += 1
        return have

    def trim(self, keep: set[str]) -> int:
        """Remove thumbnails of images not in ``keep`` (digests), and any left by older
        versions of this module (``cache gc``); returns the bytes freed. Only what this
        class writes is touched: ``v<N>/<xx>/<sha256>-<px>.webp``, links not followed."""
        freed = 0
        for version in _subdirs(self.root.parent, _VERSION_DIR):
            for folder in _subdirs(version.path, _FANOUT_DIR):
                for thumb in _entries(folder.path):
                    made = _THUMB_NAME.fullmatch(thumb.name)
                    if made is None or not thumb.is_file(follow_symlinks=False):
                        continue
                    if version.path != str(self.root) or made[1] not in keep:
                        with contextlib.suppress(OSError):
                            size = thumb.stat(follow_symlinks=False).st_size
                            os.unlink(thumb.path)
                            freed += size
        return freed

    def publish(self, digests: Iterable[str], folder: Path) -> dict[str, str]:
        """Link (or copy) these thumbnails into ``folder``; digest -> file name there.

        Files already there are kept (their names say what they hold); others in
        ``folder`` that no digest asks for are removed, so the folder does not grow
        with every edit.
        """
        folder.mkdir(parents=True, exist_ok=True)
        names: dict[str, str] = {}
        for digest in digests:
            src = self.path(digest)
            name = src.name
            dest = folder / name
            if not dest.exists():
                try:
                    os.link(src, dest)
                except OSError:
                    shutil.copyfile(src, dest)
            names[digest] = name
        keep = set(names.values())
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name not in keep and entry.is_file():
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
        return names


_VERSION_DIR = re.compile(r"v\d+")
_FANOUT_DIR = re.compile(r"[0-9a-f]{2}")
_THUMB_NAME = re.compile(r"([0-9a-f]{64})-\d+\.webp")


def _entries(directory: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as it:
            return list(it)
    except OSError:
        return []


def _subdirs(directory: str | Path, name: re.Pattern[str]) -> list[os.DirEntry[str]]:
    """The real directories (not links to elsewhere) in ``directory`` named like ``name``."""
    return [
        e
        for e in _entries(str(directory))
        if name.fullmatch(e.name) and e.is_dir(follow_symlinks=False)
    ]
