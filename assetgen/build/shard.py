"""Sharded builds: ``assetgen build --shard I/N`` builds a stable 1/N of the assets.

An asset's shard comes from the sha256 of its name, so it never depends on the
manifest's order, on the other assets, on the machine or on Python's randomised
``hash()``: N CI runners given ``1/N`` .. ``N/N`` build every asset exactly once,
and a runner builds the same assets on every run. With a remote cache, a final
plain ``assetgen build`` then assembles the whole lock from the cache without
generating anything.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from ..errors import UsageError

_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> ``(2, 3)``; a UsageError unless it reads ``I/N`` with 1 <= I <= N."""
    m = _SHARD.fullmatch(text)
    if m is None:
        raise UsageError(f"--shard {text}: use I/N, like 2/3 (the second of three shards)")
    i, n = int(m.group(1)), int(m.group(2))
    if not 1 <= i <= n:
        raise UsageError(f"--shard {text}: I must be between 1 and N, like 1/{max(n, 1)}")
    return i, n


def shard_of(name: str, n: int) -> int:
    """The shard (1..n) of asset ``name``: sha256 of its UTF-8 bytes, as an integer, mod n, plus 1."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest(), "big") % n + 1


def in_shard(name: str, i: int, n: int) -> bool:
    """Whether asset ``name`` belongs to shard ``i`` of ``n``."""
    return shard_of(name, n) == i


def select_shard(names: Iterable[str], i: int, n: int) -> list[str]:
    """The names of shard ``i`` of ``n``, in their given order."""
    return [name for name in names if in_shard(name, i, n)]
