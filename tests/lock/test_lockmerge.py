"""The lock's merge driver: per-asset three-way merges, in memory and in real git repos."""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from assetgen.lock.merge import gitattributes_setup, main, merge_lock_files, merge_locks
from assetgen.lock.model import LockEntry, Lockfile, format_lock
from assetgen.lock.read import parse_lock, read_lock
from assetgen.spec import spec_hash


@pytest.fixture(autouse=True)
def _no_remote(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSETGEN_REMOTE_CACHE", raising=False)


def entry(n: int, prompt: str = "a") -> LockEntry:
    request = {"provider": "draft", "model": "krea-2-turbo", "prompt": prompt, "size": "1:1",
               "quality": "1K", "seed": n, "nsfw_check": False}  # fmt: skip
    return LockEntry(
        spec_hash=spec_hash(request),  # read_lock checks that the request hashes to it
        request=request,
        path=f"assets/{n}.png", sha256=hash_of(n, prompt + "!"), bytes=1000 + n,
        width=1024, height=1024, format="png", credits=0.0,
    )  # fmt: skip


def hash_of(n: int, text: str) -> str:
    import hashlib

    return hashlib.sha256(f"{n}:{text}".encode()).hexdigest()


def lock(**entries: LockEntry) -> Lockfile:
    return Lockfile(dict(entries))


def test_different_assets_added_on_each_side_are_both_kept() -> None:
    """Additions on either side merge with no conflict."""
    base = lock(a=entry(1))
    merged, conflicts = merge_locks(
        base, lock(a=entry(1), b=entry(2)), lock(a=entry(1), c=entry(3))
    )
    assert dict(merged.entries) == {"a": entry(1), "b": entry(2), "c": entry(3)}
    assert conflicts == []


def test_a_change_on_one_side_takes_that_side() -> None:
    """Updated or deleted on one side only: that side wins, whichever it is."""
    base = lock(a=entry(1), b=entry(2), c=entry(3))
    ours = lock(a=entry(1, "new"), b=entry(2), c=entry(3))
    theirs = lock(a=entry(1), b=entry(2, "new"))
    merged, conflicts = merge_locks(base, ours, theirs)
    assert dict(merged.entries) == {"a": entry(1, "new"), "b": entry(2, "new")}
    assert conflicts == []


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    """Both sides made the same entry (as a shared cache makes them): it is kept."""
    merged, conflicts = merge_locks(lock(), lock(a=entry(1, "x")), lock(a=entry(1, "x")))
    assert dict(merged.entries) == {"a": entry(1, "x")} and conflicts == []


def test_different_changes_on_both_sides_keep_ours_with_a_notice() -> None:
    """Changed differently on both sides: ours, reported once."""
    base = lock(a=entry(1))
    merged, conflicts = merge_locks(base, lock(a=entry(1, "ours")), lock(a=entry(1, "theirs")))
    assert dict(merged.entries) == {"a": entry(1, "ours")}
    assert [(c.name, c.kept) for c in conflicts] == [("a", "ours")]
    assert conflicts[0].notice() == (
        "assetgen.lock: a changed on both sides; kept ours, the next plan shows it as update "
        "(served from cache when the other side's image is there)"
    )


@pytest.mark.parametrize("deleted_by", ["ours", "theirs"])
def test_deleted_on_one_side_and_changed_on_the_other_keeps_the_change(deleted_by: str) -> None:
    """Nothing paid for is dropped: the changed entry survives a delete on the other side."""
    base, changed = lock(a=entry(1)), lock(a=entry(1, "changed"))
    sides = (lock(), changed) if deleted_by == "ours" else (changed, lock())
    merged, conflicts = merge_locks(base, *sides)
    assert dict(merged.entries) == {"a": entry(1, "changed")}
    assert [c.kept for c in conflicts] == ["theirs" if deleted_by == "ours" else "ours"]


def test_deleted_on_one_side_and_unchanged_on_the_other_is_deleted() -> None:
    """A delete against an unchanged entry is a plain one-sided change."""
    merged, conflicts = merge_locks(lock(a=entry(1)), lock(a=entry(1)), lock())
    assert dict(merged.entries) == {} and conflicts == []


def test_the_newer_hash_version_wins() -> None:
    """Top-level keys come from the newer side."""
    merged, _ = merge_locks(Lockfile({}, 1, 1), Lockfile({}, 1, 1), Lockfile({}, 1, 0))
    assert merged.hash_version == 1 and merged.version == 1


def test_merge_lock_files_writes_ours_and_reads_an_empty_base(tmp_path: Path) -> None:
    """The driver contract: result in %A, exit 0; an empty %O (added on both sides) is an empty lock."""
    base, ours, theirs = (tmp_path / n for n in ("O", "A", "B"))
    base.write_bytes(b"")
    ours.write_text(format_lock(lock(a=entry(1))), encoding="utf-8")
    theirs.write_text(format_lock(lock(b=entry(2))), encoding="utf-8")
    err = io.StringIO()
    assert merge_lock_files(base, ours, theirs, err=err) == 0
    assert dict(read_lock(ours).entries) == {"a": entry(1), "b": entry(2)}
    assert err.getvalue() == ""


def test_an_unreadable_side_leaves_ours_untouched_and_exits_2(tmp_path: Path) -> None:
    """Conflict markers in an input: exit 2 with a message, %A byte for byte as it was."""
    base, ours, theirs = (tmp_path / n for n in ("O", "A", "B"))
    base.write_text(format_lock(lock()), encoding="utf-8")
    ours_text = format_lock(lock(a=entry(1)))
    ours.write_text(ours_text, encoding="utf-8")
    theirs.write_text("<<<<<<< HEAD\nversion: 1\n=======\n>>>>>>> x\n", encoding="utf-8")
    err = io.StringIO()
    assert main([str(base), str(ours), str(theirs), "assets.lock"], err=err) == 2
    assert ours.read_text(encoding="utf-8") == ours_text
    assert "conflict markers" in err.getvalue()


def test_main_wants_three_or_four_paths() -> None:
    """A wrong call prints the usage and the git config line."""
    err = io.StringIO()
    assert main(["only-one"], err=err) == 2
    assert "git config merge.assetgen.driver" in err.getvalue()


def test_gitattributes_setup_is_idempotent_and_keeps_other_lines(tmp_path: Path) -> None:
    """One line added once; other attributes stay; the message has the git config line."""
    (tmp_path / ".gitattributes").write_text("*.png binary", encoding="utf-8")
    message = gitattributes_setup(tmp_path)
    again = gitattributes_setup(tmp_path)
    assert (tmp_path / ".gitattributes").read_text(encoding="utf-8") == (
        "*.png binary\nassetgen.lock merge=assetgen\n"
    )
    assert "now has" in message and "already has" in again
    assert 'git config merge.assetgen.driver "assetgen merge-lock %O %A %B %P"' in message
    gitattributes_setup(tmp_path, "icons.lock")
    assert (
        (tmp_path / ".gitattributes")
        .read_text(encoding="utf-8")
        .endswith("icons.lock merge=assetgen\n")
    )


# --- real git repositories ------------------------------------------------------------

MANIFEST = """\
version: 1
provider: draft
defaults: {{quality: 1K}}
assets:
  a-first:
    prompt: "the first asset"
{after_first}  m-middle:
    prompt: "{middle}"
    size: "1:1"
  z-last:
    prompt: "the last asset"
{after_last}"""


def manifest(middle: str = "the middle asset", after_first: str = "", after_last: str = "") -> str:
    return MANIFEST.format(middle=middle, after_first=after_first, after_last=after_last)


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, text=True, capture_output=True, check=check
    )


def build(repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "assetgen", "-C", str(repo), "build"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr


def commit(repo: Path, text: str, message: str) -> None:
    (repo / "assetgen.yaml").write_text(text, encoding="utf-8")
    build(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repo with the driver set up as `assetgen init --git` says, and one built commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.invalid")
    init = subprocess.run(
        [sys.executable, "-m", "assetgen", "-C", str(repo), "init", "--git"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (repo / ".gitattributes").read_text() == "assetgen.lock merge=assetgen\n"
    driver = init.stdout.split("merge.assetgen.driver ", 1)[1].splitlines()[0]
    assert driver == '"assetgen merge-lock %O %A %B %P"'
    # The same command line, run by this interpreter (the CLI may not be on PATH here).
    command = driver.strip('"').replace("assetgen", f"{shlex.quote(sys.executable)} -m assetgen", 1)
    git(repo, "config", "merge.assetgen.driver", command)
    (repo / ".gitignore").write_text("assets/\n", encoding="utf-8")  # images: not in git here
    commit(repo, manifest(), "base")
    return repo


def added(name: str, prompt: str) -> str:
    return f'  {name}:\n    prompt: "{prompt}"\n'


def test_branches_adding_different_assets_merge_cleanly(repo: Path) -> None:
    """Neighbours in the sorted lock, added on two branches: a clean merge with both."""
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, manifest(after_first=added("b-one", "one")), "add b-one")
    git(repo, "checkout", "-q", "main")
    commit(repo, manifest(after_last=added("b-two", "two")), "add b-two")

    # Line by line, the two new blocks are neighbours: git's own merge would conflict.
    for rev, side in (("main~1", "O"), ("main", "A"), ("feature", "B")):
        (repo.parent / side).write_text(git(repo, "show", f"{rev}:assetgen.lock").stdout)
    textual = git(repo.parent, "merge-file", "-p", "A", "O", "B", check=False)
    assert textual.returncode >= 1 and "<<<<<<<" in textual.stdout  # conflicts, counted

    merge = git(repo, "merge", "--no-edit", "feature", check=False)
    assert merge.returncode == 0, merge.stdout + merge.stderr
    text = (repo / "assetgen.lock").read_bytes()
    assert b"<<<<<<<" not in text and b">>>>>>>" not in text
    merged = parse_lock(text)  # valid against the lock schema
    assert sorted(merged.entries) == ["a-first", "b-one", "b-two", "m-middle", "z-last"]
    # The merged lock matches the merged manifest and the images on disk: nothing to do.
    check = subprocess.run(
        [sys.executable, "-m", "assetgen", "-C", str(repo), "check"], capture_output=True
    )
    assert check.returncode == 0, check.stdout


def test_the_same_asset_changed_on_both_sides_keeps_ours_and_plans_an_update(repo: Path) -> None:
    """No markers in the lock, ours kept; with their manifest, plan says update from the cache."""
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, manifest(middle="the middle asset, theirs"), "theirs")
    theirs_entry = read_lock(repo / "assetgen.lock").entries["m-middle"]
    git(repo, "checkout", "-q", "main")
    commit(repo, manifest(middle="the middle asset, ours"), "ours")
    ours_entry = read_lock(repo / "assetgen.lock").entries["m-middle"]

    merge = git(repo, "merge", "--no-edit", "feature", check=False)
    assert merge.returncode == 1  # the manifest's prompt line conflicts: a person decides
    unmerged = git(repo, "diff", "--name-only", "--diff-filter=U").stdout.split()
    assert unmerged == ["assetgen.yaml"]  # the lock is merged
    text = (repo / "assetgen.lock").read_bytes()
    assert b"<<<<<<<" not in text and b"=======" not in text
    assert parse_lock(text).entries["m-middle"] == ours_entry

    git(repo, "checkout", "--theirs", "assetgen.yaml")  # the person picks their prompt
    done = subprocess.run(
        [sys.executable, "-m", "assetgen", "-C", str(repo), "plan", "--json"],
        capture_output=True,
        text=True,
    )
    actions = {a["name"]: a for a in json.loads(done.stdout)["actions"]}
    middle = actions["m-middle"]
    assert (middle["action"], middle["cached"], middle["credits"]) == ("update", True, 0.0)
    assert theirs_entry.spec_hash != ours_entry.spec_hash
