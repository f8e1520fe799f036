"""Small marshal files in ``.assetgen/`` that let a null plan skip YAML and schema work.

Each memo is keyed by a digest of what it was derived from (the manifest's or the
lock's bytes, plus assetgen's version), so a stale memo is never used; a missing,
corrupt or foreign one is simply rebuilt. Writes are best-effort: a read-only
checkout still plans, only slower.
"""

from __future__ import annotations

import contextlib
import marshal
from pathlib import Path
from typing import Any

from ._version import __version__
from .fsutil import atomic_write

_FORMAT = 5  # 4: the manifest memos hold cache.remote; 5: lock rows end with `edited`


def load(path: Path, key: str) -> Any | None:
    try:
        data = path.read_bytes()
        fmt, version, stored_key, value = marshal.loads(data)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if fmt != _FORMAT or version != __version__ or stored_key != key:
        return None
    return value


def store(path: Path, key: str, value: Any) -> None:
    with contextlib.suppress(OSError):
        atomic_write(path, marshal.dumps((_FORMAT, __version__, key, value)), durable=False)
