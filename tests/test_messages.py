"""Messages a new user hits, each reproduced as they met it: what is wrong, where, and the fix."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from assetgen import cli
from assetgen.lock.read import read_lock


def run(project: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["-C", str(project), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_file_where_the_output_folder_goes(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`assets` is a file: the failure names that file and the fix, not "File exists"."""
    (quickstart / "assets").write_text("not a folder")
    code, out, _ = run(quickstart, "build", "--provider", "draft", capsys=capsys)
    assert code == 1
    assert "File exists" not in out
    assert (
        "hero-home: assets/hero-home.png: cannot write the image: `assets` is a file, "
        "not a folder (move or rename that file, or choose another output path)"
    ) in out
    assert (quickstart / "assets").read_text() == "not a folder"


def test_a_file_deeper_on_the_way(quickstart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file at `assets/icons` (a parent of some outputs) is named by its own path."""
    (quickstart / "assets").mkdir()
    (quickstart / "assets" / "icons").write_text("x")
    code, out, _ = run(quickstart, "build", "--provider", "draft", capsys=capsys)
    assert code == 1
    assert "`assets/icons` is a file, not a folder" in out
    assert "created hero-home" in out  # the others are built all the same


def test_state_dir_that_is_a_file(quickstart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`.assetgen` being a file: say so and how to move it, not "build in a writable checkout"."""
    (quickstart / ".assetgen").write_text("oops")
    code, _, err = run(quickstart, "build", "--provider", "draft", capsys=capsys)
    assert code == 2
    lines = err.splitlines()
    assert lines[0].endswith(".assetgen: is a file, not assetgen's state folder"), err
    assert "writable checkout" not in err
    assert re.search(r"hint: move it away \(`mv \S*\.assetgen \S*\.assetgen\.old`\)", err), err
    assert (quickstart / ".assetgen").read_text() == "oops"


def _estimate(project: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code, out, _ = run(project, "plan", capsys=capsys)
    assert code == 0
    m = re.search(r"Estimated cost: ([0-9.]+) credits", out)
    assert m, out
    return m[1]


def test_broken_lock_hint_says_restore_first_and_what_deleting_costs(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lock that cannot be read: restore it from git first; deleting it costs the estimate."""
    estimate = _estimate(quickstart, capsys)
    assert float(estimate) > 0
    (quickstart / "assetgen.lock").write_text("version: 1\nassets: [\n")
    code, _, err = run(quickstart, "plan", capsys=capsys)
    assert code == 2
    assert "delete it to rebuild everything" not in err
    hint = err.splitlines()[1]
    assert hint.startswith(
        "  hint: restore assetgen.lock from git (`git checkout -- assetgen.lock`): "
        "deleting it pays again for every asset the cache lacks"
    ), err
    assert hint.endswith(f"(here 4 of 4 assets, about {estimate} credits)"), err


def test_broken_lock_of_cached_assets_costs_nothing_to_delete(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the cache holds is not paid again: the figure counts only what it lacks."""
    manifest = quickstart / "assetgen.yaml"
    manifest.write_text(manifest.read_text().replace("provider: evolink", "provider: draft"))
    assert run(quickstart, "build", capsys=capsys)[0] == 0
    lock = quickstart / "assetgen.lock"
    lock.write_text(lock.read_text().replace("    width:", "   width:", 1))
    code, _, err = run(quickstart, "build", capsys=capsys)
    assert code == 2
    assert "(here 0 of 4 assets, about 0.00 credits)" in err


def test_corrupt_remote_blob_is_counted_as_corrupt_not_missing(
    quickstart: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`cache pull` of a blob whose bytes do not match: "1 corrupt on the remote", exit 1."""
    share = tmp_path / "share"
    share.mkdir()
    monkeypatch.setenv("ASSETGEN_REMOTE_CACHE", share.as_uri())
    assert run(quickstart, "build", "--provider", "draft", capsys=capsys)[0] == 0
    entry = read_lock(quickstart / "assetgen.lock").entries["hero-home"]
    (share / "cas" / entry.sha256).write_bytes(b"damaged in transit")
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("assetgen.yaml", "assetgen.lock"):
        shutil.copy(quickstart / name, clone / name)
    code, out, _ = run(clone, "cache", "pull", capsys=capsys)
    assert code == 1
    assert "pulled 3 images" in out
    assert "; 1 corrupt on the remote (bytes that do not match their digest; not kept)" in out
    assert "not found" not in out
    assert f"cas/{entry.sha256} does not match its digest" in out
    assert "hint: the remote's copies are damaged" in out
