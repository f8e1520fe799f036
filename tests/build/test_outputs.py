"""build.outputs: every write atomic, every removal only of the locked bytes, never past a symlink."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import pytest

from assetgen.build import outputs
from assetgen.build.outputs import (
    file_sha256,
    prune_empty_dirs,
    read_verified,
    remove_if_unchanged,
    write_output,
)
from assetgen.errors import DiskFullError, OutputError


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_read_verified_returns_only_the_bytes_it_was_told_of(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"locked")
    assert read_verified(tmp_path, "a.png", sha(b"locked")) == b"locked"
    assert read_verified(tmp_path, "a.png", sha(b"other")) is None
    assert read_verified(tmp_path, "missing.png", sha(b"locked")) is None
    assert file_sha256(tmp_path, "a.png") == sha(b"locked")
    assert file_sha256(tmp_path, ".") is None  # a directory: no readable file


def test_write_output_makes_folders_and_leaves_no_temp_file(tmp_path: Path) -> None:
    write_output(tmp_path, "deep/er/a.png", b"x")
    assert (tmp_path / "deep/er/a.png").read_bytes() == b"x"
    assert sorted(p.name for p in (tmp_path / "deep/er").iterdir()) == ["a.png"]


def test_a_file_where_a_folder_should_be_is_named(tmp_path: Path) -> None:
    (tmp_path / "icons").write_text("not a folder")
    with pytest.raises(
        OutputError, match=r"icons/a\.png: cannot write the image: `icons` is a file"
    ):
        write_output(tmp_path, "icons/a.png", b"x")


def test_a_directory_in_the_way_is_said_so(tmp_path: Path) -> None:
    (tmp_path / "a.png").mkdir()
    with pytest.raises(OutputError, match="a directory is in the way"):
        write_output(tmp_path, "a.png", b"x")


def test_a_symlinked_folder_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "icons").symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutputError, match="not written: the path"):
        write_output(tmp_path / "p", "icons/a.png", b"x")
    assert list(outside.iterdir()) == []


def test_a_full_disk_stops_the_build_not_just_the_asset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(path: Path, data: bytes, *, durable: bool = True) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outputs, "atomic_write", full)
    with pytest.raises(DiskFullError):
        write_output(tmp_path, "a.png", b"x")


def test_remove_only_the_locked_bytes_and_prune_what_is_left_empty(tmp_path: Path) -> None:
    write_output(tmp_path, "a/b/c.png", b"locked")
    (tmp_path / "a/keep.txt").write_text("mine")
    assert not remove_if_unchanged(tmp_path, "a/b/c.png", sha(b"edited by hand"))
    assert (tmp_path / "a/b/c.png").exists()
    assert remove_if_unchanged(tmp_path, "a/b/c.png", sha(b"locked"))
    assert not (tmp_path / "a/b").exists() and (tmp_path / "a/keep.txt").exists()


def test_remove_refuses_paths_outside_the_output_dir_and_through_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "p"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.png").write_bytes(b"locked")
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    assert not remove_if_unchanged(root, "link/x.png", sha(b"locked"))
    assert not remove_if_unchanged(root, "../outside/x.png", sha(b"locked"))
    write_output(root, "other/y.png", b"locked")
    assert not remove_if_unchanged(root, "other/y.png", sha(b"locked"), output_dir="assets")
    assert (outside / "x.png").exists() and (root / "other/y.png").exists()


def test_prune_stops_at_the_root_and_never_climbs_out(tmp_path: Path) -> None:
    (tmp_path / "root/a/b").mkdir(parents=True)
    prune_empty_dirs(tmp_path / "root/a/b", tmp_path / "root")
    assert (tmp_path / "root").is_dir() and not (tmp_path / "root/a").exists()
    prune_empty_dirs(tmp_path / "elsewhere", tmp_path / "root")  # not below root: nothing
    assert (tmp_path / "root").is_dir()
