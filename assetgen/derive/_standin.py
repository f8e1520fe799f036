"""A minimal renderer and preset table, used only while ``render``/``presets`` are absent.

Same functions as those modules (see engine.py): deterministic Pillow resizes and
crops, ICO, the three text templates, and the four built-in presets.
"""

from __future__ import annotations

import io
import json
import posixpath
from collections.abc import Mapping
from typing import Any

from ..errors import IntegrityError

_IOS = [  # (pixels, idiom, size in points, scale)
    (40, "iphone", "20x20", "2x"), (60, "iphone", "20x20", "3x"), (58, "iphone", "29x29", "2x"),
    (87, "iphone", "29x29", "3x"), (80, "iphone", "40x40", "2x"), (120, "iphone", "40x40", "3x"),
    (120, "iphone", "60x60", "2x"), (180, "iphone", "60x60", "3x"), (20, "ipad", "20x20", "1x"),
    (40, "ipad", "20x20", "2x"), (29, "ipad", "29x29", "1x"), (58, "ipad", "29x29", "2x"),
    (40, "ipad", "40x40", "1x"), (80, "ipad", "40x40", "2x"), (76, "ipad", "76x76", "1x"),
    (152, "ipad", "76x76", "2x"), (167, "ipad", "83.5x83.5", "2x"),
    (1024, "ios-marketing", "1024x1024", "1x"),
]  # fmt: skip
_ANDROID = {"mdpi": 48, "hdpi": 72, "xhdpi": 96, "xxhdpi": 144, "xxxhdpi": 192}
_LADDER = (640, 1280)


def _ios() -> list[dict[str, Any]]:
    folder = "${name}/AppIcon.appiconset"
    pixels = sorted({p for p, *_ in _IOS})
    recipes: list[dict[str, Any]] = [
        {"output": f"{folder}/icon-{p}.png", "width": p, "height": p} for p in pixels
    ]
    images = [
        {"filename": "icon-1024.png", "idiom": "universal", "platform": "ios", "size": "1024x1024"}
    ]
    images += [
        {"filename": f"icon-{p}.png", "idiom": i, "scale": sc, "size": s} for p, i, s, sc in _IOS
    ]
    recipes.append(
        {"output": f"{folder}/Contents.json", "template": "appiconset-contents",
         "params": {"images": images}}
    )  # fmt: skip
    return recipes


def _android() -> list[dict[str, Any]]:
    recipes: list[dict[str, Any]] = [
        {"output": f"${{name}}/android/mipmap-{d}/ic_launcher.png", "width": p, "height": p}
        for d, p in _ANDROID.items()
    ]
    recipes.append({"output": "${name}/android/playstore-icon.png", "width": 512, "height": 512})
    return recipes


def _favicon() -> list[dict[str, Any]]:
    d = "${name}/favicon"
    icons = [
        {"src": "icon-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "icon-512.png", "sizes": "512x512", "type": "image/png"},
        {
            "src": "icon-maskable-512.png",
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ]
    return [
        {"output": f"{d}/favicon.ico", "sizes": [16, 32, 48]},
        {"output": f"{d}/apple-touch-icon.png", "width": 180, "height": 180, "background": "#ffffff"},
        {"output": f"{d}/icon-192.png", "width": 192, "height": 192},
        {"output": f"{d}/icon-512.png", "width": 512, "height": 512},
        {"output": f"{d}/icon-maskable-512.png", "width": 512, "height": 512, "padding": 0.1,
         "background": "#ffffff"},
        {"output": f"{d}/site.webmanifest", "template": "webmanifest",
         "params": {"name": "${name}", "icons": icons}},
    ]  # fmt: skip


def _srcset() -> list[dict[str, Any]]:
    recipes: list[dict[str, Any]] = []
    sources = []
    for ext, mime in (("avif", "image/avif"), ("webp", "image/webp"), ("${ext}", "image/${ext}")):
        entries = []
        for w in _LADDER:
            out = f"${{name}}/${{name}}-{w}w.{ext}"
            recipes.append({"output": out, "width": w})
            entries.append({"src": f"${{name}}-{w}w.{ext}", "width": w})
        sources.append({"type": mime, "entries": entries})
    recipes.append(
        {"output": "${name}/${name}.picture.html", "template": "picture",
         "params": {"sources": sources, "alt": "${name}"}}
    )  # fmt: skip
    return recipes


BUILTIN_PRESETS: Mapping[str, list[dict[str, Any]]] = {
    "ios-appicon": _ios(),
    "android-launcher": _android(),
    "favicon": _favicon(),
    "srcset": _srcset(),
}


def expand_preset(
    name: str, project_presets: Mapping[str, list[dict[str, Any]]], _seen: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    if name in _seen:
        raise ValueError(" -> ".join((*_seen, name)))
    if name in project_presets:
        out: list[dict[str, Any]] = []
        for item in project_presets[name]:
            if isinstance(item, dict) and set(item) == {"preset"}:
                out.extend(expand_preset(str(item["preset"]), project_presets, (*_seen, name)))
            else:
                out.append(dict(item))
        return out
    if name in BUILTIN_PRESETS:
        return [dict(r) for r in BUILTIN_PRESETS[name]]
    raise ValueError(f"unknown preset `{name}`")


def output_size(master_size: tuple[int, int], recipe: Mapping[str, Any]) -> tuple[int, int] | None:
    if recipe["format"] == "text":
        return None
    w0, h0 = master_size
    if recipe["format"] == "ico":
        s = max(recipe["sizes"])
        return (s, s)
    if "scale" in recipe:
        return (max(1, round(w0 * recipe["scale"])), max(1, round(h0 * recipe["scale"])))
    w, h = recipe.get("width"), recipe.get("height")
    if w and h:
        return (w, h)
    if w:
        return (w, max(1, round(h0 * w / w0)))
    if h:
        return (max(1, round(w0 * h / h0)), h)
    return (w0, h0)


def check_recipe(master_size: tuple[int, int], recipe: Mapping[str, Any]) -> str | None:
    size = output_size(master_size, recipe)
    if size is None or recipe.get("upscale"):
        return None
    w, h = size
    if w > master_size[0] or h > master_size[1]:
        return (
            f"it makes {w}x{h} from a {master_size[0]}x{master_size[1]} master; "
            "add `upscale: true` to allow enlarging"
        )
    return None


_last: list[Any] = [None, None]  # the last master decoded: a set renders many files from one


def _decoded(master: bytes) -> Any:
    from PIL import Image

    if _last[0] is not master:
        with Image.open(io.BytesIO(master)) as src:
            _last[:] = [master, src.convert("RGBA")]
    return _last[1]


def render(master: bytes, recipe: Mapping[str, Any]) -> bytes:
    if recipe["format"] == "text":
        return render_text(recipe, _decoded(master).size)
    return render_image(master, recipe)


def render_image(master: bytes, recipe: Mapping[str, Any]) -> bytes:
    from PIL import Image

    im = _decoded(master)
    size = output_size(im.size, recipe)
    assert size is not None
    w, h = size
    fmt = recipe["format"]
    bg = recipe.get("background")
    if fmt == "ico":
        out = io.BytesIO()
        im.resize((w, h), Image.Resampling.LANCZOS, reducing_gap=3.0).save(
            out, "ICO", sizes=[(s, s) for s in recipe["sizes"]]
        )
        return out.getvalue()
    fit = recipe.get("fit", "fill")
    if fit == "cover":
        k = max(w / im.width, h / im.height)
        rw, rh = max(w, round(im.width * k)), max(h, round(im.height * k))
        im = im.resize((rw, rh), Image.Resampling.LANCZOS, reducing_gap=3.0)
        focus = recipe.get("focus", "center")
        x = {"left": 0, "right": rw - w}.get(focus, (rw - w) // 2)
        y = {"top": 0, "bottom": rh - h}.get(focus, (rh - h) // 2)
        im = im.crop((x, y, x + w, y + h))
    elif fit == "contain":
        k = min(w / im.width, h / im.height)
        inner = im.resize((max(1, round(im.width * k)), max(1, round(im.height * k))))
        im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        im.paste(inner, ((w - inner.width) // 2, (h - inner.height) // 2))
    else:
        im = im.resize((w, h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    padding = recipe.get("padding", 0.0)
    if padding:
        inner = im.resize(
            (max(1, round(w * (1 - 2 * padding))), max(1, round(h * (1 - 2 * padding))))
        )
        im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        im.paste(inner, ((w - inner.width) // 2, (h - inner.height) // 2))
    if bg or fmt == "jpeg":
        canvas = Image.new("RGBA", im.size, bg or "#ffffff")
        canvas.alpha_composite(im)
        im = canvas.convert("RGB")
    out = io.BytesIO()
    options: dict[str, Any] = {}
    if "quality" in recipe:
        options["quality"] = recipe["quality"]
    if recipe.get("lossless"):
        options["lossless"] = True
    if fmt == "avif":
        options["speed"] = 8  # AVIF's default effort is most of a build's time
    name = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}[fmt]
    try:
        im.save(out, name, **options)
    except (OSError, KeyError) as exc:
        raise IntegrityError(f"{recipe['output']}: cannot write {fmt}: {exc}") from None
    return out.getvalue()


def render_text(recipe: Mapping[str, Any], master_size: tuple[int, int]) -> bytes:
    params = recipe["params"]
    template = recipe["template"]
    if template == "appiconset-contents":
        doc: Any = {"images": params.get("images", []), "info": {"author": "xcode", "version": 1}}
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
    if template == "webmanifest":
        doc = {
            "name": params.get("name", ""),
            "icons": params.get("icons", []),
            "display": "standalone",
        }
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
    w0, h0 = master_size
    lines = ["<picture>"]
    last: dict[str, Any] = {}
    for source in params.get("sources", []):
        srcset = ", ".join(f"{e['src']} {e['width']}w" for e in source["entries"])
        lines.append(f'  <source type="{source["type"]}" srcset="{srcset}">')
        last = source["entries"][-1] if source["entries"] else last
    if last:
        h = max(1, round(h0 * last["width"] / w0))
        src = posixpath.basename(str(last["src"]))
        alt = str(params.get("alt", "")).replace('"', "&quot;")
        lines.append(f'  <img src="{src}" width="{last["width"]}" height="{h}" alt="{alt}">')
    lines.append("</picture>")
    return ("\n".join(lines) + "\n").encode()
