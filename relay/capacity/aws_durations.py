"""Lambda durations and the log indexer's d(B) as AWS would show them, from published latencies (pure).

The local stage measures durations against an emulator in the same process on a shared laptop: every AWS
call a handler makes is served by moto on the handler's own core, so GB-seconds and d(B) measured there are
the emulator's, not AWS's (the send worker took ~1 s per send locally). This module estimates AWS's from
what is known exactly — which calls each function makes per notification (``bench/calls.py`` files them by
function) — and from published figures:

* each AWS call waits one round trip (:data:`LATENCY`): DynamoDB's documented single-digit-millisecond
  average for singleton operations, S3's "tens of milliseconds" for small objects;
* CPU at one vCPU per invocation, per AWS call (botocore builds, signs and parses each request: 0.28 ms
  measured here for a PutItem) and per stream record; Lambda gives a function one vCPU at 1,769 MB and a
  proportional share below, so CPU time stretches by ``1769 / memory``.

A function's duration per notification is then ``Σ calls × latency + (invocations × cpu_invocation + calls ×
cpu_call) × stretch``. The log indexer writes its VIEWs concurrently (:data:`INDEXER_WRITERS` at once, one per
message after coalescing), so its batch takes ``d(B) = a + c·B`` with ``a = cpu_invocation × stretch +
one write round trip`` and ``c = (cpu_record + cpu_call / r) × stretch + write latency / (writers × r)``, ``r``
being stream records per message. Every constant is in docs/capacity.md with its source; a real stage's own
``Duration`` metric (``relay capacity --calls``) beats all of them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Mapping

from relay.capacity.model import BatchDuration, FlowUsage, FunctionUse

__all__ = ["Latency", "LATENCY", "ONE_VCPU_MB", "CPU_PER_INVOCATION_MS", "CPU_PER_CALL_MS",
           "CPU_PER_STREAM_RECORD_MS", "INDEXER_WRITERS", "call_latency_ms", "cpu_stretch", "function_duration_ms",
           "indexer_batch_duration", "aws_usage"]


@dataclass(frozen=True)
class Latency:
    """One AWS call's round trip as seen from a Lambda function in the same region, and where it comes from."""

    ms: float
    source: str


LATENCY: Mapping[str, Latency] = {
    "dynamodb:item": Latency(6.0, "DynamoDB developer guide, 'Troubleshooting latency issues': singleton operations "
                                  "(GetItem, PutItem, UpdateItem, DeleteItem) average single-digit milliseconds "
                                  "service side (SuccessfulRequestLatency); taken as 5 ms + 1 ms in-region transport"),
    "dynamodb:multi": Latency(12.0, "same page: Query, Scan, BatchWriteItem, BatchGetItem and transactions depend on "
                                    "size and items; twice a singleton assumed for relay's few small items"),
    "s3": Latency(30.0, "S3 performance whitepaper, 'Timeouts and retries for latency-sensitive applications': small "
                        "requests (< 512 KB) have median latencies in the tens of milliseconds; 30 ms taken"),
    "sqs": Latency(20.0, "assumption: no published average; SQS acknowledges SendMessage after storing copies in "
                         "several Availability Zones (SQS developer guide), so above a DynamoDB write"),
    "other": Latency(30.0, "assumption for SES, SNS, SSM and CloudWatch calls: no published average"),
}
ONE_VCPU_MB = 1769  # Lambda developer guide, 'Configure Lambda function memory': one vCPU at 1,769 MB
CPU_PER_INVOCATION_MS = 1.0      # at one vCPU: the event's parsing, logging, the handler's own rules
CPU_PER_CALL_MS = 0.3            # at one vCPU: botocore serialises, signs and parses (0.28 ms for a PutItem here)
CPU_PER_STREAM_RECORD_MS = 0.05  # at one vCPU: the log indexer's parse and coalesce (0.02 ms per record here)
INDEXER_WRITERS = 16             # functions.log_indexer.handler.WRITERS (a test keeps the two equal)
_MULTI = ("Query", "Scan", "BatchWriteItem", "BatchGetItem", "TransactWriteItems", "TransactGetItems")


def call_latency_ms(call: str) -> float:
    """The round trip of one ``"service:Operation"`` call (:data:`LATENCY`)."""
    service, _, operation = call.partition(":")
    if service == "dynamodb":
        return LATENCY["dynamodb:multi" if operation in _MULTI else "dynamodb:item"].ms
    return LATENCY.get(service, LATENCY["other"]).ms


def cpu_stretch(memory_mb: int) -> float:
    """How much longer CPU work takes at ``memory_mb`` than at one vCPU (never faster than one vCPU)."""
    return max(1.0, ONE_VCPU_MB / max(1, memory_mb))


def function_duration_ms(use: FunctionUse, memory_mb: int) -> float:
    """AWS handler time per notification of a function whose calls run one after another."""
    calls = sum(use.calls.values())
    waits = sum(count * call_latency_ms(call) for call, count in use.calls.items())
    return waits + (use.invocations * CPU_PER_INVOCATION_MS + calls * CPU_PER_CALL_MS) * cpu_stretch(memory_mb)


def indexer_batch_duration(memory_mb: int, records_per_message: float,
                           writers: int = INDEXER_WRITERS) -> BatchDuration:
    """The log indexer's d(B) in AWS: coalesced VIEW writes, ``writers`` at a time (see the module docstring)."""
    r = max(1.0, records_per_message)
    stretch = cpu_stretch(memory_mb)
    write = LATENCY["dynamodb:item"].ms
    fixed_ms = CPU_PER_INVOCATION_MS * stretch + write
    per_record_ms = (CPU_PER_STREAM_RECORD_MS + CPU_PER_CALL_MS / r) * stretch + write / (max(1, writers) * r)
    return BatchDuration(fixed_s=fixed_ms / 1000.0, per_record_s=per_record_ms / 1000.0)


def aws_usage(usage: FlowUsage, memory_mb: Callable[[str], int], records_per_message: float) -> FlowUsage:
    """``usage`` with every function's duration replaced by its AWS estimate (counts unchanged).

    ``memory_mb`` gives a function's memory by its logical name (``send_worker``). The log indexer's time is
    its d(B): ``a`` per invocation and ``c`` per stream record.
    """
    functions: dict[str, FunctionUse] = {}
    for name, use in usage.functions.items():
        mb = memory_mb(name)
        if name == "log_indexer":
            d = indexer_batch_duration(mb, records_per_message)
            ms = (use.invocations * d.fixed_s + usage.stream_records * d.per_record_s) * 1000.0
        else:
            ms = function_duration_ms(use, mb)
        functions[name] = replace(use, duration_ms=ms)
    return replace(usage, functions=functions)
