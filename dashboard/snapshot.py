"""One stage's health at a glance, assembled from :mod:`dashboard.ops` reads (no streamlit).

Cost per stage: 4 ``GetQueueAttributes``, one ``GetMetricData`` (all series at once), one
``DescribeAlarms`` and, only for non-empty DLQs without a CloudWatch age, one sampling receive.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from dashboard import health, ops
from infra.config import StageConfig

__all__ = ["DlqHealth", "StageSnapshot", "take_snapshot", "FUNCTIONS", "WINDOW_MINUTES"]

FUNCTIONS = ("api_function", "send_worker_function", "request_worker_function", "job_worker_function",
             "log_indexer_function")
WINDOW_MINUTES = 15


@dataclass(frozen=True)
class DlqHealth:
    kind: str
    count: int
    oldest_age_s: float | None
    age_is_lower_bound: bool
    state: str


@dataclass(frozen=True)
class StageSnapshot:
    stage: str
    job_depth: ops.QueueDepth
    job_oldest_age_s: float | None
    job_state: str
    dlqs: list[DlqHealth]
    iterator_age_ms: float | None
    iterator_state: str
    function_errors: dict[str, float]
    errors_state: str
    alarms: list[dict[str, str]]
    alarms_state: str
    error: str = ""
    thresholds: Mapping[str, int] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return health.worst(self.job_state, self.iterator_state, self.errors_state, self.alarms_state,
                            *[d.state for d in self.dlqs])


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def take_snapshot(sqs: Any, cw: Any, outputs: Mapping[str, Any], cfg: StageConfig,
                  now: datetime | None = None) -> StageSnapshot:
    """Read and classify one stage (green / amber / red against ``cfg``'s alarm thresholds)."""
    now = now or datetime.now(timezone.utc)
    o = outputs
    specs = [ops.MetricSpec("iterator_age", "AWS/Lambda", "IteratorAge",
                            (("FunctionName", o.get("log_indexer_function", "")),), "Maximum"),
             ops.MetricSpec("job_oldest", "AWS/SQS", "ApproximateAgeOfOldestMessage",
                            (("QueueName", _queue_name(o.get("job_queue_url", ""))),), "Maximum")]
    for kind, q in ops.dlqs(o).items():
        specs.append(ops.MetricSpec(f"dlq_oldest:{kind}", "AWS/SQS", "ApproximateAgeOfOldestMessage",
                                    (("QueueName", _queue_name(q["url"])),), "Maximum"))
    for fn_key in FUNCTIONS:
        if o.get(fn_key):
            specs.append(ops.MetricSpec(f"errors:{o[fn_key]}", "AWS/Lambda", "Errors",
                                        (("FunctionName", o[fn_key]),), "Sum"))
    series = ops.metrics_batch(cw, specs, now - timedelta(minutes=WINDOW_MINUTES), now)

    def peak(key: str) -> float | None:
        return max((v for _, v in series.get(key, [])), default=None)

    job_depth = ops.queue_depth(sqs, o["job_queue_url"])
    job_oldest = peak("job_oldest")
    job_state = health.classify(job_oldest, cfg.oldest_job_alarm_seconds)
    dlq_rows = []
    for kind, q in ops.dlqs(o).items():
        count = ops.queue_depth(sqs, q["url"]).total
        age, lower = peak(f"dlq_oldest:{kind}"), False
        if age is None and count:
            age, lower = ops.oldest_sample_age(sqs, q["url"], now), True
        dlq_rows.append(DlqHealth(kind, count, age, lower, health.dlq_health(count)))
    it_age = peak("iterator_age")
    errors = {k.split(":", 1)[1]: sum(v for _, v in pts) for k, pts in series.items() if k.startswith("errors:")}
    errors_state = health.AMBER if any(errors.values()) else health.GREEN
    alarms = ops.alarm_states(cw, o.get("stage", cfg.stage))
    alarms_state = health.RED if any(a["state"] == "ALARM" for a in alarms) else health.GREEN
    return StageSnapshot(
        stage=cfg.stage, job_depth=job_depth, job_oldest_age_s=job_oldest, job_state=job_state, dlqs=dlq_rows,
        iterator_age_ms=it_age, iterator_state=health.classify(it_age, cfg.iterator_age_alarm_ms),
        function_errors=errors, errors_state=errors_state, alarms=alarms, alarms_state=alarms_state,
        thresholds={"iterator_age_alarm_ms": cfg.iterator_age_alarm_ms,
                    "oldest_job_alarm_seconds": cfg.oldest_job_alarm_seconds},
    )
