"""The explore estimate and --max-credits: tasks an earlier explore paid for are free to
collect, and a token-billed price is held to its upper bound, as a build holds it."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from assetgen.build.selection import BuildOptions
from assetgen.errors import CreditLimitError
from assetgen.explore.candidates import candidates
from assetgen.explore.run import Planned, check_budget
from assetgen.manifest.resolve import parse_manifest
from tests.emulator.test_evolink_emulator import finish
from tests.explore.test_explore_emulator import assetgen

emulator = pytest.importorskip("assetgen.emulator", reason="needs the emulator extra")
pytest.importorskip("uvicorn")


def test_paid_tasks_after_kill_9_are_free_under_max_credits(quickstart: Path) -> None:
    """Killed once its 3 tasks are submitted, `explore -n 3 --max-credits 1` is not refused
    (collecting costs nothing): it collects the three, submitting nothing."""
    with emulator.run_emulator(latency=3.0, seed=9) as emu:
        proc = assetgen(quickstart, emu, "explore", "hero-home", "-n", "3", "--json")
        deadline = time.monotonic() + 60
        while emu.stats()["submits"] < 3:
            assert time.monotonic() < deadline and proc.poll() is None, "submits did not happen"
            time.sleep(0.02)
        time.sleep(0.3)  # let the last answer reach the journal
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        args = ("explore", "hero-home", "-n", "3", "--max-credits", "1", "--json")
        code, events, err = finish(assetgen(quickstart, emu, *args))
        assert code == 0, err
        plan = events[0]
        assert plan["event"] == "plan"
        assert (plan["to_generate"], plan["paid"], plan["credits"]) == (3, 3, 0)
        assert plan["credits_max"] == 0
        stats = emu.stats()
        assert stats["submits"] == 3 and stats["duplicate_submits"] == 0, stats
        sources = [e["source"] for e in events if e["event"] == "candidate"]
        assert sources == ["generated"] * 3
        proc = assetgen(quickstart, emu, "explore", "hero-home", "-n", "4", "--max-credits", "1")
        text, err = proc.communicate(timeout=60)
        assert proc.returncode == 2  # the fourth is new: 1.80 credits
        assert "Estimated cost: 1.80 credits" in text and "above --max-credits 1" in err


def test_max_credits_holds_a_token_billed_estimate_to_its_upper_bound() -> None:
    """A token-billed model's candidates are refused when their upper bound is above the
    limit, even if the low estimate is under it."""
    text = (
        "version: 1\nprovider: openai\n"
        "models:\n  tok: {like: gpt-image-1-mini, seed: {min: 1, max: 100}}\n"
        "assets:\n  a: {model: tok, prompt: a long prompt about a fox in the snow}\n"
    )
    (spec,) = parse_manifest(text.encode(), "m").specs
    planned = [Planned(c, cached=False) for c in candidates(spec, 2)]
    low = sum(p.credits for p in planned)
    high = sum(p.most_credits for p in planned)
    assert high > low > 0
    with pytest.raises(CreditLimitError, match=rf"estimated at {low:.2f} to {high:.2f} credits"):
        check_budget(planned, BuildOptions(max_credits=(low + high) / 2))
    check_budget(planned, BuildOptions(max_credits=high))
    paid = [Planned(p.candidate, cached=False, paid=True) for p in planned]
    check_budget(paid, BuildOptions(max_credits=0))
