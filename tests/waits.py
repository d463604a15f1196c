"""Waits driven by progress, not by the clock: a loaded machine gets as long as the platform keeps moving.

A fixed budget ("120 s for 40 steps") fails on a busy machine while the work is still advancing — a step
timed out under load is redelivered after the queue's visibility timeout and the run goes on. These waits
give up only when nothing has changed for ``stall_s`` seconds (or at ``cap_s``, for a run that never ends).
"""
from __future__ import annotations

import time
from typing import Any, Callable

__all__ = ["wait_progressing"]


def wait_progressing(done: Callable[[], Any], progress: Callable[[], Any], what: str | Callable[[], str],
                     stall_s: float = 60.0,
                     cap_s: float = 900.0, interval: float = 0.5) -> Any:
    """Return ``done()``'s first truthy value; fail when ``progress()`` has not changed for ``stall_s``."""
    start = last_change = time.monotonic()
    seen, last = progress(), None
    while True:
        last = done()
        if last:
            return last
        now = time.monotonic()
        moved = progress()
        if moved != seen:
            seen, last_change = moved, now
        if now - last_change > stall_s or now - start > cap_s:
            what = what() if callable(what) else what
            raise AssertionError(f"gave up waiting for {what} after {now - start:.0f} s ({now - last_change:.0f} s "
                                 f"without progress; progress {seen!r}); last: {last!r}")
        time.sleep(interval)
