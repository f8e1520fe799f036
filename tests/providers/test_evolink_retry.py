"""Backoff, Retry-After parsing and the AIMD in-flight window, without real time."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from assetgen.providers.evolink.retry import AIMDWindow, Backoff, parse_retry_after

NOW = 1_767_225_600.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_backoff_doubles_up_to_the_cap_with_half_jitter() -> None:
    """Delays double per attempt, stay within [d/2, d], and never pass the cap."""
    b = Backoff(base=1.0, cap=8.0)
    assert [b.delay(i, lambda: 1.0) for i in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert [b.delay(i, lambda: 0.0) for i in range(3)] == [0.5, 1.0, 2.0]
    assert b.delay(10_000, lambda: 1.0) == 8.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("3600", 30.0),
        ("Thu, 01 Jan 2026 00:00:12 GMT", 12.0),
        ("Thu, 01 Jan 2026 01:00:00 GMT", 30.0),
        ("Wed, 31 Dec 2025 23:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_seconds_or_http_date_capped(value: str | None, expected: float | None) -> None:
    """Retry-After is read as seconds or an HTTP-date, clamped to [0, cap]; junk is ignored."""
    assert parse_retry_after(value, NOW, 30.0) == expected


@pytest.mark.anyio
async def test_window_multiplicative_decrease_then_additive_increase() -> None:
    """Throttles under one epoch halve the window once; successes then grow it back slowly."""
    w = AIMDWindow(16)
    permits = [await w.acquire() for _ in range(8)]
    for p in permits:
        w.throttled(p)  # all sent under the same window: one halving
        w.release(p)
    assert w.window == 8
    p = await w.acquire()
    w.throttled(p)  # a new round: halves again
    w.release(p)
    assert w.window == 4
    for _ in range(4):
        p = await w.acquire()
        w.succeeded(p)
        w.release(p)
    assert 4.9 < w.window < 5.0  # +1/window per success after the first throttle


@pytest.mark.anyio
async def test_window_slow_start_and_bounds() -> None:
    """Before any throttle each success adds one; the window stays within [minimum, maximum]."""
    w = AIMDWindow(2, maximum=5)
    for _ in range(10):
        p = await w.acquire()
        w.succeeded(p)
        w.release(p)
    assert w.window == 5
    for _ in range(10):
        p = await w.acquire()
        w.throttled(p)
        w.release(p)
    assert w.window == 1


@pytest.mark.anyio
async def test_window_caps_concurrent_holders() -> None:
    """No more permits are held at once than the window allows; waiters proceed on release."""
    w = AIMDWindow(3)
    held = 0
    peak = 0

    async def worker() -> None:
        nonlocal held, peak
        p = await w.acquire()
        held += 1
        peak = max(peak, held)
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        held -= 1
        w.release(p)

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(worker)
    assert peak == 3 and w.peak == 3 and w.in_flight == 0


@pytest.mark.anyio
async def test_window_converges_below_a_hidden_cap() -> None:
    """64 workers against a gateway that throttles above 10 in flight settle near the cap."""
    cap = 10
    w = AIMDWindow(4, maximum=64)
    running = 0
    throttles = 0

    async def worker(n: int) -> None:
        nonlocal running, throttles
        for _ in range(n):
            while True:
                p = await w.acquire()
                if running >= cap:
                    throttles += 1
                    w.throttled(p)
                    w.release(p)
                    await anyio.lowlevel.checkpoint()
                    continue
                running += 1
                w.succeeded(p)
                for _ in range(5):
                    await anyio.lowlevel.checkpoint()
                running -= 1
                w.release(p)
                break

    async with anyio.create_task_group() as tg:
        for _ in range(64):
            tg.start_soon(worker, 5)
    assert w.peak <= cap + 5
    assert 1 <= w.window <= 2 * cap
    assert throttles <= 64 * 5 // 10  # few refusals for 320 submits
