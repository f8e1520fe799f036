"""A memo-loaded lock reads its entries' derived rows only when one is asked for: from
their own memo, or from the lock file when that memo is gone, and never from a lock
that changed since it was read."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgen.errors import LockfileError
from assetgen.lock.model import derived_memo_path, format_lock
from assetgen.lock.read import parse_lock, read_lock
from assetgen.project import find_project
from tests.derive.test_build_derive import project
from tests.pages import build


def built(tmp_path: Path) -> tuple[Path, Path]:
    """A built project with derived files: (the lock, its memo)."""
    root = project(tmp_path)
    build(root)
    proj = find_project(root)
    return proj.lock_path, proj.state_file("lock.memo")


def test_memo_loaded_entries_are_the_parsed_ones(tmp_path: Path) -> None:
    lock_path, memo_path = built(tmp_path)
    assert derived_memo_path(memo_path).is_file()
    parsed = parse_lock(lock_path.read_bytes())
    loaded = read_lock(lock_path, memo_path)
    assert loaded.entries["hero"].derived == parsed.entries["hero"].derived
    assert len(loaded.entries["hero"].derived) == 3
    assert loaded.entries == parsed.entries  # eq, through every field
    assert format_lock(read_lock(lock_path, memo_path)).encode() == lock_path.read_bytes()


def test_a_lost_derived_memo_reads_the_lock_file(tmp_path: Path) -> None:
    lock_path, memo_path = built(tmp_path)
    derived_memo_path(memo_path).unlink()
    loaded = read_lock(lock_path, memo_path)
    parsed = parse_lock(lock_path.read_bytes())
    assert loaded.entries["hero"].derived == parsed.entries["hero"].derived != ()


def test_a_lock_changed_before_its_rows_are_read_is_an_error(tmp_path: Path) -> None:
    """The rows are fetched after the lock changed on disk (a checkout in between):
    an error to run again, never another lock's rows under this one's entries."""
    lock_path, memo_path = built(tmp_path)
    derived_memo_path(memo_path).unlink()
    loaded = read_lock(lock_path, memo_path)
    lock_path.write_text(lock_path.read_text().replace("width: 600", "width: 601"))
    with pytest.raises(LockfileError, match="changed while assetgen was reading it"):
        _ = loaded.entries["hero"].derived


@pytest.mark.parametrize(
    "bad", [{"hero": "x"}, {"hero": (("a", "b"),)}, ["x"], {"hero": ((1,) * 6,)}]
)
def test_a_damaged_derived_memo_reads_the_lock_file(tmp_path: Path, bad: object) -> None:
    """A derived memo under the right key whose rows are not DerivedEntry rows."""
    import marshal

    from assetgen import memo

    lock_path, memo_path = built(tmp_path)
    at = derived_memo_path(memo_path)
    key = marshal.loads(memo_path.read_bytes())[2]  # the lock memo's key is the rows' key
    memo.store(at, key, bad)
    loaded = read_lock(lock_path, memo_path)
    parsed = parse_lock(lock_path.read_bytes())
    assert loaded.entries["hero"].derived == parsed.entries["hero"].derived != ()
