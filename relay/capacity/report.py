"""Compose the ``relay capacity`` report from a stage config, a calls file and a rate (pure)."""
from __future__ import annotations

import math
import re
from typing import Any

from infra.config import StageConfig
from relay.capacity import prices
from relay.capacity.calls import CallsFile
from relay.capacity.model import (AWS_STREAM_POLL_S, ORDERING_CAVEAT, cost_per_million, predict_stream,
                                  smallest_factor)

__all__ = ["parse_rate", "parse_duration", "build_report", "InputError", "PARTITION_WRITES_PER_S"]

PARTITION_WRITES_PER_S = 1000


class InputError(ValueError):
    """A command-line value cannot be read; the message names the option and shows a valid example."""


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?\s*$", re.I)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$", re.I)
_PER = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_SECONDS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def parse_rate(text: str) -> float:
    """``"1000/s"``, ``"60000/min"``, ``"250"`` → notifications per second."""
    m = _RATE.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise InputError(f"--rate {text!r}: expected a positive rate such as 1000/s or 60000/min")
    return float(m.group(1)) / _PER[(m.group(2) or "s").lower()]


def parse_duration(text: str) -> float:
    """``"30s"``, ``"500ms"``, ``"2m"``, ``"30"`` → seconds."""
    m = _DURATION.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise InputError(f"--iterator-age-target {text!r}: expected a positive duration such as 30s or 500ms")
    return float(m.group(1)) * _SECONDS[(m.group(2) or "s").lower()]


def _finite(x: float) -> float | None:
    return None if math.isinf(x) or math.isnan(x) else x


def build_report(cfg: StageConfig, calls: CallsFile, rate_per_s: float, target_s: float,
                 poll_interval_s: float = AWS_STREAM_POLL_S) -> dict[str, Any]:
    """Everything ``relay capacity`` prints, as a JSON-ready dict.

    ``rate_per_s`` is the rate of notifications of each kind priced (a send rate for the stream
    sizing: the log indexer reads the message events that sends produce).
    """
    report: dict[str, Any] = {
        "stage": cfg.stage,
        "rate_per_s": rate_per_s,
        "iterator_age_target_s": target_s,
        "inputs": {
            "stage_config": {"memory_size": cfg.memory_size, "job_batch_size": cfg.job_batch_size,
                             "job_batching_window": cfg.job_batching_window,
                             "stream_batch_size": cfg.stream_batch_size,
                             "parallelization_factor": cfg.parallelization_factor, "region": cfg.region},
            "calls": {"source": calls.source, "measured_at": calls.measured_at, "stage": calls.stage,
                      "command": calls.command, "notifications": dict(calls.notifications)},
            "prices": {"checked": prices.PRICES_CHECKED, "region": prices.REGION},
            "stream_poll_interval_s": poll_interval_s,
        },
        "cost_per_million": {},
        "stream": None,
        "notes": [],
    }
    if calls.stage == "local":
        report["notes"].append("durations (Lambda GB-s and the log indexer's d(B)) were measured against the emulator "
                               "on one machine and are pessimistic for AWS; to size a real stage, put d(B) from its "
                               "log indexer's Duration metric into a calls file and pass it with --calls")
    if cfg.region != prices.REGION:
        report["notes"].append(f"prices are {prices.REGION} list prices; the stage runs in {cfg.region}")

    stream_fill = 1.0
    send = calls.flows.get("send")
    dur = calls.log_indexer_duration
    if send is not None and dur is not None:
        arrival = rate_per_s * send.stream_records
        # a stream has a shard per table partition, and a partition takes at most 1,000 WRU/s: event
        # items are under 1 KB, so at least one shard per 1,000 records/s (DynamoDB may split further)
        shards = max(1, math.ceil(arrival / PARTITION_WRITES_PER_S))
        choice = smallest_factor(arrival, cfg.stream_batch_size, dur, target_s, poll_interval_s=poll_interval_s,
                                 shards=shards)
        configured = predict_stream(arrival, cfg.stream_batch_size, cfg.parallelization_factor, dur,
                                    poll_interval_s=poll_interval_s, shards=shards)
        lane_capacity = configured.lane_capacity_per_s
        sustained = (cfg.parallelization_factor * shards * lane_capacity * choice.max_utilisation
                     if not math.isinf(lane_capacity) else math.inf)
        stream_fill = configured.batch_records if configured.stable else float(cfg.stream_batch_size)
        report["stream"] = {
            "records_per_s": arrival,
            "records_per_send": send.stream_records,
            "shards": shards,
            "configured_factor_sends_per_s": _finite(sustained / send.stream_records) if send.stream_records else None,
            "batch_size": cfg.stream_batch_size,
            "batch_duration_model": {"fixed_s": dur.fixed_s, "per_record_s": dur.per_record_s},
            "needed_factor": choice.factor,
            "max_utilisation": choice.max_utilisation,
            "configured_factor": cfg.parallelization_factor,
            "configured": _prediction_dict(configured),
            "by_factor": [_prediction_dict(p) for p in choice.predictions],
            "caveat": ORDERING_CAVEAT,
        }
        if choice.factor is None:
            report["notes"].append("no factor up to 10 keeps IteratorAge under the target: raise the batch size, "
                                   "make the log indexer faster, or add shards")
    else:
        report["notes"].append("the calls file has no send flow or no log_indexer_duration: stream sizing skipped")

    for kind, usage in calls.flows.items():
        cost = cost_per_million(usage, memory_mb=cfg.memory_size, job_batch_size=cfg.job_batch_size,
                                job_batching_window_s=cfg.job_batching_window, stream_fill=stream_fill,
                                notifications_per_s=rate_per_s)
        report["cost_per_million"][kind] = {
            "description": usage.description,
            "total_usd": cost.total_usd,
            "lines": [{"service": ln.service, "usd": ln.usd, "quantity": ln.quantity, "unit": ln.unit,
                       "detail": ln.detail} for ln in cost.lines],
            "assumptions": dict(cost.assumptions),
        }
    return report


def _prediction_dict(p: Any) -> dict[str, Any]:
    return {"factor": p.factor, "stable": p.stable, "iterator_age_s": _finite(p.iterator_age_s),
            "batch_records": p.batch_records, "batch_duration_s": p.batch_duration_s,
            "age_growth_per_s": p.age_growth_per_s, "record_latency_s": _finite(p.record_latency_s),
            "lane_records_per_s": p.lane_arrival_per_s,
            "lane_capacity_per_s": _finite(p.lane_capacity_per_s), "utilisation": p.utilisation}
