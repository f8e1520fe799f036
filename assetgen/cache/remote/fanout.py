"""Many network requests at once, from threads that a ^C never waits for.

A pull's streams and a plan's lookahead each spend most of their time blocked on a
socket, and a hung server holds such a read for the whole read timeout (a minute).
``concurrent.futures`` would make a ^C wait for every read in flight, at the pool's
shutdown and again at interpreter exit; these threads are daemons instead, and the
calling thread, one of the workers itself, raises a ^C at once.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Feed(Generic[T]):
    """Items handed to the workers a batch at a time, under a lock."""

    def __init__(self, items: Iterable[T]) -> None:
        self._items: Iterator[T] = iter(items)
        self._lock = threading.Lock()

    def take(self, n: int) -> list[T]:
        with self._lock:
            return list(itertools.islice(self._items, n))


def run_workers(work: Callable[[threading.Event], None], n: int, name: str) -> None:
    """Run ``work(stop)`` in ``n`` threads, the calling one among them, until all return.

    Each worker checks ``stop`` between items. The first exception sets it and is
    raised once the others have stopped. A ^C (or any BaseException that is not an
    Exception) in the calling thread sets it and is raised at once: the other
    workers are daemon threads, left to notice ``stop`` after their current item.
    """
    stop = threading.Event()
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            work(stop)
        except BaseException as exc:
            failures.append(exc)
            stop.set()

    threads = [
        threading.Thread(target=worker, name=f"{name}-{i}", daemon=True) for i in range(1, n)
    ]
    try:
        for thread in threads:
            thread.start()
        try:
            work(stop)
        except Exception as exc:
            failures.append(exc)
            stop.set()
        for thread in threads:
            thread.join()
    except BaseException:
        stop.set()
        raise
    if failures:
        raise failures[0]
