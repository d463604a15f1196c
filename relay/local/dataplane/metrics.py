"""``AWS/Lambda`` metrics, as Lambda publishes them, aggregated locally and flushed to CloudWatch.

:class:`MetricsRecorder` is pure (no boto3): it folds observations into statistic sets per
(function, metric). :class:`CloudWatchPublisher` flushes them with ``PutMetricData`` every few seconds
in a background thread, so handlers never wait on CloudWatch.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

__all__ = ["MetricsRecorder", "CloudWatchPublisher", "NAMESPACE", "UNITS"]

NAMESPACE = "AWS/Lambda"
UNITS = {
    "Invocations": "Count",
    "Errors": "Count",
    "Throttles": "Count",
    "Duration": "Milliseconds",
    "ConcurrentExecutions": "Count",
    "IteratorAge": "Milliseconds",
    # invocations Lambda's recursive loop detection stopped (see recursion.py)
    "RecursiveInvocationsDropped": "Count",
}
# PutMetricData accepts up to 1000 metric data per call; stay well inside it
CHUNK = 500

log = logging.getLogger(__name__)


@dataclass
class _Stats:
    count: float = 0.0
    total: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)


class MetricsRecorder:
    """Thread-safe accumulator of statistic sets per ``(FunctionName, metric)``."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._lock = threading.Lock()
        self._stats: dict[tuple[str, str], _Stats] = {}
        self._clock = clock

    def record(self, function_name: str, metric: str, value: float) -> None:
        """Add one observation (``Invocations`` 1, ``Duration`` 12.5, ...)."""
        if metric not in UNITS:
            raise ValueError(f"unknown AWS/Lambda metric {metric!r} (known: {', '.join(UNITS)})")
        with self._lock:
            self._stats.setdefault((function_name, metric), _Stats()).add(float(value))

    def drain(self) -> list[dict[str, Any]]:
        """Return the ``MetricData`` items accumulated so far and start over."""
        with self._lock:
            stats, self._stats = self._stats, {}
        now = self._clock()
        return [
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "FunctionName", "Value": fn}],
                "Timestamp": now,
                "StatisticValues": {"SampleCount": s.count, "Sum": s.total, "Minimum": s.minimum,
                                    "Maximum": s.maximum},
                "Unit": UNITS[metric],
            }
            for (fn, metric), s in sorted(stats.items())
        ]


class CloudWatchPublisher:
    """Flushes a :class:`MetricsRecorder` to CloudWatch every ``interval`` seconds (and once on stop)."""

    def __init__(self, recorder: MetricsRecorder, cloudwatch: Callable[[], Any], interval: float = 2.0) -> None:
        self._recorder = recorder
        self._cloudwatch = cloudwatch
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="dataplane-metrics", daemon=True)
            self._thread.start()

    def flush(self) -> int:
        """Send what has accumulated; return the number of metric data sent."""
        data = self._recorder.drain()
        if not data:
            return 0
        cw = self._cloudwatch()
        for i in range(0, len(data), CHUNK):
            cw.put_metric_data(Namespace=NAMESPACE, MetricData=data[i:i + CHUNK])
        return len(data)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - a metrics hiccup must not stop the data plane
                log.exception("flushing AWS/Lambda metrics failed")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            self.flush()
        except Exception:  # noqa: BLE001
            log.exception("final flush of AWS/Lambda metrics failed")
