"""A thread-safe queue whose items become available after a delay (retry backoff without sleeping workers)."""
from __future__ import annotations

import heapq
import itertools
import threading
import time
from typing import Generic, TypeVar

__all__ = ["DelayQueue"]

T = TypeVar("T")


class DelayQueue(Generic[T]):
    """``put(item, delay)``; ``get(timeout)`` returns the earliest item that is due, or ``None``."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, T]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, item: T, delay: float = 0.0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), item))
            self._cond.notify()

    def get(self, timeout: float) -> T | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    return None
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    return heapq.heappop(self._heap)[2]
                wake = deadline if not self._heap else min(deadline, self._heap[0][0])
                if now >= deadline:
                    return None
                self._cond.wait(max(0.0, wake - now))

    def __len__(self) -> int:
        with self._cond:
            return len(self._heap)

    def drain(self) -> list[T]:
        """Remove and return every item, due or not (in due order)."""
        with self._cond:
            items = [entry[2] for entry in sorted(self._heap)]
            self._heap.clear()
            return items

    def close(self) -> None:
        """Wake every waiting ``get`` and make it (and every later one) return ``None``."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
