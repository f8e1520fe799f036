"""The evolink provider against scripted gateways (httpx.MockTransport) and a hand-driven clock."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from assetgen.errors import (
    PermanentProviderError,
    ProviderAuthError,
    QuotaExhaustedError,
    TransientProviderError,
)
from assetgen.providers.base import Generated, TaskRef
from assetgen.providers.evolink.provider import idempotency_key
from assetgen.providers.evolink.retry import WINDOW_DECREASE
from assetgen.spec import AssetSpec
from tests.providers.evolink_fakes import (
    BASE,
    KEY,
    RESULT,
    TASK,
    FakeClock,
    RecordingContext,
    Script,
    error,
    make_provider,
    png,
    submitted,
    task,
)
from tests.providers.test_draft import make_spec

pytestmark = pytest.mark.anyio

IMAGE = png()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def spec(**overrides: Any) -> AssetSpec:
    overrides.setdefault("provider", "evolink")
    overrides.setdefault("credits", 0.45)
    return make_spec(**overrides)


async def run(
    script: Script,
    ctx: RecordingContext | None = None,
    clock: FakeClock | None = None,
    the_spec: AssetSpec | None = None,
    **config: Any,
) -> Generated:
    provider = make_provider(script.handler, clock or FakeClock(), **config)
    try:
        return await provider.generate(the_spec or spec(), ctx or RecordingContext())
    finally:
        await provider.aclose()


def happy(script: Script | None = None) -> Script:
    return (
        (script or Script())
        .submit(submitted())
        .poll(task("completed"))
        .download(httpx.Response(200, content=IMAGE))
    )


# --- the task's life ----------------------------------------------------------------------


async def test_happy_path_submits_polls_downloads_and_reports_reserved_credits() -> None:
    """submit -> pending -> processing -> completed -> download gives the bytes, id, links and credits_reserved."""
    script = (
        Script()
        .submit(submitted(credits=0.5))
        .poll(task("pending"), task("processing", progress=40), task("completed"))
        .download(httpx.Response(200, content=IMAGE))
    )
    ctx = RecordingContext()
    clock = FakeClock()
    got = await run(script, ctx, clock)
    assert got == Generated(data=IMAGE, task_id=TASK, results=(RESULT,), credits=0.5)
    assert ctx.task_ids == [TASK]
    assert ("state", "downloading") in ctx.events
    assert len(script.calls("GET", f"/v1/tasks/{TASK}")) == 3
    assert clock.sleeps[0] == 10.0  # estimated_time 45, capped by first_poll_max
    assert all(s <= 15.0 for s in clock.sleeps)


async def test_submit_sends_the_request_with_key_agent_and_idempotency_key() -> None:
    """The POST carries the spec's request fields, the bearer key, our User-Agent and a valid Idempotency-Key."""
    script = happy()
    s = spec(callback_url="https://hooks.example.com/done", nsfw_check=True)
    await run(script, the_spec=s)
    post = script.submits[0]
    assert json.loads(post.content) == {
        "model": "krea-2-turbo",
        "prompt": s.prompt,
        "size": "1:1",
        "quality": "1K",
        "seed": 1234,
        "nsfw_check": True,
        "callback_url": "https://hooks.example.com/done",
    }
    assert post.headers["authorization"] == f"Bearer {KEY}"
    assert post.headers["user-agent"].startswith("assetgen/")
    key = post.headers["idempotency-key"]
    assert re.fullmatch(r"[A-Za-z0-9._-]{16,96}", key)
    assert key == idempotency_key(s.spec_hash)


async def test_no_callback_url_is_sent_when_unset() -> None:
    """Without callback_url in the spec, the request has none."""
    script = happy()
    await run(script)
    assert "callback_url" not in json.loads(script.submits[0].content)


async def test_download_does_not_carry_the_key_to_another_host() -> None:
    """The bearer key goes to the gateway only, never to the file host of the result link."""
    script = happy()
    await run(script)
    download = script.calls("GET", RESULT)[0]
    assert "authorization" not in download.headers


async def test_task_id_is_journalled_before_the_first_poll() -> None:
    """ctx.submitted is called before any GET of the task."""
    ctx = RecordingContext()
    seen: list[list[str]] = []

    def poll(request: httpx.Request) -> httpx.Response:
        seen.append(list(ctx.task_ids))
        return task("completed")

    script = Script().submit(submitted()).poll(poll).download(httpx.Response(200, content=IMAGE))
    await run(script, ctx)
    assert seen and seen[0] == [TASK]


async def test_catalog_price_when_the_gateway_reserves_nothing() -> None:
    """Without usage.credits_reserved the catalog price of the spec is reported."""
    script = happy(Script().submit(submitted(credits=None)))
    got = await run(script)
    assert got.credits == 0.45


async def test_resume_polls_the_journalled_task_without_submitting() -> None:
    """A journalled task is polled at once and never submitted again; its reserved credits are
    kept, as collected (paid by an earlier build), not as charged in this one (issue 12)."""
    script = Script().poll(task("completed")).download(httpx.Response(200, content=IMAGE))
    clock = FakeClock()
    got = await run(script, RecordingContext(TaskRef(TASK, 1.8)), clock)
    assert not script.submits
    assert got.task_id == TASK and got.collected == 1.8 and got.credits == 0
    assert clock.sleeps[0] == 0.0


async def test_deadline_keeps_the_task_journalled() -> None:
    """A task still running at the deadline fails transiently; the provider never replaces it."""
    script = Script().submit(submitted()).poll(task("processing"))
    ctx = RecordingContext()
    clock = FakeClock()
    with pytest.raises(TransientProviderError, match="stays journalled"):
        await run(script, ctx, clock, task_deadline=60)
    assert ctx.task_ids == [TASK] and ctx.journalled == TaskRef(TASK, 0.5)
    assert 59 <= clock.now <= 61


# --- gateway refusals -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"), [(401, "unauthorized"), (403, "model_access_denied"), (401, 401)]
)
async def test_401_and_403_raise_the_auth_error(status: int, code: str | int) -> None:
    """A refused key or model raises ProviderAuthError (exit 2), naming the variable but not the key."""
    script = Script().submit(error(status, code, "Invalid or expired token"))
    with pytest.raises(ProviderAuthError) as info:
        await run(script)
    assert info.value.exit_code == 2
    assert "EVOLINK_API_KEY" in str(info.value) and KEY not in str(info.value)
    assert len(script.submits) == 1


async def test_402_raises_the_quota_error_and_stops_later_submits() -> None:
    """A 402 raises QuotaExhaustedError; the next asset is not even sent."""
    script = Script().submit(error(402, "insufficient_quota", "Insufficient quota."))
    provider = make_provider(script.handler)
    with pytest.raises(QuotaExhaustedError, match="credits ran out") as first:
        await provider.generate(spec(), RecordingContext())
    assert first.value.submitted and first.value.exit_code == 1
    with pytest.raises(QuotaExhaustedError) as second:
        await provider.generate(spec(name="other", seed=7), RecordingContext())
    assert not second.value.submitted
    assert len(script.submits) == 1
    await provider.aclose()


@pytest.mark.parametrize("code", ["invalid_request", 400])
async def test_400_fails_the_asset_with_message_and_param(code: str | int) -> None:
    """A 400 on submit fails this asset permanently with the gateway's message and param."""
    script = Script().submit(error(400, code, "size is not supported", param="size"))
    with pytest.raises(PermanentProviderError) as info:
        await run(script)
    text = str(info.value)
    assert "size is not supported" in text and "param: size" in text and str(code) in text
    assert len(script.submits) == 1


async def test_404_on_a_journalled_task_resubmits_and_warns() -> None:
    """A journalled task the gateway no longer knows is forgotten, resubmitted, and the user told."""
    new = "task-unified-1767225999-zzzzzzzz"
    script = (
        Script()
        .poll(error(404, "task_not_found"))
        .submit(submitted(new))
        .poll(task("completed", new), task_id=new)
        .download(httpx.Response(200, content=IMAGE))
    )
    ctx = RecordingContext(TaskRef(TASK))
    got = await run(script, ctx)
    assert got.task_id == new and ctx.task_ids == [new]
    assert (
        len(ctx.warnings) == 1 and TASK in ctx.warnings[0] and "submitting again" in ctx.warnings[0]
    )
    assert script.submits[0].headers["idempotency-key"] == idempotency_key(spec().spec_hash, TASK)


async def test_403_on_a_journalled_task_of_another_key_resubmits() -> None:
    """A journalled task this key may not read (another account's) is replaced, not fatal."""
    new = "task-unified-1767225999-yyyyyyyy"
    script = (
        Script()
        .poll(error(403, "permission_denied"))
        .submit(submitted(new))
        .poll(task("completed", new), task_id=new)
        .download(httpx.Response(200, content=IMAGE))
    )
    got = await run(script, RecordingContext(TaskRef(TASK)))
    assert got.task_id == new


# --- 429 and the adaptive window --------------------------------------------------------


async def test_429_retry_after_seconds_is_honoured() -> None:
    """A 429 with Retry-After: 7 waits 7 s, then the same submit succeeds."""
    script = happy(Script().submit(error(429, "rate_limit_exceeded", headers={"Retry-After": "7"})))
    clock = FakeClock()
    await run(script, clock=clock)
    assert clock.sleeps[0] == 7.0
    assert len(script.submits) == 2


async def test_429_retry_after_http_date_is_honoured_and_capped() -> None:
    """An HTTP-date Retry-After waits until then; one far away is capped at retry_after_max."""
    clock = FakeClock()
    soon = format_datetime(datetime.fromtimestamp(clock.time() + 12, timezone.utc), usegmt=True)
    later = format_datetime(datetime.fromtimestamp(clock.time() + 3600, timezone.utc), usegmt=True)
    script = happy(
        Script().submit(
            error(429, 429, headers={"Retry-After": soon}),
            error(429, 429, headers={"Retry-After": later}),
        )
    )
    await run(script, clock=clock)
    assert clock.sleeps[:2] == [12.0, 30.0]


async def test_429_shrinks_the_window_and_successes_grow_it() -> None:
    """The in-flight window shrinks (x WINDOW_DECREASE) on a 429 and grows back as submits succeed."""
    script = Script().submit(
        error(429, "rate_limit_exceeded", headers={"Retry-After": "1"}), submitted()
    )
    script.poll(task("completed")).download(httpx.Response(200, content=IMAGE))
    provider = make_provider(script.handler, initial_in_flight=8)
    await provider.generate(spec(), RecordingContext())
    shrunk = 8 * WINDOW_DECREASE
    assert provider.window.window == pytest.approx(shrunk + 1 / shrunk)  # shrunk, then one success
    for i in range(8):
        await provider.generate(spec(name=f"a{i}", seed=i + 10), RecordingContext())
    assert provider.window.window > 5
    await provider.aclose()


async def test_429_on_poll_waits_and_keeps_polling() -> None:
    """A rate-limited poll is retried after Retry-After, without failing the asset."""
    script = (
        Script()
        .submit(submitted())
        .poll(error(429, "rate_limit_exceeded", headers={"Retry-After": "5"}), task("completed"))
        .download(httpx.Response(200, content=IMAGE))
    )
    clock = FakeClock()
    await run(script, clock=clock)
    assert 5.0 in clock.sleeps


# --- reads are retried --------------------------------------------------------------------


async def test_5xx_and_network_errors_on_poll_are_retried() -> None:
    """500, a read timeout and a dropped connection on GET are retried with backoff."""
    script = (
        Script()
        .submit(submitted())
        .poll(
            error(500, "internal_error"),
            httpx.ReadTimeout("timed out"),
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            error(503, 503),
            task("completed"),
        )
        .download(httpx.Response(200, content=IMAGE))
    )
    ctx = RecordingContext()
    got = await run(script, ctx)
    assert got.task_id == TASK and not ctx.double_charges
    assert len(script.calls("GET", f"/v1/tasks/{TASK}")) == 5


async def test_poll_gives_up_after_the_retry_budget_and_keeps_the_task() -> None:
    """A gateway that keeps failing reads ends the job transiently; the task stays journalled."""
    script = Script().submit(submitted()).poll(error(502, "upstream_error"))
    ctx = RecordingContext()
    with pytest.raises(TransientProviderError, match="stays journalled"):
        await run(script, ctx, http_retries=2)
    assert ctx.journalled == TaskRef(TASK, 0.5)


# --- submits are paid writes ---------------------------------------------------------------


async def test_submit_connect_error_is_retried_without_a_double_charge() -> None:
    """A connect failure certainly sent nothing: retried with the same key, not counted."""
    script = happy(Script().submit(httpx.ConnectError("connection refused")))
    ctx = RecordingContext()
    await run(script, ctx)
    assert len(script.submits) == 2 and not ctx.double_charges
    keys = {r.headers["idempotency-key"] for r in script.submits}
    assert len(keys) == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected"),
        error(500, "internal_error"),
        error(502, 502),
    ],
    ids=["read-timeout", "dropped", "500", "502"],
)
async def test_ambiguous_submit_is_retried_once_with_the_same_key_and_counted(
    failure: httpx.Response | Exception,
) -> None:
    """A submit that may have reached the gateway is retried once, same key, counted as a possible double charge."""
    script = happy(Script().submit(failure))
    ctx = RecordingContext()
    await run(script, ctx)
    assert len(script.submits) == 2
    assert len({r.headers["idempotency-key"] for r in script.submits}) == 1
    assert len(ctx.double_charges) == 1


async def test_a_replayed_answer_is_not_a_double_charge() -> None:
    """When the retry's answer says idempotency-replayed: true, nothing is counted."""
    replay = submitted()
    replay.headers["idempotency-replayed"] = "true"
    script = happy(Script().submit(httpx.ReadTimeout("timed out"), replay))
    ctx = RecordingContext()
    await run(script, ctx)
    assert not ctx.double_charges


async def test_ambiguous_submit_is_not_retried_twice() -> None:
    """Two ambiguous failures in a row fail the asset transiently; nothing is journalled."""
    script = Script().submit(error(500, "internal_error"))
    ctx = RecordingContext()
    with pytest.raises(TransientProviderError, match="may have created"):
        await run(script, ctx)
    assert len(script.submits) == 2 and not ctx.task_ids


# --- task-level failures ---------------------------------------------------------------------


@pytest.mark.parametrize("code", ["content_policy_violation", "invalid_parameters"])
async def test_terminal_task_failure_fails_with_code_and_message(code: str) -> None:
    """A terminal task error fails the asset with its code and message, without resubmitting."""
    script = Script().submit(submitted()).poll(task("failed", code=code, message="Blocked."))
    with pytest.raises(PermanentProviderError) as info:
        await run(script)
    assert code in str(info.value) and "Blocked." in str(info.value)
    assert len(script.submits) == 1


@pytest.mark.parametrize("code", ["service_error", "generation_timeout", 500])
async def test_retryable_task_failure_resubmits_a_new_task(code: str | int) -> None:
    """A retryable failure (string or integer code) submits a new task with a new key."""
    second = "task-unified-1767225601-bbbbbbbb"
    script = (
        Script()
        .submit(submitted(), submitted(second))
        .poll(task("failed", code=code, message="try later"))
        .poll(task("completed", second), task_id=second)
        .download(httpx.Response(200, content=IMAGE))
    )
    ctx = RecordingContext()
    got = await run(script, ctx)
    assert got.task_id == second and ctx.task_ids == [TASK, second]
    keys = [r.headers["idempotency-key"] for r in script.submits]
    assert keys[0] != keys[1]


async def test_retryable_task_failures_are_bounded() -> None:
    """After task_retries new tasks, the asset fails with the last code."""
    ids = [f"task-unified-1767225601-0000000{i}" for i in range(4)]
    script = Script().submit(*(submitted(t) for t in ids))
    for t in ids:
        script.poll(task("failed", t, code="service_error", message="busy"), task_id=t)
    with pytest.raises(PermanentProviderError, match="service_error"):
        await run(script, task_retries=2)
    assert len(script.submits) == 3


@pytest.mark.parametrize(("setting", "submits"), [(True, 2), (False, 1)])
async def test_unknown_error_retry_is_configurable(setting: bool, submits: int) -> None:
    """unknown_error is retried or not, as configured."""
    script = Script().submit(submitted())
    script.poll(task("failed", code="unknown_error", message="?"))
    with pytest.raises(PermanentProviderError):
        await run(script, retry_unknown_error=setting, task_retries=1)
    assert len(script.submits) == submits


# --- downloads -------------------------------------------------------------------------------


async def test_truncated_download_is_fetched_again() -> None:
    """Fewer bytes than Content-Length promised: the image is fetched again."""
    cut = httpx.Response(200, content=IMAGE[:20], headers={"content-length": str(len(IMAGE))})
    script = (
        Script()
        .submit(submitted())
        .poll(task("completed"))
        .download(cut, httpx.Response(200, content=IMAGE))
    )
    got = await run(script)
    assert got.data == IMAGE and len(script.calls("GET", RESULT)) == 2


async def test_undecodable_download_is_fetched_again() -> None:
    """Bytes that do not decode are fetched again before anything is returned."""
    script = (
        Script()
        .submit(submitted())
        .poll(task("completed"))
        .download(
            httpx.Response(200, content=b"<html>oops</html>"), httpx.Response(200, content=IMAGE)
        )
    )
    got = await run(script)
    assert got.data == IMAGE


async def test_oversized_download_is_refused() -> None:
    """An image over the size cap fails the asset."""
    script = happy()
    with pytest.raises(PermanentProviderError, match="too large"):
        await run(script, max_download_bytes=10)


async def test_expired_link_is_polled_again_for_a_fresh_one() -> None:
    """A 403/404/410 on the result link asks the task for a fresh link; no new task is paid."""
    fresh = "https://files.evolink.test/acct/images/fresh_0.png"
    script = (
        Script()
        .submit(submitted())
        .poll(task("completed"), task("completed", results=[fresh]))
        .download(error(410, "gone"))
        .download(httpx.Response(200, content=IMAGE), url=fresh)
    )
    ctx = RecordingContext()
    got = await run(script, ctx)
    assert got.results == (fresh,) and len(script.submits) == 1 and not ctx.double_charges


async def test_expired_link_without_a_fresh_one_resubmits_and_counts_it() -> None:
    """When the task only offers the dead link again, the spec is resubmitted and counted as paid twice."""
    second = "task-unified-1767225601-cccccccc"
    fresh = "https://files.evolink.test/acct/images/second_0.png"
    script = (
        Script()
        .submit(submitted(), submitted(second))
        .poll(task("completed"))
        .poll(task("completed", second, results=[fresh]), task_id=second)
        .download(error(404, "not_found"))
        .download(httpx.Response(200, content=IMAGE), url=fresh)
    )
    ctx = RecordingContext()
    got = await run(script, ctx)
    assert got.task_id == second and len(ctx.double_charges) == 1


# --- the key stays secret --------------------------------------------------------------------


async def test_the_key_is_redacted_from_gateway_messages() -> None:
    """A gateway message that echoes the key reaches the user with the key scrubbed."""
    script = Script().submit(error(400, "invalid_request", f"bad token {KEY} for you", param=KEY))
    with pytest.raises(PermanentProviderError) as info:
        await run(script)
    assert KEY not in str(info.value) and "***" in str(info.value)


async def test_the_key_is_redacted_from_transport_errors() -> None:
    """A transport error whose text contains the key is scrubbed too."""
    script = Script().submit(submitted()).poll(httpx.ReadError(f"reset while sending Bearer {KEY}"))
    with pytest.raises(TransientProviderError) as info:
        await run(script, http_retries=0)
    assert KEY not in str(info.value) and KEY not in repr(info.value.args)


def test_the_key_is_not_in_the_config_repr() -> None:
    """The config's repr (what a traceback or a debugger shows) leaves the key out."""
    provider = make_provider(Script().handler)
    assert KEY not in repr(provider.config)
    assert BASE in repr(provider.config)
