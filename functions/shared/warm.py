"""What a warm execution environment keeps between invocations, in one place, so it can all be discarded.

In Lambda an execution environment belongs to one function of one stage for its whole life, so caching
settings, boto3 clients and a pipeline's wiring per process is right: a warm invocation reuses them. The
local stage runs every function in one process — and a test process may bring several stages up one after
another, each on its own endpoint with its own queue URLs. When the stage changes, everything cached must
go, exactly as if Lambda had started fresh environments: :func:`reset_all` does that, and every cache in
``functions/`` registers itself here (:func:`cached` for a wiring function, :func:`on_reset` for the rest).
"""
from __future__ import annotations

import functools
import threading
from typing import Callable, TypeVar

__all__ = ["cached", "on_reset", "reset_all"]

F = TypeVar("F", bound=Callable)
_lock = threading.Lock()
_resets: list[Callable[[], None]] = []


def on_reset(reset: Callable[[], None]) -> Callable[[], None]:
    """Register ``reset`` to run when the environment is discarded; returns it (usable as a decorator)."""
    with _lock:
        _resets.append(reset)
    return reset


def cached(fn: F) -> F:
    """``functools.cache`` whose cache is discarded with the environment."""
    wrapped = functools.cache(fn)
    on_reset(wrapped.cache_clear)
    return wrapped  # type: ignore[return-value]


def reset_all() -> None:
    """Discard every registered cache: the next invocation builds its wiring from the current environment."""
    with _lock:
        resets = list(_resets)
    for reset in resets:
        reset()
