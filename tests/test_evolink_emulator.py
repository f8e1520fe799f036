"""`assetgen build` with the evolink provider against the local emulator over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assetgen.lock import read_lock

emulator = pytest.importorskip("assetgen.emulator", reason="needs the emulator extra")
pytest.importorskip("uvicorn")

FAST = {
    "ASSETGEN_EVOLINK_POLL_INTERVAL": "0.05",
    "ASSETGEN_EVOLINK_MAX_POLL_INTERVAL": "0.2",
    "ASSETGEN_EVOLINK_FIRST_POLL_MAX": "0.05",
    "ASSETGEN_EVOLINK_TASK_DEADLINE": "60",
    "ASSETGEN_EVOLINK_BACKOFF_BASE": "0.05",
}


def env_for(emu: Any) -> dict[str, str]:
    return {
        **os.environ,
        **FAST,
        "EVOLINK_API_KEY": emu.key,
        "EVOLINK_BASE_URL": emu.base_url,
        "NO_COLOR": "1",
    }


def start(root: Path, emu: Any, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assetgen", "-C", str(root), "build", "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(emu),
    )


def finish(
    proc: subprocess.Popen[str], timeout: float = 120
) -> tuple[int, list[dict[str, Any]], str]:
    out, err = proc.communicate(timeout=timeout)
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return proc.returncode, events, err


def many_assets(root: Path, n: int) -> Path:
    """A manifest of ``n`` small 1K assets."""
    root.mkdir(parents=True, exist_ok=True)
    topics = ", ".join(f"t{i:02d}" for i in range(n))
    (root / "assetgen.yaml").write_text(
        "version: 1\nprovider: evolink\nassets:\n"
        "  icon-${topic}:\n"
        f"    matrix: {{topic: [{topics}]}}\n"
        '    prompt: "a flat icon for ${topic}"\n',
        encoding="utf-8",
    )
    return root


@pytest.fixture
def emu() -> Iterator[Any]:
    with emulator.run_emulator(latency=0.2, seed=1) as e:
        yield e


def test_build_against_the_emulator(quickstart: Path, emu: Any) -> None:
    """A real build pays once per asset, locks every output, and a second build sends nothing."""
    code, events, err = finish(start(quickstart, emu))
    assert code == 0, err
    lock = read_lock(quickstart / "assetgen.lock")
    assert len(lock.entries) == 4
    assert all(e.task_id and e.task_id.startswith("task-unified-") for e in lock.entries.values())
    stats = emu.stats()
    assert stats["submits"] == 4 and stats["duplicate_submits"] == 0
    assert events[-1]["event"] == "summary" and events[-1]["credits"] == pytest.approx(3.15)
    code, _, err = finish(start(quickstart, emu))
    assert code == 0, err
    assert emu.stats()["submit_requests"] == stats["submit_requests"]


def test_kill_9_after_submits_resumes_without_paying_again(tmp_path: Path) -> None:
    """A build killed -9 once every task is submitted resumes them next time: zero duplicate submits."""
    root = many_assets(tmp_path / "p", 8)
    with emulator.run_emulator(latency=3.0, seed=2) as emu:
        proc = start(root, emu, "--jobs", "8")
        deadline = time.monotonic() + 60
        while emu.stats()["submits"] < 8:
            assert time.monotonic() < deadline and proc.poll() is None, "submits did not happen"
            time.sleep(0.02)
        time.sleep(0.3)  # let the last answer reach the journal
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert not (root / "assetgen.lock").exists()

        code, _, err = finish(start(root, emu, "--jobs", "8"))
        assert code == 0, err
        stats = emu.stats()
        assert stats["submits"] == 8 and stats["duplicate_submits"] == 0, stats
        assert len(read_lock(root / "assetgen.lock").entries) == 8


def test_many_jobs_against_a_hidden_concurrency_cap(tmp_path: Path) -> None:
    """--jobs 32 against a gateway that allows 4 tasks at once converges: all built, few 429s."""
    n = 40
    root = many_assets(tmp_path / "p", n)
    with emulator.run_emulator(latency=0.3, seed=3, max_in_flight=4, retry_after=1) as emu:
        code, _, err = finish(start(root, emu, "--jobs", "32"), timeout=180)
        assert code == 0, err
        stats = emu.stats()
    assert len(read_lock(root / "assetgen.lock").entries) == n
    assert stats["submits"] == n and stats["duplicate_submits"] == 0
    assert stats["max_in_flight_seen"] <= 4
    assert stats["rate_limited"] <= n // 2, stats  # the window adapts instead of hammering


def test_truncated_downloads_and_failed_tasks_are_retried(tmp_path: Path) -> None:
    """Cut downloads are fetched again and refunded task failures resubmitted: the build still succeeds."""
    n = 12
    root = many_assets(tmp_path / "p", n)
    with emulator.run_emulator(latency=0.1, seed=4, truncate_rate=0.5, fail_rate=0.2) as emu:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assetgen", "-C", str(root), "build", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **env_for(emu),
                "ASSETGEN_EVOLINK_TASK_RETRIES": "8",
                "ASSETGEN_EVOLINK_HTTP_RETRIES": "12",  # a 50% cut rate has long streaks
            },
        )
        code, events, _ = finish(proc)
        stats = emu.stats()
    assert code == 0, [e for e in events if e["event"] == "warning" or e.get("ok") is False]
    assert len(read_lock(root / "assetgen.lock").entries) == n
    assert stats["truncated_downloads"] > 0 and stats["tasks_completed"] == n
    assert stats["duplicate_submits"] == stats["tasks_failed"]  # only refunded failures were redone
