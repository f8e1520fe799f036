"""What failed in the last build, kept so views (the gallery) can say so later.

The lock records only what succeeded, so a failure would otherwise be forgotten the
moment the build's output scrolls away. ``.assetgen/<stem>.failures.json``:

    {"version": 1, "failed": {"<asset>": {"spec_hash": "sha256:...", "error": "..."}}}

A build updates it rather than replacing it: assets it did not attempt keep their
record (``build hero`` must not make another asset's failure vanish), attempted ones
are replaced by this build's outcome, and names that left the manifest are dropped.
A failure is only meaningful for the spec it was recorded against; readers compare
``spec_hash`` with the current one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..fsutil import atomic_write

FORMAT_VERSION = 1


def read_failures(path: Path) -> dict[str, dict[str, str]]:
    """Asset name -> {"spec_hash", "error"}; an absent or unreadable file is no failures."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    failed = data.get("failed") if isinstance(data, dict) else None
    if not isinstance(failed, dict):
        return {}
    return {
        str(name): {"spec_hash": str(v.get("spec_hash", "")), "error": str(v.get("error", ""))}
        for name, v in failed.items()
        if isinstance(v, dict)
    }


def record_failures(
    path: Path,
    attempted: Iterable[str],
    failed: Mapping[str, tuple[str, str]],
    wanted: Iterable[str],
) -> None:
    """Fold one build's outcome into the file: ``failed`` is name -> (spec hash, error)."""
    current = read_failures(path)
    for name in attempted:
        current.pop(name, None)
    for name, (spec_hash, error) in failed.items():
        current[name] = {"spec_hash": spec_hash, "error": error}
    keep = set(wanted)
    current = {n: v for n, v in current.items() if n in keep}
    if not current and not path.exists():
        return
    doc: dict[str, Any] = {"version": FORMAT_VERSION, "failed": dict(sorted(current.items()))}
    atomic_write(path, (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode(), durable=False)
