"""build.relocate: locked bytes reach the cache before anything moves, and only they move."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from assetgen.build.relocate import claimed_paths, in_use, move, remove_vacated, stage
from assetgen.cache.store import LocalCache
from assetgen.errors import OutputError
from assetgen.lock.model import LockEntry
from tests.conftest import copy_example


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry(path: str, data: bytes, *, edited: bool = False) -> LockEntry:
    return LockEntry(
        spec_hash="sha256:" + "ab" * 32, request={}, path=path, sha256=sha(data),
        bytes=len(data), width=8, height=8, format="png", edited=edited,
    )  # fmt: skip


def test_stage_keeps_the_files_bytes_with_a_record_of_its_spec(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"locked")
    cache = LocalCache(tmp_path / "cache")
    e = entry("a.png", b"locked")
    assert stage(tmp_path, cache, e)
    assert cache.read_blob(e.sha256) == b"locked"
    record = cache.record(e.spec_hash)
    assert record is not None and record.blobs["png"] == (e.sha256, 6)


def test_an_adopted_edit_is_kept_by_digest_only(tmp_path: Path) -> None:
    """Its spec's record stays the generated original's (``build --force`` brings it back)."""
    (tmp_path / "a.png").write_bytes(b"edited")
    cache = LocalCache(tmp_path / "cache")
    e = entry("a.png", b"edited", edited=True)
    assert stage(tmp_path, cache, e)
    assert cache.read_blob(e.sha256) == b"edited" and cache.record(e.spec_hash) is None


def test_bytes_changed_by_hand_or_gone_are_not_staged(tmp_path: Path) -> None:
    cache = LocalCache(tmp_path / "cache")
    e = entry("a.png", b"locked")
    assert not stage(tmp_path, cache, e)  # no file
    (tmp_path / "a.png").write_bytes(b"edited since")
    assert not stage(tmp_path, cache, e)
    assert not cache.has_blob(sha(b"edited since")) and not cache.has_blob(e.sha256)


def test_move_copies_the_locked_bytes_and_refuses_when_they_are_nowhere(tmp_path: Path) -> None:
    from assetgen.project import find_project

    root = copy_example("quickstart", tmp_path / "p")
    spec = find_project(root).load_manifest("draft").specs[0]
    cache = LocalCache(tmp_path / "cache")
    e = entry("old.png", b"locked")
    (root / "old.png").write_bytes(b"locked")
    moved = move(root, cache, e, spec, "old.png")
    assert (root / spec.output).read_bytes() == b"locked" and moved.path == spec.output
    assert moved.sha256 == e.sha256 and (root / "old.png").exists()  # removed later
    (root / "old.png").unlink()
    (root / spec.output).unlink()
    with pytest.raises(OutputError, match=r"old\.png is gone and not cached"):
        move(root, cache, e, spec, "old.png")
    assert move(root, cache, e, spec, spec.output).path == spec.output  # already in place


def test_in_use_tells_the_same_file_apart_from_a_namesake(tmp_path: Path) -> None:
    (tmp_path / "Icon.png").write_bytes(b"x")
    (tmp_path / "other.png").write_bytes(b"y")
    claimed = claimed_paths(["icon.png", "other.png"])
    assert in_use(tmp_path, "other.png", claimed)
    assert not in_use(tmp_path, "unwanted.png", claimed)
    # Icon.png and icon.png: one file only where the file system folds case.
    folds = (tmp_path / "icon.png").exists()
    assert in_use(tmp_path, "Icon.png", claimed) == folds


def test_remove_vacated_keeps_files_in_use_and_files_edited_since(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"locked")
    (tmp_path / "b.png").write_bytes(b"locked")
    (tmp_path / "c.png").write_bytes(b"edited")
    remove_vacated(tmp_path, entry("a.png", b"locked"), claimed_paths(["a.png"]), ".")
    remove_vacated(tmp_path, entry("b.png", b"locked"), claimed_paths([]), ".")
    remove_vacated(tmp_path, entry("c.png", b"locked"), claimed_paths([]), ".")
    assert sorted(os.listdir(tmp_path)) == ["a.png", "c.png"]
