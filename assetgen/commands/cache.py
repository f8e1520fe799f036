"""The commands on the local cache: ``cache info``, ``cache gc``, and the account's credits."""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING

from ..cache.open import local_cache
from ..errors import UsageError
from ..plan import render
from ..project import Project

if TYPE_CHECKING:
    from ..providers.evolink.provider import EvoLinkProvider


def cache_info(project: Project, *, out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    cache = local_cache(project)  # the local directory: the remote is shared, not ours
    info = cache.info()
    out.write(
        f"cache {project.display(cache.root)}: {info['entries']} entries, {info['blobs']} images, "
        f"{info['bytes'] / 1e6:.1f} MB\n"
    )
    return 0


def cache_gc(
    project: Project,
    *,
    older_than: str | None = None,
    include_locked: bool = False,
    out: IO[str] | None = None,
) -> int:
    """Drop what the current lock does not reference; with --older-than, only what is also
    older than that; with --include-locked as well, old entries the lock names too."""
    if include_locked and not older_than:
        raise UsageError(
            "--include-locked needs --older-than AGE\n"
            "  hint: `assetgen cache gc --older-than 90d --include-locked`"
        )
    out = out or sys.stdout
    cache = local_cache(project)  # never the remote: other checkouts' locks use it too
    entries = project.load_lock().entries.values()
    age = parse_age(older_than) if older_than else None
    with project.exclusive("cache gc"):  # not while a build or pull stores what it will record
        edits = {e.sha256 for e in entries if e.edited}  # adopted bytes: kept by digest
        edits.update(d.sha256 for e in entries for d in e.derived)  # locked derived files
        result = cache.gc(
            {e.spec_hash for e in entries}, age, keep_blobs=edits, include_locked=include_locked
        )
        freed = result["freed_bytes"]
        from ..views.thumbs import ThumbnailCache

        freed += ThumbnailCache(project.state_dir / "thumbs").trim({e.sha256 for e in entries})
    out.write(f"dropped {result['dropped']} entries, freed {freed / 1e6:.1f} MB\n")
    return 0


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``90m``, ``45s`` -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    try:
        return float(text[:-1]) * units[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise UsageError(
            f"--older-than {text}: use a number and a unit, like 30d, 12h or 90m"
        ) from None


def credits(
    *, as_json: bool = False, out: IO[str] | None = None, provider: EvoLinkProvider | None = None
) -> int:
    """Print the EvoLink balance (``GET /v1/credits``): the API key's own and the account's."""
    import json

    import anyio

    from ..providers.evolink.provider import from_env

    out = out or sys.stdout
    client = provider or from_env()

    async def fetch() -> dict[str, object]:
        try:
            return await client.credits()
        finally:
            await client.aclose()

    data = anyio.run(fetch)
    if as_json:
        out.write(json.dumps(data, sort_keys=True) + "\n")
        return 0
    out.write(f"EvoLink credits at {client.config.base_url}\n")
    for label, part in (("this key", data.get("token")), ("account", data.get("user"))):
        out.write(f"  {label + ':':<10} {_balance(part)}\n")
    return 0


def _balance(part: object) -> str:
    if not isinstance(part, dict):
        return "not reported"
    used = part.get("used_credits")
    used_text = f", {render.credits_text(used)} used" if isinstance(used, (int, float)) else ""
    if part.get("unlimited_credits") is True:
        return "unlimited" + used_text
    left = part.get("remaining_credits")
    left_text = render.credits_text(left) if isinstance(left, (int, float)) else "?"
    return f"{left_text} remaining{used_text}"
