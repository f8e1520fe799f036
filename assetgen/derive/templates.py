"""Text files that go with derived images: an iOS ``Contents.json``, a ``site.webmanifest``
and an HTML ``<picture>`` snippet.

Each is a pure function of the text recipe's ``params`` and the master's pixel size
(the snippet's ``srcset`` widths and ``width``/``height`` are computed from it with
the same arithmetic as the images), written with fixed formatting, so the same inputs
give the same bytes. Paths follow what each platform reads:

- ``Contents.json`` names files in its own ``.appiconset`` folder: bare file names.
- ``site.webmanifest`` icon ``src`` values are resolved against the manifest's own URL:
  paths relative to its folder (the favicon preset puts the icons beside it).
- a ``<picture>`` snippet is pasted into a page, whose URL is what its paths are
  resolved against: they are the images' paths relative to ``output_dir`` behind the
  ``base`` param (a URL prefix such as ``/assets/``; default none).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from .geometry import DeriveError, output_size

TEMPLATES = ("appiconset-contents", "webmanifest", "picture")
MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}
EXTENSIONS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp", "avif": "avif"}

# Xcode's app icon set: the single 1024 size current Xcode asks for, then the legacy
# slots (points, scale, idiom) it still lists for older deployment targets. Files are
# named by pixel size, so one 40-pixel file fills every 40-pixel slot.
IOS_LEGACY = (
    ("20", 2, "iphone"),
    ("20", 3, "iphone"),
    ("29", 2, "iphone"),
    ("29", 3, "iphone"),
    ("40", 2, "iphone"),
    ("40", 3, "iphone"),
    ("60", 2, "iphone"),
    ("60", 3, "iphone"),
    ("20", 1, "ipad"),
    ("20", 2, "ipad"),
    ("29", 1, "ipad"),
    ("29", 2, "ipad"),
    ("40", 1, "ipad"),
    ("40", 2, "ipad"),
    ("76", 1, "ipad"),
    ("76", 2, "ipad"),
    ("83.5", 2, "ipad"),
    ("1024", 1, "ios-marketing"),
)
CONTENTS_KEYS = frozenset({"filename", "idiom", "platform", "scale", "size", "role", "subtype"})


def ios_pixels(points: str, scale: int) -> int:
    """The pixel edge of an icon slot: 83.5 points at 2x is 167 pixels."""
    return round(float(points) * scale)


def ios_filename(pixels: int) -> str:
    return f"icon-{pixels}.png"


def appiconset_images() -> list[dict[str, str]]:
    """The ``images`` of the built-in Contents.json, in Xcode's order."""
    images = [
        {
            "filename": ios_filename(1024),
            "idiom": "universal",
            "platform": "ios",
            "size": "1024x1024",
        }
    ]
    for points, scale, idiom in IOS_LEGACY:
        images.append(
            {
                "filename": ios_filename(ios_pixels(points, scale)),
                "idiom": idiom,
                "scale": f"{scale}x",
                "size": f"{points}x{points}",
            }
        )
    return images


def render_text(recipe: Mapping[str, Any], master_size: tuple[int, int]) -> bytes:
    """The UTF-8 bytes of a text recipe (``format: text``) for a master of ``master_size``.

    Raises:
        DeriveError: an unknown template, or params it cannot use (what and how to fix).
    """
    template = recipe.get("template")
    params = recipe.get("params") or {}
    where = str(recipe.get("output", template))
    if not isinstance(params, Mapping):
        raise DeriveError(f"{where}: `params` must be a mapping")
    _no_variables(where, params)
    if template == "appiconset-contents":
        text = _contents(where, params)
    elif template == "webmanifest":
        text = _webmanifest(where, params)
    elif template == "picture":
        text = _picture(where, params, master_size)
    else:
        raise DeriveError(f"{where}: unknown template {template!r} (one of {', '.join(TEMPLATES)})")
    return text.encode("utf-8")


def _no_variables(where: str, value: object) -> None:
    """A ``${...}`` left in params is a variable nobody expanded: refuse it, rather than
    write a file that names ``${stem}-50.webp``."""
    if isinstance(value, str) and "${" in value:
        raise DeriveError(f"{where}: params hold an unexpanded variable in {value!r}")
    if isinstance(value, Mapping):
        for item in value.values():
            _no_variables(where, item)
    elif isinstance(value, list):
        for item in value:
            _no_variables(where, item)


def _contents(where: str, params: Mapping[str, Any]) -> str:
    images = params.get("images", appiconset_images())
    if not isinstance(images, list) or not images:
        raise DeriveError(f"{where}: params `images` must list the icon slots")
    out = []
    for entry in images:
        if not isinstance(entry, Mapping) or not all(isinstance(v, str) for v in entry.values()):
            raise DeriveError(f"{where}: each of `images` maps keys to text, like Xcode's own")
        unknown = sorted(set(entry) - CONTENTS_KEYS)
        if unknown:
            raise DeriveError(f"{where}: unknown Contents.json key `{unknown[0]}` in `images`")
        name = entry.get("filename", "")
        if "/" in name or "\\" in name:
            raise DeriveError(
                f"{where}: `filename` {name!r} must be a bare file name in the .appiconset folder"
            )
        out.append(dict(entry))
    doc = {"images": out, "info": {"author": "xcode", "version": 1}}
    # Xcode's own layout: sorted keys, two-space indent, " : " between key and value.
    return (
        json.dumps(doc, indent=2, sort_keys=True, separators=(",", " : "), ensure_ascii=False)
        + "\n"
    )


MANIFEST_ORDER = (
    "name",
    "short_name",
    "description",
    "id",
    "start_url",
    "scope",
    "display",
    "orientation",
    "lang",
    "icons",
    "theme_color",
    "background_color",
)


def _webmanifest(where: str, params: Mapping[str, Any]) -> str:
    icons = params.get("icons", [])
    if not isinstance(icons, list):
        raise DeriveError(f"{where}: params `icons` must be a list")
    checked = []
    for icon in icons:
        if not isinstance(icon, Mapping) or not isinstance(icon.get("src"), str):
            raise DeriveError(f"{where}: each icon needs a `src` (a path relative to the manifest)")
        entry = {"src": icon["src"]}
        sizes = icon.get("sizes")
        if not isinstance(sizes, str) or not sizes:
            raise DeriveError(f'{where}: icon {icon["src"]!r} needs `sizes`, like "192x192"')
        entry["sizes"] = sizes
        mime = icon.get("type") or MIME.get(
            EXTENSIONS.get(icon["src"].rsplit(".", 1)[-1].lower(), "")
        )
        if mime:
            entry["type"] = str(mime)
        if icon.get("purpose"):
            entry["purpose"] = str(icon["purpose"])
        checked.append(entry)
    doc: dict[str, Any] = {}
    for key in MANIFEST_ORDER:
        if key == "icons":
            doc["icons"] = checked
        elif key in params:
            doc[key] = params[key]
    for key in sorted(set(params) - set(MANIFEST_ORDER)):
        doc[key] = params[key]
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _picture(where: str, params: Mapping[str, Any], master_size: tuple[int, int]) -> str:
    images = params.get("images")
    if not isinstance(images, list) or not images:
        raise DeriveError(
            f"{where}: params `images` must list the files, like [{{src: hero-50.webp, scale: 0.5}}]"
        )
    base = params.get("base", "")
    alt = params.get("alt", "")
    sizes = params.get("sizes", "100vw")
    loading = params.get("loading", "lazy")
    if not all(isinstance(v, str) for v in (base, alt, sizes)) or loading not in ("lazy", "eager"):
        raise DeriveError(
            f"{where}: `base`, `alt` and `sizes` are text; `loading` is lazy or eager"
        )
    groups: dict[str, list[tuple[int, int, str]]] = {}
    for image in images:
        if not isinstance(image, Mapping) or not isinstance(image.get("src"), str):
            raise DeriveError(f"{where}: each of `images` needs a `src`")
        src = image["src"]
        fmt = EXTENSIONS.get(src.rsplit(".", 1)[-1].lower()) if "." in src else None
        if fmt is None:
            raise DeriveError(f"{where}: {src!r} is not a png, jpeg, webp or avif file")
        keys = {k: image[k] for k in ("scale", "width", "height") if k in image}
        size = output_size(master_size, {"format": fmt, **keys})
        assert size is not None
        groups.setdefault(fmt, []).append((size[0], size[1], base + quote(src, safe="/@:+~,=")))
    order = [f for f in ("jpeg", "png", "webp", "avif") if f in groups]
    fallback = order[0]  # the most widely read format present
    esc = html.escape
    lines = ["<picture>"]
    for fmt in reversed(order[1:]):  # avif first: a browser takes the first it can read
        lines.append(
            f'  <source type="{MIME[fmt]}" srcset="{esc(_srcset(groups[fmt]))}" sizes="{esc(sizes)}">'
        )
    widest = max(groups[fallback])
    lines.append(
        f'  <img src="{esc(widest[2])}" srcset="{esc(_srcset(groups[fallback]))}" '
        f'sizes="{esc(sizes)}" width="{widest[0]}" height="{widest[1]}" alt="{esc(alt)}" '
        f'loading="{loading}" decoding="async">'
    )
    lines.append("</picture>")
    return "\n".join(lines) + "\n"


def _srcset(entries: list[tuple[int, int, str]]) -> str:
    seen: dict[int, str] = {}
    for width, _, url in sorted(entries):
        seen.setdefault(width, url)
    return ", ".join(f"{url} {width}w" for width, url in seen.items())
