"""Bounded worker threads for a handler's I/O-bound AWS calls, each task in a copy of the caller's context.

A batch handler whose work is one round trip per item (the log indexer's conditional writes) is bound by
the sum of its round trips when it issues them one after another; a few threads overlap them. Two things
must follow a task onto its worker thread:

* the **context** (:mod:`contextvars`) of the thread that submitted it — the runtime may keep per-invocation
  state there (the local stage keeps the invocation's sandbox in a ``ContextVar``, so a timed-out
  invocation's worker threads are refused AWS calls just like its own thread). A
  :class:`~concurrent.futures.ThreadPoolExecutor` runs tasks in the worker's own, empty context, so every
  task here runs in ``contextvars.copy_context()`` taken at submission (one copy per task: a context cannot
  be entered by two threads at once);
* the **thread's name** as a prefix, so logs and tools that tell invocations apart by thread name (the local
  stage's modelled AWS round trip applies to invocation threads only) count the workers as the invocation's.

No import of boto3 or of the local stage here: the handlers stay deployable as they are.
"""
from __future__ import annotations

import contextvars
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Sequence, TypeVar

__all__ = ["ContextExecutor", "run_all", "Result"]

T = TypeVar("T")
R = TypeVar("R")


class ContextExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the submitter's context, on threads named after it.

    Parameters
    ----------
    max_workers
        The bound on threads (and so on calls in flight at once).
    """

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max(1, int(max_workers)),
                         thread_name_prefix=threading.current_thread().name)

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:  # type: ignore[override]
        """Schedule ``fn(*args, **kwargs)`` in a copy of the calling thread's context."""
        context = contextvars.copy_context()
        return super().submit(context.run, fn, *args, **kwargs)


class Result(tuple):
    """``(item, value, error)`` of one task; exactly one of ``value`` / ``error`` is meaningful."""

    __slots__ = ()

    def __new__(cls, item: Any, value: Any, error: BaseException | None) -> "Result":
        return super().__new__(cls, (item, value, error))

    @property
    def item(self) -> Any:
        return self[0]

    @property
    def value(self) -> Any:
        return self[1]

    @property
    def error(self) -> BaseException | None:
        return self[2]


def run_all(fn: Callable[[T], R], items: Iterable[T], max_workers: int) -> list[Result]:
    """Apply ``fn`` to every item, at most ``max_workers`` at once; one :class:`Result` per item, in order.

    An item's exception is returned in its result, not raised, so one failed call does not hide what
    the others did (a batch handler reports failures per record). A ``BaseException`` that is not an
    ``Exception`` (an interpreter exit, the local stage's refusal of a killed invocation's call) is
    raised once every task has finished. One item, or one worker, runs inline: no thread for nothing.
    """
    todo: Sequence[T] = list(items)
    if not todo:
        return []
    if max_workers <= 1 or len(todo) == 1:
        results = [_call(fn, item) for item in todo]
    else:
        with ContextExecutor(min(max_workers, len(todo))) as pool:
            futures = [pool.submit(_call, fn, item) for item in todo]
            results = [f.result() for f in futures]
    fatal = next((r.error for r in results if r.error is not None and not isinstance(r.error, Exception)), None)
    if fatal is not None:
        raise fatal
    return results


def _call(fn: Callable[[T], R], item: T) -> Result:
    try:
        return Result(item, fn(item), None)
    except BaseException as exc:  # noqa: BLE001 - returned to the caller, fatal ones re-raised there
        return Result(item, None, exc)
