"""The measured-calls file: what one notification of each kind costs in AWS calls, as JSON.

``bench/calls.py`` writes it (``relay/capacity/measured_calls.json``); ``relay capacity`` reads it.
Format (version 1)::

    {"version": 1, "measured_at": "<iso>", "command": "...", "stage": "local",
     "flows": {"send": {"notifications": 200, "description": "...",
                        "s3_put_tier": 2.0, "s3_get_tier": 1.0, "sqs_requests": 0.0, "job_messages": 0.0,
                        "stream_records": 3.0, "dynamodb_wru": 9.0, "dynamodb_rru": 2.0,
                        "cloudwatch_put_metric_data": 0.0,
                        "functions": {"api": {"invocations": 1.0, "duration_ms": 4.2,
                                              "calls": {"s3:PutObject": 1.0, ...}}, ...},
                        "calls": {"s3:PutObject": 2.0, ...},
                        "provider": {"calls": {"s3:PutObject": 1.0}, ...}},
               "automation": {...}},
     "log_indexer_duration": {"fixed_s": 0.004, "per_record_s": 0.0012, "samples": 40}}

All counts are per notification. Pure: parsing only, no I/O beyond :func:`load_calls`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from relay.capacity.model import BatchDuration, FlowUsage, FunctionUse

__all__ = ["CallsFile", "CallsFileError", "parse_calls", "load_calls", "DEFAULT_CALLS_PATH", "FLOW_KINDS"]

DEFAULT_CALLS_PATH = Path(__file__).resolve().parent / "measured_calls.json"
FLOW_KINDS = ("send", "automation")
_NUMBERS = ("s3_put_tier", "s3_get_tier", "sqs_requests", "job_messages", "stream_records", "dynamodb_wru",
            "dynamodb_rru", "cloudwatch_put_metric_data")


class CallsFileError(ValueError):
    """The calls file is missing, not JSON, or lacks a field; the message names the file and the field."""


@dataclass(frozen=True)
class CallsFile:
    """A parsed calls file."""

    flows: Mapping[str, FlowUsage]
    notifications: Mapping[str, int]
    log_indexer_duration: BatchDuration | None
    measured_at: str = ""
    command: str = ""
    stage: str = ""
    source: str = ""
    raw_calls: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # per flow, the delivery provider's own calls per notification: reported, never priced with relay's
    provider_calls: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # per flow, DynamoDB write units per notification by table
    wru_by_table: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @property
    def per_function_calls(self) -> bool:
        """Whether every function of every flow says which AWS calls it made (needed for AWS durations)."""
        return all(use.calls for flow in self.flows.values() for use in flow.functions.values())


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise CallsFileError(f"{where} must be a non-negative number, got {value!r}")
    return float(value)


def parse_calls(doc: Any, source: str = "<calls>") -> CallsFile:
    """Validate and convert a calls document (the parsed JSON) into a :class:`CallsFile`.

    Raises
    ------
    CallsFileError
        For a wrong version, a missing flow or field, or a negative / non-numeric count.
    """
    if not isinstance(doc, dict):
        raise CallsFileError(f"{source}: must be a JSON object")
    if doc.get("version") != 1:
        raise CallsFileError(f"{source}: version must be 1, got {doc.get('version')!r}")
    flows_doc = doc.get("flows")
    if not isinstance(flows_doc, dict) or not flows_doc:
        raise CallsFileError(f"{source}: 'flows' must be an object with at least one of {', '.join(FLOW_KINDS)}")
    flows: dict[str, FlowUsage] = {}
    counts: dict[str, int] = {}
    raw: dict[str, dict[str, float]] = {}
    provider: dict[str, dict[str, float]] = {}
    wru_by_table: dict[str, dict[str, float]] = {}
    for kind, f in flows_doc.items():
        where = f"{source}: flows.{kind}"
        if kind not in FLOW_KINDS:
            raise CallsFileError(f"{where}: unknown flow (known: {', '.join(FLOW_KINDS)})")
        if not isinstance(f, dict):
            raise CallsFileError(f"{where} must be an object")
        fns_doc = f.get("functions")
        if not isinstance(fns_doc, dict) or not fns_doc:
            raise CallsFileError(f"{where}.functions must name at least one function")
        fns = {}
        for name, use in fns_doc.items():
            if not isinstance(use, dict):
                raise CallsFileError(f"{where}.functions.{name} must be an object")
            calls_doc = use.get("calls") or {}
            if not isinstance(calls_doc, dict):
                raise CallsFileError(f"{where}.functions.{name}.calls must be an object")
            fns[name] = FunctionUse(invocations=_number(f"{where}.functions.{name}.invocations", use.get("invocations")),
                                    duration_ms=_number(f"{where}.functions.{name}.duration_ms", use.get("duration_ms")),
                                    calls={str(c): _number(f"{where}.functions.{name}.calls.{c}", v)
                                           for c, v in calls_doc.items()})
        values = {k: _number(f"{where}.{k}", f.get(k, 0.0)) for k in _NUMBERS}
        flows[kind] = FlowUsage(kind=kind, functions=fns, description=str(f.get("description", "")), **values)
        counts[kind] = int(_number(f"{where}.notifications", f.get("notifications", 0)))
        raw[kind] = {str(k): float(v) for k, v in (f.get("calls") or {}).items()}
        wru_by_table[kind] = {str(k): float(v) for k, v in (f.get("dynamodb_wru_by_table") or {}).items()}
        provider_doc = f.get("provider") or {}
        provider[kind] = {str(k): float(v) for k, v in (provider_doc.get("calls") or {}).items()} \
            if isinstance(provider_doc, dict) else {}
    dur_doc = doc.get("log_indexer_duration")
    duration = None
    if dur_doc is not None:
        if not isinstance(dur_doc, dict):
            raise CallsFileError(f"{source}: log_indexer_duration must be an object")
        duration = BatchDuration(fixed_s=_number(f"{source}: log_indexer_duration.fixed_s", dur_doc.get("fixed_s")),
                                 per_record_s=_number(f"{source}: log_indexer_duration.per_record_s",
                                                      dur_doc.get("per_record_s")))
    return CallsFile(flows=flows, notifications=counts, log_indexer_duration=duration,
                     measured_at=str(doc.get("measured_at", "")), command=str(doc.get("command", "")),
                     stage=str(doc.get("stage", "")), source=source, raw_calls=raw, provider_calls=provider,
                     wru_by_table=wru_by_table)


def load_calls(path: str | Path | None = None) -> CallsFile:
    """Read and parse a calls file (the committed measurement by default)."""
    p = Path(path) if path is not None else DEFAULT_CALLS_PATH
    try:
        text = p.read_text()
    except FileNotFoundError:
        hint = " (run .venv/bin/python bench/calls.py to measure it)" if path is None else ""
        raise CallsFileError(f"{p}: no such calls file{hint}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CallsFileError(f"{p}: not JSON ({exc.msg} at line {exc.lineno})") from None
    return parse_calls(doc, source=str(p))
