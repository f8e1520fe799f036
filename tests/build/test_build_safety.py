"""What a build must never do: lose paid-for bytes, overwrite others' files, or step outside the project."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from assetgen.cli import main
from assetgen.lock.read import read_lock
from assetgen.spec import AssetSpec
from tests.build.test_build import build, edit
from tests.conftest import RecordingProvider

TWO = """\
version: 1
provider: draft
assets:
  a:
    prompt: "an apple"
    output: a.png
  b:
    prompt: "a banana"
    output: b.png
"""


def test_swapped_outputs_without_a_cache_lose_nothing(tmp_path: Path) -> None:
    """Swapping two outputs, building only one side on a checkout with no cache, pays nothing."""
    (tmp_path / "assetgen.yaml").write_text(TWO)
    assert build(tmp_path)[0] == 0
    apple, banana = (
        (tmp_path / "assets/a.png").read_bytes(),
        (tmp_path / "assets/b.png").read_bytes(),
    )
    shutil.rmtree(tmp_path / ".assetgen")
    (tmp_path / "assetgen.yaml").write_text(
        TWO.replace("output: a.png", "output: X")
        .replace("output: b.png", "output: a.png")
        .replace("output: X", "output: b.png")
    )
    rec = RecordingProvider()
    code, out = build(tmp_path, rec, selection=("a",))
    assert code == 0 and not rec.calls, out
    assert (tmp_path / "assets/b.png").read_bytes() == apple
    code, out = build(tmp_path, rec)
    assert code == 0 and not rec.calls, out
    assert (tmp_path / "assets/a.png").read_bytes() == banana


def test_move_copies_the_committed_bytes_not_another_generation(tmp_path: Path) -> None:
    """A moved output keeps its exact committed bytes even when the cache holds another generation."""
    from assetgen.cache.records import CacheRecord
    from assetgen.cache.store import LocalCache
    from assetgen.providers.draft import render_draft

    (tmp_path / "assetgen.yaml").write_text(TWO)
    assert build(tmp_path)[0] == 0
    committed = (tmp_path / "assets/a.png").read_bytes()
    entry = read_lock(tmp_path / "assetgen.lock").entries["a"]
    read_lock(tmp_path / "assetgen.lock").entries["b"]  # b is locked: its bytes are another image
    other = render_draft(_spec_like(tmp_path, "b"))
    cache = LocalCache(tmp_path / ".assetgen/cache")
    cache.put(
        CacheRecord(entry.spec_hash, entry.width, entry.height, {}), {"png": other}, replace=True
    )
    (tmp_path / "assetgen.yaml").write_text(TWO.replace("output: a.png", "output: moved/a.png"))
    code, out = build(tmp_path)
    assert code == 0, out
    assert (tmp_path / "assets/moved/a.png").read_bytes() == committed
    assert read_lock(tmp_path / "assetgen.lock").entries["a"].sha256 == entry.sha256


def _spec_like(root: Path, name: str) -> AssetSpec:
    from assetgen.project import find_project

    return next(s for s in find_project(root).load_manifest().specs if s.name == name)


def test_update_with_a_new_path_removes_the_old_file(quickstart: Path) -> None:
    """Changing both the prompt and the output path leaves no untracked old file behind."""
    assert build(quickstart)[0] == 0
    edit(quickstart / "assetgen.yaml", "a city skyline at dawn", "a harbour at dawn")
    edit(
        quickstart / "assetgen.yaml",
        "    seed: 1234\n",
        "    seed: 1234\n    output: hero/home.png\n",
    )
    assert build(quickstart)[0] == 0
    assert (quickstart / "assets/hero/home.png").exists()
    assert not (quickstart / "assets/hero-home.png").exists()
    assert main(["-C", str(quickstart), "check", "--provider", "draft"]) == 0


def test_untracked_file_at_an_output_path_is_never_overwritten(quickstart: Path) -> None:
    """A user's own file where a new asset would go is kept (the plan's `modified`: build
    says so and exits 0, `check` exits 1; issue 11.3) and left as it was."""
    (quickstart / "assets").mkdir()
    (quickstart / "assets/hero-home.png").write_bytes(b"my own picture")
    code, out = build(quickstart)
    assert code == 0 and "1 modified output kept" in out
    assert (quickstart / "assets/hero-home.png").read_bytes() == b"my own picture"
    assert len(read_lock(quickstart / "assetgen.lock").entries) == 3


def test_renamed_asset_with_missing_output_leaves_the_old_name(quickstart: Path) -> None:
    """A rename whose file is gone is restored under the new name and the old name leaves the lock."""
    assert build(quickstart)[0] == 0
    edit(quickstart / "assetgen.yaml", "  hero-home:", "  hero-landing:")
    (quickstart / "assets/hero-home.png").unlink()
    rec = RecordingProvider()
    assert build(quickstart, rec)[0] == 0
    assert not rec.calls
    lock = read_lock(quickstart / "assetgen.lock")
    assert "hero-home" not in lock.entries and "hero-landing" in lock.entries
    assert main(["-C", str(quickstart), "check", "--provider", "draft"]) == 0


def test_force_records_the_new_generation(quickstart: Path) -> None:
    """After --force, the cache and the lock describe the new generation, not the first one."""
    assert build(quickstart)[0] == 0
    first = read_lock(quickstart / "assetgen.lock").entries["icon-search"]
    from assetgen.cache.store import LocalCache

    cache = LocalCache(quickstart / ".assetgen/cache")
    old = cache.record(first.spec_hash)
    assert old is not None
    os.utime(quickstart / "assetgen.lock", (0, 0))
    import time

    time.sleep(1.1)  # generated_at has one-second resolution
    assert build(quickstart, selection=("icon-search",), force=True)[0] == 0
    again = read_lock(quickstart / "assetgen.lock").entries["icon-search"]
    record = cache.record(first.spec_hash)
    assert record is not None and record.generated_at == again.generated_at != first.generated_at


def test_lock_paths_outside_the_project_are_refused(quickstart: Path, tmp_path: Path) -> None:
    """A lock entry pointing outside the project is an invalid lock (exit 2); nothing is deleted."""
    assert build(quickstart)[0] == 0
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    lock = quickstart / "assetgen.lock"
    lock.write_text(
        lock.read_text().replace("path: assets/icons/profile.png", "path: ../victim.txt")
    )
    edit(quickstart / "assetgen.yaml", "[search, settings, profile]", "[search, settings]")
    assert main(["-C", str(quickstart), "build", "--provider", "draft"]) == 2
    assert victim.read_bytes() == b"precious"


def test_outputs_and_lock_get_ordinary_file_modes(quickstart: Path) -> None:
    """Images and the lock are readable by others under the usual umask, not 0600."""
    old = os.umask(0o022)
    try:
        assert build(quickstart)[0] == 0
    finally:
        os.umask(old)
    for path in (quickstart / "assetgen.lock", quickstart / "assets/hero-home.png"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o044 == 0o044


def test_directory_in_the_way_fails_that_asset_with_a_located_message(quickstart: Path) -> None:
    """A directory where an image should go fails that asset (exit 1) with its path, not a crash."""
    (quickstart / "assets/hero-home.png").mkdir(parents=True)
    code, out = build(quickstart)
    assert code == 1 and "assets/hero-home.png" in out


def test_checkout_without_room_for_state_still_plans(quickstart: Path) -> None:
    """Where `.assetgen/` cannot be created (here a file is in the way), plan works all the same."""
    (quickstart / ".assetgen").write_text("not a folder")
    assert main(["-C", str(quickstart), "plan", "--provider", "draft"]) == 0
    assert main(["-C", str(quickstart), "check", "--provider", "draft"]) == 1


def test_invalid_manifest_creates_no_state(quickstart: Path) -> None:
    """An invalid manifest makes plan exit 2 and create nothing, not even .assetgen/."""
    edit(
        quickstart / "assetgen.yaml",
        '    prompt: "${style}, a city skyline at dawn"',
        "    promt: x",
    )
    assert main(["-C", str(quickstart), "plan"]) == 2
    assert not (quickstart / ".assetgen").exists()
