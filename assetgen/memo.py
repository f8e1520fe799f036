"""Small marshal files in ``.assetgen/`` that let a null plan skip YAML and schema work.

Each memo is keyed by a digest of what it was derived from (the manifest's or the
lock's bytes, plus assetgen's version), so a stale memo is never used; a missing,
corrupt or foreign one is simply rebuilt. Writes are best-effort: a read-only
checkout still plans, only slower.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import marshal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._version import __version__
from .fsutil import atomic_write

_FORMAT = 5  # 4: the manifest memos hold cache.remote; 5: keyed by layout, locks verified


def layout(*parts: object) -> str:
    """A digest of the shape of memo rows: each dataclass's field names and types, in
    order, and any other part's repr (a tuple of field names). Rows are positional, so
    a memo key that holds this digest is never read by code that lays its rows out
    differently, whether or not anyone remembered to bump ``_FORMAT``."""
    text = []
    for part in parts:
        if isinstance(part, type) and dataclasses.is_dataclass(part):
            shape = ",".join(f"{f.name}:{f.type}" for f in dataclasses.fields(part))
            text.append(f"{part.__qualname__}({shape})")
        else:
            text.append(repr(part))
    return hashlib.sha256("|".join(text).encode()).hexdigest()[:16]


_freeze = False  # set by the `assetgen` program only: see freeze_loaded


def freeze_loaded() -> None:
    """From now on, ``long_lived`` also freezes what it loaded. Only the ``assetgen``
    program calls this, never a host process (a test run, a tool calling ``main([...])``):
    a frozen object is never collected, so a host's cyclic garbage alive at that moment
    would stay for good, while a fresh command has next to none."""
    global _freeze
    _freeze = True


@contextlib.contextmanager
def long_lived() -> Iterator[None]:
    """Build what is loaded inside the block (memos and what is made of them) without
    the cyclic garbage collector.

    A null plan of 10,000 assets with derived files loads about a million tuples,
    strings and rows that live until the process ends and hold no cycles; each
    allocation burst set off collections that walked all of them again (a fifth of
    that plan's CPU). In the ``assetgen`` program (``freeze_loaded``), ``gc.freeze()``
    then keeps later collections, while planning or during a long build, from walking
    them too. Reference counting still frees them."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if _freeze:
            gc.freeze()
        gc.enable()


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
