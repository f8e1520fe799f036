"""Output and lock paths stay inside the output folder; moved outputs leave no old file behind.

Issue 11, findings 2 and 7: a symlinked output folder, a lock naming README.md,
outputs in `.git/`, NUL and backslash paths, an interrupted relocation and a
case-only rename.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from pathlib import Path

import pytest

from assetgen.build.outputs import remove_if_unchanged, write_output
from assetgen.cli import main
from assetgen.lock.read import read_lock
from tests.build.test_build import build, edit
from tests.build.test_interrupts import build_again, start_build, wait_for_finished
from tests.conftest import RecordingProvider, tree

DRAFT = ("--provider", "draft")


def run(root: Path, *args: str) -> int:
    return main(["-C", str(root), *args, *DRAFT])


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- symlinks on the way ------------------------------------------------------------------


def test_output_dir_symlinked_outside_the_project_is_refused(
    quickstart: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`assets` -> a folder outside: plan and build exit 2, nothing there is written or deleted."""
    assert build(quickstart)[0] == 0
    outside = tmp_path / "outside"
    shutil.move(str(quickstart / "assets"), outside)  # the built images, now out there
    (quickstart / "assets").symlink_to(outside)
    edit(quickstart / "assetgen.yaml", "[search, settings, profile]", "[search, settings]")
    edit(quickstart / "assetgen.yaml", "a city skyline at dawn", "a harbour at dawn")
    before = tree(outside)
    capsys.readouterr()
    assert run(quickstart, "plan") == 2
    assert run(quickstart, "build") == 2
    err = capsys.readouterr().err
    assert "assetgen.yaml:6:13: output_dir `assets` is a symlink to" in err
    assert "outside the project" in err and "Traceback" not in err
    assert tree(outside) == before


def test_fresh_build_into_a_symlinked_output_dir_writes_nothing(
    quickstart: Path, tmp_path: Path
) -> None:
    """The first build into `assets` -> outside writes nothing there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (quickstart / "assets").symlink_to(outside)
    assert run(quickstart, "build") == 2
    assert list(outside.iterdir()) == []


def test_output_dir_symlinked_inside_the_project_is_refused_with_the_real_folder(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A link inside the project is refused too (the simple rule), naming the real folder."""
    (quickstart / "public/images").mkdir(parents=True)
    (quickstart / "assets").symlink_to("public/images")
    assert run(quickstart, "plan") == 2
    err = capsys.readouterr().err
    assert "output_dir `assets` is a symlink (to `public/images`)" in err
    assert "point output_dir at `public/images`" in err
    assert list((quickstart / "public/images").iterdir()) == []


def test_symlinked_subfolder_is_neither_written_nor_deleted_through(
    quickstart: Path, tmp_path: Path
) -> None:
    """`assets/icons` -> outside: icons fail (exit 1) or are kept; nothing out there changes."""
    assert build(quickstart)[0] == 0
    outside = tmp_path / "outside"
    shutil.move(str(quickstart / "assets/icons"), outside)
    (quickstart / "assets/icons").symlink_to(outside)
    edit(quickstart / "assetgen.yaml", "[search, settings, profile]", "[search, settings]")
    edit(quickstart / "assetgen.yaml", "a simple icon for", "a simple line icon for")
    before = tree(outside)
    provider = RecordingProvider()
    code, out = build(quickstart, provider)
    assert code == 1 and "goes through the symlink `assets/icons`" in out, out
    assert tree(outside) == before
    # Known before anything is generated: not one generation paid for an unwritable path.
    assert not [n for n in provider.calls if n.startswith("icon-")], provider.calls


def test_writes_and_removals_check_the_path_again_at_use(tmp_path: Path) -> None:
    """Whatever was checked before, the writer and the remover refuse a path no output may have."""
    from assetgen.errors import OutputError

    (tmp_path / "README.md").write_bytes(b"read me")
    (tmp_path / "logo.png").write_bytes(b"a logo")
    (tmp_path / ".git").mkdir()
    assert not remove_if_unchanged(tmp_path, "README.md", sha(tmp_path / "README.md"))
    assert not remove_if_unchanged(tmp_path, "logo.png", sha(tmp_path / "logo.png"), "assets")
    for bad in ("README.md", ".git/x.png", "a\x00b.png", "a\\b.png", "../x.png"):
        with pytest.raises(OutputError):
            write_output(tmp_path, bad, b"x")
    assert (tmp_path / "README.md").read_bytes() == b"read me"
    assert (tmp_path / "logo.png").exists() and list((tmp_path / ".git").iterdir()) == []


# --- the lock -----------------------------------------------------------------------------


def _lock_path(root: Path, new: str) -> None:
    lock = root / "assetgen.lock"
    text = lock.read_text()
    assert "path: assets/icons/profile.png" in text
    lock.write_text(text.replace("path: assets/icons/profile.png", f"path: {new}"))


def test_lock_entry_for_readme_is_exit_2_and_readme_survives(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hand-made `path: README.md` whose hash matches never makes build delete README.md."""
    assert build(quickstart)[0] == 0
    readme = quickstart / "README.md"
    shutil.copy(quickstart / "assets/icons/profile.png", readme)  # the hash even matches
    _lock_path(quickstart, "README.md")
    edit(quickstart / "assetgen.yaml", "[search, settings, profile]", "[search, settings]")
    capsys.readouterr()
    assert run(quickstart, "build") == 2
    assert run(quickstart, "plan") == 2
    err = capsys.readouterr().err
    assert "assetgen.lock:19:11: assets.icon-profile.path `README.md` does not end in" in err
    assert readme.exists()


def test_lock_entry_outside_output_dir_is_never_deleted(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An image path in the project but outside output_dir (a hand-made entry, or an
    output_dir changed since) is never deleted: build keeps it and says so."""
    assert build(quickstart)[0] == 0
    logo = quickstart / "logo.png"
    shutil.copy(quickstart / "assets/icons/profile.png", logo)
    _lock_path(quickstart, "logo.png")
    edit(quickstart / "assetgen.yaml", "[search, settings, profile]", "[search, settings]")
    capsys.readouterr()
    assert run(quickstart, "build") == 0
    err = capsys.readouterr().err
    assert "logo.png: kept, it is outside output_dir `assets`" in err
    assert logo.exists()


def test_a_changed_output_dir_moves_the_images_and_keeps_the_old_files(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After `output_dir` changes, a build moves each image to the new folder for free and
    leaves the old files (outside the new folder) alone."""
    assert build(quickstart)[0] == 0
    edit(quickstart / "assetgen.yaml", "output_dir: assets", "output_dir: images")
    capsys.readouterr()
    assert run(quickstart, "build") == 0
    out = capsys.readouterr().out
    assert "4 moved" in out and "0 generated" in out
    assert (quickstart / "images/hero-home.png").is_file()
    assert (quickstart / "assets/hero-home.png").is_file()
    assert run(quickstart, "check") == 0


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ('"assets/icons\\\\profile.png"', "contains a backslash"),
        ('"assets/a\\0b.png"', "contains a NUL character"),
        ('"assets/a\\eb.png"', "contains a control character"),
        ("assets/.git/profile.png", "is inside `.git/`"),
        ("assets/.assetgen/profile.png", "is inside `.assetgen/`"),
        ("assets/icons/profile.gif", "does not end in"),
    ],
)
def test_lock_paths_no_output_may_have_are_located_errors(
    quickstart: Path, capsys: pytest.CaptureFixture[str], path: str, problem: str
) -> None:
    """Backslash or NUL anywhere, `.git/`, `.assetgen/`, other extensions: exit 2 with the line."""
    assert build(quickstart)[0] == 0
    _lock_path(quickstart, path)
    capsys.readouterr()
    assert run(quickstart, "plan") == 2
    err = capsys.readouterr().err
    assert err.startswith("assetgen.lock:19:11: assets.icon-profile.path") and problem in err, err
    assert "Traceback" not in err


def test_the_lock_schema_refuses_a_backslash_anywhere() -> None:
    """The published schema says what the reader enforces (not only a leading backslash)."""
    import re

    from assetgen.schema.shipped import load_schema

    pattern = re.compile(load_schema("lock")["$defs"]["entry"]["properties"]["path"]["pattern"])
    assert pattern.search("assets/hero.png")
    for bad in ("assets\\hero.png", "assets/a\x00.png", "assets/.git/x.png", "README.md"):
        assert not pattern.search(bad), bad


# --- the manifest -------------------------------------------------------------------------

BASE = 'version: 1\nprovider: draft\noutput_dir: "{dir}"\nassets:\n  a:\n    prompt: x\n    output: "{out}"\n'


@pytest.mark.parametrize(
    ("output_dir", "output", "where", "problem"),
    [
        (".", ".git/x.png", "7:13", "output `.git/x.png` is inside `.git/`"),
        (
            ".",
            ".assetgen/cache/x.png",
            "7:13",
            "output `.assetgen/cache/x.png` is inside `.assetgen/`",
        ),
        ("assets", "a\\0b.png", "7:13", "output `a\\x00b.png` contains a NUL character"),
        ("assets", "icons\\\\x.png", "7:13", "output `icons\\x.png` must be a relative path"),
        (".git", "x.png", "3:13", "output_dir `.git` is inside `.git/`"),
        ("as\\0sets", "x.png", "3:13", "output_dir `as\\x00sets` contains a NUL character"),
    ],
)
def test_manifest_paths_no_output_may_have_are_located_in_validate_and_plan(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    output_dir: str,
    output: str,
    where: str,
    problem: str,
) -> None:
    """validate and plan both exit 2 with `file:line:col`, no traceback, nothing written."""
    (tmp_path / "assetgen.yaml").write_text(BASE.format(dir=output_dir, out=output))
    for command in ("validate", "plan", "build"):
        capsys.readouterr()
        assert main(["-C", str(tmp_path), command]) == 2, command
        err = capsys.readouterr().err
        assert f"assetgen.yaml:{where}: {problem}" in err, err
        assert "Traceback" not in err and "\x00" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assetgen.yaml"]


# --- interrupted relocations and case-only renames ------------------------------------------


def test_moves_of_a_build_stopped_by_fail_fast_are_finished_by_the_next(quickstart: Path) -> None:
    """--fail-fast stops the build after its moves: the next build removes the old files."""
    assert build(quickstart)[0] == 0
    edit(
        quickstart / "assetgen.yaml",
        "    seed: 1234\n",
        "    seed: 1234\n    output: hero/home.png\n",
    )
    edit(quickstart / "assetgen.yaml", "a simple icon for", "a simple line icon for")
    failing = RecordingProvider(
        fail={f"icon-{t}": "refused" for t in ("search", "settings", "profile")}
    )
    code, out = build(quickstart, failing, fail_fast=True)
    assert code == 1, out
    assert (quickstart / "assets/hero/home.png").exists()
    assert (
        read_lock(quickstart / "assetgen.lock").entries["hero-home"].path == "assets/hero/home.png"
    )
    edit(quickstart / "assetgen.yaml", "a simple line icon for", "a simple icon for")
    code, out = build(quickstart)
    assert code == 0, out
    assert not (quickstart / "assets/hero-home.png").exists()
    assert (quickstart / "assets/hero/home.png").exists()


def test_moves_of_a_killed_build_are_finished_by_the_next(quickstart: Path) -> None:
    """kill -9 after a move (its output written and journalled): the next build drops the old file."""
    assert build(quickstart)[0] == 0
    edit(
        quickstart / "assetgen.yaml",
        "    seed: 1234\n",
        "    seed: 1234\n    output: hero/home.png\n",
    )
    edit(quickstart / "assetgen.yaml", "a simple icon for", "a simple line icon for")
    proc = start_build(quickstart, delay=600)  # the icons never finish before the kill
    try:
        events = wait_for_finished(proc, 1)
        assert any(e.get("name") == "hero-home" for e in events if e["event"] == "finished")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert (quickstart / "assets/hero/home.png").exists()
    done = build_again(quickstart)
    assert done.returncode == 0, done.stderr
    assert not (quickstart / "assets/hero-home.png").exists()
    assert (quickstart / "assets/hero/home.png").exists()


def test_a_pending_removal_never_takes_a_changed_or_wanted_file(quickstart: Path) -> None:
    """Journalled removals go only while the file has the locked bytes and nothing wants it."""
    from assetgen.build.journal import Journal

    assert build(quickstart)[0] == 0
    lock = read_lock(quickstart / "assetgen.lock")
    hero = lock.entries["hero-home"]
    (quickstart / "assets/old.png").write_bytes(b"edited by hand")
    journal = Journal(quickstart / ".assetgen/assetgen.journal.db")
    journal.record_removal("assets/old.png", hero.sha256)  # bytes differ: kept
    journal.record_removal(hero.path, hero.sha256)  # still wanted: kept
    journal.record_removal("README.md", "0" * 64)  # not an output path at all: ignored
    journal.close()
    (quickstart / ".assetgen/assetgen.pending").touch()
    assert build(quickstart)[0] == 0
    assert (quickstart / "assets/old.png").read_bytes() == b"edited by hand"
    assert sha(quickstart / hero.path) == hero.sha256
    journal = Journal(quickstart / ".assetgen/assetgen.journal.db")
    assert journal.removals() == []
    journal.close()


def test_case_only_rename_leaves_one_file(quickstart: Path) -> None:
    """`hero-home.png` -> `Hero-Home.png` on a case-sensitive file system: the old file goes."""
    assert build(quickstart)[0] == 0
    edit(
        quickstart / "assetgen.yaml",
        "    seed: 1234\n",
        "    seed: 1234\n    output: Hero-Home.png\n",
    )
    code, out = build(quickstart)
    assert code == 0, out
    names = sorted(p.name for p in (quickstart / "assets").iterdir() if p.is_file())
    assert names == ["Hero-Home.png"]
    assert run(quickstart, "check") == 0


def test_case_variant_that_is_the_same_file_is_in_use(tmp_path: Path) -> None:
    """On a case-insensitive file system both names are one file: never removed as the old one."""
    from assetgen.build.relocate import claimed_paths, in_use

    (tmp_path / "assets").mkdir()
    (tmp_path / "assets/icon.png").write_bytes(b"png")
    os.link(tmp_path / "assets/icon.png", tmp_path / "assets/Icon.png")  # one inode, two names
    claimed = claimed_paths(["assets/icon.png"])
    assert in_use(tmp_path, "assets/Icon.png", claimed)
    (tmp_path / "assets/Icon.png").unlink()
    (tmp_path / "assets/Icon.png").write_bytes(b"png")  # now another file
    assert not in_use(tmp_path, "assets/Icon.png", claimed)


@pytest.mark.parametrize("path", ["a\x1b[31mRED.png", "a\nline2.png", "a\x08b.png", "a\u2028b.png"])
def test_control_characters_in_paths_are_refused_and_never_printed_raw(
    quickstart: Path, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    """An escape or a newline in an output path (manifest or lock) would reach every terminal
    that lists it: a located error, with the character shown as an escape."""
    manifest = quickstart / "assetgen.yaml"
    text = manifest.read_text(encoding="utf-8")
    escaped = path.encode("unicode_escape").decode("ascii")
    manifest.write_text(
        text.replace("output: icons/${topic}.png", f'output: "icons/{escaped}"'), encoding="utf-8"
    )
    capsys.readouterr()
    assert run(quickstart, "validate") == 2
    err = capsys.readouterr().err
    assert "contains a control character" in err and "\x1b" not in err and "\x08" not in err
