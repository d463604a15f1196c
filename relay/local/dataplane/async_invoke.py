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
from relay.local.dataplane.trace import note

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
                note("async.late", spec.arn, event, collected=self._collected)
                return item.request_id
        self._queue_for(spec).queue.put(item)
        note("async.queued", spec.arn, event)
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
                    fq.queue.put(item)  # not run: collect() hands it to the next start
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
        note("async.invoked", spec.arn, item.payload, attempt=item.attempts, error=result.error_type)
        if result.error_type == "Local.Stopping":
            # killed or refused because the stage is stopping: not an attempt; the event is carried over
            item.attempts -= 1
            with self._lock:
                if not self._collected:
                    fq.queue.put(item)
            return
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
            note("async.retry", spec.arn, item.payload, attempt=item.attempts)
            return
        self._fail(spec, conf, item, result.error_payload, "RetriesExhausted")

    def _fail(self, spec: FunctionSpec, conf: AsyncConfig, item: _Event, error: dict | None, condition: str) -> None:
        note("async.dead-lettered", spec.arn, item.payload, condition=condition, destination=conf.on_failure)
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
        note("async.replayed", spec.arn, item.payload)

    def stop(self, timeout: float = 10.0) -> int:
        """Stop (see :meth:`halt` and :meth:`collect`); return how many events were left unrun."""
        self.halt()
        self._invoker.wait_idle(timeout)
        return len(self.collect(timeout))

    def halt(self) -> None:
        """Stop taking queued events (no drain) and accept new ones only for the carry-over.

        A stop must not wait for the backlog: in AWS the async event queue is durable, and the local
        stage carries it across a restart instead (:meth:`collect`).
        """
        with self._lock:
            self._accepting = False
            self._stopping.set()
            for q in self._queues.values():
                q.queue.close()

    def collect(self, timeout: float = 2.0) -> list[dict]:
        """After :meth:`halt` (and the invoker's kill): every event not finished, for the carry-over.

        Queued events, events whose attempt was running (killed or still running at the bound: they run
        again after the restart — at least once, as in AWS; the S3-triggered handlers are idempotent),
        and events submitted while stopping.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = [t for q in self._queues.values() for t in q.threads]
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            found = [e for q in self._queues.values() for e in (*q.queue.drain(), *q.running.values())]
            found += self._late
            self._late = []
            self._collected = True
        # an attempt refused while stopping puts its event back before leaving `running`: keep it once
        left = list({e.request_id: e for e in found}.values())
        if left:
            log.warning("data plane stopped with %d asynchronous events not run", len(left))
        for e in left:
            note("async.carried", e.function_arn, e.payload, attempts=e.attempts)
        return [{"function_arn": e.function_arn, "payload": e.payload, "request_id": e.request_id,
                 "received_at": e.received_at, "attempts": e.attempts} for e in left]
