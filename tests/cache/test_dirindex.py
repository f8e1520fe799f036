"""DirIndex: a directory's index, read once, read again only when a miss meets a change."""

from __future__ import annotations

import os
from pathlib import Path

from assetgen.cache.dirindex import DirIndex


class Counting(DirIndex[str]):
    """One key per file, its value the file's text; counts the directory reads."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.reads = 0

    def _read(self) -> dict[str, str]:
        self.reads += 1
        if not self.directory.is_dir():
            return {}
        return {p.name: p.read_text() for p in self.directory.iterdir()}


def bump(directory: Path) -> None:
    """Move the directory's mtime on, whatever the file system's clock resolution."""
    st = os.stat(directory)
    os.utime(directory, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))


def test_hits_are_served_from_memory(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("1")
    index = Counting(tmp_path)
    assert index.get("a") == "1" and index.get("a") == "1"
    assert index.reads == 1


def test_a_miss_in_an_unchanged_directory_reads_nothing_again(tmp_path: Path) -> None:
    index = Counting(tmp_path)
    assert index.get("nope") is None and index.get("nope") is None
    assert index.reads == 1


def test_a_miss_after_another_process_wrote_reads_again(tmp_path: Path) -> None:
    index = Counting(tmp_path)
    assert index.get("b") is None
    (tmp_path / "b").write_text("2")
    bump(tmp_path)
    assert index.get("b") == "2" and index.reads == 2


def test_what_this_process_wrote_is_seen_without_a_read(tmp_path: Path) -> None:
    index = Counting(tmp_path)
    index.update({"early": "x"})  # before the first read: nothing to add to
    assert index.get("early") is None and index.reads == 1
    index.update({"c": "3"})
    assert index.get("c") == "3" and index.reads == 1


def test_a_missing_directory_is_empty_and_forget_reads_afresh(tmp_path: Path) -> None:
    index = Counting(tmp_path / "absent")
    assert index.get("a") is None
    (tmp_path / "absent").mkdir()
    (tmp_path / "absent" / "a").write_text("1")
    assert index.get("a") == "1"  # the directory appeared: its stamp is no longer None
    index.forget()
    assert index.get("a") == "1" and index.reads == 3
