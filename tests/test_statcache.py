"""statcache: a digest trusted while (size, mtime, inode) match, never for a fresh file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from assetgen.statcache import StatCache


def age(path: Path, seconds: int = 3600) -> None:
    """Date a file back, out of the racy window."""
    st = path.stat()
    old = st.st_mtime_ns - seconds * 1_000_000_000
    os.utime(path, ns=(old, old))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_old_file_is_hashed_once_then_trusted(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"one")
    age(tmp_path / "a.png")
    stats = StatCache(None)
    assert stats.digest(tmp_path, "a.png") == sha(b"one")
    assert stats.digest(tmp_path, "a.png") == sha(b"one")
    assert stats.hashed == 1


def test_a_fresh_file_is_hashed_every_time(tmp_path: Path) -> None:
    """Within the racy window a same-size rewrite could keep the stat: never remembered."""
    (tmp_path / "a.png").write_bytes(b"one")
    stats = StatCache(None)
    assert stats.digest(tmp_path, "a.png") == sha(b"one")
    (tmp_path / "a.png").write_bytes(b"two")
    assert stats.digest(tmp_path, "a.png") == sha(b"two")
    assert stats.hashed == 2 and "a.png" not in stats.entries


def test_a_change_of_bytes_with_the_same_size_and_mtime_but_a_new_inode(tmp_path: Path) -> None:
    """Replaced by a rename (as every assetgen write is): the inode tells."""
    target = tmp_path / "a.png"
    target.write_bytes(b"one")
    age(target)
    stats = StatCache(None)
    stats.digest(tmp_path, "a.png")
    st = target.stat()
    (tmp_path / "new").write_bytes(b"two")
    os.utime(tmp_path / "new", ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp_path / "new", target)
    assert stats.digest(tmp_path, "a.png") == sha(b"two")


def test_missing_files_directories_and_dangling_symlinks_have_no_digest(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"one")
    age(tmp_path / "a.png")
    stats = StatCache(None)
    stats.digest(tmp_path, "a.png")
    (tmp_path / "a.png").unlink()
    assert stats.digest(tmp_path, "a.png") is None and "a.png" not in stats.entries
    (tmp_path / "dir.png").mkdir()
    assert stats.digest(tmp_path, "dir.png") is None
    (tmp_path / "link.png").symlink_to(tmp_path / "nowhere")
    assert stats.digest(tmp_path, "link.png") is None


def test_saved_entries_are_read_back_and_a_corrupt_memo_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.png").write_bytes(b"one")
    age(tmp_path / "a.png")
    memo = tmp_path / "stat.memo"
    first = StatCache(memo)
    first.digest(tmp_path, "a.png")
    first.save()
    again = StatCache(memo)
    assert again.digest(tmp_path, "a.png") == sha(b"one") and again.hashed == 0
    memo.write_bytes(memo.read_bytes()[:10])
    assert StatCache(memo).entries == {}


def test_a_trusted_stat_is_all_it_takes(tmp_path: Path) -> None:
    """While the stat matches the bytes are not read; an edit in place whose mtime is
    put back (`cp -p`, `touch -r`) moves the ctime, which is part of the stat: read."""
    (tmp_path / "a.png").write_bytes(b"one")
    age(tmp_path / "a.png")
    stats = StatCache(None)
    stats.digest(tmp_path, "a.png")
    assert stats.digest(tmp_path, "a.png") == sha(b"one") and stats.hashed == 1
    st = (tmp_path / "a.png").stat()
    with open(tmp_path / "a.png", "r+b") as f:  # same size, same inode, mtime put back
        f.write(b"two")
    os.utime(tmp_path / "a.png", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (tmp_path / "a.png").stat().st_mtime_ns == st.st_mtime_ns
    assert stats.digest(tmp_path, "a.png") == sha(b"two") and stats.hashed == 2


def test_digests_answers_what_digest_answers(tmp_path: Path) -> None:
    """The bulk form used by plans: trusted, changed, new, gone and unusable paths."""
    for name, data in (("kept.png", b"one"), ("changed.png", b"two"), ("gone.png", b"x")):
        (tmp_path / name).write_bytes(data)
        age(tmp_path / name)
    (tmp_path / "dir.png").mkdir()
    stats = StatCache(None)
    stats.digests(tmp_path, ["kept.png", "changed.png", "gone.png"])
    (tmp_path / "changed.png").write_bytes(b"three")
    age(tmp_path / "changed.png", 60)
    (tmp_path / "gone.png").unlink()
    (tmp_path / "new.png").write_bytes(b"four")
    got = stats.digests(tmp_path, ["kept.png", "changed.png", "gone.png", "new.png", "dir.png"])
    assert got == {
        "kept.png": sha(b"one"),
        "changed.png": sha(b"three"),
        "gone.png": None,
        "new.png": sha(b"four"),
        "dir.png": None,
    }
    assert "gone.png" not in stats.entries
    assert stats.hashed == 5  # three first, then only the changed and the new file
