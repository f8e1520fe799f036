"""Files as they were at a git revision, read with the ``git`` program.

``assetgen diff`` needs the lock and some images from another revision. One
``git cat-file --batch`` process serves any number of files, so a diff of a
thousand changed assets is not a thousand processes. Paths are given relative to
the manifest's folder, as the lock records them.
"""

from __future__ import annotations

import posixpath
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import UsageError

_HINT = "  hint: compare with a lock file instead: assetgen diff --lock OLD.lock"


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8", check=False
        )
    except FileNotFoundError:
        raise UsageError(f"git is not installed, so revisions cannot be read\n{_HINT}") from None


class NoCommitsYet(UsageError):
    """The repository has no commit yet: nothing was ever built at any revision."""


class GitRevision:
    """One commit of the repository that holds ``folder``."""

    def __init__(self, folder: Path, rev: str) -> None:
        prefix = _git(folder, "rev-parse", "--show-prefix")
        if prefix.returncode != 0:
            raise UsageError(f"{folder}: not inside a git repository\n{_HINT}")
        self.folder = folder
        self.prefix = prefix.stdout.strip()
        found = _git(
            folder, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        )
        if found.returncode != 0:
            if rev == "HEAD":
                raise NoCommitsYet(f"HEAD has no commits yet\n{_HINT}")
            raise UsageError(f"{rev} is not a known revision\n{_HINT}")
        self.rev = rev
        self.commit = found.stdout.strip()

    def spec(self, rel: str) -> str:
        """``<commit>:<path from the repository's top>`` for a path relative to ``folder``."""
        return f"{self.commit}:{posixpath.normpath(self.prefix + rel)}"

    def read(self, rel: str) -> bytes | None:
        """The bytes of one file at this revision, or None when it was not there."""
        proc = subprocess.run(
            ["git", "cat-file", "blob", self.spec(rel)],
            cwd=self.folder,
            capture_output=True,
            check=False,
        )
        return proc.stdout if proc.returncode == 0 else None

    def sizes(self, rels: Iterable[str]) -> dict[str, int | None]:
        """Each file's size at this revision (None: absent), without reading its bytes."""
        rels = list(dict.fromkeys(rels))
        if not rels:
            return {}
        proc = subprocess.run(
            ["git", "cat-file", "--batch-check=%(objecttype) %(objectsize)"],
            cwd=self.folder,
            input="".join(self.spec(r) + "\n" for r in rels).encode("utf-8"),
            capture_output=True,
            check=False,
        )
        lines = proc.stdout.decode("utf-8", "replace").splitlines()
        out: dict[str, int | None] = {}
        for rel, line in zip(rels, lines, strict=False):
            kind, _, size = line.partition(" ")
            out[rel] = int(size) if kind == "blob" and size.isdigit() else None
        return out

    def read_many(self, rels: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        """(path, bytes or None) for each path, one at a time, from a single git process."""
        proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=self.folder,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            for rel in rels:
                # Without --buffer, git answers each request before reading the next one.
                proc.stdin.write(self.spec(rel).encode("utf-8") + b"\n")
                proc.stdin.flush()
                header = proc.stdout.readline().split()
                if len(header) == 3 and header[2].isdigit():
                    data = proc.stdout.read(int(header[2]))
                    proc.stdout.read(1)  # the newline after the contents
                    yield rel, (data if header[1] == b"blob" else None)
                else:  # "<spec> missing" or "ambiguous"
                    yield rel, None
        finally:
            proc.stdin.close()
            proc.stdout.close()
            proc.wait()
