"""An `assetgen explore` killed -9 mid-way (draft provider): the next one makes only the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import tree

ARGS = ("explore", "hero-home", "-n", "8", "--provider", "draft", "--jobs", "2", "--json")


def explore(root: Path, delay: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assetgen", "-C", str(root), *ARGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ASSETGEN_DRAFT_DELAY": str(delay), "NO_COLOR": "1"},
    )


def cached(root: Path) -> int:
    specs = root / ".assetgen" / "cache" / "specs"
    return sum(1 for _ in specs.rglob("*.json")) if specs.is_dir() else 0


def test_kill_9_during_explore_keeps_what_finished(quickstart: Path) -> None:
    """Candidates cached before the kill are not made again; outputs and the lock stay absent."""
    before = tree(quickstart)
    proc = explore(quickstart, 0.4)
    deadline = time.monotonic() + 60
    while cached(quickstart) < 3:
        assert time.monotonic() < deadline and proc.poll() is None, "explore did not progress"
        time.sleep(0.02)
    proc.kill()
    proc.wait(timeout=30)
    done = cached(quickstart)
    assert 3 <= done < 8
    rest = explore(quickstart, 0.0)
    out, err = rest.communicate(timeout=120)
    assert rest.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    sources = [e["source"] for e in events if e["event"] == "candidate"]
    assert sources.count("cached") == done and sources.count("generated") == 8 - done
    assert cached(quickstart) == 8
    assert tree(quickstart) == before  # no output, no lock: exploring writes only .assetgen/
