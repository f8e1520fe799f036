"""The build journal: what finished (and what is in flight) survives a kill -9.

SQLite in WAL mode is embedded, durable against a process crash once a commit
returns, and readable by the next build. Two tables:

- ``finished``: one row per asset whose output was written, with its lock entry;
  the next build folds these into the lock before planning, so nothing finished
  is lost or made again even when the lock was never written.
- ``tasks``: paid provider tasks between submit and result, so a resumed build
  collects them instead of paying again.
- ``nonces``: the Idempotency-Key nonce of a ``build --force`` submit, recorded before
  the submit, so a retry of that same forced submit (even after a kill -9) reuses its
  key and the gateway replays instead of charging again; dropped when the job ends.
- ``removals``: old files of moved outputs, recorded as each move is committed and
  removed once the build's writes are all done; a build stopped before that (kill,
  ^C, 402, 401, --fail-fast) leaves them here for the next build to finish.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

from ..digests import is_byte_count, is_credits, is_sha256, is_side, is_spec_hash
from ..errors import DiskFullError
from ..fsutil import disk_full_as_error
from ..lock.model import LockEntry

_SCHEMA = """
CREATE TABLE IF NOT EXISTS finished (
    name TEXT PRIMARY KEY,
    spec_hash TEXT NOT NULL,
    entry TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    spec_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    provider TEXT NOT NULL,
    task_id TEXT NOT NULL,
    submitted_at REAL NOT NULL,
    info TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS nonces (
    spec_hash TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS removals (
    path TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    at REAL NOT NULL
);
"""


class JournalTask(NamedTuple):
    """A paid task between submit and collection (``info`` holds e.g. the credits reserved)."""

    spec_hash: str
    name: str
    provider: str
    task_id: str
    submitted_at: float
    info: dict[str, Any]


_TASK_COLUMNS = "spec_hash, name, provider, task_id, submitted_at, info"
_SQLITE_FULL = 13  # "database or disk is full"
_NEARLY_FULL = 1 << 20  # bytes free under which SQLite's "disk I/O error" is a full disk


class Journal:
    """Every SQLite error that comes from a full disk leaves as a DiskFullError naming
    the journal (each commit is atomic, so what was recorded before it stays)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with disk_full_as_error(path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            with self._full_disk():
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(_SCHEMA)
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def _full_disk(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            if _disk_full(exc, self.path.parent):
                raise DiskFullError(self.path) from exc
            raise

    # finished assets

    def record_finished(self, name: str, entry: LockEntry) -> None:
        with self._full_disk():
            self.db.execute(
                "INSERT OR REPLACE INTO finished VALUES (?, ?, ?, ?)",
                (name, entry.spec_hash, json.dumps(_entry_json(entry)), time.time()),
            )

    def finished(self) -> Iterator[tuple[str, LockEntry]]:
        """Finished assets; a row that is not a lock entry assetgen wrote is skipped (its
        asset is then planned as if the build had not got to it)."""
        with self._full_disk():
            rows = self.db.execute("SELECT name, entry FROM finished ORDER BY name").fetchall()
        for name, entry in rows:
            found = _entry_from_json(entry)
            if found is not None:
                yield name, found

    def clear_finished(self, names: list[str] | None = None) -> None:
        with self._full_disk():
            if names is None:
                self.db.execute("DELETE FROM finished")
            else:
                self.db.executemany("DELETE FROM finished WHERE name = ?", [(n,) for n in names])

    # in-flight provider tasks

    def record_task(
        self, spec_hash: str, name: str, provider: str, task_id: str, info: dict[str, Any]
    ) -> None:
        with self._full_disk():
            self.db.execute(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?)",
                (spec_hash, name, provider, task_id, time.time(), json.dumps(info)),
            )

    def task_for(self, spec_hash: str) -> JournalTask | None:
        with self._full_disk():
            row = self.db.execute(
                f"SELECT {_TASK_COLUMNS} FROM tasks WHERE spec_hash = ?", (spec_hash,)
            ).fetchone()
        return _task(row) if row else None

    def tasks(self) -> list[JournalTask]:
        with self._full_disk():
            rows = self.db.execute(f"SELECT {_TASK_COLUMNS} FROM tasks ORDER BY name").fetchall()
        return [_task(row) for row in rows]

    def forget_task(self, spec_hash: str) -> None:
        with self._full_disk():
            self.db.execute("DELETE FROM tasks WHERE spec_hash = ?", (spec_hash,))

    # nonces of forced submits (see the module docstring)

    def nonce_for(self, spec_hash: str) -> str | None:
        with self._full_disk():
            row = self.db.execute(
                "SELECT nonce FROM nonces WHERE spec_hash = ?", (spec_hash,)
            ).fetchone()
        return row[0] if row and isinstance(row[0], str) and row[0] else None

    def record_nonce(self, spec_hash: str, nonce: str) -> None:
        with self._full_disk():
            self.db.execute(
                "INSERT OR REPLACE INTO nonces VALUES (?, ?, ?)", (spec_hash, nonce, time.time())
            )

    def forget_nonce(self, spec_hash: str) -> None:
        with self._full_disk():
            self.db.execute("DELETE FROM nonces WHERE spec_hash = ?", (spec_hash,))

    # old files of moved outputs, to remove (only while they keep these bytes)

    def record_removal(self, path: str, sha256: str) -> None:
        with self._full_disk():
            self.db.execute(
                "INSERT OR REPLACE INTO removals VALUES (?, ?, ?)", (path, sha256, time.time())
            )

    def removals(self) -> list[tuple[str, str]]:
        with self._full_disk():
            rows = self.db.execute("SELECT path, sha256 FROM removals ORDER BY path").fetchall()
        return [(p, h) for p, h in rows if isinstance(p, str) and isinstance(h, str)]

    def forget_removals(self, paths: list[str] | None = None) -> None:
        with self._full_disk():
            if paths is None:
                self.db.execute("DELETE FROM removals")
            else:
                self.db.executemany("DELETE FROM removals WHERE path = ?", [(p,) for p in paths])


def task_hashes(path: Path, provider: str) -> frozenset[str]:
    """The spec hashes of ``provider``'s journalled tasks, read without writing anything
    (a plan or a dry run touches no state); empty when there is no journal to read."""
    if not path.is_file():
        return frozenset()
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            rows = db.execute("SELECT spec_hash FROM tasks WHERE provider = ?", (provider,))
            return frozenset(h for (h,) in rows.fetchall() if is_spec_hash(h))
        finally:
            db.close()
    except sqlite3.Error:  # unreadable now: the plan prices those assets from the table
        return frozenset()


def _disk_full(exc: sqlite3.Error, directory: Path) -> bool:
    """SQLITE_FULL; or an I/O error (SQLite's -wal and -shm files failing to grow) on a
    disk with almost nothing left."""
    code = getattr(exc, "sqlite_errorcode", None)
    if (isinstance(code, int) and code & 0xFF == _SQLITE_FULL) or "is full" in str(exc):
        return True
    if "disk i/o error" not in str(exc).lower():
        return False
    try:
        return shutil.disk_usage(directory).free < _NEARLY_FULL
    except OSError:
        return False


def _task(row: tuple[Any, ...]) -> JournalTask:
    try:
        info = json.loads(row[5])
    except ValueError:
        info = {}
    spec_hash, name, provider, task_id, at = row[:5]
    return JournalTask(
        spec_hash, name, provider, task_id, at, info if isinstance(info, dict) else {}
    )


def _entry_json(e: LockEntry) -> dict[str, Any]:
    d = asdict(e)
    d["request"] = dict(e.request)
    d["results"] = list(e.results)
    d.pop("derived", None)  # the master's record; its derived files are the lock's (derive.py)
    return d


def _entry_from_json(text: object) -> LockEntry | None:
    """The journalled entry, checked as a cache record is (digests.py); None if it is not one."""
    try:
        d = json.loads(text) if isinstance(text, (str, bytes)) else None
    except (ValueError, RecursionError):
        return None
    if not (
        isinstance(d, dict)
        and is_spec_hash(d.get("spec_hash"))
        and is_sha256(d.get("sha256"))
        and is_byte_count(d.get("bytes"))
        and is_side(d.get("width"))
        and is_side(d.get("height"))
        and is_credits(d.get("credits"))
    ):
        return None
    d["results"] = tuple(d.get("results") or ())
    d.pop("derived", None)
    try:
        return LockEntry(**d)
    except TypeError:  # keys this version does not know
        return None
