"""`assetgen gallery`: the page's structure, each asset's state, thumbnails and their cache."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from assetgen.build.selection import BuildOptions
from assetgen.cli import main
from assetgen.commands import project as commands
from assetgen.project import find_project
from assetgen.views.gallery import build_gallery
from assetgen.views.thumbs import THUMB_PX, ThumbnailCache, render_thumbnail
from tests.conftest import RecordingProvider
from tests.pages import Page, build, built_design_system, edit


@pytest.fixture
def built(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """examples/design-system, built with the draft provider."""
    return built_design_system(tmp_path_factory, tmp_path)


def gallery(root: Path, out_dir: Path | None = None) -> tuple[Page, Path]:
    result = build_gallery(find_project(root), provider="draft", out_dir=out_dir)
    return Page(result.path.read_text(encoding="utf-8")), result.path


def card(page: Page, name: str) -> dict[str, str]:
    return next(c for c in page.cards if c["data-search"].startswith(name + " "))


def test_gallery_of_a_built_set_shows_every_asset_with_a_thumbnail(built: Path) -> None:
    """Every asset has a card, grouped by output folder, whose thumbnail and full image exist."""
    page, path = gallery(built)
    assert path == built / ".assetgen" / "gallery" / "index.html"
    assert len(page.cards) == 25 and all(c["data-state"] == "up-to-date" for c in page.cards)
    groups = [a["aria-label"] for a in page.all("section", "group")]
    assert groups == sorted(groups) and "assets/icons" in groups and "assets/heroes" in groups
    imgs = page.all("img")
    assert len(imgs) == 25
    for img in imgs:
        assert img["loading"] == "lazy" and img["alt"].startswith("Draft stand-in for: ")
        thumb = path.parent / unquote(img["src"])
        assert thumb.suffix == ".webp" and thumb.is_file()
        assert 0 < int(img["width"]) <= THUMB_PX and 0 < int(img["height"]) <= THUMB_PX
    for link in page.all("a", "open"):  # the full image is the output file itself
        assert (path.parent / unquote(link["href"])).resolve().is_file()
    assert len(page.data) == 25 and "spec_hash: sha256:" in str(page.data[0]["entry"])


def test_page_is_self_contained(built: Path) -> None:
    """No element loads anything from the network: styles and script are inline."""
    page, path = gallery(built)
    text = path.read_text()
    assert "http://" not in text and "https://" not in text
    page.assert_self_contained()


def test_filters_count_and_viewer_are_in_the_page(built: Path) -> None:
    """The filter box, the state filter with every state, the count and the viewer dialog."""
    page, _ = gallery(built)
    assert page.all("input", None)[0] == {
        "type": "search",
        "id": "q",
        "placeholder": "name or prompt text (press /)",
        "autocomplete": "off",
    }
    values = [a["value"] for a in page.all("option")]
    assert values == ["", "up-to-date", "stale", "missing", "failed"]
    assert page.all("p", None) and any(a.get("id") == "count" for a in page.all("p"))
    assert page.all("dialog")[0]["aria-labelledby"] == "viewer-title"
    assert '<p id="count" role="status" aria-live="polite">25 of 25</p>' in _text(built)


def _text(root: Path) -> str:
    return (root / ".assetgen" / "gallery" / "index.html").read_text()


def test_states_stale_missing_and_failed(built: Path) -> None:
    """An edited prompt is stale (old image shown), a deleted output or a new asset is missing,
    and an asset whose last build failed on the current spec is failed, with its error."""
    manifest = built / "assetgen.yaml"
    edit(manifest, "friendly abstract avatar", "friendly abstract robot")
    (built / "assets" / "social" / "og-card.png").unlink()
    edit(manifest, "topic: [search,", "topic: [zebra, search,")
    project = find_project(built)
    spec = {s.name: s for s in project.load_manifest("draft").specs}["icon-search"]
    edit(manifest, "a simple ${topic} icon", "a simple ${topic} pictogram")
    specs = {s.name: s for s in project.load_manifest("draft").specs}
    failures = {
        "icon-zebra": {"spec_hash": specs["icon-zebra"].spec_hash, "error": "refused: zebra"},
        # recorded against an older spec: no longer this asset's failure
        "icon-search": {"spec_hash": spec.spec_hash, "error": "old failure"},
    }
    record = project.state_file("failures.json")
    record.write_text(json.dumps({"version": 1, "failed": failures}))
    page, _ = gallery(built)
    states = {c["data-search"].split()[0]: c["data-state"] for c in page.cards}
    assert states["avatar-101"] == "stale" and states["og-card"] == "missing"
    assert states["icon-zebra"] == "failed" and states["icon-search"] == "stale"
    assert states["hero-home"] == "up-to-date"
    text = _text(built)
    assert "refused: zebra" in text and "old failure" not in text
    zebra = page.data[int(card(page, "icon-zebra")["data-i"])]
    assert zebra["images"] == [
        {
            "src": None,
            "note": "Not built yet: `assetgen build` makes it.",
            "caption": "assets/icons/zebra.png",
        }
    ]
    avatar = page.data[int(card(page, "avatar-101")["data-i"])]
    assert "friendly abstract avatar" in str(avatar["entry"])  # the lock entry of the old image
    record.write_text("{not json")  # unreadable: no failures
    page, _ = gallery(built)
    assert card(page, "icon-zebra")["data-state"] == "missing"


def test_thumbnails_are_cached_by_content(built: Path) -> None:
    """A second gallery makes no thumbnail; a changed image makes only its own."""
    project = find_project(built)
    assert build_gallery(project, provider="draft").thumbnails_made == 25
    assert build_gallery(project, provider="draft").thumbnails_made == 0
    edit(built / "assetgen.yaml", "circle crop", "square crop")
    build(built)
    result = build_gallery(project, provider="draft")
    assert result.thumbnails_made == 4
    published = list((result.path.parent / "thumbs").iterdir())
    assert len(published) == 25  # thumbnails of replaced images were pruned from the page


def test_cache_gc_trims_thumbnails_of_images_no_longer_locked(built: Path) -> None:
    """After an edit, the replaced images' thumbnails go with `cache gc`; the rest stay."""
    project = find_project(built)
    build_gallery(project, provider="draft")
    edit(built / "assetgen.yaml", "circle crop", "square crop")
    build(built)
    build_gallery(project, provider="draft")
    thumbs = built / ".assetgen" / "thumbs"
    old_version = thumbs / "v0" / "ab" / f"{'ab' * 32}-{THUMB_PX}.webp"
    old_version.parent.mkdir(parents=True)
    old_version.write_bytes(b"a thumbnail an older assetgen made")
    assert len(list(thumbs.glob("*/*/*.webp"))) == 25 + 4 + 1
    assert main(["-C", str(built), "cache", "gc"]) == 0
    left = {p.name.split("-")[0] for p in thumbs.glob("*/*/*.webp")}
    locked = {e.sha256 for e in project.load_lock().entries.values()}
    assert left == locked and len(left) == 25
    assert build_gallery(project, provider="draft").thumbnails_made == 0


def test_trimming_thumbnails_touches_nothing_else(tmp_path: Path) -> None:
    """Only thumbnail names in thumbnail folders go; links to elsewhere are not followed."""
    outside = tmp_path / "outside"
    (outside / "photos").mkdir(parents=True)
    holiday = outside / "photos" / "holiday.webp"
    lookalike = outside / f"{'cd' * 32}-{THUMB_PX}.webp"
    for f in (holiday, lookalike):
        f.write_bytes(b"the user's")
    thumbs = ThumbnailCache(tmp_path / "thumbs")
    thumbs.root.mkdir(parents=True)
    (thumbs.root.parent / "shared").symlink_to(outside)
    (thumbs.root / "cd").symlink_to(outside)
    notes = thumbs.root / "ab"
    notes.mkdir()
    (notes / "notes.webp").write_bytes(b"not ours")
    stale = thumbs.path("ab" * 32)
    stale.write_bytes(b"a thumbnail")
    assert thumbs.trim(set()) == len(b"a thumbnail")
    assert not stale.exists() and (notes / "notes.webp").exists()
    assert holiday.exists() and lookalike.exists()


def test_thumbnail_of_an_unreadable_image_is_skipped(tmp_path: Path) -> None:
    """A file that is not an image gets no thumbnail, and the card says so instead."""
    (tmp_path / "bad.png").write_bytes(b"not an image")
    assert not render_thumbnail(str(tmp_path / "bad.png"), str(tmp_path / "t.webp"))
    cache = ThumbnailCache(tmp_path / "thumbs")
    assert cache.ensure({"ab" * 32: tmp_path / "bad.png"}) == set()


def test_prompt_text_cannot_break_the_page(quickstart: Path) -> None:
    """Markup in a prompt is escaped in the cards and in the embedded data."""
    evil = "</script><script>alert(1)</script> & <b>bold</b>"
    edit(quickstart / "assetgen.yaml", "a city skyline at dawn", evil.replace('"', ""))
    build(quickstart)
    page, path = gallery(quickstart)
    assert len([1 for a, _ in page.scripts if not a]) == 1  # only the page's own script
    assert any(evil in str(r["details"]) for r in page.data)
    assert "<b>bold</b>" not in path.read_text()


def test_output_dir_option_and_relative_links(built: Path, tmp_path: Path) -> None:
    """-o DIR writes the page there, and its links still reach the outputs."""
    target = tmp_path / "elsewhere" / "gallery"
    assert main(["-C", str(built), "gallery", "--provider", "draft", "-o", str(target)]) == 0
    page = Page((target / "index.html").read_text())
    for link in page.all("a", "open"):
        assert (target / unquote(link["href"])).resolve().is_file()


def test_build_gallery_flag_and_hint(design_system: Path) -> None:
    """build --gallery writes the gallery and says where; later builds that did work point at it."""
    out = build(design_system, selection=("icon-*",))
    assert "gallery:" not in out  # no gallery yet: nothing to point at
    out = build(design_system, selection=("hero-*",), gallery=True)
    page = design_system / ".assetgen" / "gallery" / "index.html"
    assert page.is_file() and out.rstrip().endswith(
        f"gallery: {find_project(design_system).display(page)}"
    )
    out = build(design_system, selection=("avatar-*",))
    assert "(refresh with --gallery)" in out
    assert "gallery" not in build(design_system, selection=("avatar-*",))  # nothing to do: fast


def test_build_gallery_with_json_and_dry_run(built: Path) -> None:
    """With --json the gallery is one more event, just before the summary (which stays the
    last line); with --dry-run it is a usage error."""
    out = io.StringIO()
    project = find_project(built)
    commands.build(
        project, options=BuildOptions(), provider="draft", as_json=True, out=out, gallery=True
    )
    *_, event, last = map(json.loads, out.getvalue().splitlines())
    assert event["event"] == "gallery" and event["states"]["up-to-date"] == 25
    assert last["event"] == "summary"
    code = main(["-C", str(built), "build", "--dry-run", "--gallery"])
    assert code == 2


def test_gallery_command_output(design_system: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The command says where the page is, how many assets in which state, and new thumbnails."""
    assert main(["-C", str(design_system), "gallery", "--provider", "draft"]) == 0
    assert "(25 assets: 25 missing; 0 new thumbnails)" in capsys.readouterr().out


def test_output_dir_with_other_files_is_refused(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o at a folder holding something else stops with exit 2 and deletes nothing."""
    site = tmp_path / "site"
    (site / "thumbs").mkdir(parents=True)
    (site / "thumbs" / "logo.webp").write_bytes(b"mine")
    argv = ["-C", str(built), "gallery", "--provider", "draft", "-o", str(site)]
    assert main(argv) == 2
    assert "holds no assetgen page" in capsys.readouterr().err
    assert (site / "thumbs" / "logo.webp").read_bytes() == b"mine"
    assert not (site / "index.html").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([*argv[:-1], str(empty)]) == 0 and main([*argv[:-1], str(empty)]) == 0


def test_a_real_failed_build_shows_as_failed(quickstart: Path) -> None:
    """An asset the provider refused is `failed` with the provider's message, the rest built."""
    provider = RecordingProvider(fail={"icon-search": "refused: looks like a trademark"})
    code = commands.build(
        find_project(quickstart),
        options=BuildOptions(),
        provider="draft",
        out=io.StringIO(),
        provider_factory=lambda name: provider,
    )
    assert code == 1
    page, path = gallery(quickstart)
    states = {c["data-search"].split()[0]: c["data-state"] for c in page.cards}
    assert states == {
        "hero-home": "up-to-date",
        "icon-profile": "up-to-date",
        "icon-search": "failed",
        "icon-settings": "up-to-date",
    }
    assert "refused: looks like a trademark" in path.read_text()
