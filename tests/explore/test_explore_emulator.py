"""`assetgen explore` against the offline EvoLink emulator: n paid generations per asset,
none paid twice (not even after kill -9), and `pick` + `build` pays nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.test_evolink_emulator import env_for, finish

emulator = pytest.importorskip("assetgen.emulator", reason="needs the emulator extra")
pytest.importorskip("uvicorn")


def assetgen(root: Path, emu: Any, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assetgen", "-C", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(emu),
    )


def candidates(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == "candidate"]


def test_explore_pays_n_per_asset_and_pick_build_pays_nothing(quickstart: Path) -> None:
    """Explore pays exactly n generations per asset; again pays 0; pick + build pays 0."""
    with emulator.run_emulator(latency=0.1, seed=7) as emu:
        code, _, err = finish(assetgen(quickstart, emu, "build", "--json"))
        assert code == 0, err
        built = emu.stats()
        assert built["submits"] == 4
        code, events, err = finish(
            assetgen(quickstart, emu, "explore", "hero-home", "icon-*", "-n", "3", "--json")
        )
        assert code == 0, err
        stats = emu.stats()
        assert stats["submits"] - built["submits"] == 4 * 3  # n per asset, four assets
        assert stats["duplicate_submits"] == 0
        paid = stats["credits_charged"] - built["credits_charged"]
        assert paid == pytest.approx(3 * 1.8 + 9 * 0.45)
        cands = candidates(events)
        assert sum(e["credits"] for e in cands) == pytest.approx(paid)
        assert events[-1]["event"] == "summary" and events[-1]["credits"] == pytest.approx(paid)
        assert all(e["source"] == "generated" and Path(e["path"]).is_file() for e in cands)

        code, events, err = finish(  # the same again: all cached, nothing sent
            assetgen(quickstart, emu, "explore", "hero-home", "icon-*", "-n", "3", "--json")
        )
        assert code == 0, err
        assert {e["source"] for e in candidates(events)} == {"cached"}
        assert emu.stats()["submit_requests"] == stats["submit_requests"]

        for name, k in (("hero-home", 2), ("icon-settings", 3)):
            code, _, err = finish(assetgen(quickstart, emu, "pick", name, str(k)))
            assert code == 0, err
        proc = assetgen(quickstart, emu, "plan")
        text, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Estimated cost: 0.00 credits, 2 from cache." in text, text
        code, events, err = finish(assetgen(quickstart, emu, "build", "--json"))
        assert code == 0, err
        assert emu.stats()["submit_requests"] == stats["submit_requests"]
        assert events[-1]["credits"] == 0
        sources = {e["name"]: e["source"] for e in events if e["event"] == "finished"}
        assert sources == {"hero-home": "cache", "icon-settings": "cache"}


def test_kill_9_during_explore_resumes_without_paying_again(quickstart: Path) -> None:
    """An explore killed -9 once its tasks are submitted collects them next time: no submit."""
    with emulator.run_emulator(latency=3.0, seed=8) as emu:
        proc = assetgen(quickstart, emu, "explore", "hero-home", "-n", "5", "--json")
        deadline = time.monotonic() + 60
        while emu.stats()["submits"] < 5:
            assert time.monotonic() < deadline and proc.poll() is None, "submits did not happen"
            time.sleep(0.02)
        time.sleep(0.3)  # let the last answer reach the journal
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert not (quickstart / "assetgen.lock").exists()
        assert not (quickstart / "assets").exists()

        code, events, err = finish(
            assetgen(quickstart, emu, "explore", "hero-home", "-n", "5", "--json")
        )
        assert code == 0, err
        stats = emu.stats()
        assert stats["submits"] == 5 and stats["duplicate_submits"] == 0, stats
        cands = candidates(events)
        assert [e["source"] for e in cands] == ["generated"] * 5  # collected, not paid again
        assert sum(e["credits"] for e in cands) == 0
        assert all(Path(e["path"]).is_file() for e in cands)
        assert not (quickstart / "assetgen.lock").exists()  # explore never writes the lock
    state = json.loads((quickstart / ".assetgen" / "explore" / "state.json").read_text())
    assert state["assets"] == {"hero-home": {"n": 5, "provider": "evolink"}}
