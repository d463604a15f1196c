"""Two narrow speed-ups for moto's server, which the local stage's throughput depends on.

1. **Request routing.** For every request, moto's server asks ``moto.backends.list_of_moto_modules()``
   whether the host names a backend, and that function lists moto's package directory and ``stat``s
   ~180 entries each time (~5 ms of a ~20 ms SQS call). The answer cannot change while the process
   runs, so we compute it once.

2. **The SQS clock.** moto 5.2's SQS asks every message "are you visible / delayed?" by computing *now* through
   ``moto.core.utils.unix_time`` — two naive-datetime constructions and a subtraction, ~20 µs. Every
   ``SendMessage`` builds ``queue.attributes`` (to read ``ContentBasedDeduplication``), which counts
   the visible and in-flight messages, and every ``ReceiveMessage`` scans the queue: with a few
   thousand messages in a DLQ each call cost tens of milliseconds, almost all of it in that clock.
   We rebind the names ``unix_time`` / ``unix_time_millis`` *inside moto.sqs.models* to
   ``time.time()`` based versions (same value, same units; a given ``dt`` still goes to moto's own
   function). moto's other services are untouched.
"""
from __future__ import annotations

import time
from datetime import datetime

from relay.local.patches import once

__all__ = ["install"]



@once
def install() -> None:
    """Cache moto's module list and rebind the SQS clock (idempotent, process-wide)."""
    import moto.backends as moto_backends
    import moto.sqs.models as sqs_models

    modules = tuple(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]

    original_unix_time = sqs_models.unix_time
    original_unix_time_millis = sqs_models.unix_time_millis

    def unix_time(dt: datetime | None = None) -> float:
        return time.time() if dt is None else original_unix_time(dt)

    def unix_time_millis(dt: datetime | None = None) -> float:
        return time.time() * 1000.0 if dt is None else original_unix_time_millis(dt)

    sqs_models.unix_time = unix_time  # type: ignore[assignment]
    sqs_models.unix_time_millis = unix_time_millis  # type: ignore[assignment]


