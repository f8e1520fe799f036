"""A lock that stats as it did when its digest was taken is not read again: the digest
noted with its (size, mtime, inode, ctime) keys the memo. Any write changes the ctime,
so an edit whose mtime was put back is read all the same."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assetgen import statcache
from assetgen.cli import main
from assetgen.errors import LockfileError
from assetgen.lock import read as lock_read
from assetgen.project import find_project

MANIFEST = "version: 1\nprovider: draft\nassets:\n  hero:\n    prompt: a calm sea\n"


def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    (root / "assetgen.yaml").write_text(MANIFEST)
    assert main(["-C", str(root), "build"]) == 0
    monkeypatch.setattr(statcache, "RACY_NS", 0)  # the lock just written is old enough
    return root


def reads_of(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every read_bytes of ``path`` from now on."""
    reads: list[Path] = []
    real = Path.read_bytes

    def counting(self: Path) -> bytes:
        if self == path:
            reads.append(self)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    return reads


def test_an_unchanged_lock_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = built(tmp_path, monkeypatch)
    project = find_project(root)
    first = project.load_lock()  # reads, and notes the digest with the stat
    reads = reads_of(project.lock_path, monkeypatch)
    again = project.load_lock()
    assert reads == [] and again == first and again.source == first.source
    assert main(["-C", str(root), "check"]) == 0 and reads == []


def test_an_edit_with_its_mtime_put_back_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same size, same mtime: the ctime moved, so the lock is read and its edit found."""
    root = built(tmp_path, monkeypatch)
    project = find_project(root)
    old = project.load_lock().entries["hero"].sha256
    lock = project.lock_path
    st = lock.stat()
    text = lock.read_text()
    digit = text.index("sha256: ") + len("sha256: ") + 5
    edited = text[:digit] + ("0" if text[digit] != "0" else "1") + text[digit + 1 :]
    lock.write_text(edited)  # one hex digit of a digest changed: same size
    os.utime(lock, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert lock.stat().st_size == st.st_size and lock.stat().st_mtime_ns == st.st_mtime_ns
    reads = reads_of(lock, monkeypatch)
    got = project.load_lock()
    assert reads == [lock]
    new = got.entries["hero"].sha256
    assert new != old and f"sha256: {new}" in edited


def test_a_damaged_stat_note_is_no_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A note that is not (size, mtime, inode, ctime, digest) reads the lock."""
    from assetgen import memo

    root = built(tmp_path, monkeypatch)
    project = find_project(root)
    project.load_lock()
    note = project.state_file("lock.stat.memo")
    assert note.is_file()
    row = memo.load(note, lock_read._STAT_KEY)
    assert isinstance(row, tuple) and len(row) == 5
    for bad in [(1, 2), "x", (*row[:4], "f" * 63)]:
        memo.store(note, lock_read._STAT_KEY, bad)
        reads = reads_of(project.lock_path, monkeypatch)
        project.load_lock()
        assert reads == [project.lock_path]
        monkeypatch.undo()
        monkeypatch.setattr(statcache, "RACY_NS", 0)


def test_a_broken_lock_behind_a_stale_note_is_still_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Broken in place with its size and mtime kept: refused, not served from the memo."""
    root = built(tmp_path, monkeypatch)
    project = find_project(root)
    project.load_lock()
    lock = project.lock_path
    st = lock.stat()
    text = lock.read_text()
    broken = "entries: [not, a, lock\n"
    lock.write_text(broken + "#" * (len(text.encode()) - len(broken) - 1) + "\n")
    os.utime(lock, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert lock.stat().st_size == st.st_size and lock.stat().st_mtime_ns == st.st_mtime_ns
    with pytest.raises(LockfileError):
        project.load_lock()


def test_a_racily_fresh_lock_is_never_noted(tmp_path: Path) -> None:
    """Just written (within RACY_NS): its digest is not noted, so a same-tick edit that
    keeps every stat field cannot hide behind the note."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "assetgen.yaml").write_text(MANIFEST)
    assert main(["-C", str(root), "build"]) == 0
    project = find_project(root)
    project.load_lock()
    assert not project.state_file("lock.stat.memo").exists()
