"""Asynchronous invocation (S3 notifications): an event queue per function, retries, destinations.

AWS semantics: an async event is retried twice on a function error (``MaximumRetryAttempts`` of the
function's event invoke config, 0–2), then — or once it is older than ``MaximumEventAgeInSeconds`` —
sent to the on-failure destination with ``condition`` ``RetriesExhausted`` (``EventAgeExceeded``).
AWS waits about a minute, then two, between attempts; locally the backoff is short and configurable.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from relay.local.dataplane.delay_queue import DelayQueue
from relay.local.dataplane.destinations import DestinationSender
from relay.local.dataplane.invoker import Invoker
from relay.local.dataplane.records import async_failure_record
from relay.local.dataplane.registry import AsyncConfig, FunctionSpec

__all__ = ["AsyncInvoker", "DEFAULT_RETRY_DELAYS"]

log = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.0, 0.2)
DEFAULT_WORKERS = 4


@dataclass
class _Event:
    function_arn: str
    payload: Any
    request_id: str
    received_at: float
    attempts: int = 0


class _FunctionQueue:
    def __init__(self) -> None:
        self.queue: DelayQueue[_Event] = DelayQueue()
        self.threads: list[threading.Thread] = []
        self.busy = 0
        self.running: dict[str, _Event] = {}


class AsyncInvoker:
    """Queues events per function and runs them with Lambda's async retry and destination rules.

    Parameters
    ----------
    invoker
        Runs one invocation.
    lookup
        ``lookup(function_arn) -> (FunctionSpec, AsyncConfig)``; raises ``KeyError`` for an unknown function.
    destinations
        Sends the on-failure / on-success record.
    retry_delays
        Seconds to wait before retry 1, 2, ... (the last value repeats).
    clock
        Wall clock (epoch seconds) for record timestamps and event age.
    """

    def __init__(self, invoker: Invoker, lookup: Callable[[str], tuple[FunctionSpec, AsyncConfig]],
                 destinations: DestinationSender, retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
                 workers_per_function: int = DEFAULT_WORKERS, clock: Callable[[], float] = time.time) -> None:
        self._invoker = invoker
        self._lookup = lookup
        self._destinations = destinations
        self._retry_delays = tuple(retry_delays) or (0.0,)
        self._workers = workers_per_function
        self._clock = clock
        self._queues: dict[str, _FunctionQueue] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._accepting = True
        self._late: list[_Event] = []  # submitted while stopping: carried over, not run
        self._collected = False

    def submit(self, function_arn: str, event: Any) -> str:
        """Queue ``event`` for ``function_arn`` (as ``Invoke`` with ``InvocationType=Event``); return the request id."""
        spec, _ = self._lookup(function_arn)
        item = _Event(spec.arn, event, str(uuid.uuid4()), self._clock())
        with self._lock:
            if not self._accepting:
                # AWS accepted the event (the S3 PUT succeeded): keep it for the carry-over, never drop it
                if self._collected:
                    log.error("async event %s for %s arrived after the data plane stopped: not run",
                              item.request_id, spec.name)
                self._late.append(item)
                return item.request_id
        self._queue_for(spec).queue.put(item)
        return item.request_id

    def pending(self) -> int:
        """Events queued or running, over all functions."""
        with self._lock:
            return sum(len(q.queue) + q.busy for q in self._queues.values())

    def _queue_for(self, spec: FunctionSpec) -> _FunctionQueue:
        with self._lock:
            fq = self._queues.get(spec.arn)
            if fq is None:
                fq = self._queues[spec.arn] = _FunctionQueue()
                workers = spec.reserved_concurrency or self._workers
                for i in range(max(1, workers)):
                    t = threading.Thread(target=self._work, args=(fq,), name=f"async-{spec.name}-{i}", daemon=True)
                    fq.threads.append(t)
                    t.start()
            return fq

    def _work(self, fq: _FunctionQueue) -> None:
        while True:
            item = fq.queue.get(timeout=0.2)
            if self._stopping.is_set():
                if item is not None:
                    fq.queue.put(item)  # not run: stop_and_collect() hands it to the next start
                return
            if item is None:
                continue
            with self._lock:
                fq.busy += 1
                fq.running[item.request_id] = item
            try:
                self._attempt(fq, item)
            except Exception:  # noqa: BLE001 - one bad event must not kill the worker
                log.exception("async invoke of %s failed in the data plane", item.function_arn)
            finally:
                with self._lock:
                    fq.busy -= 1
                    fq.running.pop(item.request_id, None)

    def _attempt(self, fq: _FunctionQueue, item: _Event) -> None:
        try:
            spec, conf = self._lookup(item.function_arn)
        except KeyError:
            log.warning("async event %s dropped: function %s no longer exists", item.request_id, item.function_arn)
            return
        if self._clock() - item.received_at > conf.maximum_event_age_s:
            self._fail(spec, conf, item, None, "EventAgeExceeded")
            return
        item.attempts += 1
        result = self._invoker.invoke(spec, item.payload)
        if result.ok:
            if conf.on_success:
                self._send(conf.on_success, {**async_failure_record(
                    request_id=item.request_id, function_arn=spec.arn, event=item.payload, attempts=item.attempts,
                    now=self._clock(), error=None, condition="Success"),
                    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
                    "responsePayload": result.payload})
            return
        retries_done = item.attempts - 1
        if retries_done < conf.maximum_retry_attempts:
            delay = self._retry_delays[min(retries_done, len(self._retry_delays) - 1)]
            fq.queue.put(item, delay)
            return
        self._fail(spec, conf, item, result.error_payload, "RetriesExhausted")

    def _fail(self, spec: FunctionSpec, conf: AsyncConfig, item: _Event, error: dict | None, condition: str) -> None:
        if not conf.on_failure:
            log.warning("async event %s for %s discarded (%s, no on-failure destination)",
                        item.request_id, spec.name, condition)
            return
        self._send(conf.on_failure, async_failure_record(
            request_id=item.request_id, function_arn=spec.arn, event=item.payload, attempts=item.attempts,
            now=self._clock(), error=error, condition=condition))

    def _send(self, destination: str, record: dict) -> None:
        try:
            self._destinations.send(destination, record)
        except Exception:  # noqa: BLE001 - AWS also drops a record it cannot deliver; say so loudly
            log.exception("could not deliver destination record to %s", destination)

    def resubmit(self, saved: dict) -> None:
        """Queue an event saved by :meth:`stop` (a restart), keeping its id, age and attempts."""
        spec, _ = self._lookup(saved["function_arn"])
        item = _Event(spec.arn, saved["payload"], saved["request_id"], float(saved["received_at"]),
                      int(saved.get("attempts", 0)))
        self._queue_for(spec).queue.put(item)

    def stop(self, timeout: float = 10.0) -> int:
        """Stop accepting, finish queued and running events within ``timeout``; return how many were left."""
        return len(self.stop_and_collect(timeout))

    def stop_and_collect(self, timeout: float = 10.0) -> list[dict]:
        """:meth:`stop`, returning the events not finished (queued, or running at the bound) for a restart.

        In AWS the async event queue is durable; the local stage carries it across a restart this way.
        An event that was running may run again: the S3-triggered handlers are idempotent.
        """
        with self._lock:
            self._accepting = False
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stopping.set()
        with self._lock:
            threads = [t for q in self._queues.values() for t in q.threads]
            for q in self._queues.values():
                q.queue.close()
        for t in threads:
            t.join(max(0.1, deadline - time.monotonic()))
        with self._lock:
            left = [e for q in self._queues.values() for e in (*q.queue.drain(), *q.running.values())]
            left += self._late
            self._late = []
            self._collected = True
        if left:
            log.warning("data plane stopped with %d asynchronous events not run", len(left))
        return [{"function_arn": e.function_arn, "payload": e.payload, "request_id": e.request_id,
                 "received_at": e.received_at, "attempts": e.attempts} for e in left]
