"""commands.sharing: `cache push|pull` move the locked images, and say plainly when they cannot."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from assetgen.cli import main
from assetgen.commands.sharing import cache_transfer, init_git
from assetgen.errors import RemoteCacheError, UsageError
from assetgen.project import find_project
from tests.conftest import copy_example


@pytest.fixture
def built(tmp_path: Path) -> Path:
    root = copy_example("quickstart", tmp_path / "p")
    assert main(["-C", str(root), "build", "--provider", "draft", "--no-push"]) == 0
    return root


def transfer(root: Path, *, push: bool, mkdir: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    code = cache_transfer(find_project(root), push=push, mkdir=mkdir, out=out)
    return code, out.getvalue()


def test_without_a_remote_it_is_a_usage_error_with_the_way_to_set_one(built: Path) -> None:
    with pytest.raises(UsageError, match="cache push: no remote cache is set") as info:
        transfer(built, push=True)
    assert "ASSETGEN_REMOTE_CACHE" in str(info.value)


def test_push_then_pull_into_a_fresh_clone(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    monkeypatch.setenv("ASSETGEN_REMOTE_CACHE", shared.as_uri())
    with pytest.raises(RemoteCacheError, match="push stopped"):  # not created unasked
        transfer(built, push=True)
    code, said = transfer(built, push=True, mkdir=True)
    locked = len(find_project(built).load_lock().entries)
    assert code == 0 and said.startswith(f"pushed {locked} images to ")
    assert transfer(built, push=True)[1].split("; ")[1].startswith(f"{locked} already there")

    clone = tmp_path / "clone"
    shutil.copytree(built, clone, ignore=shutil.ignore_patterns(".assetgen"))
    code, said = transfer(clone, push=False)
    assert code == 0 and said.startswith(f"pulled {locked} images from ")
    assert find_project(clone).load_lock().entries  # the lock came with the clone
    assert main(["-C", str(clone), "build", "--provider", "draft", "--max-credits", "0"]) == 0


def test_mkdir_is_only_for_a_file_remote(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSETGEN_REMOTE_CACHE", "http://127.0.0.1:9/cache")
    with pytest.raises(UsageError, match="--mkdir is for a file:// remote"):
        transfer(built, push=True, mkdir=True)


def test_a_pull_of_what_the_remote_lacks_fails_naming_the_side(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("ASSETGEN_REMOTE_CACHE", (tmp_path / "empty").as_uri())
    shutil.rmtree(built / ".assetgen")
    code, said = transfer(built, push=False)
    assert code == 1 and "not found on the remote side" in said


def test_init_git_sends_the_lock_to_the_merge_driver_once(tmp_path: Path) -> None:
    root = copy_example("quickstart", tmp_path / "p")
    (root / ".gitattributes").write_text("*.png binary\n")
    for _ in range(2):
        out = io.StringIO()
        assert init_git(find_project(root), out=out) == 0
    assert (root / ".gitattributes").read_text() == "*.png binary\nassetgen.lock merge=assetgen\n"
    assert 'git config merge.assetgen.driver "assetgen merge-lock %O %A %B %P"' in out.getvalue()
