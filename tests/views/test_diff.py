"""`assetgen diff`: changed, added, removed and renamed assets against git or a lock file."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from assetgen.cli import main
from assetgen.views.diff import word_diff
from tests.pages import Page, build, committed_design_system, edit, git


@pytest.fixture
def repo(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """A built design-system in a sub-folder of a git repository, committed."""
    return committed_design_system(tmp_path_factory, tmp_path)


def diff(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["-C", str(project), "diff", "--provider", "draft", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def change_set(project: Path) -> None:
    """Two prompts edited (three assets), one asset added, one removed."""
    manifest = project / "assetgen.yaml"
    edit(manifest, "social sharing card", "social preview card")
    edit(manifest, "vertical promotional banner", "vertical launch banner")
    edit(manifest, "seed: [101, 202, 303, 404]", "seed: [101, 202, 303]")
    edit(manifest, "topic: [search,", "topic: [zebra, search,")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("a city at dawn", "a city at dusk", [("=", "a city at "), ("-", "dawn"), ("+", "dusk")]),
        ("a b", "a b", [("=", "a b")]),
        ("", "new words", [("+", "new words")]),
        ("red, blue", "red,  green blue", [("=", "red,"), ("+", "  green"), ("=", " blue")]),
    ],
)
def test_word_diff(old: str, new: str, expected: list[tuple[str, str]]) -> None:
    """Prompts are compared word by word; joining each side's parts gives that side back."""
    parts = word_diff(old, new)
    assert parts == expected
    assert "".join(t for op, t in parts if op != "+") == old
    assert "".join(t for op, t in parts if op != "-") == new


def test_text_diff_before_and_after_building(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each change with its word diff and where each side's image comes from, then counts."""
    change_set(repo)
    code, out = diff(repo, capsys)
    assert code == 0
    header = out.splitlines()[0]
    assert header.startswith("assetgen.lock at HEAD (")
    assert header.endswith("3 changed, 1 added, 1 removed, 21 unchanged")
    assert "~ og-card" in out and "social [-sharing-]{+preview+} card" in out
    assert "+ icon-zebra" in out and "- avatar-404" in out
    assert "image: before from the working tree, after not built yet" in out
    build(repo)
    code, out = diff(repo, capsys)
    assert "image: before from the cache, after from the working tree" in out
    shutil.rmtree(repo / ".assetgen" / "cache")
    code, out = diff(repo, capsys)
    assert "image: before from git, after from the working tree" in out
    assert "image: before from git\n" in out  # the removed asset


def test_json_diff_shape(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json: old and new sides, a summary, and per asset status, changes and image sources."""
    change_set(repo)
    code, out = diff(repo, capsys, "--json")
    doc = json.loads(out)
    assert code == 0 and set(doc) == {"old", "new", "summary", "assets"}
    assert doc["old"]["commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert doc["summary"] == {
        "changed": 3,
        "renamed": 0,
        "added": 1,
        "removed": 1,
        "unchanged": 21,
    }
    by_name = {a["name"]: a for a in doc["assets"]}
    og = by_name["og-card"]
    assert og["status"] == "changed" and [c["field"] for c in og["changes"]] == ["prompt"]
    assert ["-", "sharing"] in og["changes"][0]["words"]
    assert og["old"]["image"] == "working tree" and og["old"]["path"] == "assets/social/og-card.png"
    assert og["new"] == {
        "spec_hash": og["new"]["spec_hash"],
        "path": "assets/social/og-card.png",
        "sha256": None,
        "built": False,
        "request": og["new"]["request"],
        "image": None,
    }
    assert by_name["icon-zebra"]["old"] is None and by_name["avatar-404"]["new"] is None


def test_html_diff_shows_both_sides(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--html: a self-contained page whose images (copied beside it) show before and after."""
    change_set(repo)
    build(repo)
    shutil.rmtree(repo / ".assetgen" / "cache")  # the old images can only come from git now
    code, out = diff(repo, capsys, "--html")
    page_path = repo / ".assetgen" / "diff" / "index.html"
    assert code == 0 and out.startswith("diff: ") and page_path.is_file()
    page = Page(page_path.read_text())
    page.assert_self_contained()
    cards = {c["data-search"].split()[0]: c for c in page.cards}
    assert {c["data-state"] for c in cards.values()} == {"changed", "added", "removed"}
    assert len(cards) == 5
    imgs = page.all("img")
    assert len(imgs) == 3 * 2 + 1 + 1  # changed: both sides; added: after; removed: before
    for img in imgs:
        assert (page_path.parent / img["src"]).is_file() and img["loading"] == "lazy"
        assert img["alt"].startswith(("Before: Draft stand-in for: ", "After: Draft stand-in"))
    og = page.data[int(cards["og-card"]["data-i"])]
    images = og["images"]
    assert isinstance(images, list)
    sources = [im["caption"] for im in images]
    assert sources[0].endswith(", from git") and sources[1].endswith(", from the working tree")
    assert "<del>sharing</del><ins>preview</ins>" in page_path.read_text()
    other = tmp_path / "review"
    code, _ = diff(repo, capsys, "--html", "-o", str(other))
    assert (other / "index.html").is_file() and len(list((other / "images").iterdir())) == 8


def test_renamed_and_regenerated_assets(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rename with the same request is `renamed`; other bytes for the same request (a
    regeneration with --force) are a change of `image`."""
    lock = (repo / "assetgen.lock").read_text()
    hero = lock.index("  hero-home:")
    sha = lock.index("sha256: ", hero) + len("sha256: ")
    old_lock = tmp_path / "old.lock"
    old_lock.write_text(lock[:sha] + "0f" * 32 + lock[sha + 64 :])
    edit(repo / "assetgen.yaml", "  avatar-${seed}:", "  face-${seed}:")  # seeds are pinned
    build(repo)
    _, doc_text = diff(repo, capsys, "--json", "--lock", str(old_lock))
    doc = json.loads(doc_text)
    by_name = {a["name"]: a for a in doc["assets"]}
    assert by_name["face-101"]["status"] == "renamed" and doc["summary"]["renamed"] == 4
    assert by_name["face-101"]["renamed_from"] == "avatar-101"
    assert by_name["face-101"]["changes"] == []  # same request, same output path
    changes = by_name["hero-home"]["changes"]
    assert by_name["hero-home"]["status"] == "changed"
    assert [(c["field"], c["old"]) for c in changes] == [("image", "0f" * 32)]
    _, out = diff(repo, capsys)
    assert "> face-101" in out and "(renamed from avatar-101)" in out


def test_against_an_older_revision_and_a_lock_file(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--against REV reads the lock at REV; --lock FILE compares with any lock."""
    old_lock = tmp_path / "old.lock"
    shutil.copy(repo / "assetgen.lock", old_lock)
    change_set(repo)
    build(repo)
    git(repo, "commit", "-qam", "edit prompts")
    code, out = diff(repo, capsys)
    assert out.splitlines()[0].endswith(": 25 unchanged")
    code, out = diff(repo, capsys, "--against", "HEAD~1")
    assert "assetgen.lock at HEAD~1 (" in out and "3 changed, 1 added, 1 removed" in out
    shutil.rmtree(repo / ".assetgen" / "cache")
    code, out = diff(repo, capsys, "--lock", str(old_lock))
    assert code == 0 and "3 changed, 1 added, 1 removed" in out
    assert "image: before unavailable, after from the working tree" in out


def test_first_pull_request_has_an_empty_old_side(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no lock at HEAD (a project's first pull request), every asset is added: exit 0."""
    git(repo, "rm", "-q", "--cached", "assetgen.lock")
    git(repo, "commit", "-qm", "untrack the lock")
    code, out = diff(repo, capsys)
    assert code == 0, out
    assert "every asset is new" in out.splitlines()[0] and "25 added" in out.splitlines()[0]
    code, out = diff(repo, capsys, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["summary"]["added"] == 25 and doc["old"]["commit"]


def test_usage_errors(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown revisions, uncommitted locks, no repository and bad flags: exit 2 with a hint."""
    code, out = diff(repo, capsys, "--against", "no-such-branch")
    assert code == 2 and "no-such-branch is not a known revision" in out and "--lock" in out
    shutil.rmtree(tmp_path / ".git")
    code, out = diff(repo, capsys)
    assert code == 2 and "not inside a git repository" in out and "--lock OLD.lock" in out
    code, out = diff(repo, capsys, "--lock", str(tmp_path / "missing.lock"))
    assert code == 2 and "cannot read it" in out
    code, out = diff(repo, capsys, "--lock", str(repo / "assetgen.lock"), "-o", "x")
    assert code == 2 and "add --html" in out
    with pytest.raises(SystemExit) as exc:
        main(["-C", str(repo), "diff", "--lock", "a.lock", "--against", "HEAD"])
    assert exc.value.code == 2
    (repo / "bad.lock").write_text("version: 1\nassets: [\n")
    code, out = diff(repo, capsys, "--lock", str(repo / "bad.lock"))
    assert code == 2 and "Traceback" not in out


def test_git_lfs_pointer_is_not_the_old_image(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file committed as a Git LFS pointer does not count as the old image."""
    image = repo / "assets" / "social" / "og-card.png"
    image.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n")
    git(repo, "commit", "-qam", "images in LFS")
    image.unlink()  # as a checkout without `git lfs pull` would not have it either
    edit(repo / "assetgen.yaml", "social sharing card", "social preview card")
    build(repo)
    shutil.rmtree(repo / ".assetgen" / "cache")
    _, out = diff(repo, capsys)
    assert "image: before unavailable, after from the working tree" in out
    code, out = diff(repo, capsys, "--html")
    page = Page((repo / ".assetgen" / "diff" / "index.html").read_text())
    assert code == 0 and len(page.all("img")) == 1
    assert page.all("button", "open")  # the old side says it is unavailable
    assert "old image unavailable" in (repo / ".assetgen" / "diff" / "index.html").read_text()


def test_a_repository_with_no_commit_yet_has_an_empty_old_side(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`git init`, build, `diff` before the first commit: every asset is new, exit 0."""
    subprocess.run(["git", "init", "-q", str(quickstart)], check=True)
    assert main(["-C", str(quickstart), "build", "--provider", "draft"]) == 0
    capsys.readouterr()
    code, out = diff(quickstart, capsys)
    assert code == 0, out
    assert "no commits yet: every asset is new" in out and "4 added" in out
