"""views.gitfiles: files at a git revision, from one git process, relative to the manifest's folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from assetgen.errors import UsageError
from assetgen.views.gitfiles import GitRevision, NoCommitsYet

OLD = b"\x89PNG old\n\x00\xff"  # binary, with a newline in it


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c",
         "commit.gpgsign=false", *args],
        cwd=cwd, check=True, capture_output=True,
    )  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose manifest lives in ``game/``, with one commit."""
    git(tmp_path, "init", "-q")
    folder = tmp_path / "game"
    (folder / "assets").mkdir(parents=True)
    (folder / "assets" / "a.png").write_bytes(OLD)
    (folder / "assets" / "b c.png").write_bytes(b"")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "one")
    (folder / "assets" / "a.png").write_bytes(b"new since")
    return folder


def test_paths_are_relative_to_the_manifests_folder(repo: Path) -> None:
    rev = GitRevision(repo, "HEAD")
    assert rev.read("assets/a.png") == OLD  # the committed bytes
    assert rev.read("assets/../assets/a.png") == OLD
    assert rev.read("assets/missing.png") is None
    assert rev.spec("assets/a.png") == f"{rev.commit}:game/assets/a.png"


def test_sizes_and_read_many_from_one_process(repo: Path) -> None:
    rev = GitRevision(repo, "HEAD")
    wanted = ["assets/a.png", "assets/b c.png", "assets/nope.png", "assets"]
    assert rev.sizes([*wanted, "assets/a.png"]) == {
        "assets/a.png": len(OLD), "assets/b c.png": 0, "assets/nope.png": None, "assets": None,
    }  # fmt: skip
    assert dict(rev.read_many(wanted)) == {
        "assets/a.png": OLD, "assets/b c.png": b"",
        "assets/nope.png": None, "assets": None,  # a tree is not a file
    }  # fmt: skip
    assert rev.sizes([]) == {} and list(rev.read_many([])) == []


def test_a_revision_that_looks_like_an_option_is_only_a_revision(repo: Path) -> None:
    with pytest.raises(UsageError, match="--output=x is not a known revision"):
        GitRevision(repo, "--output=x")
    assert not (repo / "x").exists()
    with pytest.raises(UsageError, match="no-such-branch is not a known revision"):
        GitRevision(repo, "no-such-branch")


def test_outside_a_repository_and_before_the_first_commit(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(UsageError, match="not inside a git repository"):
        GitRevision(tmp_path / "plain", "HEAD")
    (tmp_path / "fresh").mkdir()
    git(tmp_path / "fresh", "init", "-q")
    with pytest.raises(NoCommitsYet, match="HEAD has no commits yet"):
        GitRevision(tmp_path / "fresh", "HEAD")
