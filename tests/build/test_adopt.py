"""Outputs a person changed are kept: plan shows them (`!`), check fails, build leaves them,
`assetgen adopt` records them and `build --force` brings back the generated image (issue 11.3)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from assetgen.cli import main
from assetgen.lock.fast import parse_canonical
from assetgen.lock.model import Lockfile, format_lock
from assetgen.lock.read import parse_lock, read_lock
from assetgen.plan.planner import make_plan, paths_to_check
from tests.build.test_build import build
from tests.conftest import RecordingProvider
from tests.plan.test_plan import make_entry, make_spec, only, plan_for

HERO = "assets/hero-home.png"


def retouch(path: Path, fmt: str = "PNG") -> bytes:
    """What a designer does: open the image, paint on it, save it."""
    with Image.open(path) as im:
        im.load()
        img = im.convert("RGB")
    ImageDraw.Draw(img).rectangle((10, 10, 200, 120), fill=(200, 30, 30))
    buf = io.BytesIO()
    img.save(buf, fmt)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def run(root: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["-C", str(root), *args])
    got = capsys.readouterr()
    return code, got.out, got.err


def test_retouched_output_is_kept_adopted_restored_and_forced_back(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's scenario end to end: nothing a person edited is overwritten unasked."""
    rec = RecordingProvider()
    assert build(quickstart, rec)[0] == 0
    target = quickstart / HERO
    original = target.read_bytes()
    first = read_lock(quickstart / "assetgen.lock").entries["hero-home"]
    edited = retouch(target)

    code, out, _ = run(quickstart, "plan", "--provider", "draft", capsys=capsys)
    assert code == 0
    line = next(ln for ln in out.splitlines() if "hero-home" in ln)
    assert line.startswith("  ! hero-home") and "modified by hand" in line
    assert line.endswith("kept") and HERO in line
    assert "assetgen adopt NAME" in out and "1 modified (kept)" in out

    code, out, _ = run(quickstart, "plan", "--json", "--provider", "draft", capsys=capsys)
    doc = json.loads(out)
    (hero,) = [a for a in doc["actions"] if a["name"] == "hero-home"]
    assert hero["action"] == "modified" and hero["credits"] == 0
    assert doc["summary"]["modified"] == 1 and doc["summary"]["noop"] == 3
    assert run(quickstart, "check", "--provider", "draft", capsys=capsys)[0] == 1

    # build keeps the bytes, generates nothing, says once how to choose, and succeeds
    rec = RecordingProvider()
    code, out = build(quickstart, rec)
    err = capsys.readouterr().err
    assert code == 0, out
    assert not rec.calls and target.read_bytes() == edited
    assert (out + err).count("assetgen adopt NAME") == 1
    assert "assetgen build --force NAME" in err and "hero-home" in err
    assert "1 modified output kept" in out

    code, out, _ = run(quickstart, "adopt", "hero-home", "--provider", "draft", capsys=capsys)
    assert code == 0 and "adopted hero-home" in out
    lock = read_lock(quickstart / "assetgen.lock")
    entry = lock.entries["hero-home"]
    assert entry.edited and entry.sha256 == hashlib.sha256(edited).hexdigest()
    assert (entry.bytes, entry.width, entry.height) == (len(edited), 2688, 1472)
    assert (entry.spec_hash, dict(entry.request)) == (first.spec_hash, dict(first.request))
    assert "    edited: true\n" in (quickstart / "assetgen.lock").read_text()
    code, out, _ = run(quickstart, "plan", "--provider", "draft", capsys=capsys)
    assert out == "No changes: 4 assets up to date.\n"
    assert run(quickstart, "check", "--provider", "draft", capsys=capsys)[0] == 0

    # a deleted adopted file comes back as the adopted bytes, for free (a gc keeps them)
    assert run(quickstart, "cache", "gc", capsys=capsys)[0] == 0
    target.unlink()
    rec = RecordingProvider()
    code, out = build(quickstart, rec)
    assert code == 0, out
    assert not rec.calls and target.read_bytes() == edited
    assert read_lock(quickstart / "assetgen.lock").entries["hero-home"].edited

    # --force brings back the generated original from the cache: no call, no credits
    rec = RecordingProvider()
    code, out = build(quickstart, rec, selection=("hero-home",), force=True)
    assert code == 0, out
    assert not rec.calls and target.read_bytes() == original
    back = read_lock(quickstart / "assetgen.lock").entries["hero-home"]
    assert not back.edited and back.sha256 == first.sha256 and back.credits == first.credits
    assert "(cache)" in out
    assert run(quickstart, "check", "--provider", "draft", capsys=capsys)[0] == 0


def test_force_on_a_file_edited_by_hand_restores_the_original_for_free(quickstart: Path) -> None:
    """Without adopting, `build --force NAME` replaces the edit with the cached generation."""
    assert build(quickstart)[0] == 0
    target = quickstart / HERO
    original = target.read_bytes()
    retouch(target)
    rec = RecordingProvider()
    code, out = build(quickstart, rec, selection=("hero-home",), force=True)
    assert code == 0, out
    assert not rec.calls and target.read_bytes() == original


def test_adopt_of_an_unmodified_asset_is_a_no_op(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing to adopt: said so, exit 0, the lock untouched."""
    assert build(quickstart)[0] == 0
    before = (quickstart / "assetgen.lock").read_bytes()
    code, out, _ = run(quickstart, "adopt", "icon-*", "--provider", "draft", capsys=capsys)
    assert code == 0
    assert "icon-search: not modified (up to date); nothing to adopt" in out
    assert (quickstart / "assetgen.lock").read_bytes() == before


def test_adopt_of_an_unknown_name_is_a_usage_error(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown name: exit 2, a hint, nothing written."""
    assert build(quickstart)[0] == 0
    before = (quickstart / "assetgen.lock").read_bytes()
    code, _, err = run(quickstart, "adopt", "hero-hom", "--provider", "draft", capsys=capsys)
    assert code == 2
    assert "no asset matches `hero-hom`" in err and "hint:" in err and "Traceback" not in err
    assert (quickstart / "assetgen.lock").read_bytes() == before


@pytest.mark.parametrize(
    ("damage", "message"),
    [("garbage", "is not a valid image"), ("jpeg", "is a JPEG image, but its name says PNG")],
)
def test_adopt_refuses_a_file_that_is_not_an_image_of_its_format(
    quickstart: Path, capsys: pytest.CaptureFixture[str], damage: str, message: str
) -> None:
    """Only a whole image of the path's format can become an output: a located error, exit 1."""
    assert build(quickstart)[0] == 0
    target = quickstart / HERO
    if damage == "garbage":
        target.write_bytes(b"not an image at all")
    else:
        retouch(target, "JPEG")
    before = (quickstart / "assetgen.lock").read_bytes()
    code, _, err = run(quickstart, "adopt", "hero-home", "--provider", "draft", capsys=capsys)
    assert code == 1
    assert f"hero-home: {HERO}" in err and message in err and "Traceback" not in err
    assert (quickstart / "assetgen.lock").read_bytes() == before


def test_foreign_file_at_a_new_path_is_predicted_and_kept(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone's own file where a new asset goes: plan says so, build keeps it, adopt records it."""
    (quickstart / "assets").mkdir()
    (quickstart / HERO).write_bytes(b"my own picture")
    code, out, _ = run(quickstart, "plan", "--json", "--provider", "draft", capsys=capsys)
    hero = next(a for a in json.loads(out)["actions"] if a["name"] == "hero-home")
    assert (hero["action"], hero["reason"]) == ("modified", "a file not made by assetgen is there")
    assert run(quickstart, "check", "--provider", "draft", capsys=capsys)[0] == 1
    rec = RecordingProvider()
    code, out = build(quickstart, rec)
    assert code == 0, out
    assert "hero-home" not in rec.calls and len(rec.calls) == 3
    assert (quickstart / HERO).read_bytes() == b"my own picture"
    assert "hero-home" not in read_lock(quickstart / "assetgen.lock").entries
    # a real image there can be adopted as that asset's output
    Image.new("RGB", (64, 32), (1, 2, 3)).save(quickstart / HERO)
    code, out, _ = run(quickstart, "adopt", "hero-home", "--provider", "draft", capsys=capsys)
    assert code == 0, out
    entry = read_lock(quickstart / "assetgen.lock").entries["hero-home"]
    assert entry.edited and (entry.width, entry.height) == (64, 32)
    assert run(quickstart, "check", "--provider", "draft", capsys=capsys)[0] == 0


def test_force_replaces_a_foreign_file(quickstart: Path) -> None:
    """--force is the way to overwrite a file assetgen did not write."""
    (quickstart / "assets").mkdir()
    (quickstart / HERO).write_bytes(b"my own picture")
    rec = RecordingProvider()
    code, out = build(quickstart, rec, selection=("hero-home",), force=True)
    assert code == 0, out
    assert rec.calls["hero-home"] == 1 and (quickstart / HERO).read_bytes() != b"my own picture"


def test_a_deleted_lock_rebuilds_over_its_own_outputs(quickstart: Path) -> None:
    """Outputs whose bytes the cache holds are assetgen's: deleting the lock still rebuilds
    (from the cache, for free) rather than keeping every file as someone else's."""
    assert build(quickstart)[0] == 0
    before = read_lock(quickstart / "assetgen.lock")
    (quickstart / "assetgen.lock").unlink()
    rec = RecordingProvider()
    code, out = build(quickstart, rec)
    assert code == 0, out
    assert not rec.calls and read_lock(quickstart / "assetgen.lock").entries == before.entries


def test_another_generation_at_the_path_is_restored_not_kept(quickstart: Path) -> None:
    """Bytes assetgen made (another branch's build, outputs not in git) are not an edit:
    the lock's own image comes back from the cache, as before."""
    assert build(quickstart)[0] == 0
    manifest = (quickstart / "assetgen.yaml").read_text()
    lock = (quickstart / "assetgen.lock").read_bytes()
    original = (quickstart / HERO).read_bytes()
    (quickstart / "assetgen.yaml").write_text(manifest.replace("at dawn", "at dusk"))
    assert build(quickstart)[0] == 0
    assert (quickstart / HERO).read_bytes() != original
    (quickstart / "assetgen.yaml").write_text(manifest)  # back on the first branch
    (quickstart / "assetgen.lock").write_bytes(lock)
    rec = RecordingProvider()
    code, out = build(quickstart, rec)
    assert code == 0 and "restored hero-home (cache)" in out, out
    assert not rec.calls and (quickstart / HERO).read_bytes() == original


# --- the planner, pure -------------------------------------------------------------------


def test_modified_file_of_a_changed_spec_is_kept_with_both_reasons() -> None:
    """An edit of an asset whose prompt changed is kept too, not overwritten by the update."""
    old, new = make_spec(), make_spec(prompt="a harbour")
    a = only(plan_for([new], {"hero": make_entry(old)}, files={old.output: "ee" * 32}))
    assert (a.action, a.reason, a.credits) == ("modified", "modified by hand; prompt changed", 0)
    assert [c.field for c in a.changes] == ["prompt"]


def test_forced_edit_is_a_restore_from_the_cache() -> None:
    """--force on an edited (or adopted) asset restores its generation: free when cached."""
    spec = make_spec()
    hand_edited = (make_entry(spec), {spec.output: "ee" * 32})
    adopted = (make_entry(spec, edited=True), None)  # None: the file has the locked bytes
    for entry, files in (hand_edited, adopted):
        a = only(
            plan_for([spec], {"hero": entry}, files=files, cached=[spec.spec_hash], force=["hero"])
        )
        assert (a.action, a.cached, a.credits, a.forced) == ("restore", True, 0.0, True)
    plain = only(
        plan_for([spec], {"hero": make_entry(spec)}, cached=[spec.spec_hash], force=["hero"])
    )
    assert (plain.action, plain.generates) == ("update", True)  # unedited: regenerated as before


@pytest.mark.parametrize("kept", [True, False])
def test_missing_adopted_file_restores_the_edit_when_the_cache_has_it(kept: bool) -> None:
    """An adopted edit comes back as its own bytes (kept by digest), else as the generation."""
    spec = make_spec()
    entry = make_entry(spec, edited=True)
    lock = Lockfile({"hero": entry})
    digests = {p: None for p in paths_to_check([spec], lock)}
    a = only(
        make_plan(
            [spec], lock, digests, lambda h: False, is_ours=lambda sha: kept and sha == entry.sha256
        )
    )
    assert a.action == "restore"
    assert a.edit is kept
    if kept:
        assert (a.cached, a.credits, a.reason) == (True, 0.0, "output missing")
    else:
        assert a.reason == "output missing; its edit is not cached: the generated image"


def test_edited_survives_the_lock_memo(tmp_path: Path) -> None:
    """The memo's rows carry `edited` too: a lock read back from its memo is the same lock."""
    from assetgen.lock.model import write_lock

    lock = Lockfile({"hero": make_entry(make_spec(), sha256="ab" * 32, edited=True)})
    write_lock(tmp_path / "assetgen.lock", lock, tmp_path / "lock.memo")
    again = read_lock(tmp_path / "assetgen.lock", tmp_path / "lock.memo")
    assert again.entries == lock.entries and again.entries["hero"].edited


def test_edited_lock_entries_read_the_same_by_both_readers() -> None:
    """`edited: true` is written last in its block and read by the fast and the full reader."""
    spec, other = make_spec(), make_spec(name="plain")
    lock = Lockfile(
        {
            "hero": make_entry(spec, sha256="ab" * 32, edited=True),
            "plain": make_entry(other, sha256="cd" * 32),
        }
    )
    text = format_lock(lock)
    assert text.count("edited: true") == 1
    fast = parse_canonical(text)
    full = parse_lock(text.encode())
    assert fast is not None and fast.entries == full.entries == lock.entries
    assert full.entries["hero"].edited and not full.entries["plain"].edited
    by_hand = parse_lock(text.replace("edited: true", "edited: false").encode())
    assert not by_hand.entries["hero"].edited


def test_an_edit_whose_output_then_moved_is_kept_then_adopted_and_moved(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Retouch an icon, then change its output folder: the plan keeps the edit where it is
    (not a silent restore of the original elsewhere); adopt records it; the next build
    moves the edit to the new path for free."""
    rec = RecordingProvider()
    assert build(quickstart, rec)[0] == 0
    edited = retouch(quickstart / "assets/icons/search.png")
    manifest = quickstart / "assetgen.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace("output: icons/", "output: ico/"),
        encoding="utf-8",
    )
    code, out, _ = run(quickstart, "plan", "--provider", "draft", capsys=capsys)
    line = next(ln for ln in out.splitlines() if "icon-search" in ln)
    assert line.startswith("  ! icon-search"), out
    assert "modified by hand at assets/icons/search.png; output moved" in line
    assert run(quickstart, "check", "--provider", "draft", capsys=capsys)[0] == 1
    code, _, _ = run(quickstart, "build", "--provider", "draft", capsys=capsys)
    assert code == 0 and (quickstart / "assets/icons/search.png").read_bytes() == edited
    assert not (quickstart / "assets/ico/search.png").exists()
    assert run(quickstart, "adopt", "icon-search", "--provider", "draft", capsys=capsys)[0] == 0
    calls = sum(rec.calls.values())
    assert build(quickstart, rec)[0] == 0
    assert sum(rec.calls.values()) == calls  # a move, free
    assert (quickstart / "assets/ico/search.png").read_bytes() == edited
    assert not (quickstart / "assets/icons/search.png").exists()
    assert run(quickstart, "check", "--provider", "draft", capsys=capsys)[0] == 0
