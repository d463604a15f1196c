"""Compose the ``relay capacity`` report from a stage config, a calls file and a rate (pure)."""
from __future__ import annotations

import math
import re
from typing import Any

from infra.config import StageConfig
from relay.capacity import aws_durations, prices
from relay.capacity.calls import CallsFile
from relay.capacity.model import (AWS_STREAM_POLL_S, ORDERING_CAVEAT, cost_per_million, predict_stream,
                                  smallest_factor)

__all__ = ["parse_rate", "parse_duration", "build_report", "chosen_durations", "InputError", "PARTITION_WRITES_PER_S",
           "DURATIONS"]

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


DURATIONS = ("aws", "measured")


def chosen_durations(calls: CallsFile, requested: str | None = None) -> str:
    """``aws`` (estimated from each function's calls) or ``measured`` (the calls file's own durations).

    Without a request: ``aws`` for a file measured on the local stage that names each function's calls (its
    durations are the emulator's), ``measured`` for anything else — a real stage's metrics win.

    Raises
    ------
    InputError
        For ``aws`` when the file does not say which calls each function made.
    """
    if requested is None:
        return "aws" if calls.stage == "local" and calls.per_function_calls else "measured"
    if requested not in DURATIONS:
        raise InputError(f"--durations {requested!r}: expected aws or measured")
    if requested == "aws" and not calls.per_function_calls:
        raise InputError("--durations aws: the calls file does not say which AWS calls each function made "
                         "(measure it again with .venv/bin/python bench/calls.py)")
    return requested


def build_report(cfg: StageConfig, calls: CallsFile, rate_per_s: float, target_s: float,
                 poll_interval_s: float = AWS_STREAM_POLL_S, durations: str | None = None) -> dict[str, Any]:
    """Everything ``relay capacity`` prints, as a JSON-ready dict.

    ``rate_per_s`` is the rate of notifications of each kind priced (a send rate for the stream
    sizing: the log indexer reads the message events that sends produce). ``durations`` picks the
    durations the figures use (:func:`chosen_durations`); the other set is priced too, for comparison.
    """
    used = chosen_durations(calls, durations)
    names = sorted({n for flow in calls.flows.values() for n in flow.functions} | {"log_indexer"})
    memory = {n: cfg.memory_for(n.replace("_", "-")) for n in names}
    report: dict[str, Any] = {
        "stage": cfg.stage,
        "rate_per_s": rate_per_s,
        "iterator_age_target_s": target_s,
        "durations": used,
        "inputs": {
            "stage_config": {"memory_size": cfg.memory_size, "memory": memory, "architecture": cfg.architecture,
                             "job_batch_size": cfg.job_batch_size, "job_batching_window": cfg.job_batching_window,
                             "stream_batch_size": cfg.stream_batch_size,
                             "parallelization_factor": cfg.parallelization_factor, "region": cfg.region},
            "calls": {"source": calls.source, "measured_at": calls.measured_at, "stage": calls.stage,
                      "command": calls.command, "notifications": dict(calls.notifications)},
            "prices": {"checked": prices.PRICES_CHECKED, "region": prices.REGION},
            "stream_poll_interval_s": poll_interval_s,
        },
        "cost_per_million": {},
        "stream": None,
        "stream_other": None,
        "notes": [],
    }
    if calls.stage == "local" and used == "measured":
        report["notes"].append("durations (Lambda GB-s and the log indexer's d(B)) were measured against the emulator "
                               "on one machine and are pessimistic for AWS; to size a real stage, put d(B) from its "
                               "log indexer's Duration metric into a calls file and pass it with --calls")
    if cfg.region != prices.REGION:
        report["notes"].append(f"prices are {prices.REGION} list prices; the stage runs in {cfg.region}")

    send = calls.flows.get("send")
    per_message = send.stream_records if send is not None and send.stream_records else 1.0
    batch = {"measured": calls.log_indexer_duration,
             "aws": aws_durations.indexer_batch_duration(memory["log_indexer"], per_message)
             if calls.per_function_calls else None}
    fills = {"aws": 1.0, "measured": 1.0}
    for kind in DURATIONS:
        sized = _stream(cfg, send, batch[kind], rate_per_s, target_s, poll_interval_s)
        if sized is None:
            continue
        sized["durations"] = kind
        fills[kind] = sized.pop("_fill")
        report["stream" if kind == used else "stream_other"] = sized
    if report["stream"] is None:
        report["notes"].append("the calls file has no send flow or no log_indexer_duration: stream sizing skipped")
    elif report["stream"]["needed_factor"] is None:
        report["notes"].append("no factor up to 10 keeps IteratorAge under the target: raise the batch size, "
                               "make the log indexer faster, or add shards")

    for kind, usage in calls.flows.items():
        priced = {}
        for which in DURATIONS:
            if which == "aws" and not calls.per_function_calls:
                continue
            flow = (aws_durations.aws_usage(usage, memory.__getitem__, per_message) if which == "aws" else usage)
            priced[which] = cost_per_million(flow, memory_mb=memory, architecture=cfg.architecture,
                                             job_batch_size=cfg.job_batch_size,
                                             job_batching_window_s=cfg.job_batching_window, stream_fill=fills[which],
                                             notifications_per_s=rate_per_s)
        cost = priced[used]
        report["cost_per_million"][kind] = {
            "description": usage.description,
            "total_usd": cost.total_usd,
            "total_usd_by_durations": {k: c.total_usd for k, c in priced.items()},
            "lines": [{"service": ln.service, "usd": ln.usd, "quantity": ln.quantity, "unit": ln.unit,
                       "detail": ln.detail} for ln in cost.lines],
            "assumptions": dict(cost.assumptions),
            "dynamodb_wru": usage.dynamodb_wru,
            "dynamodb_wru_by_table": dict(calls.wru_by_table.get(kind, {})),
            "provider_calls_excluded": dict(calls.provider_calls.get(kind, {})),
        }
    return report


def _stream(cfg: StageConfig, send: Any, dur: Any, rate_per_s: float, target_s: float,
            poll_interval_s: float) -> dict[str, Any] | None:
    """The stream sizing at one d(B) (``_fill``: the mean batch the cost model prices), or None without one."""
    if send is None or dur is None:
        return None
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
    return {
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
        "_fill": configured.batch_records if configured.stable else float(cfg.stream_batch_size),
    }


def _prediction_dict(p: Any) -> dict[str, Any]:
    return {"factor": p.factor, "stable": p.stable, "iterator_age_s": _finite(p.iterator_age_s),
            "batch_records": p.batch_records, "batch_duration_s": p.batch_duration_s,
            "age_growth_per_s": p.age_growth_per_s, "record_latency_s": _finite(p.record_latency_s),
            "lane_records_per_s": p.lane_arrival_per_s,
            "lane_capacity_per_s": _finite(p.lane_capacity_per_s), "utilisation": p.utilisation}
