"""Whole builds through build.py with the evolink provider over a fake gateway (MockTransport)."""

from __future__ import annotations

import io
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from assetgen.build.journal import Journal
from assetgen.build.report import LineReporter
from assetgen.build.run import run_build
from assetgen.build.selection import BuildOptions
from assetgen.cache.open import open_cache
from assetgen.commands import project as commands
from assetgen.errors import ProviderAuthError
from assetgen.lock.read import read_lock
from assetgen.project import find_project
from tests.providers.evolink_fakes import FakeClock, FakeGateway, error

NAMES = ["hero-home", "icon-profile", "icon-search", "icon-settings"]


def build(root: Path, gateway: FakeGateway, **opts: Any) -> tuple[int, str]:
    """Build ``root`` (an evolink manifest) against ``gateway``; return (exit, output)."""
    config = opts.pop("config", {})
    out = io.StringIO()
    code = commands.build(
        find_project(root),
        options=BuildOptions(**opts),
        out=out,
        provider_factory=gateway.factory(FakeClock(), **config),
    )
    return code, out.getvalue()


def journal_tasks(root: Path) -> list[str]:
    j = Journal(root / ".assetgen" / "assetgen.journal.db")
    try:
        return [t.task_id for t in j.tasks()]
    finally:
        j.close()


def prompts(gateway: FakeGateway) -> Counter[str]:
    """How many accepted tasks each request (prompt + size) got."""
    return Counter(
        f"{t.request['prompt']}|{t.request['size']}|{t.request['quality']}"
        for t in gateway.tasks.values()
    )


def test_build_generates_locks_task_ids_and_credits(quickstart: Path) -> None:
    """A build pays once per asset, locks task ids and reserved credits, and leaves no task journalled."""
    gw = FakeGateway()
    code, out = build(quickstart, gw)
    assert code == 0, out
    lock = read_lock(quickstart / "assetgen.lock")
    assert sorted(lock.entries) == NAMES
    assert lock.entries["hero-home"].credits == 1.8 and lock.entries["icon-search"].credits == 0.45
    assert all(e.task_id and e.task_id.startswith("task-unified-") for e in lock.entries.values())
    assert gw.accepted == 4 and journal_tasks(quickstart) == []
    code, out = build(quickstart, gw)
    assert code == 0 and gw.accepted == 4 and len(gw.submits) == 4


def test_401_stops_the_build_and_no_paid_result_is_paid_twice(quickstart: Path) -> None:
    """A key revoked mid-build stops it (exit 2); the next build resumes what was paid, never resubmits it."""
    gw = FakeGateway(polls=2)
    gw.submit_hook = lambda body, n: (
        error(401, "unauthorized", "Invalid or expired token") if n > 2 else None
    )
    with pytest.raises(ProviderAuthError) as info:
        build(quickstart, gw, jobs=4)
    assert info.value.exit_code == 2 and "EVOLINK_API_KEY" in str(info.value)
    assert gw.accepted == 2
    assert len(journal_tasks(quickstart)) == 2  # paid, still running, kept for the next build

    gw.submit_hook = None
    code, out = build(quickstart, gw, jobs=4)
    assert code == 0, out
    assert gw.accepted == 4 and max(prompts(gw).values()) == 1
    assert sorted(read_lock(quickstart / "assetgen.lock").entries) == NAMES
    assert journal_tasks(quickstart) == []


def test_401_keeps_what_finished_in_the_lock(quickstart: Path) -> None:
    """Assets finished before the 401 are written and locked; the build still exits 2."""
    gw = FakeGateway(polls=0)
    gw.submit_hook = lambda body, n: error(403, "model_access_denied") if n > 2 else None
    with pytest.raises(ProviderAuthError):
        build(quickstart, gw, jobs=1)
    lock = read_lock(quickstart / "assetgen.lock")
    assert len(lock.entries) == 2 and len(gw.submits) == 3


@pytest.mark.parametrize("jobs", [1, 4])
def test_402_stops_submitting_and_names_what_remains(quickstart: Path, jobs: int) -> None:
    """Credits running out submits nothing more, lets paid tasks finish, exits 1 naming the remaining count."""
    gw = FakeGateway(polls=1)
    gw.submit_hook = lambda body, n: (
        error(402, "insufficient_quota", "Insufficient quota. Please top up your account.")
        if n > 2
        else None
    )
    code, out = build(quickstart, gw, jobs=jobs)
    assert code == 1, out
    assert "Credits ran out" in out and "2 assets remain" in out
    assert gw.accepted == 2 and gw.downloads == 2
    assert len(read_lock(quickstart / "assetgen.lock").entries) == 2
    assert len(gw.submits) == 3  # the 402 latches: the next job never sends


def test_content_policy_refusal_fails_only_its_asset(quickstart: Path) -> None:
    """A task refused for content fails its asset with code and message; the others are built."""
    gw = FakeGateway()
    gw.fail_hook = lambda body: (
        ("content_policy_violation", "Content policy violation.")
        if "profile" in body["prompt"]
        else None
    )
    code, out = build(quickstart, gw)
    assert code == 1
    assert "icon-profile" in out and "content_policy_violation" in out
    lock = read_lock(quickstart / "assetgen.lock")
    assert sorted(lock.entries) == ["hero-home", "icon-search", "icon-settings"]
    assert gw.accepted == 4 and journal_tasks(quickstart) == []


def test_tasks_past_the_deadline_are_collected_by_the_next_build(quickstart: Path) -> None:
    """Tasks still running at the deadline stay journalled; the next build collects them, paying nothing."""
    gw = FakeGateway(polls=-1)
    code, out = build(quickstart, gw, config={"task_deadline": 30})
    assert code == 1
    assert "4 paid and still running" in out and "failed" not in out  # one word for them
    assert len(journal_tasks(quickstart)) == 4
    for t in gw.tasks.values():
        t.polls_left = 0
    code, out = build(quickstart, gw)
    assert code == 0, out
    assert gw.accepted == 4 and len(gw.submits) == 4
    assert journal_tasks(quickstart) == []
    locked = {e.task_id for e in read_lock(quickstart / "assetgen.lock").entries.values()}
    assert locked == set(gw.tasks)


def test_interrupt_keeps_running_tasks_for_the_next_build(quickstart: Path) -> None:
    """^C while tasks run: exit 130, they stay journalled, and the next build collects them without paying."""
    gw = FakeGateway(polls=1_000_000)  # still running whenever the ^C lands
    inner = gw.handler
    sent = False

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        if request.method == "GET" and len(gw.tasks) == 4 and not sent:
            sent = True
            os.kill(os.getpid(), signal.SIGINT)
        return inner(request)

    gw.handler = handler  # type: ignore[method-assign]
    code, out = build(quickstart, gw, jobs=4)
    assert code == 130, out
    assert "4 paid and still running" in out and "without paying again" in out
    assert len(journal_tasks(quickstart)) == 4
    gw.handler = inner  # type: ignore[method-assign]
    for task in gw.tasks.values():
        task.polls_left = 1  # they finish while nobody is watching
    code, out = build(quickstart, gw, jobs=4)
    assert code == 0, out
    assert gw.accepted == 4 and len(gw.submits) == 4
    assert journal_tasks(quickstart) == []


def test_a_cache_hit_that_fails_to_read_respects_max_credits(quickstart: Path) -> None:
    """Planned as free (cached), then unreadable: with --max-credits 0 it fails, unpaid."""
    gw = FakeGateway()
    assert build(quickstart, gw)[0] == 0
    target = quickstart / "assets/icons/search.png"
    good = target.read_bytes()
    blob = next(
        p for p in (quickstart / ".assetgen/cache/blobs").glob("*/*") if p.read_bytes() == good
    )
    blob.write_bytes(b"rotten")
    target.unlink()
    code, out = build(quickstart, gw, max_credits=0.0)
    assert code == 1 and gw.accepted == 4, out
    assert "icon-search" in out and "--max-credits 0" in out
    code, out = build(quickstart, gw)  # without the limit it is paid for again, once
    assert code == 0 and gw.accepted == 5 and target.exists()


def interrupted_build(root: Path, gw: FakeGateway) -> None:
    """A build ^C'd while every task is still running on the gateway."""
    inner = gw.handler
    gw.polls = 1_000_000

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and len(gw.tasks) == 4 and gw.polls:
            gw.polls = 0
            os.kill(os.getpid(), signal.SIGINT)
        return inner(request)

    gw.handler = handler  # type: ignore[method-assign]
    code, out = build(root, gw, jobs=4)
    gw.handler = inner  # type: ignore[method-assign]
    assert code == 130 and len(journal_tasks(root)) == 4, out


def test_a_paid_task_no_longer_wanted_is_cached_and_reverting_restores_it_free(
    quickstart: Path,
) -> None:
    """^C with tasks running, then an edit: the old task is collected (never resubmitted)
    once it finishes, even by a build with nothing else to do, and reverting is free."""
    gw = FakeGateway()
    interrupted_build(quickstart, gw)
    old_hero = next(t for t in gw.tasks.values() if "skyline" in t.request["prompt"])
    manifest = quickstart / "assetgen.yaml"
    text = manifest.read_text()
    assert "skyline" in text
    manifest.write_text(text.replace("skyline", "harbour", 1))
    for t in gw.tasks.values():
        t.polls_left = 1_000_000 if t is old_hero else 1  # the old hero task is slow

    code, out = build(quickstart, gw, jobs=4)
    assert code == 0, out
    assert gw.accepted == 5  # the 3 resumed, plus the new hero; the old one not resubmitted
    assert journal_tasks(quickstart) == [old_hero.id]  # still running: kept for later
    pending = quickstart / ".assetgen" / "assetgen.pending"
    assert pending.exists()

    old_hero.polls_left = 0
    downloads = gw.downloads
    code, out = build(quickstart, gw, jobs=4)  # nothing to build, but a task to collect
    assert code == 0, out
    assert gw.downloads == downloads + 1 and journal_tasks(quickstart) == []
    assert not pending.exists()

    manifest.write_text(text)  # revert the edit: the collected image serves it
    code, out = build(quickstart, gw, jobs=4)
    assert code == 0, out
    assert gw.accepted == 5 and "1 from cache" in out
    hero = read_lock(quickstart / "assetgen.lock").entries["hero-home"]
    assert hero.task_id == old_hero.id


def test_a_journalled_task_no_longer_wanted_is_reported_and_forgotten(quickstart: Path) -> None:
    """A task left by an earlier build for a spec since changed is reported (it cannot be cancelled)."""
    assert build(quickstart, FakeGateway())[0] == 0
    j = Journal(quickstart / ".assetgen" / "assetgen.journal.db")
    j.record_task("sha256:" + "0" * 64, "hero-home", "evolink", "task-unified-1-oldoldol", {})
    j.record_task("sha256:" + "1" * 64, "icon-x", "draft", "not-ours", {})
    j.close()
    out = io.StringIO()
    err = io.StringIO()
    # The warning goes to stderr through the reporter; capture it with a LineReporter.

    project = find_project(quickstart)
    manifest = project.load_manifest()

    run_build(
        project,
        manifest,
        open_cache(project),
        LineReporter(out, err),
        BuildOptions(),
        provider_factory=FakeGateway().factory(),
    )
    assert "task-unified-1-oldoldol" in err.getvalue() and "hero-home" in err.getvalue()
    assert journal_tasks(quickstart) == ["not-ours"]  # another provider's task is left alone
