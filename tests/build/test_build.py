"""End-to-end builds through the command functions and the CLI, in temporary directories."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from assetgen.build.selection import BuildOptions
from assetgen.cli import main
from assetgen.commands import project as commands
from assetgen.lock.read import read_lock
from assetgen.project import find_project
from tests.conftest import RecordingProvider, tree


def build(root: Path, provider: RecordingProvider | None = None, **opts: Any) -> tuple[int, str]:
    """Run a build of ``root`` with the draft provider (or a recording one); return (exit, output)."""
    out = io.StringIO()
    as_json = bool(opts.pop("as_json", False))
    factory = (lambda name: provider) if provider is not None else None
    code = commands.build(
        find_project(root),
        options=BuildOptions(**opts),
        provider="draft",
        as_json=as_json,
        out=out,
        provider_factory=factory,
    )
    return code, out.getvalue()


def edit(manifest: Path, old: str, new: str) -> None:
    text = manifest.read_text()
    assert old in text
    manifest.write_text(text.replace(old, new, 1))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_first_build_writes_every_output_and_a_lock(quickstart: Path) -> None:
    """A first build generates every asset once, writes it, and records it in the lock."""
    rec = RecordingProvider()
    code, out = build(quickstart, rec)
    assert code == 0, out
    lock = read_lock(quickstart / "assetgen.lock")
    assert sorted(lock.entries) == ["hero-home", "icon-profile", "icon-search", "icon-settings"]
    assert all(n == 1 for n in rec.calls.values()) and len(rec.calls) == 4
    for entry in lock.entries.values():
        assert sha(quickstart / entry.path) == entry.sha256
        assert entry.bytes == (quickstart / entry.path).stat().st_size
    assert lock.entries["hero-home"].width == 2688 and lock.entries["hero-home"].height == 1472


def test_null_build_writes_nothing(quickstart: Path) -> None:
    """A second build with nothing changed calls no provider and touches no file."""
    assert build(quickstart)[0] == 0
    before = tree(quickstart)
    rec = RecordingProvider()
    code, out = build(quickstart, rec)
    assert code == 0 and "Up to date" in out
    assert not rec.calls
    assert tree(quickstart) == before


def test_prompt_edit_regenerates_one_and_revert_comes_from_cache(quickstart: Path) -> None:
    """One prompt edit pays for one asset; reverting it is free and restores the lock byte for byte."""
    manifest = quickstart / "assetgen.yaml"
    assert build(quickstart)[0] == 0
    lock_before = (quickstart / "assetgen.lock").read_bytes()
    image_before = (quickstart / "assets/hero-home.png").read_bytes()

    edit(manifest, "a city skyline at dawn", "a city skyline at dusk")
    rec = RecordingProvider()
    assert build(quickstart, rec)[0] == 0
    assert dict(rec.calls) == {"hero-home": 1}
    assert (quickstart / "assetgen.lock").read_bytes() != lock_before

    edit(manifest, "a city skyline at dusk", "a city skyline at dawn")
    rec = RecordingProvider()
    code, out = build(quickstart, rec)
    assert code == 0 and not rec.calls, out
    assert (quickstart / "assetgen.lock").read_bytes() == lock_before
    assert (quickstart / "assets/hero-home.png").read_bytes() == image_before


def test_rename_generates_nothing(quickstart: Path) -> None:
    """Renaming an asset (and so its default output path) moves the file and pays nothing."""
    assert build(quickstart)[0] == 0
    old = (quickstart / "assets/hero-home.png").read_bytes()
    edit(quickstart / "assetgen.yaml", "  hero-home:", "  hero-landing:")
    rec = RecordingProvider()
    code, out = build(quickstart, rec)
    assert code == 0 and not rec.calls, out
    assert (quickstart / "assets/hero-landing.png").read_bytes() == old
    assert not (quickstart / "assets/hero-home.png").exists()
    lock = read_lock(quickstart / "assetgen.lock")
    assert (
        "hero-home" not in lock.entries
        and lock.entries["hero-landing"].path == "assets/hero-landing.png"
    )


def test_removed_asset_file_is_deleted_but_a_modified_one_is_kept(quickstart: Path) -> None:
    """An asset that leaves the manifest loses its file, unless the file was edited by hand."""
    assert build(quickstart)[0] == 0
    edit(quickstart / "assetgen.yaml", "[search, settings, profile]", "[search]")
    (quickstart / "assets/icons/profile.png").write_bytes(b"hand edited")
    code, out = build(quickstart)
    assert code == 0, out
    assert not (quickstart / "assets/icons/settings.png").exists()
    assert (quickstart / "assets/icons/profile.png").read_bytes() == b"hand edited"
    assert sorted(read_lock(quickstart / "assetgen.lock").entries) == ["hero-home", "icon-search"]


# A hand-modified output is kept now, not restored (issue 11.3): see test_adopt.py.
@pytest.mark.parametrize("damage", ["delete"])
def test_missing_or_modified_output_is_restored_from_cache(quickstart: Path, damage: str) -> None:
    """A deleted output comes back from the cache, byte for byte, for free."""
    assert build(quickstart)[0] == 0
    target = quickstart / "assets/icons/search.png"
    good = target.read_bytes()
    if damage == "delete":
        target.unlink()
    else:
        target.write_bytes(good[:-10] + b"0123456789")
    rec = RecordingProvider()
    code, _ = build(quickstart, rec)
    assert code == 0 and not rec.calls
    assert target.read_bytes() == good


def test_two_clean_builds_give_identical_images(tmp_path: Path) -> None:
    """The draft provider is deterministic: two fresh builds produce the same bytes and lock hashes."""
    from tests.conftest import copy_example

    a = copy_example("quickstart", tmp_path / "a")
    b = copy_example("quickstart", tmp_path / "b")
    assert build(a)[0] == 0 and build(b)[0] == 0
    la, lb = read_lock(a / "assetgen.lock"), read_lock(b / "assetgen.lock")
    assert {n: e.sha256 for n, e in la.entries.items()} == {
        n: e.sha256 for n, e in lb.entries.items()
    }


def test_failed_asset_stays_out_of_the_lock_and_others_finish(quickstart: Path) -> None:
    """A provider failure fails only its asset: named with its reason, exit 1, not locked."""
    rec = RecordingProvider(fail={"icon-search": "content_policy_violation: refused"})
    code, out = build(quickstart, rec)
    assert code == 1
    assert "icon-search" in out and "content_policy_violation" in out
    lock = read_lock(quickstart / "assetgen.lock")
    assert "icon-search" not in lock.entries and len(lock.entries) == 3


def test_last_build_failures_are_remembered_until_that_asset_builds(quickstart: Path) -> None:
    """The failures record names the failed asset and its spec; a later success clears it."""
    from assetgen.build.failures import read_failures

    record = quickstart / ".assetgen" / "assetgen.failures.json"
    code, _ = build(quickstart, RecordingProvider(fail={"icon-search": "refused: policy"}))
    assert code == 1
    failed = read_failures(record)
    lock = read_lock(quickstart / "assetgen.lock")
    manifest = find_project(quickstart).load_manifest("draft")
    wanted = {s.name: s.spec_hash for s in manifest.specs}
    assert set(failed) == {"icon-search"} and "icon-search" not in lock.entries
    assert failed["icon-search"]["spec_hash"] == wanted["icon-search"]
    assert "refused: policy" in failed["icon-search"]["error"]
    code, _ = build(quickstart, RecordingProvider())
    assert code == 0 and read_failures(record) == {}


def test_fail_fast_starts_nothing_new(design_system: Path) -> None:
    """With --fail-fast and one job at a time, nothing starts after the first failure."""
    rec = RecordingProvider(fail={"avatar-101": "boom"})
    code, _ = build(design_system, rec, jobs=1, fail_fast=True)
    assert code == 1
    assert sum(rec.calls.values()) == 1  # avatar-101 sorts first


def test_wrong_pixel_size_fails_that_asset(quickstart: Path) -> None:
    """An image whose pixel size differs from the catalog's is refused and not written."""
    rec = RecordingProvider(wrong_size={"hero-home"})
    code, out = build(quickstart, rec)
    assert code == 1 and "hero-home" in out and "2688x1472" in out
    assert not (quickstart / "assets/hero-home.png").exists()


def test_output_formats_follow_the_extension(design_system: Path) -> None:
    """Outputs ending .jpg and .webp are JPEG and WebP at the exact pixel size."""
    from PIL import Image

    code, out = build(design_system, selection=("hero-home", "illustration-error-dark"))
    assert code == 0, out
    with Image.open(design_system / "assets/heroes/home.jpg") as im:
        assert im.format == "JPEG" and im.size == (2688, 1472)
    with Image.open(design_system / "assets/illustrations/dark/error.webp") as im:
        assert im.format == "WEBP" and im.size == (1152, 896)
    lock = read_lock(design_system / "assetgen.lock")
    assert sorted(lock.entries) == ["hero-home", "illustration-error-dark"]
    assert lock.entries["hero-home"].format == "jpeg"


def test_selection_by_glob_and_unknown_name(design_system: Path) -> None:
    """Names and globs select assets; a pattern that matches nothing is a usage error."""
    rec = RecordingProvider()
    code, _ = build(design_system, rec, selection=("icon-*",))
    assert code == 0 and sorted(rec.calls) == sorted(
        f"icon-{t}"
        for t in ["search", "settings", "profile", "cart", "bell", "home", "mail", "calendar"]
    )
    assert main(["-C", str(design_system), "build", "--provider", "draft", "nope-*"]) == 2


def test_force_regenerates_without_the_cache(quickstart: Path) -> None:
    """--force pays again for the selected assets even though they are up to date."""
    assert build(quickstart)[0] == 0
    rec = RecordingProvider()
    assert build(quickstart, rec, selection=("icon-search",), force=True)[0] == 0
    assert dict(rec.calls) == {"icon-search": 1}


def test_dry_run_touches_nothing(quickstart: Path) -> None:
    """--dry-run prints the plan and writes no output, lock or state."""
    code, out = build(quickstart, dry_run=True)
    assert code == 0 and "+ hero-home" in out
    assert sorted(p.name for p in quickstart.iterdir()) == ["assetgen.yaml"]


def test_max_credits_refuses_to_start(quickstart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Above --max-credits the build exits 2 with the estimate and generates nothing."""
    code = main(["-C", str(quickstart), "build", "--provider", "evolink", "--max-credits", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "3.15 credits" in err
    assert not (quickstart / "assetgen.lock").exists() and not (quickstart / "assets").exists()


def test_second_concurrent_build_is_refused(
    quickstart: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one build holds the project lock, another exits 2 saying a build is running;
    so do `cache gc` and `cache pull`, which would race it over what is not recorded yet."""
    from filelock import FileLock

    project = find_project(quickstart)
    project.ensure_state_dir()
    monkeypatch.setenv("ASSETGEN_REMOTE_CACHE", (quickstart / "shared").as_uri())
    with FileLock(str(project.state_dir / "build.lock")):
        code = main(["-C", str(quickstart), "build", "--provider", "draft"])
        assert code == 2 and "build: another assetgen build or cache command is running" in (
            capsys.readouterr().err
        )
        for verb in ("gc", "pull"):
            assert main(["-C", str(quickstart), "cache", verb]) == 2
            assert f"cache {verb}: another assetgen build" in capsys.readouterr().err
    assert not (quickstart / "assetgen.lock").exists()
    assert main(["-C", str(quickstart), "cache", "gc"]) == 0


def test_corrupt_cache_entry_is_dropped_and_regenerated(quickstart: Path) -> None:
    """A cache blob whose bytes no longer match its digest is never served."""
    assert build(quickstart)[0] == 0
    target = quickstart / "assets/icons/search.png"
    good = target.read_bytes()
    blob = next(
        p for p in (quickstart / ".assetgen/cache/blobs").glob("*/*") if p.read_bytes() == good
    )
    blob.write_bytes(b"rotten")
    target.unlink()
    rec = RecordingProvider()
    assert build(quickstart, rec)[0] == 0
    assert dict(rec.calls) == {"icon-search": 1}
    assert target.read_bytes() == good


def test_json_events_and_summary(quickstart: Path) -> None:
    """--json prints one event per line and ends with a summary object."""
    code, out = build(quickstart, as_json=True)
    events = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert events[0]["event"] == "start" and events[-1]["event"] == "summary"
    assert events[-1]["generated"] == 4 and events[-1]["failed"] == 0
    states = {(e["name"], e["state"]) for e in events if e["event"] == "state"}
    assert ("hero-home", "queued") in states and ("hero-home", "running") in states


def test_cache_info_and_gc(quickstart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """cache gc drops entries the lock no longer references; info counts what is left."""
    assert build(quickstart)[0] == 0
    edit(quickstart / "assetgen.yaml", "a city skyline at dawn", "a harbour at noon")
    assert build(quickstart)[0] == 0
    capsys.readouterr()
    assert main(["-C", str(quickstart), "cache", "info"]) == 0
    assert "5 entries" in capsys.readouterr().out
    assert main(["-C", str(quickstart), "cache", "gc"]) == 0
    assert "dropped 1 entries" in capsys.readouterr().out
    assert main(["-C", str(quickstart), "cache", "info"]) == 0
    assert "4 entries" in capsys.readouterr().out


def test_shared_cache_dir_serves_another_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ASSETGEN_CACHE_DIR shared, a second checkout builds without generating."""
    from tests.conftest import copy_example

    monkeypatch.setenv("ASSETGEN_CACHE_DIR", str(tmp_path / "shared-cache"))
    a = copy_example("quickstart", tmp_path / "a")
    b = copy_example("quickstart", tmp_path / "b")
    assert build(a)[0] == 0
    rec = RecordingProvider()
    assert build(b, rec)[0] == 0
    assert not rec.calls
    assert (a / "assetgen.lock").read_bytes() == (b / "assetgen.lock").read_bytes()
