"""Issue 12, "Spend": every credit figure is what the gateway charged, against the emulator.

``build --force`` makes a new task under a key of its own (and a retry of that forced submit
is replayed, free); a replayed or journalled task is collected, never charged; the plan and
``--max-credits`` count journalled tasks as paid; the summary reports the gateway's figures;
a build the balance cannot cover is refused before it submits; a refused key is said once;
429s are said once.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.emulator.test_evolink_emulator import (
    env_for,
    failures,
    finish,
    many_assets,
    start,
    summary_of,
)

from assetgen.build.journal import Journal
from assetgen.lock.read import read_lock

emulator = pytest.importorskip("assetgen.emulator", reason="needs the emulator extra")
pytest.importorskip("uvicorn")


def one_asset(root: Path) -> Path:
    """One 2K asset (1.80 credits in the price table), as the issue's `hero-home`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "assetgen.yaml").write_text(
        "version: 1\nprovider: evolink\nassets:\n"
        "  hero-home:\n"
        '    prompt: "a city skyline at dawn"\n'
        '    size: "16:9"\n'
        "    quality: 2K\n"
        "    seed: 1234\n",
        encoding="utf-8",
    )
    return root


def net_charged(stats: dict[str, Any]) -> float:
    return float(stats["credits_charged"] - stats["credits_refunded"])


def cli(root: Path, emu: Any, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "assetgen", "-C", str(root), *args],
        capture_output=True,
        text=True,
        env={**env_for(emu), **(env or {})},
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def test_force_of_one_asset_makes_one_submit_and_reports_what_the_emulator_charged(
    tmp_path: Path,
) -> None:
    """The issue's figure: `build --force hero-home` makes exactly 1 submit (not a replay of the
    first task) and its summary reports exactly what the emulator charged for it, which here
    (a discount) is not the price table's 1.80; the summary says so in one line."""
    root = one_asset(tmp_path / "p")
    with emulator.run_emulator(latency=0.1, seed=21, charge_factor=0.5) as emu:
        code, _, err = finish(start(root, emu))
        assert code == 0, err
        before = emu.stats()
        first = read_lock(root / "assetgen.lock").entries["hero-home"].task_id
        proc = start(root, emu, "--force", "hero-home", json_events=False)
        out, err = proc.communicate(timeout=120)
        after = emu.stats()
    assert proc.returncode == 0, (out, err)
    assert after["submits"] - before["submits"] == 1, after
    assert after["idempotent_replays"] == before["idempotent_replays"] == 0, after
    charged = net_charged(after) - net_charged(before)
    assert charged == pytest.approx(0.9)
    assert "updated hero-home (generated, 0.90 cr)" in out, out
    assert "0.90 credits charged" in out, out
    assert "The gateway charged 0.90 credits for this build; the price table says 1.80." in out
    assert read_lock(root / "assetgen.lock").entries["hero-home"].task_id != first
    journal = Journal(root / ".assetgen" / "assetgen.journal.db")
    try:  # the forced job finished: its nonce is gone
        assert journal.db.execute("SELECT COUNT(*) FROM nonces").fetchone()[0] == 0
    finally:
        journal.close()


def test_a_replayed_task_is_reported_free(tmp_path: Path) -> None:
    """With the cache and the output gone, a build submits the same request under the same
    key: the gateway replays the first task, charging nothing, and the build says so: 0
    charged, 1 paid task collected (on its line too), never a spend."""
    root = one_asset(tmp_path / "p")
    with emulator.run_emulator(latency=0.1, seed=22) as emu:
        code, _, err = finish(start(root, emu))
        assert code == 0, err
        shutil.rmtree(root / ".assetgen")
        shutil.rmtree(root / "assets")
        before = emu.stats()
        code, events, err = finish(start(root, emu))
        after = emu.stats()
    assert code == 0, err
    assert after["idempotent_replays"] == 1 and after["submits"] == before["submits"], after
    assert net_charged(after) == net_charged(before)
    done = [e for e in events if e["event"] == "finished"]
    assert [(e["name"], e["credits"], e["collected"]) for e in done] == [("hero-home", 0, 1.8)]
    summary = summary_of(events)
    assert summary["credits"] == 0 and summary["credits_collected"] == pytest.approx(1.8)
    assert summary["tasks_collected"] == 1


def kill_after_submits(root: Path, emu: Any, n: int, *extra: str) -> None:
    proc = start(root, emu, *extra)
    deadline = time.monotonic() + 60
    while emu.stats()["submits"] < n:
        assert time.monotonic() < deadline and proc.poll() is None, "submits did not happen"
        time.sleep(0.02)
    time.sleep(0.3)  # let the last answer reach the journal
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def test_a_forced_submit_retried_after_kill_9_is_replayed_not_paid_again(tmp_path: Path) -> None:
    """`build --force` killed -9 after its submit: the next `build --force` reuses the
    journalled nonce, so the gateway replays that task (no second charge), reported free."""
    root = one_asset(tmp_path / "p")
    with emulator.run_emulator(latency=2.0, seed=23) as emu:
        code, _, err = finish(start(root, emu))
        assert code == 0, err
        kill_after_submits(root, emu, 2, "--force", "hero-home")
        before = emu.stats()
        code, events, err = finish(start(root, emu, "--force", "hero-home"))
        after = emu.stats()
    assert code == 0, err
    assert after["submits"] == before["submits"] == 2, after
    assert after["idempotent_replays"] == 1, after
    summary = summary_of(events)
    assert summary["credits"] == 0 and summary["tasks_collected"] == 1, summary


def test_journalled_tasks_count_as_paid_in_plan_and_max_credits(tmp_path: Path) -> None:
    """After a build killed -9 with every task submitted, `plan` says "8 paid tasks to
    collect" at 0.00 credits, `build --max-credits 1` runs (collecting costs nothing), and the
    summary charges 0 and lists what it collected as paid earlier."""
    root = many_assets(tmp_path / "p", 8)
    with emulator.run_emulator(latency=3.0, seed=24) as emu:
        kill_after_submits(root, emu, 8, "--jobs", "8")
        code, text = cli(root, emu, "plan")
        assert code == 0 and "Estimated cost: 0.00 credits, 8 paid tasks to collect." in text, text
        assert text.count("  paid\n") == 8, text
        code, text = cli(root, emu, "plan", "--json")
        doc = json.loads(text)
        assert doc["paid_tasks"] == 8 and doc["credits"] == 0, doc
        before = emu.stats()
        proc = start(root, emu, "--jobs", "8", "--max-credits", "1", json_events=False)
        out, err = proc.communicate(timeout=120)
        after = emu.stats()
    assert proc.returncode == 0, (out, err)
    assert after["submits"] == before["submits"] == 8, after
    assert "0.00 credits charged; 8 paid tasks collected (3.60 credits paid earlier)" in out, out
    assert len(read_lock(root / "assetgen.lock").entries) == 8


def test_refunded_failures_are_not_in_the_summary(tmp_path: Path) -> None:
    """A task refused for content policy is refunded: the summary's credits are the emulator's
    net charge (what the gateway kept), not a price per submit."""
    root = many_assets(tmp_path / "p", 2, extra=("forbidden-thing",))
    with emulator.run_emulator(latency=0.1, seed=25, fail_prompts=("forbidden",)) as emu:
        code, events, err = finish(start(root, emu, "--jobs", "3"))
        stats = emu.stats()
    assert code == 1, err
    assert stats["credits_refunded"] == pytest.approx(0.45)
    assert summary_of(events)["credits"] == pytest.approx(net_charged(stats)) == 0.9


def test_a_balance_that_cannot_cover_the_estimate_refuses_the_build(tmp_path: Path) -> None:
    """Above the threshold, a build checks the balance once and refuses (exit 2, nothing
    submitted) when it is short, naming both figures; `--no-balance-check` builds anyway
    (and meets the 402 mid-build)."""
    root = many_assets(tmp_path / "p", 8)  # 3.60 credits
    env = {"ASSETGEN_BALANCE_CHECK_ABOVE": "1"}
    with emulator.run_emulator(latency=0.1, seed=26, credits=2.0) as emu:
        code, text = cli(root, emu, "build", env=env)
        refused = emu.stats()
        assert code == 2, text
        assert "the balance is 2.00 credits, below this build's estimate of 3.60" in text, text
        assert "top up" in text and "--max-credits" in text and "Traceback" not in text
        assert refused["submit_requests"] == 0, refused
        code, text = cli(root, emu, "build", "--no-balance-check", env=env)
        assert code == 1 and "credits ran out" in text.lower(), text
        assert emu.stats()["submits"] == 4
    # below the threshold nothing is asked
    root = many_assets(tmp_path / "q", 8)
    with emulator.run_emulator(latency=0.1, seed=26, credits=2.0) as emu:
        code, text = cli(root, emu, "build", env={"ASSETGEN_BALANCE_CHECK_ABOVE": "10"})
        assert code == 1 and emu.stats()["submits"] == 4, text


def test_bad_key_for_credits_does_not_speak_of_a_build(tmp_path: Path) -> None:
    """`assetgen credits` with a refused key: exit 2, the key named, no "the build stopped"."""
    with emulator.run_emulator(latency=0.1) as emu:
        code, text = cli(tmp_path, emu, "credits", env={"EVOLINK_API_KEY": "sk-evo-wrong-42"})
    assert code == 2, text
    assert "EVOLINK_API_KEY was refused by the gateway" in text, text
    assert "build" not in text.replace("builds offline", ""), text


def test_a_refused_key_is_printed_once_for_many_assets(tmp_path: Path) -> None:
    """A 401 with 6 assets in flight: its message appears once, as the final error; the
    first failing asset's line points there, the others read "not started" or "stopped:
    the API key was refused"."""
    root = many_assets(tmp_path / "p", 6)
    env = {"EVOLINK_API_KEY": "sk-evo-not-the-right-key-4242"}
    with emulator.run_emulator(latency=0.2, seed=28) as emu:
        proc = start(root, emu, "--jobs", "6", "--no-balance-check", env=env, json_events=False)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    text = out + err
    assert text.count("was refused by the gateway") == 1, text  # once: the final error
    assert text.count("HTTP 401") == 1, text
    assert out.count("failed icon-") == 1, out
    assert "stopping the build" in text and "not-the-right-key" not in text
    assert "Build failed" in out or "Interrupted" not in out


def test_429s_are_said_once_with_the_window(tmp_path: Path) -> None:
    """Against a hidden cap of 2 tasks, many 429s slow the build: one warning says so with
    the current window, not one per 429; the build still finishes."""
    root = many_assets(tmp_path / "p", 12)
    with emulator.run_emulator(latency=0.3, seed=29, max_in_flight=2, retry_after=0) as emu:
        code, events, err = finish(start(root, emu, "--jobs", "12"))
        stats = emu.stats()
    assert code == 0, (failures(events), err)
    assert stats["rate_limited"] >= 2, stats
    notes = [e["message"] for e in events if e["event"] == "warning" and "429" in e["message"]]
    assert len(notes) == 1, notes
    assert "rate limited:" in notes[0] and "in flight (was " in notes[0], notes
