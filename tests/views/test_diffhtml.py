"""views.diffhtml: the page's images, each from wherever its exact bytes still are."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from assetgen.cache.records import CacheRecord
from assetgen.cache.store import LocalCache
from assetgen.project import Project, find_project
from assetgen.views.diff import CACHE, GIT, WORKTREE, AssetChange, AssetDiff, ImageRef
from assetgen.views.diffhtml import materialize
from assetgen.views.gitfiles import GitRevision
from tests.conftest import copy_example


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def change(name: str, old: ImageRef | None, new: ImageRef | None) -> AssetChange:
    return AssetChange(name, "changed", None, None, None, old_image=old, new_image=new)


def project(tmp_path: Path) -> Project:
    return find_project(copy_example("quickstart", tmp_path / "p"))


def test_each_image_is_copied_once_named_by_its_digest(tmp_path: Path) -> None:
    proj = project(tmp_path)
    (proj.root / "a.png").write_bytes(b"new bytes")
    ref = ImageRef(WORKTREE, sha(b"new bytes"), "png", "a.png")
    same = ImageRef(WORKTREE, sha(b"new bytes"), "png", "a.png")
    diff = AssetDiff("old", (change("a", None, ref), change("b", None, same)), 0)
    files = materialize(diff, proj, LocalCache(tmp_path / "cache"), tmp_path / "images")
    name = f"{sha(b'new bytes')}.png"
    assert files == {("a", "new"): name, ("b", "new"): name}
    assert [p.name for p in (tmp_path / "images").iterdir()] == [name]


def test_a_file_edited_since_is_taken_from_the_cache_or_left_out(tmp_path: Path) -> None:
    """The working tree's file no longer has the digest: never shown as that image."""
    proj = project(tmp_path)
    (proj.root / "a.png").write_bytes(b"edited by hand")
    (proj.root / "b.png").write_bytes(b"edited too")
    cache = LocalCache(tmp_path / "cache")
    spec = "sha256:" + "ab" * 32
    cache.put(CacheRecord(spec, 1, 1, {}), {"png": b"locked a"})
    a = ImageRef(WORKTREE, sha(b"locked a"), "png", "a.png")
    b = ImageRef(WORKTREE, sha(b"locked b"), "webp", "b.png")
    diff = AssetDiff("old", (change("a", a, None), change("b", b, None)), 0)
    files = materialize(diff, proj, cache, tmp_path / "images")
    assert files == {("a", "old"): f"{sha(b'locked a')}.png"}
    assert (tmp_path / "images" / files[("a", "old")]).read_bytes() == b"locked a"


def test_stale_images_are_pruned_and_folders_left_alone(tmp_path: Path) -> None:
    proj = project(tmp_path)
    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    (images / "stale.png").write_bytes(b"from an older diff")
    (proj.root / "a.png").write_bytes(b"x")
    ref = ImageRef(WORKTREE, sha(b"x"), "jpeg", "a.png")
    files = materialize(AssetDiff("old", (change("a", None, ref),), 0), proj,
                        LocalCache(tmp_path / "c"), images)  # fmt: skip
    assert files == {("a", "new"): f"{sha(b'x')}.jpg"}
    assert sorted(p.name for p in images.iterdir()) == [f"{sha(b'x')}.jpg", "sub"]


def test_old_images_come_from_git_verified(tmp_path: Path) -> None:
    proj = project(tmp_path)
    cmd = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
           "-c", "commit.gpgsign=false"]  # fmt: skip
    subprocess.run([*cmd, "init", "-q"], cwd=proj.root, check=True)
    (proj.root / "old.png").write_bytes(b"committed")
    (proj.root / "liar.png").write_bytes(b"committed, but not what the lock said")
    subprocess.run([*cmd, "add", "-A"], cwd=proj.root, check=True)
    subprocess.run([*cmd, "commit", "-q", "-m", "x"], cwd=proj.root, check=True)
    (proj.root / "old.png").unlink()
    good = ImageRef(GIT, sha(b"committed"), "png", "old.png")
    bad = ImageRef(GIT, sha(b"what the lock said"), "png", "liar.png")
    gone = ImageRef(CACHE, sha(b"nowhere"), "png")
    diff = AssetDiff("HEAD", (change("g", good, None), change("l", bad, None),
                              change("n", gone, None)), 0, GitRevision(proj.root, "HEAD"))  # fmt: skip
    files = materialize(diff, proj, LocalCache(tmp_path / "cache"), tmp_path / "images")
    assert files == {("g", "old"): f"{sha(b'committed')}.png"}
