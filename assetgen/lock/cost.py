"""What deleting a broken lock would cost, told before anyone does it.

"Delete the lock to rebuild everything" reads like a free reset, but with no lock
every asset that the cache cannot serve is generated, and paid for, again. So the
hint of a lock that cannot be read says to restore it from git first, and how many
credits the other way out would take: the manifest's estimate for the assets the
local cache lacks. Worked out only on that error path, never on a plan.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import AssetgenError, LockfileError
from ..spec import Manifest

RESTORE_HINT = (
    "  hint: restore assetgen.lock from git (`git checkout -- assetgen.lock`): deleting it "
    "pays again for every asset the cache lacks"
)


def priced(
    exc: LockfileError, manifest: Callable[[], Manifest], cached: Callable[[str], bool]
) -> LockfileError:
    """``exc`` with the cost of deleting the lock appended to its restore hint, when the
    manifest can be read; else ``exc`` itself."""
    text = str(exc)
    if not text.endswith(RESTORE_HINT):
        return exc
    try:
        specs = manifest().specs
    except (AssetgenError, OSError):
        return exc
    unpaid = [s for s in specs if not cached(s.spec_hash)]
    credits = sum(s.credits for s in unpaid)
    return LockfileError(
        f"{text} (here {len(unpaid)} of {len(specs)} assets, about {credits:.2f} credits)"
    )
