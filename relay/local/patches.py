"""Every change relay makes to moto and botocore, each applied once per process.

moto keeps its backends per process and botocore reads its built-in event handlers when a session is
created, so each patch is process-wide: :func:`once` makes an ``install`` function idempotent and
thread-safe (one home for the guard every patch module needs), :func:`botocore_hook` registers a
handler for every botocore session created afterwards, and :func:`install_moto_patches` is what the
emulator applies before it serves.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable, TypeVar

__all__ = ["once", "botocore_hook"]

F = TypeVar("F", bound=Callable[[], None])
_lock = threading.RLock()


def once(install: F) -> F:
    """Make ``install()`` run once per process, however many threads or emulators call it."""
    done = False

    @functools.wraps(install)
    def guarded() -> None:
        nonlocal done
        with _lock:
            if not done:
                install()
                done = True

    guarded.installed = lambda: done  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]


def botocore_hook(event: str, handler: Callable[..., Any], first: bool = False) -> None:
    """Register ``handler`` for ``event`` in every botocore session created from now on."""
    import botocore.handlers

    if first:
        botocore.handlers.BUILTIN_HANDLERS.insert(0, (event, handler))
    else:
        botocore.handlers.BUILTIN_HANDLERS.append((event, handler))
