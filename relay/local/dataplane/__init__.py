"""The local Lambda data plane: runs relay's handlers in-process with AWS's invocation semantics.

Usage::

    plane = DataPlane(endpoint_url)                    # the emulator's endpoint
    emulator.on_s3_notification(plane.on_s3_notification)
    plane.start()                                      # reads functions, mappings, notifications
    plane.invoke("relay-local-api", event)             # synchronous invoke (the HTTP front door)
    plane.stop()                                       # drains in-flight work, joins every thread

Everything it runs is read from the emulator's own APIs (``ListFunctions``, ``ListEventSourceMappings``,
``GetFunctionEventInvokeConfig``, ``GetFunctionConcurrency``, ``GetBucketNotificationConfiguration``);
mapping changes (``UpdateEventSourceMapping``) are picked up within ``poll_interval`` seconds.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from relay.local.dataplane.async_invoke import DEFAULT_RETRY_DELAYS, AsyncInvoker
from relay.local.dataplane.destinations import DestinationSender
from relay.local.dataplane.invoker import (EnvironmentBinder, EnvironmentConflictError, FunctionError, InvokeResult,
                                           Invoker, LambdaContext)
from relay.local.dataplane.metrics import CloudWatchPublisher, MetricsRecorder
from relay.local.dataplane.carry_over import CarryOver
from relay.local.dataplane.latency import set_aws_latency
from relay.local.dataplane.registry import AsyncConfig, FunctionSpec, MappingSpec, Registry, Snapshot
from relay.local.dataplane.sqs_poller import DEFAULT_POLLERS, SqsMappingRunner
from relay.local.dataplane.stream_poller import StreamMappingRunner

__all__ = ["DataPlane", "Clients", "FunctionError", "EnvironmentConflictError", "InvokeResult", "LambdaContext",
           "FunctionSpec", "MappingSpec"]

log = logging.getLogger(__name__)

LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
FULL_REFRESH_EVERY_S = 5.0


_session_lock = threading.Lock()
_session: Any = None


def _shared_session() -> Any:
    # one boto3 session per process: it caches the service models, which cost ~0.1 s per client to load
    global _session
    if _session is None:
        import boto3

        _session = boto3.session.Session()
    return _session


class Clients:
    """boto3 clients for the emulator, created lazily and once (client creation is not thread-safe)."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            with _session_lock:
                client = self._clients.get(service)
                if client is None:
                    from botocore.config import Config

                    client = _shared_session().client(
                        service, endpoint_url=self._endpoint_url, region_name=self._region,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(max_pool_connections=64, retries={"max_attempts": 3, "mode": "standard"}))
                    self._clients[service] = client
        return client


class DataPlane:
    """Reads what is deployed in the emulator and runs it: async invokes, SQS and stream mappings, metrics.

    Parameters
    ----------
    endpoint_url
        The emulator (``http://127.0.0.1:4566``); handlers get it as ``AWS_ENDPOINT_URL``.
    region
        Region of the emulated account.
    poll_interval
        Seconds between reads of the event source mapping configuration (live updates).
    stream_poll_interval
        Seconds between ``GetRecords`` calls on an idle shard (AWS polls four times a second).
    async_retry_delays
        Backoff before async retry 1 and 2 (AWS: about 1 and 2 minutes; locally short).
    sqs_pollers
        Poller threads per SQS mapping (AWS starts five).
    metrics_interval
        Seconds between ``PutMetricData`` flushes.
    stop_timeout
        Bound on :meth:`stop` (it carries the backlog over instead of draining it).
    clock
        Wall clock (epoch seconds) for event and record ages, IteratorAge and destination timestamps.
    aws_latency_ms
        Network round trip added to each AWS call a handler makes (see :mod:`.latency`); 0 = none.
    carry_over
        A file where :meth:`stop` saves what a restart must not lose — async events not yet run and
        stream records past each mapping's checkpoint — and :meth:`start` replays it (see :mod:`.carry_over`).
    """

    def __init__(self, endpoint_url: str, region: str = "us-east-1", poll_interval: float = 1.0,
                 stream_poll_interval: float = 0.25, async_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
                 sqs_pollers: int = DEFAULT_POLLERS, metrics_interval: float = 2.0,
                 stop_timeout: float = 4.0, clock: Callable[[], float] = time.time,
                 aws_latency_ms: float = 0.0, carry_over: str | Path | None = None) -> None:
        set_aws_latency(aws_latency_ms)
        self._carry_over = CarryOver(Path(carry_over)) if carry_over else None
        self.endpoint_url = endpoint_url
        self.region = region
        self.poll_interval = poll_interval
        self.stream_poll_interval = stream_poll_interval
        self.sqs_pollers = sqs_pollers
        self.stop_timeout = stop_timeout
        self._clock = clock
        self.clients = Clients(endpoint_url, region)
        self.registry = Registry(self.clients)
        self.metrics = MetricsRecorder()
        self._publisher = CloudWatchPublisher(self.metrics, lambda: self.clients("cloudwatch"), metrics_interval)
        self.invoker = Invoker(self.metrics)
        self._env = EnvironmentBinder({"AWS_ENDPOINT_URL": endpoint_url, "AWS_DEFAULT_REGION": region,
                                       "AWS_REGION": region, **LOCAL_CREDENTIALS})
        self._destinations = DestinationSender(self.clients)
        self.async_invoker = AsyncInvoker(self.invoker, self._lookup_async, self._destinations,
                                          retry_delays=async_retry_delays, clock=clock)
        self._snapshot = Snapshot()
        self._runners: dict[str, SqsMappingRunner | StreamMappingRunner] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._started = False

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "DataPlane":
        """Read everything once (raising on a bad configuration), then run mappings and the watcher."""
        self.refresh()
        self._publisher.start()
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, name="dataplane-watch", daemon=True)
        self._watcher.start()
        self._started = True
        if self._carry_over:
            self._carry_over.replay(self)
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop within about ``timeout`` seconds whatever the backlog, carrying over what is not done.

        1. Stop polling and taking queued async events (no drain: the backlog is carried over, as AWS
           keeps the async queue and the stream for a restarted consumer).
        2. Give running invocations a grace period (a quarter of the bound) to finish on their own.
        3. Kill the sandboxes of those still running (:mod:`.sandbox`): from here on no handler changes
           anything in the emulator, so what it holds is a consistent cut for the emulator's snapshot.
        4. Save the carry-over: queued, running and late async events, stream records past each
           checkpoint, and carried-over stream records not yet replayed.
        """
        if not self._started:
            return  # never started, or stopped already
        timeout = self.stop_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(max(0.1, timeout / 4))
        with self._lock:
            runners = list(self._runners.values())
            self._runners.clear()
        for r in runners:
            r.signal_stop()
        self.async_invoker.halt()
        if self._carry_over:
            self._carry_over.halt()
        self.invoker.wait_idle(timeout / 4)
        killed = self.invoker.kill_all("the local stage is stopping", timeout=max(0.1, timeout / 4))
        if killed:
            log.info("data plane: killed %d running invocations; their work is redone after a restart", killed)
        for r in runners:
            r.join(max(0.05, (deadline - time.monotonic()) / 2))
        left_async = self.async_invoker.collect(max(0.05, (deadline - time.monotonic()) / 2))
        if self._carry_over:
            self._carry_over.save(left_async, [r for r in runners if isinstance(r, StreamMappingRunner)])
        self._publisher.stop()
        self._env.release()
        self._started = False

    def __enter__(self) -> "DataPlane":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refresh(self) -> Snapshot:
        """Re-read functions, configs, notifications and mappings; start/update/stop mapping runners."""
        snap = self.registry.snapshot()
        self._env.bind(snap.functions.values())
        self.invoker.configure(snap.functions.values())
        with self._lock:
            self._snapshot = snap
        self._reconcile(snap.mappings)
        return snap

    # ---- queries ------------------------------------------------------------------------------
    def functions(self) -> list[FunctionSpec]:
        """The functions the data plane knows (as of the last refresh)."""
        return list(self._snapshot.functions.values())

    def mappings(self) -> dict[str, MappingSpec]:
        """The running mapping configurations by UUID."""
        with self._lock:
            return {u: r.mapping for u, r in self._runners.items()}

    def runner(self, uuid: str) -> SqsMappingRunner | StreamMappingRunner:
        """The runner of one mapping (tests and the bench read its shard state)."""
        with self._lock:
            return self._runners[uuid]

    # ---- invoke -------------------------------------------------------------------------------
    def invoke_result(self, function: str, event: Any) -> InvokeResult:
        """Synchronous invoke (``RequestResponse``) by name or ARN; the result says how it went."""
        return self.invoker.invoke(self._lookup(function), event)

    def invoke(self, function: str, event: Any) -> Any:
        """Synchronous invoke returning the handler's response; raises :class:`FunctionError` on an error."""
        result = self.invoke_result(function, event)
        if not result.ok:
            raise FunctionError(result.error_message or "", result.error_type or "Exception",
                                function_name=self._lookup(function).name, result=result)
        return result.payload

    def invoke_async(self, function: str, event: Any) -> str:
        """Asynchronous invoke (``Event``): queued, retried, then the on-failure destination."""
        return self.async_invoker.submit(self._lookup(function).arn, event)

    def on_s3_notification(self, function_arn: str, event: dict) -> None:
        """Emulator callback for an S3 event aimed at a function: S3 invokes Lambda asynchronously."""
        self.invoke_async(function_arn, event)

    def on_sns_notification(self, function_arn: str, event: dict) -> None:
        """Emulator callback for an SNS message to a Lambda subscription: SNS invokes Lambda asynchronously."""
        self.invoke_async(function_arn, event)

    # ---- internals ----------------------------------------------------------------------------
    def _lookup(self, function: str) -> FunctionSpec:
        try:
            return self._snapshot.function(function)
        except KeyError:
            # created since the last refresh (e.g. deployed while running): read again once
            return self.refresh().function(function)

    def _lookup_async(self, function: str) -> tuple[FunctionSpec, AsyncConfig]:
        spec = self._lookup(function)
        return spec, self._snapshot.async_configs.get(spec.arn, AsyncConfig())

    def _reconcile(self, mappings: dict[str, MappingSpec]) -> None:
        with self._lock:
            if self._stop.is_set() and self._started:
                return
            for uuid in [u for u in self._runners if u not in mappings]:
                runner = self._runners.pop(uuid)
                runner.signal_stop()
            for uuid, spec in mappings.items():
                runner = self._runners.get(uuid)
                if runner is not None:
                    if runner.mapping != spec:
                        runner.update(spec)
                    continue
                if spec.kind == "sqs":
                    runner = SqsMappingRunner(spec, self._lookup, self.invoker, lambda: self.clients("sqs"),
                                              self.region, pollers=self.sqs_pollers)
                elif spec.kind == "dynamodb":
                    runner = StreamMappingRunner(spec, self._lookup, self.invoker,
                                                 lambda: self.clients("dynamodbstreams"), self._destinations,
                                                 self.metrics, self.region, poll_interval=self.stream_poll_interval,
                                                 clock=self._clock)
                else:
                    log.warning("mapping %s: %s event sources are not run locally", uuid, spec.kind)
                    continue
                runner.start()
                self._runners[uuid] = runner

    def _watch(self) -> None:
        last_full = time.monotonic()
        while not self._stop.wait(self.poll_interval):
            try:
                if time.monotonic() - last_full >= FULL_REFRESH_EVERY_S:
                    self.refresh()
                    last_full = time.monotonic()
                else:
                    self._reconcile(self.registry.mappings())
            except Exception:  # noqa: BLE001 - keep watching; a conflict is logged until it is fixed
                log.exception("data plane refresh failed")
