"""`assetgen build` with the evolink provider against the local emulator over real HTTP."""

from __future__ import annotations

import hashlib
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

from assetgen.catalog import MODELS
from assetgen.lock.read import read_lock

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


def start(
    root: Path, emu: Any, *extra: str, env: dict[str, str] | None = None, json_events: bool = True
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assetgen", "-C", str(root), "build"]
        + (["--json"] if json_events else [])
        + list(extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env_for(emu), **(env or {})},
    )


def finish(
    proc: subprocess.Popen[str], timeout: float = 120
) -> tuple[int, list[dict[str, Any]], str]:
    out, err = proc.communicate(timeout=timeout)
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return proc.returncode, events, err


def many_assets(root: Path, n: int, extra: tuple[str, ...] = ()) -> Path:
    """A manifest of ``n`` small 1K assets (plus one per ``extra`` topic)."""
    root.mkdir(parents=True, exist_ok=True)
    topics = ", ".join([f"t{i:02d}" for i in range(n)] + list(extra))
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


def test_renaming_100_assets_with_derived_seeds_submits_nothing(tmp_path: Path) -> None:
    """Renaming 100 assets whose seeds came from their names plans 100 free moves and pays 0."""
    root = many_assets(tmp_path / "p", 100)
    with emulator.run_emulator(latency=0.05, seed=4) as emu:
        code, _, err = finish(start(root, emu, "--jobs", "32"), timeout=180)
        assert code == 0, err
        paid = emu.stats()["submits"]
        asked = emu.stats()["submit_requests"]
        assert paid == 100
        manifest = root / "assetgen.yaml"
        manifest.write_text(
            manifest.read_text(encoding="utf-8").replace("icon-${topic}", "glyph-${topic}"),
            encoding="utf-8",
        )
        planned = subprocess.run(
            [sys.executable, "-m", "assetgen", "-C", str(root), "plan", "--json"],
            capture_output=True,
            text=True,
            env=env_for(emu),
        )
        doc = json.loads(planned.stdout)
        assert doc["summary"]["move"] == 100 and doc["credits"] == 0, doc["summary"]
        assert {a["reason"] for a in doc["actions"]} == {
            f"renamed from {a['name'].replace('glyph-', 'icon-')}; seed kept"
            for a in doc["actions"]
        } and len(doc["actions"]) == 100
        code, events, err = finish(start(root, emu, "--jobs", "32"))
        assert code == 0, err
        assert emu.stats()["submit_requests"] == asked  # not one submit, not even a replay
        assert emu.stats()["submits"] == paid
        assert events[-1]["credits"] == 0
    lock = read_lock(root / "assetgen.lock")
    assert sorted(lock.entries) == sorted(f"glyph-t{i:02d}" for i in range(100))
    assert all((root / e.path).is_file() for e in lock.entries.values())
    assert not list((root / "assets").glob("icon-*"))


def test_an_interrupted_poll_is_paid_and_still_running_not_not_started(tmp_path: Path) -> None:
    """^C while paid tasks run: the summary says each is paid and still running, once, and
    none is "not started"; the next build collects them without a submit."""
    root = many_assets(tmp_path / "p", 4)
    with emulator.run_emulator(latency=3.0, seed=5) as emu:
        proc = start(root, emu, "--jobs", "4")
        deadline = time.monotonic() + 60
        while emu.stats()["submits"] < 4:
            assert time.monotonic() < deadline and proc.poll() is None, "submits did not happen"
            time.sleep(0.02)
        time.sleep(0.3)  # let the last answer reach the journal
        proc.send_signal(signal.SIGINT)
        code, events, err = finish(proc)
        assert code == 130, err
        summary = events[-1]
        assert summary["event"] == "summary" and summary["interrupted"] is True
        assert summary["still_running"] == 4 and summary["skipped"] == 0, summary
        interrupted = [e for e in events if e["event"] == "finished"]
        assert {e["source"] for e in interrupted} == {"running"}
        code, _, err = finish(start(root, emu))
        assert code == 0, err
        assert emu.stats()["submits"] == 4


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


def summary_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert events and events[-1]["event"] == "summary", events[-3:]
    return events[-1]


def failures(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == "warning" or e.get("ok") is False]


def assert_outputs_match_lock(root: Path, n: int) -> None:
    """Every locked output exists, and its bytes hash to the lock's sha256."""
    lock = read_lock(root / "assetgen.lock")
    assert len(lock.entries) == n
    for entry in lock.entries.values():
        data = (root / entry.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256 and len(data) == entry.bytes


def test_server_errors_on_api_calls_are_retried(tmp_path: Path) -> None:
    """Injected 500/502/503s on submits and polls are retried; a submit retry reuses its key, so nothing is paid twice."""
    n = 6
    root = many_assets(tmp_path / "p", n)
    # --jobs 1 and zero latency make the call sequence, hence the seeded faults, repeatable:
    # seed 23 at 30% puts 5xx on two submits and two polls, never twice on one submit.
    with emulator.run_emulator(latency=0.0, seed=23, error_rate=0.3) as emu:
        code, events, err = finish(start(root, emu, "--jobs", "1"))
        stats = emu.stats()
    assert code == 0, (failures(events), err)
    assert_outputs_match_lock(root, n)
    assert stats["server_errors"] >= 2 and stats["submits"] == n, stats
    assert stats["duplicate_submits"] == 0 and stats["idempotent_replays"] == 0
    # Each 5xx'd submit was sent once more with the same Idempotency-Key and flagged.
    resent = stats["submit_requests"] - stats["submits"]
    assert resent >= 1 and summary_of(events)["possible_double_charges"] == resent


def test_failed_tasks_with_retryable_codes_are_resubmitted(tmp_path: Path) -> None:
    """Tasks that end failed with a retryable code are refunded and submitted again; the build succeeds."""
    n = 10
    root = many_assets(tmp_path / "p", n)
    config = emulator.EmulatorConfig(
        latency=0.1,
        seed=5,
        fail_rate=0.3,
        fail_codes=("service_error", "generation_timeout", "resource_exhausted"),
    )
    with emulator.run_emulator(config) as emu:
        env = {"ASSETGEN_EVOLINK_TASK_RETRIES": "10"}
        code, events, err = finish(start(root, emu, "--jobs", "4", env=env))
        stats = emu.stats()
    assert code == 0, (failures(events), err)
    assert_outputs_match_lock(root, n)
    assert stats["tasks_failed"] > 0 and stats["tasks_completed"] == n, stats
    assert stats["submits"] == n + stats["tasks_failed"]
    assert stats["duplicate_submits"] == stats["tasks_failed"]  # only the failed were redone
    assert stats["credits_refunded"] == pytest.approx(0.45 * stats["tasks_failed"])
    summary = summary_of(events)
    assert summary["credits"] == pytest.approx(0.45 * n)
    assert summary["possible_double_charges"] == 0  # a failed task is refunded: no risk


def test_truncated_downloads_are_fetched_again(tmp_path: Path) -> None:
    """Downloads cut short of their Content-Length are fetched again, without a new task."""
    n = 10
    root = many_assets(tmp_path / "p", n)
    with emulator.run_emulator(latency=0.1, seed=6, truncate_rate=0.3) as emu:
        env = {"ASSETGEN_EVOLINK_HTTP_RETRIES": "12"}
        code, events, err = finish(start(root, emu, "--jobs", "4", env=env))
        stats = emu.stats()
    assert code == 0, (failures(events), err)
    assert_outputs_match_lock(root, n)  # no cut image was stored
    assert stats["truncated_downloads"] > 0, stats
    assert stats["downloads"] == n + stats["truncated_downloads"]  # each cut one fetched again
    assert stats["submits"] == n and stats["duplicate_submits"] == 0


def test_expired_result_link_is_resubmitted_and_counted(tmp_path: Path) -> None:
    """A result link already expired at the first download is re-polled, then resubmitted: built, one possible double charge."""
    root = many_assets(tmp_path / "p", 1)
    # Seeded jitter: the first task takes 0.51 s, so the first poll at 1 s finds a link
    # older than its 0.25 s life; the second takes 1.47 s and is downloaded at once.
    config = emulator.EmulatorConfig(latency=1.0, jitter=0.6, seed=33, url_lifetime=0.25)
    env = {"ASSETGEN_EVOLINK_FIRST_POLL_MAX": "1.0", "ASSETGEN_EVOLINK_MAX_POLL_INTERVAL": "0.05"}
    with emulator.run_emulator(config) as emu:
        code, events, err = finish(start(root, emu, env=env))
        stats = emu.stats()
    assert code == 0, (failures(events), err)
    assert_outputs_match_lock(root, 1)
    assert stats["expired_downloads"] == 1 and stats["submits"] == 2, stats
    assert stats["credits_charged"] == pytest.approx(0.9)  # the expired task was paid for
    summary = summary_of(events)
    assert summary["possible_double_charges"] == 1 and summary["failed"] == 0
    warnings = [e["message"] for e in events if e["event"] == "warning"]
    assert any("expired" in w and "paying again" in w for w in warnings), warnings


def test_wrong_key_stops_the_build_quickly_without_printing_it(tmp_path: Path) -> None:
    """A refused key (401) stops the whole build within seconds, exit 2, naming the key problem but not the key."""
    n = 20
    root = many_assets(tmp_path / "p", n)
    wrong = "sk-evo-not-the-right-key-4242"
    with emulator.run_emulator(latency=0.2, seed=7) as emu:
        t0 = time.monotonic()
        proc = start(root, emu, "--jobs", "4", env={"EVOLINK_API_KEY": wrong}, json_events=False)
        out, err = proc.communicate(timeout=60)
        elapsed = time.monotonic() - t0
        stats = emu.stats()
    assert proc.returncode == 2, (out, err)
    assert elapsed < 10, elapsed
    text = out + err
    assert "EVOLINK_API_KEY" in text and "refused" in text, text
    assert wrong not in text and "not-the-right-key" not in text
    assert stats["submits"] == 0 and stats["submit_requests"] <= 4, stats  # no retry of a 401
    assert not (root / "assetgen.lock").exists() or not read_lock(root / "assetgen.lock").entries


def test_credits_running_out_stops_submitting(tmp_path: Path) -> None:
    """With credits for 3 of 8 assets the build stops submitting at the first 402, exits 1 and says 5 remain."""
    n = 8
    root = many_assets(tmp_path / "p", n)
    with emulator.run_emulator(latency=0.2, seed=8, credits=0.45 * 3) as emu:
        proc = start(root, emu, "--jobs", "2", json_events=False)
        out, err = proc.communicate(timeout=60)
        stats = emu.stats()
    assert proc.returncode == 1, (out, err)
    text = out + err
    assert "credits ran out" in text.lower() and "5 assets remain" in text, text
    assert stats["submits"] == 3 and stats["errors"].get("402", 0) <= 2, stats  # no 402 storm
    assert_outputs_match_lock(root, 3)  # what was paid for is kept


def test_content_policy_refusal_fails_only_its_asset(tmp_path: Path) -> None:
    """A task refused for content policy fails its own asset (not resubmitted); the rest build, exit 1."""
    n = 4
    root = many_assets(tmp_path / "p", n, extra=("forbidden-thing",))
    with emulator.run_emulator(latency=0.1, seed=9, fail_prompts=("forbidden",)) as emu:
        code, events, err = finish(start(root, emu, "--jobs", "4"))
        stats = emu.stats()
    assert code == 1, err
    failed = [e for e in events if e["event"] == "finished" and not e["ok"]]
    assert [e["name"] for e in failed] == ["icon-forbidden-thing"], failed
    assert "content_policy_violation" in failed[0]["error"]
    assert_outputs_match_lock(root, n)
    assert stats["submits"] == n + 1 and stats["duplicate_submits"] == 0  # never retried
    assert stats["tasks_failed"] == 1 and stats["credits_refunded"] == pytest.approx(0.45)


def test_jpeg_results_are_stored_as_the_manifest_png(quickstart: Path) -> None:
    """JPEG results become the manifest's PNG files at the exact pixel size; the lock hashes the PNG on disk."""
    with emulator.run_emulator(latency=0.1, seed=10, image_format="jpeg") as emu:
        code, events, err = finish(start(quickstart, emu))
    assert code == 0, (failures(events), err)
    from PIL import Image

    lock = read_lock(quickstart / "assetgen.lock")
    assert len(lock.entries) == 4
    pixels = MODELS["krea-2-turbo"].pixels
    for entry in lock.entries.values():
        data = (quickstart / entry.path).read_bytes()
        assert entry.path.endswith(".png") and data.startswith(b"\x89PNG\r\n\x1a\n")
        assert hashlib.sha256(data).hexdigest() == entry.sha256 and entry.format == "png"
        size = pixels[entry.request["size"]][entry.request["quality"]]
        assert (entry.width, entry.height) == size
        with Image.open(quickstart / entry.path) as im:
            assert im.format == "PNG" and im.size == size


def test_download_check_catches_cut_and_damaged_images() -> None:
    """The provider's cheap whole-file check (no pixel decode) rejects cut or damaged PNG/JPEG bytes."""
    from assetgen.emulator.app import render_result
    from assetgen.emulator.tasks import Task
    from assetgen.errors import IntegrityError
    from assetgen.providers.evolink.body import check_complete

    request: dict[str, Any] = {"model": "krea-2-turbo", "prompt": "a check", "size": "1:1"}
    request.update(quality="1K", seed=1, nsfw_check=False)
    task = Task("task-unified-1-checkabc", 1, 0.0, 0.0, request, "k", 0.45, None)
    for fmt in ("png", "jpeg"):
        data = render_result(task, fmt)
        check_complete(data)
        bad = [data[: len(data) // 2], data[:-1]]
        if fmt == "png":  # a flipped byte fails its chunk's CRC
            flipped = bytearray(data)
            flipped[len(data) // 2] ^= 0xFF
            bad.append(bytes(flipped))
        for case in bad:
            with pytest.raises(IntegrityError):
                check_complete(case)
