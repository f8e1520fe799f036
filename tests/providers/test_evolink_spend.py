"""Issue 12, "Spend", below the CLI: forced keys, the balance check, the 429 note, the summary."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.providers.evolink_fakes import (
    FakeClock,
    FakeGateway,
    RecordingContext,
    jsonr,
    make_provider,
)
from tests.providers.test_evolink import spec

from assetgen.build.journal import Journal
from assetgen.build.report import BuildSummary, JobResult, LineReporter, RecordingReporter
from assetgen.build.selection import BuildOptions
from assetgen.build.tasks import TaskContext
from assetgen.commands import project as commands
from assetgen.errors import UsageError
from assetgen.project import find_project
from assetgen.providers.evolink.provider import idempotency_key


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def build(root: Path, gateway: FakeGateway, **opts: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = commands.build(
        find_project(root),
        options=BuildOptions(**opts),
        out=out,
        provider_factory=gateway.factory(FakeClock()),
    )
    return code, out.getvalue()


def journal_of(root: Path) -> Journal:
    return Journal(root / ".assetgen" / "assetgen.journal.db")


# --- build --force: a key of its own, journalled before the submit ------------------------


def test_a_forced_key_differs_and_its_nonce_survives_the_process(tmp_path: Path) -> None:
    """A forced submit's key is not the spec's own; the nonce behind it is journalled, so
    another process (a retry after kill -9) finds the same one; an unforced job has none."""
    s = spec()
    journal = Journal(tmp_path / "j.db")
    try:
        first = TaskContext(journal, RecordingReporter(), BuildSummary(), s, forced=True)
        nonce = first.forced_nonce()
        assert nonce and journal.nonce_for(s.spec_hash) == nonce
        again = TaskContext(journal, RecordingReporter(), BuildSummary(), s, forced=True)
        assert again.forced_nonce() == nonce
        plain = TaskContext(journal, RecordingReporter(), BuildSummary(), s)
        assert plain.forced_nonce() is None
    finally:
        journal.close()
    assert idempotency_key(s.spec_hash, None, nonce) != idempotency_key(s.spec_hash)
    assert idempotency_key(s.spec_hash, "t", nonce) != idempotency_key(s.spec_hash, None, nonce)


def test_force_sends_a_new_key_journalled_before_the_submit(quickstart: Path) -> None:
    """`build --force icon-search` submits under a new Idempotency-Key whose nonce is in the
    journal while the submit is on the wire, and gone once the job finished."""
    gw = FakeGateway(polls=0)
    assert build(quickstart, gw)[0] == 0
    keys: list[str] = []
    seen: list[int] = []
    original = gw.handler

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            keys.append(request.headers["Idempotency-Key"])
            j = journal_of(quickstart)
            try:
                seen.append(j.db.execute("SELECT COUNT(*) FROM nonces").fetchone()[0])
            finally:
                j.close()
        return original(request)

    gw.handler = handler  # type: ignore[method-assign]
    code, out = build(quickstart, gw, selection=("icon-search",), force=True)
    assert code == 0, out
    (search,) = [s for s in gw.submits[:4] if "search" in s["prompt"]]
    assert len(keys) == 1 and seen == [1]
    j = journal_of(quickstart)
    try:
        assert j.db.execute("SELECT COUNT(*) FROM nonces").fetchone()[0] == 0
    finally:
        j.close()
    assert search["prompt"] == gw.submits[-1]["prompt"]


# --- the balance check ----------------------------------------------------------------------


def test_a_balance_check_that_fails_is_a_warning(
    quickstart: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fake gateway has no /v1/credits (404): the build warns once and builds anyway."""
    monkeypatch.setenv("ASSETGEN_BALANCE_CHECK_ABOVE", "0")
    gw = FakeGateway(polls=0)
    code, out = build(quickstart, gw)
    err = capsys.readouterr().err
    assert code == 0 and gw.accepted == 4, out
    assert err.count("could not check the balance") == 1 and "building anyway" in err, err


def test_a_balance_that_covers_the_estimate_builds(
    quickstart: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enough credits (the lower of the key's and the account's): the build goes on."""
    monkeypatch.setenv("ASSETGEN_BALANCE_CHECK_ABOVE", "0")
    gw = FakeGateway(polls=0)
    asked: list[str] = []
    original = gw.handler

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/credits":
            asked.append("credits")
            data = {"token": {"remaining_credits": 4.0}, "user": {"remaining_credits": 99.0}}
            return jsonr(200, {"success": True, "data": data})
        return original(request)

    gw.handler = handler  # type: ignore[method-assign]
    code, out = build(quickstart, gw)
    assert code == 0 and asked == ["credits"] and gw.accepted == 4, out


def test_a_bad_threshold_is_a_usage_error(
    quickstart: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETGEN_BALANCE_CHECK_ABOVE", "lots")
    with pytest.raises(UsageError, match="ASSETGEN_BALANCE_CHECK_ABOVE"):
        build(quickstart, FakeGateway(polls=0))


# --- 429s: the window, said once ------------------------------------------------------------


class RateContext(RecordingContext):
    def __init__(self) -> None:
        super().__init__()
        self.rate: list[tuple[int | None, int]] = []

    def rate_limited(self, window: int | None, was: int) -> None:
        self.rate.append((window, was))


@pytest.mark.anyio
async def test_the_window_held_down_by_429s_is_reported_once_per_change() -> None:
    """A 429 shrinks the window below what was in flight: reported as (window, was); a burst
    of 429s from one round is one report; growing back is reported, and its end once."""
    provider = make_provider(lambda r: httpx.Response(404), FakeClock())
    ctx = RateContext()
    try:
        permits = [await provider.window.acquire() for _ in range(4)]
        for p in permits:
            provider.window.release(p)
        for p in permits:  # all four throttled, one round: one decrease, one report
            provider.throttled(p, ctx)
        assert ctx.rate == [(2, 4)]
        for _ in range(6):
            p = await provider.window.acquire()
            provider.window.release(p)
            provider.succeeded(p, ctx)
    finally:
        await provider.aclose()
    assert ctx.rate == [(2, 4), (3, 4), (None, 4)]


def test_rate_notes_reach_the_reporters() -> None:
    """The note names the window; a line reporter warns once however often it changes, a
    live one shows the current note under the bar's counts."""
    rec = RecordingReporter()
    ctx = TaskContext(None, rec, BuildSummary(), spec())  # type: ignore[arg-type]
    ctx.rate_limited(6, 16)
    assert ("rate", "rate limited: 6 in flight (was 16)") in rec.events
    out, err = io.StringIO(), io.StringIO()
    line = LineReporter(out, err)
    line.rate_limited("rate limited: 6 in flight (was 16)")
    line.rate_limited("rate limited: 4 in flight (was 16)")
    line.rate_limited(None)
    assert err.getvalue().count("warning:") == 1 and "6 in flight (was 16)" in err.getvalue()

    from assetgen.build.live import LiveReporter

    screen = io.StringIO()
    live = LiveReporter(screen)
    live.start(3, 1.35)
    live.rate_limited("rate limited: 6 in flight (was 16)")
    assert live.rate_note == "rate limited: 6 in flight (was 16)"
    live.summary(BuildSummary())
    assert "rate limited: 6 in flight (was 16)" in screen.getvalue()


# --- the summary ------------------------------------------------------------------------------


def test_the_summary_keeps_charged_and_collected_apart() -> None:
    s = BuildSummary()
    s.add(JobResult("a", "create", True, "generated", "a.png", credits=0.3, listed=0.45))
    s.add(JobResult("b", "create", True, "generated", "b.png", collected=1.8))
    assert s.credits == 0.3 and s.credits_collected == 1.8 and s.tasks_collected == 1
    text = s.text()
    assert "0.30 credits charged; 1 paid task collected (1.80 credits paid earlier)" in text
    assert s.charge_note() == (
        "The gateway charged 0.30 credits for this build; the price table says 0.45."
    )
    same = BuildSummary()
    same.add(JobResult("a", "create", True, "generated", "a.png", credits=0.45, listed=0.45))
    assert same.charge_note() is None
