"""A test handler that records every call and behaves as the test tells it to.

Tests register ``BEHAVIOUR[function_name] = callable(event, context)``; its return value (or exception)
is the handler's. ``CALLS[function_name]`` lists ``(event, context)`` in call order; ``MAX_ACTIVE``
holds the highest number of concurrent calls seen per function.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any, Callable

CALLS: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
BEHAVIOUR: dict[str, Callable[[Any, Any], Any]] = {}
ACTIVE: dict[str, int] = defaultdict(int)
MAX_ACTIVE: dict[str, int] = defaultdict(int)
LOCK = threading.Lock()


def reset() -> None:
    with LOCK:
        CALLS.clear()
        BEHAVIOUR.clear()
        ACTIVE.clear()
        MAX_ACTIVE.clear()


def handler(event: Any, context: Any) -> Any:
    name = context.function_name
    with LOCK:
        CALLS[name].append((event, context))
        ACTIVE[name] += 1
        MAX_ACTIVE[name] = max(MAX_ACTIVE[name], ACTIVE[name])
    try:
        behaviour = BEHAVIOUR.get(name)
        return behaviour(event, context) if behaviour else None
    finally:
        with LOCK:
            ACTIVE[name] -= 1
