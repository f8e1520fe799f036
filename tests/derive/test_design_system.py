"""examples/design-system built offline (draft): its app icon sets, favicons and srcsets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from assetgen.lock.read import read_lock
from tests.pages import built_design_system


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_design_system(tmp_path_factory, tmp_path_factory.mktemp("derive"))


def size_of(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        width, height = im.size
        return width, height


def test_the_appiconset_is_valid(built: Path) -> None:
    """Contents.json parses and names files that exist at their pixel sizes."""
    folder = built / "assets/icons/search/ios/AppIcon.appiconset"
    contents = json.loads((folder / "Contents.json").read_text())
    assert contents["info"]["author"] == "xcode" and contents["images"]
    assert any(i["idiom"] == "universal" and i["size"] == "1024x1024" for i in contents["images"])
    for image in contents["images"]:
        points = float(image["size"].split("x")[0])
        scale = int(image.get("scale", "1x").rstrip("x"))
        px = round(points * scale)
        assert size_of(folder / image["filename"]) == (px, px), image


def test_android_densities(built: Path) -> None:
    """mdpi 48 ... xxxhdpi 192 and the 512 Play Store icon."""
    android = built / "assets/icons/home/android"
    sizes = {"mdpi": 48, "hdpi": 72, "xhdpi": 96, "xxhdpi": 144, "xxxhdpi": 192}
    for density, px in sizes.items():
        assert size_of(android / f"res/mipmap-{density}/ic_launcher.png") == (px, px)
    assert size_of(android / "ic_launcher-playstore.png") == (512, 512)


def test_the_favicon_set(built: Path) -> None:
    """favicon.ico, touch and manifest icons, and a site.webmanifest naming files that exist."""
    favicon = built / "assets/icons/home/favicon"
    with Image.open(favicon / "favicon.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48)} <= set(ico.info["sizes"])
    assert size_of(favicon / "apple-touch-icon.png") == (180, 180)
    manifest = json.loads((favicon / "site.webmanifest").read_text())
    for icon in manifest["icons"]:
        w, h = (int(n) for n in icon["sizes"].split("x"))
        assert size_of(favicon / icon["src"]) == (w, h)
    assert any(i.get("purpose") == "maskable" for i in manifest["icons"])
    assert not (built / "assets/icons/search/favicon").exists()  # only on icon-home


def test_srcset_snippets_and_the_social_card(built: Path) -> None:
    """Each hero has a <picture> whose files exist at their widths, and a 1200x630 card."""
    for page in ("home", "pricing", "docs", "blog"):
        folder = built / "assets"  # the snippet's paths are relative to output_dir
        snippet = (folder / f"heroes/{page}.picture.html").read_text()
        assert snippet.startswith("<picture>") and "image/avif" in snippet
        for src, width in re.findall(r"([\w./-]+) (\d+)w", snippet):
            assert size_of(folder / src)[0] == int(width)
        img = re.search(r'<img src="([^"]+)"[^>]* width="(\d+)" height="(\d+)"', snippet)
        assert img is not None
        assert size_of(folder / img.group(1)) == (int(img.group(2)), int(img.group(3)))
        assert size_of(built / f"assets/social/{page}.jpg") == (1200, 630)


def test_the_lock_records_every_derived_file(built: Path) -> None:
    """Every derived file is in the lock with its real size and digest."""
    import hashlib

    lock = read_lock(built / "assetgen.lock")
    derived = [d for e in lock.entries.values() for d in e.derived]
    assert len(lock.entries) == 25 and len(derived) > 150
    for d in derived[::17]:
        data = (built / d.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == d.sha256 and len(data) == d.bytes
