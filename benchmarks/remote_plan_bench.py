"""A fresh clone's plan against a distant remote cache: one lookup at a time vs the lookahead.

Figures, no asserts. Clone A builds N draft assets and pushes them to a ``file://``
remote; clone B (the manifest and the lock, nothing else) plans against it, the
remote's HEADs delayed by ``--rtt`` ms each to stand for a cache across a network.
The plan is made twice: without ``Project.plan``'s lookahead (every asset asked
about in turn, as before it existed) and with it (``TieredCache.has_many``, 16 at
a time). Both must find every asset cached.

    python benchmarks/remote_plan_bench.py [--assets 300] [--rtt 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from assetgen.cache.remote.connect import open_remote
from assetgen.cache.store import LocalCache
from assetgen.cache.tiered import TieredCache
from assetgen.project import Project


class Distant:
    """A remote whose HEADs take ``rtt`` seconds, as over a network."""

    def __init__(self, inner: Any, rtt: float) -> None:
        self.inner, self.url, self.rtt = inner, inner.url, rtt

    def exists(self, kind: Any, key: str) -> bool:
        time.sleep(self.rtt)
        return bool(self.inner.exists(kind, key))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=300)
    parser.add_argument("--rtt", type=float, default=20.0, help="ms per remote lookup")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="assetgen-plan-bench-") as tmp:
        base = Path(tmp)
        shared = (base / "shared").as_uri()
        a, b = base / "a", base / "b"
        a.mkdir()
        topics = ", ".join(f"t{i:04d}" for i in range(args.assets))
        (a / "assetgen.yaml").write_text(
            "version: 1\nprovider: draft\ndefaults: {quality: 1K}\nassets:\n"
            f"  icon-${{topic}}:\n    matrix: {{topic: [{topics}]}}\n"
            '    prompt: "a flat icon for ${topic}"\n',
            encoding="utf-8",
        )
        env = {**os.environ, "ASSETGEN_REMOTE_CACHE": shared}
        subprocess.run(
            [sys.executable, "-m", "assetgen", "-C", str(a), "build"],
            env=env,
            check=True,
            capture_output=True,
        )
        b.mkdir()
        for name in ("assetgen.yaml", "assetgen.lock"):
            shutil.copy2(a / name, b / name)
        project = Project(b, b / "assetgen.yaml")
        manifest, lock = project.load_manifest(), project.load_lock()
        print(f"{len(lock.entries)} assets locked, pushed; remote lookups take {args.rtt:g} ms")
        for lookahead in (False, True):
            remote = Distant(open_remote(shared), args.rtt / 1000)
            cache = TieredCache(
                LocalCache(project.state_dir / "cache"), remote, on_warning=lambda message: None
            )
            started = time.perf_counter()
            plan = project.plan(
                manifest, lock, cache.has, lookahead=cache.lookahead() if lookahead else None
            )
            seconds = time.perf_counter() - started
            cache.close()
            cached = sum(action.cached for action in plan.actions)
            label = "with the lookahead (has_many)" if lookahead else "one lookup at a time"
            print(f"{label:>32}: {seconds:6.2f}s, {cached} of {len(plan.actions)} cached")
    return 0


if __name__ == "__main__":
    sys.exit(main())
