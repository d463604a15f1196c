"""functions.shared.concurrency: bounded workers that carry the caller's context and thread name."""
from __future__ import annotations

import contextvars
import threading
import time

import pytest

from functions.shared.concurrency import ContextExecutor, run_all

_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("test_var", default="unset")


class Fatal(BaseException):
    """Stands in for a refusal that must not be swallowed (the local stage's killed sandbox)."""


def test_tasks_see_the_submitters_context_values():
    _VAR.set("invocation-1")
    results = run_all(lambda i: (_VAR.get(), i), range(8), max_workers=4)
    assert [r.value for r in results] == [("invocation-1", i) for i in range(8)]


def test_worker_threads_are_named_after_the_submitting_thread():
    names: list[str] = []

    def body() -> None:
        names.extend(r.value for r in run_all(lambda _: threading.current_thread().name, range(6), max_workers=3))

    t = threading.Thread(target=body, name="invoke-relay-test-log-indexer")
    t.start()
    t.join()
    assert names and all(n.startswith("invoke-relay-test-log-indexer") for n in names)


def test_calls_overlap_up_to_the_bound():
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow(_: int) -> None:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1

    t0 = time.perf_counter()
    run_all(slow, range(12), max_workers=4)
    elapsed = time.perf_counter() - t0
    assert peak[0] == 4
    assert elapsed < 12 * 0.05 / 2, f"12 x 50 ms on 4 workers took {elapsed:.2f} s"


def test_an_items_exception_is_returned_and_the_others_still_run():
    def maybe(i: int) -> int:
        if i == 2:
            raise ValueError("throttled")
        return i * 10

    results = run_all(maybe, range(5), max_workers=3)
    assert [r.value for r in results if r.error is None] == [0, 10, 30, 40]
    assert isinstance(results[2].error, ValueError) and results[2].item == 2


@pytest.mark.parametrize("workers", [1, 4])
def test_a_fatal_base_exception_is_raised_after_the_batch(workers):
    ran: list[int] = []

    def body(i: int) -> None:
        ran.append(i)
        if i == 1:
            raise Fatal("refused")

    with pytest.raises(Fatal):
        run_all(body, range(4), max_workers=workers)
    assert sorted(ran) == [0, 1, 2, 3]


def test_executor_copies_context_per_task_so_tasks_cannot_leak_into_each_other():
    _VAR.set("caller")

    def set_and_read(value: str) -> str:
        _VAR.set(value)
        time.sleep(0.01)
        return _VAR.get()

    with ContextExecutor(4) as pool:
        got = [f.result() for f in [pool.submit(set_and_read, f"task-{i}") for i in range(8)]]
    assert got == [f"task-{i}" for i in range(8)]
    assert _VAR.get() == "caller"
