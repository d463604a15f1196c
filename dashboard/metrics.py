"""CloudWatch reads: many metric series in one call, and the stage's alarms (no streamlit)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

__all__ = ["MetricSpec", "metrics_batch", "alarm_states"]


@dataclass(frozen=True)
class MetricSpec:
    """One statistic to read: ``key`` names it in the result."""

    key: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str = "Maximum"


def metrics_batch(cw: Any, specs: Iterable[MetricSpec], start: datetime, end: datetime,
                  period: int = 60) -> dict[str, list[tuple[datetime, float]]]:
    """Read many series in one ``GetMetricData`` call (up to 500 queries): ``{key: [(ts, value)...]}``."""
    specs = list(specs)
    ids = {f"q{i}": s for i, s in enumerate(specs)}
    out: dict[str, list[tuple[datetime, float]]] = {s.key: [] for s in specs}
    items = list(ids.items())
    for i in range(0, len(items), 500):
        queries = [{"Id": qid, "MetricStat": {"Metric": {"Namespace": s.namespace, "MetricName": s.metric,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in s.dimensions]}, "Period": period,
                    "Stat": s.stat}} for qid, s in items[i:i + 500]]
        token = None
        while True:
            kw: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
            if token:
                kw["NextToken"] = token
            resp = cw.get_metric_data(**kw)
            for r in resp.get("MetricDataResults", []):
                out[ids[r["Id"]].key].extend(zip(r.get("Timestamps", []), r.get("Values", [])))
            token = resp.get("NextToken")
            if not token:
                break
    return {k: sorted(v) for k, v in out.items()}


def alarm_states(cw: Any, stage: str) -> list[dict[str, str]]:
    """The stage's CloudWatch alarms (named ``relay-<stage>-…``) and their states."""
    out = []
    for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"relay-{stage}-"):
        for a in page.get("MetricAlarms", []):
            out.append({"alarm": a["AlarmName"], "state": a.get("StateValue", "INSUFFICIENT_DATA"),
                        "reason": a.get("StateReason", "")})
    return out
