"""Sharded builds: a stable partition of asset names by the sha256 of each name."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgen.build.shard import in_shard, parse_shard, select_shard, shard_of
from assetgen.errors import UsageError


@pytest.mark.parametrize(("text", "expected"), [("1/3", (1, 3)), ("3/3", (3, 3)), (" 2 / 5 ", (2, 5)), ("1/1", (1, 1))])  # fmt: skip
def test_parse_shard_reads_i_of_n(text: str, expected: tuple[int, int]) -> None:
    """I/N with 1 <= I <= N parses to (I, N)."""
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "3", "1/3/5", "a/b", "-1/3", "", "1.5/3"])
def test_parse_shard_refuses_anything_else(text: str) -> None:
    """Anything but I/N with 1 <= I <= N is a usage error that says the form."""
    with pytest.raises(UsageError, match="--shard"):
        parse_shard(text)


def test_shards_cover_every_asset_exactly_once() -> None:
    """1/3, 2/3 and 3/3 partition a few hundred names, each shard a fair share."""
    names = [f"icon-{i:03d}" for i in range(300)] + ["hero-home", "ünïcode-名前"]
    shards = [select_shard(names, i, 3) for i in (1, 2, 3)]
    assert sorted(n for shard in shards for n in shard) == sorted(names)
    assert sum(len(s) for s in shards) == len(names)
    assert all(60 < len(s) < 140 for s in shards), [len(s) for s in shards]


@pytest.mark.parametrize(
    ("name", "of3", "of7"),
    [
        # sha256 of the UTF-8 name, as a big-endian integer, mod N, plus one; computed
        # outside Python (printf NAME | sha256sum) so a change of definition shows here.
        ("hero-home", 3, 5),
        ("icon-search", 2, 6),
        ("icon-settings", 2, 5),
        ("icon-profile", 3, 4),
        ("badge-new", 3, 1),
        ("ünïcode", 2, 4),
    ],
)
def test_an_assets_shard_never_changes(name: str, of3: int, of7: int) -> None:
    """The shard depends on the name alone: the same on every machine and every run."""
    assert shard_of(name, 3) == of3 and shard_of(name, 7) == of7
    assert in_shard(name, of3, 3) and not in_shard(name, of3 % 3 + 1, 3)


def test_one_shard_is_everything() -> None:
    """1/1 selects every asset, in the given order."""
    names = ["b", "a", "c"]
    assert select_shard(names, 1, 1) == names


def test_the_cli_refuses_a_shard_out_of_range(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assetgen.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["-C", str(quickstart), "build", "--provider", "draft", "--shard", "4/3"])
    assert exc.value.code == 2 and "--shard" in capsys.readouterr().err


def test_cache_push_without_a_remote_says_how_to_set_one(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assetgen.cli import main

    assert main(["-C", str(quickstart), "cache", "push"]) == 2
    err = capsys.readouterr().err
    assert "no remote cache is set" in err and "ASSETGEN_REMOTE_CACHE" in err
