"""Time, backoff and the adaptive in-flight window of the evolink provider.

Everything that waits goes through a ``Clock`` so tests drive time by hand and never
sleep for real (the idea of stamina's test mode). The window is AIMD, as in TCP
congestion control: the gateway publishes no concurrency limit and answers excess
with 429, so the number of tasks in flight grows while submits succeed and shrinks
when one is throttled, converging below the hidden cap instead of hammering it.

Choices, measured with benchmarks/throughput_bench.py (1 s tasks, 500 assets):

* Start small, grow fast. The window starts at ``initial_in_flight`` (4) and, until
  the first 429, grows by one per accepted submit: TCP's slow start, which doubles
  per round trip. A round trip here is a submit (milliseconds), not a task, so 50
  jobs have 50 tasks running within a quarter of a second of the first submit; a
  start at the ``--jobs`` limit would gain nothing and would open a build against a
  capped gateway with a burst of refusals.
* Shrink to 0.7x, not 0.5x (``WINDOW_DECREASE``, CUBIC's factor, RFC 9438). The cap
  this window meets is a fixed number of tasks, not a shared link: halving left the
  window below a cap of 10 most of the time (0.79 of the ideal throughput with
  ``--jobs 64``); 0.7 gives 0.89-0.90, at 0.04 refusals per asset instead of 0.03.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import anyio


class Clock(Protocol):
    """Where the provider gets the time from and how it waits."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (deadlines, intervals)."""
        ...

    def time(self) -> float:
        """Unix seconds (only to read an HTTP-date ``Retry-After``)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; cancellable."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))


Random = Callable[[], float]  # uniform in [0, 1), like random.random

WINDOW_DECREASE = 0.7  # the in-flight window after a 429, as a share of what it was


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with "equal jitter": half the delay fixed, half random.

    Jitter spreads the retries of many jobs hit by one outage, so they do not come
    back in lockstep; keeping half fixed keeps a floor under each wait.
    """

    base: float = 1.0
    cap: float = 30.0

    def delay(self, attempt: int, rand: Random) -> float:
        """The wait before retry number ``attempt`` (0 for the first retry)."""
        d = min(self.cap, self.base * 2.0 ** min(attempt, 30))
        return d / 2 + rand() * d / 2


def parse_retry_after(value: str | None, now: float, cap: float) -> float | None:
    """``Retry-After`` as seconds from ``now`` (delta-seconds or HTTP-date), capped; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - now
    if seconds != seconds:  # NaN
        return None
    return min(cap, max(0.0, seconds))


@dataclass(frozen=True, slots=True)
class Permit:
    """One slot in the window; remembers the window's epoch when it was taken."""

    epoch: int


class AIMDWindow:
    """Caps tasks in flight at an adaptive limit: additive increase, multiplicative decrease.

    Until the first throttle the window grows by one per success (slow start); after
    it, by ``1 / window`` per success, i.e. about one per window's worth of successes.
    A throttle multiplies it by ``decrease`` (a half by default, the classic AIMD; the
    provider uses ``WINDOW_DECREASE``), at most once per epoch: requests sent under the
    old window that are throttled after the decrease do not shrink it again, so a
    burst of 429s from one round costs one decrease, not one per request.
    """

    def __init__(
        self,
        initial: float = 4.0,
        *,
        minimum: float = 1.0,
        maximum: float = 256.0,
        decrease: float = 0.5,
    ) -> None:
        if not 0.0 < decrease < 1.0:
            raise ValueError("decrease must be between 0 and 1")
        self.decrease = decrease
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
        self._window = min(self.maximum, max(minimum, initial))
        self._in_flight = 0
        self._epoch = 0
        self._throttled = False
        self._changed: anyio.Event | None = None  # made in the event loop, on first wait
        self.peak = 0  # most permits ever held at once (for tests and diagnostics)

    @property
    def limit(self) -> int:
        return int(self._window)

    @property
    def window(self) -> float:
        return self._window

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self) -> Permit:
        """Wait for a free slot and take it."""
        while self._in_flight >= self.limit:
            if self._changed is None:
                self._changed = anyio.Event()
            await self._changed.wait()
        self._in_flight += 1
        self.peak = max(self.peak, self._in_flight)
        return Permit(self._epoch)

    def release(self, permit: Permit) -> None:
        """Give the slot back (the task ended, or the submit is waiting to retry)."""
        self._in_flight = max(0, self._in_flight - 1)
        self._notify()

    def succeeded(self, permit: Permit) -> None:
        """A submit under this permit was accepted: grow the window."""
        step = 1.0 if not self._throttled else 1.0 / self._window
        self._window = min(self.maximum, self._window + step)
        self._notify()

    def throttled(self, permit: Permit) -> None:
        """A submit under this permit got a 429: shrink the window, once per epoch."""
        self._throttled = True
        if permit.epoch != self._epoch:
            return
        self._epoch += 1
        self._window = max(self.minimum, self._window * self.decrease)

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None
