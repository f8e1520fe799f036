"""The page shell shared by ``assetgen gallery`` and ``assetgen diff --html``.

One self-contained file: the style sheet and the script (``assetgen/views/web/``) are
inlined, images are relative links, and nothing is fetched from the network, so a
page opens from ``file://``, from a CI artifact or from any static host alike.
Cards are rendered here rather than by the script, so the page is readable with
scripts off and stays cheap for the browser at thousands of assets: thumbnails
load lazily and the script only toggles ``hidden`` to filter.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import UsageError
from ..fsutil import atomic_write

GENERATOR = '<meta name="generator" content="assetgen">'  # marks a folder as ours to rewrite


@cache
def web_asset(name: str) -> str:
    """The text of a file shipped in ``assetgen/views/web/``."""
    return (resources.files("assetgen.views") / "web" / name).read_text(encoding="utf-8")


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def href(target: Path, page_dir: Path) -> str:
    """A link from a page in ``page_dir`` to ``target``: relative and percent-encoded.

    Relative, so that the page keeps working when the project is moved or opened from
    another machine's checkout; an absolute ``file:`` URL only when no relative path
    exists (another drive on Windows).
    """
    try:
        rel = os.path.relpath(target, page_dir)
    except ValueError:
        return target.resolve().as_uri()
    return quote(Path(rel).as_posix())


def embed_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c")


def render_page(
    *,
    title: str,
    subtitle: str,
    states: Sequence[tuple[str, str]],
    total: int,
    body: str,
    records: Sequence[Mapping[str, Any]],
) -> str:
    """A whole page: header with the filters, the cards in ``body``, the viewer, the data.

    ``states`` are the (value, label) options of the state filter; every card carries
    ``data-state`` (one of the values), ``data-search`` (lower-case text the filter box
    matches) and ``data-i`` (its index in ``records``, which feed the viewer).
    """
    options = "".join(f'<option value="{esc(v)}">{esc(label)}</option>' for v, label in states)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{GENERATOR}
<title>{esc(title)}</title>
<style>
{web_asset("page.css")}</style>
</head>
<body>
<a class="skip" href="#main">Skip to the images</a>
<header class="top">
<h1>{esc(title)}</h1>
<p class="sub">{esc(subtitle)}</p>
<form class="filters" role="search" onsubmit="return false">
<label for="q">Filter</label>
<input type="search" id="q" placeholder="name or prompt text (press /)" autocomplete="off">
<label for="state">State</label>
<select id="state"><option value="">all</option>{options}</select>
<p id="count" role="status" aria-live="polite">{total} of {total}</p>
</form>
</header>
<main id="main" tabindex="-1">
{body}
</main>
<dialog id="viewer" aria-labelledby="viewer-title">
<div class="bar">
<h2 id="viewer-title"></h2>
<span id="viewer-pos"></span>
<button type="button" id="viewer-prev" aria-label="Previous image" title="Previous (Left arrow)">&larr;</button>
<button type="button" id="viewer-next" aria-label="Next image" title="Next (Right arrow)">&rarr;</button>
<button type="button" id="viewer-close" title="Close (Esc)">Close</button>
</div>
<div id="viewer-images"></div>
<dl class="details" id="viewer-details"></dl>
<pre id="viewer-entry"></pre>
</dialog>
<script type="application/json" id="data">{embed_json(list(records))}</script>
<script>
{web_asset("page.js")}</script>
</body>
</html>
"""


def claim_folder(folder: Path, display: str) -> None:
    """Refuse to write into a folder that holds something other than an assetgen page.

    Pages prune their ``thumbs/`` and ``images/`` sub-folders, so ``-o`` pointed at a
    site's root by mistake must stop here rather than delete anything.
    """
    try:
        entries = {e.name for e in os.scandir(folder)}
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise UsageError(f"{display}: not a folder") from None
    if not entries:
        return
    try:
        ours = GENERATOR in (folder / "index.html").read_text(encoding="utf-8", errors="replace")
    except OSError:
        ours = False
    if not ours:
        raise UsageError(
            f"{display}: the folder is not empty and holds no assetgen page; nothing was written\n"
            "  hint: choose a new or empty folder with -o DIR"
        )


def write_page(folder: Path, text: str) -> Path:
    """Write ``folder/index.html`` atomically and return its path."""
    path = folder / "index.html"
    atomic_write(path, text.encode("utf-8"), durable=False)
    return path
