"""The errors assetgen raises on purpose, and the exit codes they map to.

::

    AssetgenError                 exit 2 unless said otherwise
    ├── UsageError                bad flags, missing key, nothing to select
    ├── ManifestError             one or more located Diagnostics
    ├── LockfileError             a corrupt, invalid or too-new assetgen.lock
    ├── BuildLockedError          another build holds the project lock
    ├── CreditLimitError          --max-credits is below the estimate
    ├── IntegrityError            bytes that are not what they claim (exit 1)
    ├── OutputError               an output path that cannot be written (exit 1)
    ├── RemoteCacheError          `cache push|pull` could not reach the remote (exit 1)
    ├── DiskFullError             a write found no space left (exit 1; also an OSError)
    ├── ProviderAuthError         key invalid or not allowed the model: the build stops
    └── ProviderError             per asset; the build goes on (exit 1)
        ├── TransientProviderError
        ├── PermanentProviderError
        └── QuotaExhaustedError   credits ran out: nothing more is submitted (exit 1)

Anything else that escapes is a bug: the CLI shows its traceback and exits 3.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One located problem in a file: ``file:line:col: message`` plus an optional hint."""

    file: str
    line: int
    col: int
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        text = f"{where}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class AssetgenError(Exception):
    """Base of every expected error; ``exit_code`` is what the CLI returns for it."""

    exit_code = 2


class UsageError(AssetgenError):
    """The command line or the environment is wrong (bad flag value, missing API key)."""


class ManifestError(AssetgenError):
    """The manifest is invalid; carries every problem found, not only the first."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.file, d.line, d.col, d.message))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class LockfileError(AssetgenError):
    """assetgen.lock cannot be used as it is: never silently discarded."""


class BuildLockedError(AssetgenError):
    """Another build of the same project is running."""


class CreditLimitError(AssetgenError):
    """The plan's estimated credits exceed ``--max-credits``."""


class IntegrityError(AssetgenError):
    """Bytes whose digest, format or pixel size is not what was expected."""

    exit_code = 1


class OutputError(AssetgenError):
    """An output cannot be written where the manifest puts it (fails that asset)."""

    exit_code = 1


class ProviderAuthError(AssetgenError):
    """The gateway refused the API key (401) or its access to the model (403).

    No other asset can succeed with the same key, so the build stops at once,
    writes the lock with what finished, and exits 2 like any other usage error.
    """


class ProviderError(AssetgenError):
    """A provider could not produce one asset's image."""

    exit_code = 1

    def __init__(self, message: str, *, asset: str | None = None, provider: str | None = None):
        super().__init__(message)
        self.asset = asset
        self.provider = provider


class TransientProviderError(ProviderError):
    """Worth retrying later: timeouts, rate limits, 5xx."""


class PermanentProviderError(ProviderError):
    """Retrying the same request will not help: refused content, bad parameters."""


class QuotaExhaustedError(ProviderError):
    """The account or key has no credits left (HTTP 402).

    The builder submits nothing more but lets tasks already paid for finish.
    ``submitted`` is False when the job never reached the gateway (the provider
    already knew credits had run out), so the asset counts as not started.
    """

    def __init__(
        self,
        message: str,
        *,
        asset: str | None = None,
        provider: str | None = None,
        submitted: bool = True,
    ):
        super().__init__(message, asset=asset, provider=provider)
        self.submitted = submitted


class RemoteCacheError(AssetgenError):
    """``cache push`` or ``cache pull`` could not reach the remote (a build only warns)."""

    exit_code = 1


class DiskFullError(AssetgenError, OSError):
    """A write that found the disk (or the quota) full, translated where it happened so
    that the message names the file. Still an OSError (ENOSPC), so that a best-effort
    write (a memo) that suppresses OSError goes on suppressing it. Writes are by temp
    file + rename and finished assets are journalled first, so the next command, once
    there is space, resumes where this one stopped."""

    exit_code = 1

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(errno.ENOSPC, "No space left on device", os.fspath(path))

    def __str__(self) -> str:
        path = str(self.filename)
        try:
            rel = os.path.relpath(path)
        except ValueError:
            rel = path
        shown = path if rel.startswith("..") else rel
        return (
            f"{shown}: cannot write: the disk is full (No space left on device)\n"
            "  hint: free some space and run the command again; what finished is kept"
        )
