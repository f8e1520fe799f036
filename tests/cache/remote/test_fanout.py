"""remote.fanout: many workers, the caller one of them, and a ^C that waits for none."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from assetgen.cache.remote.fanout import Feed, run_workers


def test_every_item_is_taken_exactly_once_across_workers() -> None:
    feed = Feed(range(1000))
    taken: list[int] = []
    guard = threading.Lock()

    def work(stop: threading.Event) -> None:
        while batch := feed.take(7):
            with guard:
                taken.extend(batch)

    run_workers(work, 8, "t")
    assert sorted(taken) == list(range(1000))


def test_a_feed_reads_a_generator_lazily_and_ends_empty() -> None:
    pulled: list[int] = []

    def items() -> Iterator[int]:
        for i in range(3):
            pulled.append(i)
            yield i

    feed = Feed(items())
    assert feed.take(2) == [0, 1] and pulled == [0, 1]
    assert feed.take(5) == [2] and feed.take(5) == []


def test_one_worker_runs_in_the_calling_thread_alone() -> None:
    seen: list[threading.Thread] = []
    run_workers(lambda stop: seen.append(threading.current_thread()), 1, "t")
    assert seen == [threading.current_thread()]


def test_the_first_failure_stops_the_others_and_is_raised() -> None:
    """A worker that fails sets ``stop``; the others see it, and the exception reaches
    the caller only once they have all returned."""
    saw_stop: list[bool] = []

    def work(stop: threading.Event) -> None:
        if threading.current_thread().name == "t-1":
            raise ValueError("remote said no")
        stop.wait(30)  # the item in hand, until told to stop
        saw_stop.append(stop.is_set())

    with pytest.raises(ValueError, match="remote said no"):
        run_workers(work, 3, "t")
    assert saw_stop == [True, True]


def test_a_keyboard_interrupt_in_the_caller_is_raised_at_once() -> None:
    """The caller's ^C does not join the other workers: a hung read holds up nothing."""
    release = threading.Event()
    started = threading.Event()
    stops: list[threading.Event] = []

    def work(stop: threading.Event) -> None:
        stops.append(stop)
        if threading.current_thread() is threading.main_thread():
            started.wait()
            raise KeyboardInterrupt
        started.set()
        release.wait()  # a read that never returns (until the test lets it)

    try:
        with pytest.raises(KeyboardInterrupt):
            run_workers(work, 2, "hung")
        assert stops and stops[0].is_set()  # the hung worker will stop after its item
        hung = [t for t in threading.enumerate() if t.name == "hung-1"]
        assert hung and hung[0].daemon and hung[0].is_alive()
    finally:
        release.set()
