"""The log indexer's handler, timed: when each batch started and ended, and how many records it had.

The calibration pipelines of the model check run this handler (it calls the real one), so the time a
lane is busy per batch — including the data plane's own work between two batches — can be read from
consecutive batch starts. Kept in memory per function name; the data plane runs handlers in-process.
"""
from __future__ import annotations

import threading
import time
from typing import Any

__all__ = ["lambda_handler", "BATCHES", "reset"]

BATCHES: dict[str, list[tuple[float, float, int]]] = {}
_lock = threading.Lock()


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    """Run ``functions.log_indexer.handler.lambda_handler`` and note ``(start, end, records)``."""
    from functions.log_indexer.handler import lambda_handler as indexer

    t0 = time.monotonic()
    try:
        return indexer(event, context)
    finally:
        with _lock:
            BATCHES.setdefault(context.function_name, []).append(
                (t0, time.monotonic(), len(event.get("Records", []))))


def reset() -> None:
    with _lock:
        BATCHES.clear()
