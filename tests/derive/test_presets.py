"""The built-in presets render into what each platform reads, and presets expand."""

from __future__ import annotations

import io
import json
import posixpath
from html.parser import HTMLParser
from typing import Any

import pytest
from PIL import Image

from assetgen.derive.geometry import DeriveError
from assetgen.derive.presets import BUILTIN_PRESETS, SRCSET_SCALES, expand_preset
from assetgen.derive.render import check_recipe, output_size, render, render_text
from tests.derive.test_render import encode, gradient

EXTENSIONS = {"png": "png", "jpg": "jpeg", "webp": "webp", "avif": "avif", "ico": "ico"}
TEXT = frozenset({"json", "webmanifest", "html"})
VARS = {"stem": "icons/app", "name": "app", "ext": "png"}


def expand(value: Any, variables: dict[str, str] = VARS) -> Any:
    """``${var}`` substituted in every string, as the manifest does for derive items."""
    if isinstance(value, str):
        for key, text in variables.items():
            value = value.replace("${" + key + "}", text)
        return value
    if isinstance(value, dict):
        return {k: expand(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, variables) for v in value]
    return value


def canonical(raw: dict[str, Any]) -> dict[str, Any]:
    """The canonical form of a raw recipe, with the defaults the recipe module fills in."""
    r = expand(raw)
    ext = r["output"].rsplit(".", 1)[-1]
    if ext in TEXT:
        return {
            "output": r["output"],
            "format": "text",
            "template": r["template"],
            "params": r.get("params", {}),
        }
    r = {
        **r,
        "format": EXTENSIONS[ext],
        "strip": r.get("strip", True),
        "upscale": r.get("upscale", False),
    }
    if "width" in r and "height" in r:
        r.setdefault("fit", "cover")
        r.setdefault("focus", "center")
    return r


def preset(name: str, variables: dict[str, str] = VARS) -> list[dict[str, Any]]:
    return [canonical(expand(r, variables)) for r in expand_preset(name, {})]


@pytest.fixture(scope="module")
def square() -> bytes:
    return encode(gradient((1024, 1024), "RGBA"))


def test_every_builtin_is_possible_for_a_1k_square_master() -> None:
    for name in BUILTIN_PRESETS:
        outputs = [r["output"] for r in preset(name)]
        assert len(outputs) == len(set(outputs)), name
        for r in preset(name):
            assert check_recipe((1024, 1024), r) is None, (name, r)


def test_ios_appiconset(square: bytes) -> None:
    recipes = preset("ios-appicon")
    folder = "icons/app/ios/AppIcon.appiconset"
    assert {posixpath.dirname(r["output"]) for r in recipes} == {folder}
    icons = {posixpath.basename(r["output"]): r for r in recipes if r["format"] != "text"}
    (contents,) = [r for r in recipes if r["format"] == "text"]
    assert contents["output"] == f"{folder}/Contents.json"
    doc = json.loads(render(square, contents))
    assert doc["info"] == {"author": "xcode", "version": 1}
    assert {
        "filename": "icon-1024.png",
        "idiom": "universal",
        "platform": "ios",
        "size": "1024x1024",
    } in doc["images"]
    assert {img["idiom"] for img in doc["images"]} == {
        "universal",
        "iphone",
        "ipad",
        "ios-marketing",
    }
    for img in doc["images"]:
        icon = icons[img["filename"]]  # every named file is one the preset makes
        points = float(img["size"].split("x")[0])
        scale = int(img.get("scale", "1x")[:-1])
        assert output_size((1024, 1024), icon) == (round(points * scale),) * 2
    assert set(icons) == {img["filename"] for img in doc["images"]}
    for name in ("icon-1024.png", "icon-167.png", "icon-20.png"):
        im = Image.open(io.BytesIO(render(square, icons[name])))
        assert im.format == "PNG" and im.mode == "RGB"  # no alpha for the App Store
        assert im.size == output_size((1024, 1024), icons[name])


def test_android_launcher(square: bytes) -> None:
    sizes = {r["output"]: output_size((1024, 1024), r) for r in preset("android-launcher")}
    base = "icons/app/android"
    assert sizes == {
        f"{base}/res/mipmap-mdpi/ic_launcher.png": (48, 48),
        f"{base}/res/mipmap-hdpi/ic_launcher.png": (72, 72),
        f"{base}/res/mipmap-xhdpi/ic_launcher.png": (96, 96),
        f"{base}/res/mipmap-xxhdpi/ic_launcher.png": (144, 144),
        f"{base}/res/mipmap-xxxhdpi/ic_launcher.png": (192, 192),
        f"{base}/ic_launcher-playstore.png": (512, 512),
    }
    mdpi = preset("android-launcher")[0]
    assert Image.open(io.BytesIO(render(square, mdpi))).size == (48, 48)


def test_favicon_set(square: bytes) -> None:
    recipes = {posixpath.basename(r["output"]): r for r in preset("favicon")}
    assert set(recipes) == {
        "favicon.ico",
        "apple-touch-icon.png",
        "icon-192.png",
        "icon-512.png",
        "icon-maskable-512.png",
        "site.webmanifest",
    }
    ico = Image.open(io.BytesIO(render(square, recipes["favicon.ico"])))
    assert sorted(ico.info["sizes"]) == [(16, 16), (32, 32), (48, 48)]
    assert Image.open(io.BytesIO(render(square, recipes["apple-touch-icon.png"]))).size == (
        180,
        180,
    )
    maskable = Image.open(io.BytesIO(render(square, recipes["icon-maskable-512.png"])))
    assert maskable.size == (512, 512) and maskable.mode == "RGB"  # full bleed, opaque
    assert maskable.getpixel((10, 10)) == (255, 255, 255)
    manifest = json.loads(render(square, recipes["site.webmanifest"]))
    assert manifest["name"] == "app"
    assert manifest["theme_color"] and manifest["background_color"]
    for icon in manifest["icons"]:
        made = recipes[icon["src"]]  # relative to the manifest's own folder
        w, h = output_size((1024, 1024), made) or (0, 0)
        assert icon["sizes"] == f"{w}x{h}" and icon["type"] == "image/png"
    assert [i["src"] for i in manifest["icons"] if i.get("purpose") == "maskable"] == [
        "icon-maskable-512.png"
    ]


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "picture":
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag


@pytest.mark.parametrize("master", [(2688, 1472), (1024, 1024), (1343, 767)])
def test_srcset_picture(master: tuple[int, int]) -> None:
    recipes = preset("srcset", {**VARS, "stem": "heroes/home", "ext": "jpg"})
    (snippet,) = [r for r in recipes if r["format"] == "text"]
    assert snippet["output"] == "heroes/home.picture.html"
    images = [r for r in recipes if r["format"] != "text"]
    assert {r["format"] for r in images} == {"avif", "webp", "jpeg"}
    parser = Tags()
    parser.feed(render_text(snippet, master).decode())
    parser.close()
    assert parser.open == []  # well formed: <picture> closed
    (picture, avif, webp, img) = parser.tags
    assert picture[0] == "picture" and (avif[0], webp[0], img[0]) == ("source", "source", "img")
    assert avif[1]["type"] == "image/avif" and webp[1]["type"] == "image/webp"
    for tag, fmt in ((avif, "avif"), (webp, "webp"), (img, "jpeg")):
        srcset = tag[1]["srcset"] or ""
        pairs = [entry.rsplit(" ", 1) for entry in srcset.split(", ")]
        want = [
            (r["output"], f"{output_size(master, r)[0]}w")  # type: ignore[index]
            for r in images
            if r["format"] == fmt
        ]
        assert [tuple(p) for p in pairs] == want
        assert len(want) == len(SRCSET_SCALES)
        assert tag[1]["sizes"] == "100vw"
    attrs = img[1]
    assert attrs["src"] == "heroes/home-100.jpg"
    assert (attrs["width"], attrs["height"]) == (str(master[0]), str(master[1]))
    assert attrs["alt"] == "" and attrs["loading"] == "lazy" and attrs["decoding"] == "async"


def test_picture_base_and_escaping() -> None:
    recipe = {
        "output": "p.html",
        "format": "text",
        "template": "picture",
        "params": {
            "base": "/static/",
            "alt": 'a "quoted" <hero>',
            "images": [{"src": "my hero.webp", "width": 100}, {"src": "my hero.png"}],
        },
    }
    parser = Tags()
    parser.feed(render_text(recipe, (200, 100)).decode())
    (_, source, img) = parser.tags
    assert source[1]["srcset"] == "/static/my%20hero.webp 100w"
    assert img[1]["alt"] == 'a "quoted" <hero>'
    assert img[1]["src"] == "/static/my%20hero.png"


def test_text_is_deterministic_and_refuses_unexpanded_variables() -> None:
    for r in (r for name in BUILTIN_PRESETS for r in preset(name) if r["format"] == "text"):
        assert render_text(r, (1024, 1024)) == render_text(r, (1024, 1024))
    raw = next(r for r in expand_preset("favicon", {}) if r.get("template"))
    with pytest.raises(DeriveError, match="unexpanded variable"):
        render_text({**raw, "format": "text"}, (512, 512))
    with pytest.raises(DeriveError, match="bare file name"):
        render_text(
            {
                "output": "Contents.json",
                "format": "text",
                "template": "appiconset-contents",
                "params": {"images": [{"filename": "../x.png", "idiom": "universal"}]},
            },
            (10, 10),
        )


def test_project_presets_use_and_shadow_builtins() -> None:
    project: dict[str, list[dict[str, Any]]] = {
        "web": [{"output": "${stem}@1x.webp", "scale": 0.5}, {"preset": "icons"}],
        "icons": [{"preset": "android-launcher"}],
        "favicon": [{"preset": "favicon"}, {"output": "${stem}/favicon/extra.png", "width": 64}],
    }
    web = expand_preset("web", project)
    assert web[0] == {"output": "${stem}@1x.webp", "scale": 0.5}
    assert web[1:] == list(BUILTIN_PRESETS["android-launcher"])
    favicon = expand_preset("favicon", project)  # the project's, extending the built-in
    assert favicon[:-1] == list(BUILTIN_PRESETS["favicon"])
    assert favicon[-1]["output"].endswith("extra.png")
    web[0]["scale"] = 0.1  # copies: the presets are left alone
    assert project["web"][0]["scale"] == 0.5
    assert expand_preset("favicon", {"other": []}) == list(BUILTIN_PRESETS["favicon"])


def test_cycles_and_unknown_names() -> None:
    project = {"a": [{"preset": "b"}], "b": [{"preset": "c"}], "c": [{"preset": "a"}]}
    with pytest.raises(ValueError, match=r"cycle: a -> b -> c -> a"):
        expand_preset("a", project)
    with pytest.raises(ValueError, match=r"cycle: web -> web"):
        expand_preset("web", {"web": [{"preset": "web"}]})
    with pytest.raises(ValueError, match="did you mean `favicon`"):
        expand_preset("favicn", {})
    with pytest.raises(ValueError, match="did you mean `my-web`"):
        expand_preset("x", {"x": [{"preset": "my-wb"}], "my-web": []})
    with pytest.raises(ValueError, match="stands alone"):
        expand_preset("x", {"x": [{"preset": "favicon", "width": 3}]})
    with pytest.raises(ValueError, match="each item"):
        expand_preset("x", {"x": ["favicon"]})  # type: ignore[list-item]
