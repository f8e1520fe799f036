"""memo: small marshal files that are either exactly what was stored, or a miss."""

from __future__ import annotations

import marshal
from dataclasses import dataclass
from pathlib import Path

import pytest

from assetgen import memo


def test_a_stored_value_comes_back_under_its_key_only(tmp_path: Path) -> None:
    path = tmp_path / "m"
    memo.store(path, "k1", {"a": (1, 2, "x")})
    assert memo.load(path, "k1") == {"a": (1, 2, "x")}
    assert memo.load(path, "k2") is None


def test_missing_truncated_or_foreign_files_are_misses(tmp_path: Path) -> None:
    path = tmp_path / "m"
    assert memo.load(path, "k") is None
    memo.store(path, "k", list(range(100)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a torn write
    assert memo.load(path, "k") is None
    path.write_bytes(b"\x00garbage\xff")
    assert memo.load(path, "k") is None
    path.write_bytes(marshal.dumps(("only", "three", "items")))  # not the memo's shape
    assert memo.load(path, "k") is None
    path.write_bytes(marshal.dumps((-1, "0", "k", "value")))  # another format and version
    assert memo.load(path, "k") is None


def test_a_directory_in_the_way_is_a_miss_and_storing_is_best_effort(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.mkdir()
    memo.store(path, "k", 1)  # cannot replace a directory: nothing raised
    assert memo.load(path, "k") is None
    (tmp_path / "blocker").write_text("x")
    memo.store(tmp_path / "blocker" / "m", "k", 1)
    assert memo.load(tmp_path / "blocker" / "m", "k") is None


@dataclass
class Row:
    a: int
    b: str


@dataclass
class Reordered:
    b: str
    a: int


def test_layout_tells_apart_field_order_and_types() -> None:
    """Rows are positional: another order or type of the same names is another layout."""
    assert memo.layout(Row) == memo.layout(Row)
    assert memo.layout(Row) != memo.layout(Reordered)
    assert memo.layout(Row, ("x",)) != memo.layout(Row, ("y",))
    assert len(memo.layout(Row)) == 16


def test_long_lived_loads_without_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with memo.long_lived():
        assert not gc.isenabled()
        rows = [(i, str(i)) for i in range(1000)]
        assert len(rows) == 1000
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen  # a host process's objects are never frozen
    gc.disable()
    try:
        with memo.long_lived():  # a caller's own choice is left alone
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    monkeypatch.setattr(memo, "_freeze", True)  # as the `assetgen` program sets it
    try:
        before = gc.get_freeze_count()
        with memo.long_lived():
            made = [(i, [i]) for i in range(5000)]  # tracked containers, as memo rows are
        assert gc.get_freeze_count() >= before + len(made)
    finally:
        gc.unfreeze()
