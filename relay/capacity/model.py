"""The cost and capacity model: pure arithmetic over a stage config and measured AWS usage.

No boto3 and no environment here. Two questions are answered:

* **Cost**: what 1M notifications of one kind (a send, or an automation run including the sends it
  makes) cost in AWS requests and compute at a stage's settings, itemised per service
  (:func:`cost_per_million`). Provider fees (email/SMS vendors) and storage are excluded.
* **Stream sizing**: for the message-log stream mapping, the steady IteratorAge at an arrival rate,
  and the smallest parallelization factor (1..10) that keeps it under a target
  (:func:`predict_stream`, :func:`smallest_factor`).

``docs/capacity.md`` explains every assumption.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from relay.capacity import prices

__all__ = [
    "FunctionUse", "FlowUsage", "CostLine", "FlowCost", "BatchDuration", "StreamPrediction",
    "FactorChoice", "BATCHED_FUNCTIONS", "ORDERING_CAVEAT", "SQS_RECEIVE_LATENCY_S", "AWS_STREAM_POLL_S",
    "MAX_UTILISATION", "sqs_batch_fill", "cost_per_million", "predict_stream", "smallest_factor", "lambda_billed_ms",
]

MILLION = 1_000_000
# How long one SQS ReceiveMessage takes to come back with what is already queued: with no batching
# window, the poller's batch holds what arrived in that time (at most 10 per receive).
SQS_RECEIVE_LATENCY_S = 0.02
# Lambda polls each DynamoDB stream shard about four times a second.
AWS_STREAM_POLL_S = 0.25
# Size lanes to run at most this busy: the model is deterministic, real batches vary and traffic bursts.
MAX_UTILISATION = 0.8
# Functions behind event source mappings: their invocation count depends on how full batches are.
BATCHED_FUNCTIONS = ("job_worker", "log_indexer")

ORDERING_CAVEAT = (
    "A factor above 1 runs several batches of one shard at once: Lambda keeps order per partition "
    "key (one message's events stay in order) but not across keys of the shard."
)


# ---- cost -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FunctionUse:
    """One function's share of one notification, as measured.

    ``invocations`` is per notification; for batched functions the model recomputes it from the
    stage's batch settings and uses ``duration_ms`` (handler time per notification, summed over the
    invocations that served it) as the compute that does not depend on batching.
    """

    invocations: float
    duration_ms: float
    # AWS calls per notification this function made (``"dynamodb:PutItem": 1.0``), its delivery provider's
    # included: what its duration in AWS is estimated from (:mod:`relay.capacity.aws_durations`)
    calls: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FlowUsage:
    """AWS usage per notification of one kind (``send`` or ``automation``), as measured.

    Attributes
    ----------
    s3_put_tier, s3_get_tier
        S3 requests in the PUT/COPY/POST/LIST tier and in the GET/HEAD/other tier (DELETE is free).
    sqs_requests
        SQS requests the handlers make, counted in 64 KB chunks (SendMessage, ChangeMessageVisibility, …).
    job_messages
        Job messages the job worker's mapping consumes; the mapping's ReceiveMessage and
        DeleteMessageBatch calls are billed SQS requests, one each per batch.
    stream_records
        Records on the messages table's stream (one per message event); sizes the log indexer.
    dynamodb_wru, dynamodb_rru
        Write and read request units (item sizes, GSIs, consistency and transactions accounted).
    cloudwatch_put_metric_data
        PutMetricData requests made by handlers (relay's own metrics use EMF logs, so usually 0).
    functions
        Logical function name (``api``, ``send_worker``, …) → :class:`FunctionUse`.
    """

    kind: str
    s3_put_tier: float = 0.0
    s3_get_tier: float = 0.0
    sqs_requests: float = 0.0
    job_messages: float = 0.0
    stream_records: float = 0.0
    dynamodb_wru: float = 0.0
    dynamodb_rru: float = 0.0
    cloudwatch_put_metric_data: float = 0.0
    functions: Mapping[str, FunctionUse] = field(default_factory=dict)
    description: str = ""

    def scaled(self, k: float) -> "FlowUsage":
        """The same usage with every count multiplied by ``k`` (what-if and linearity checks)."""
        return FlowUsage(
            kind=self.kind, s3_put_tier=self.s3_put_tier * k, s3_get_tier=self.s3_get_tier * k,
            sqs_requests=self.sqs_requests * k, job_messages=self.job_messages * k,
            stream_records=self.stream_records * k, dynamodb_wru=self.dynamodb_wru * k,
            dynamodb_rru=self.dynamodb_rru * k, cloudwatch_put_metric_data=self.cloudwatch_put_metric_data * k,
            functions={n: FunctionUse(f.invocations * k, f.duration_ms * k, {c: v * k for c, v in f.calls.items()})
                       for n, f in self.functions.items()},
            description=self.description)


@dataclass(frozen=True)
class CostLine:
    """One service's share of the cost of 1M notifications."""

    service: str
    usd: float
    quantity: float
    unit: str
    detail: str


@dataclass(frozen=True)
class FlowCost:
    """Itemised cost of 1M notifications of one kind at one stage's settings."""

    kind: str
    lines: tuple[CostLine, ...]
    assumptions: Mapping[str, float]

    @property
    def total_usd(self) -> float:
        return sum(line.usd for line in self.lines)

    def by_service(self) -> dict[str, float]:
        return {line.service: line.usd for line in self.lines}


def sqs_batch_fill(messages_per_s: float, batch_size: int, batching_window_s: float) -> float:
    """Mean messages per job-worker batch at a steady message rate.

    With a batching window the mapping waits up to the window for ``batch_size`` messages; without one
    it invokes with whatever one ReceiveMessage returns (at most 10). Never below one message.
    """
    if messages_per_s <= 0:
        return 1.0
    if batching_window_s > 0:
        return max(1.0, min(float(batch_size), messages_per_s * batching_window_s))
    return max(1.0, min(float(min(batch_size, 10)), messages_per_s * SQS_RECEIVE_LATENCY_S))


def lambda_billed_ms(duration_ms: float, invocations: float) -> float:
    """Billed milliseconds: Lambda rounds each invocation up to the next whole millisecond."""
    if invocations <= 0:
        return 0.0
    return invocations * math.ceil(duration_ms / invocations - 1e-9)


def cost_per_million(usage: FlowUsage, *, memory_mb: int | Mapping[str, int], job_batch_size: int,
                     job_batching_window_s: float, stream_fill: float, notifications_per_s: float,
                     architecture: str = "x86_64") -> FlowCost:
    """AWS cost of 1M notifications of ``usage.kind``, itemised per service.

    Parameters
    ----------
    usage
        Measured usage per notification.
    memory_mb
        Function memory: one size for all, or per logical function name (``relay:memory``, measured
        defaults); GB-seconds = each function's billed duration x its memory.
    architecture
        ``arm64`` or ``x86_64``: the GB-second price (:func:`relay.capacity.prices.lambda_gb_second`).
    job_batch_size, job_batching_window_s
        The job worker mapping's settings; with the rate they give the batch fill.
    stream_fill
        Mean records per log-indexer batch at this rate (from :func:`predict_stream`).
    notifications_per_s
        Steady arrival rate of this kind of notification.

    Returns
    -------
    FlowCost
        Lines for Lambda requests, Lambda compute, SQS, S3, DynamoDB, DynamoDB Streams, CloudWatch.
    """
    n = MILLION
    job_fill = sqs_batch_fill(notifications_per_s * usage.job_messages, job_batch_size, job_batching_window_s)
    stream_fill = max(1.0, stream_fill)

    invocations: dict[str, float] = {}
    billed_ms = 0.0
    gb_s = 0.0
    for name, fn in usage.functions.items():
        if name == "job_worker":
            inv = usage.job_messages / job_fill
        elif name == "log_indexer":
            inv = usage.stream_records / stream_fill
        else:
            inv = fn.invocations
        invocations[name] = inv
        ms = lambda_billed_ms(fn.duration_ms, inv)
        billed_ms += ms
        mb = memory_mb if isinstance(memory_mb, (int, float)) else memory_mb[name]
        gb_s += ms / 1000.0 * (mb / 1024.0) * n
    total_inv = sum(invocations.values()) * n
    memory_text = (f"{memory_mb} MB" if isinstance(memory_mb, (int, float)) else
                   ", ".join(f"{k} {memory_mb[k]}" for k in sorted(usage.functions)) + " MB")

    esm_sqs = 2.0 * usage.job_messages / job_fill  # ReceiveMessage + DeleteMessageBatch per batch
    sqs_total = (usage.sqs_requests + esm_sqs) * n
    s3_put, s3_get = usage.s3_put_tier * n, usage.s3_get_tier * n
    wru, rru = usage.dynamodb_wru * n, usage.dynamodb_rru * n
    stream_reads = usage.stream_records / stream_fill * n  # one GetRecords per batch at most; free for Lambda
    cw = usage.cloudwatch_put_metric_data * n

    per_fn = ", ".join(f"{k} {v:.3g}" for k, v in sorted(invocations.items()))
    lines = (
        CostLine("lambda_requests", total_inv * prices.LAMBDA_REQUEST, total_inv, "invocations",
                 f"per notification: {per_fn}"),
        CostLine("lambda_compute", gb_s * prices.lambda_gb_second(architecture), gb_s, "GB-s",
                 f"{billed_ms:.3g} billed ms per notification at {memory_text} ({architecture})"),
        CostLine("sqs", sqs_total * prices.SQS_STANDARD_REQUEST, sqs_total, "requests",
                 f"handlers {usage.sqs_requests:.3g} + job mapping polls {esm_sqs:.3g} per notification "
                 f"({job_fill:.3g} jobs per batch)"),
        CostLine("s3", s3_put * prices.S3_STANDARD_PUT_TIER + s3_get * prices.S3_STANDARD_GET_TIER,
                 s3_put + s3_get, "requests", f"PUT tier {usage.s3_put_tier:.3g} + GET tier "
                 f"{usage.s3_get_tier:.3g} per notification"),
        CostLine("dynamodb", wru * prices.DYNAMODB_ON_DEMAND_WRU + rru * prices.DYNAMODB_ON_DEMAND_RRU,
                 wru + rru, "request units", f"{usage.dynamodb_wru:.3g} WRU + {usage.dynamodb_rru:.3g} RRU "
                 "per notification (on-demand)"),
        CostLine("dynamodb_streams", 0.0, stream_reads, "read requests",
                 "GetRecords by a Lambda trigger are free; "
                 f"{usage.stream_records:.3g} records per notification in batches of {stream_fill:.3g}"),
        CostLine("cloudwatch", cw * prices.CLOUDWATCH_PUT_METRIC_DATA_REQUEST, cw, "requests",
                 "PutMetricData from handlers; AWS/Lambda metrics are free"),
    )
    return FlowCost(kind=usage.kind, lines=lines,
                    assumptions={"job_batch_fill": job_fill, "stream_batch_fill": stream_fill,
                                 "billed_ms": billed_ms, "notifications_per_s": notifications_per_s})


# ---- stream sizing ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchDuration:
    """d(b) = ``fixed_s`` + ``per_record_s`` x b: how long the log indexer takes for a batch of b records."""

    fixed_s: float
    per_record_s: float

    def __call__(self, records: float) -> float:
        return self.fixed_s + self.per_record_s * records

    @classmethod
    def fit(cls, samples: Iterable[tuple[float, float]]) -> "BatchDuration":
        """Least-squares line through ``(batch records, duration s)`` samples, clamped to be non-negative.

        Raises
        ------
        ValueError
            With fewer than two samples or a single batch size (the slope is then undetermined).
        """
        pts = [(float(b), float(d)) for b, d in samples]
        if len(pts) < 2:
            raise ValueError(f"need at least 2 (batch size, duration) samples to fit d(B), got {len(pts)}")
        mb = sum(b for b, _ in pts) / len(pts)
        md = sum(d for _, d in pts) / len(pts)
        sbb = sum((b - mb) ** 2 for b, _ in pts)
        if sbb == 0:
            raise ValueError(f"all samples have batch size {mb:g}: need two sizes to separate overhead "
                             "from per-record time")
        slope = sum((b - mb) * (d - md) for b, d in pts) / sbb
        slope = max(0.0, slope)
        return cls(fixed_s=max(0.0, md - slope * mb), per_record_s=slope)


@dataclass(frozen=True)
class StreamPrediction:
    """Steady state of one stream mapping at one factor.

    Attributes
    ----------
    stable
        False when arrivals reach the lanes' capacity: the backlog, and IteratorAge, grow without bound.
    batch_records
        Mean records per batch the rate actually fills (at most the batch size).
    batch_duration_s
        d(batch_records).
    iterator_age_s
        Steady IteratorAge as AWS defines it (age of the batch's last record when the batch is sent to
        the function): the read lag ``poll / 2 + read_latency`` while the lanes keep up, ``inf`` otherwise.
    age_growth_per_s
        When unstable, how many seconds IteratorAge gains per second of load (``1 - capacity / arrivals``
        per lane); 0 when stable.
    record_latency_s
        Mean time from a record's write to the end of the batch that indexes it (wait + d(batch)):
        how stale the message-log views are. ``inf`` when unstable.
    utilisation
        Arrival rate per lane over one lane's capacity B / d(B).
    """

    factor: int
    arrival_per_s: float
    lane_arrival_per_s: float
    lane_capacity_per_s: float
    stable: bool
    batch_records: float
    batch_duration_s: float
    iterator_age_s: float
    age_growth_per_s: float
    record_latency_s: float
    utilisation: float
    poll_interval_s: float
    read_latency_s: float

    def peak_iterator_age(self, load_s: float) -> float:
        """IteratorAge of the last record of a load lasting ``load_s`` seconds at this rate.

        A lane that falls behind sends its k-th record, written at ``k / m``, at ``k / capacity``: the
        age grows linearly with the time under load. For a stable lane this is the steady age.
        """
        base = self.poll_interval_s / 2.0 + self.read_latency_s
        if self.stable:
            return base
        return base + max(0.0, load_s) * (self.lane_arrival_per_s / self.lane_capacity_per_s - 1.0)


def predict_stream(arrival_per_s: float, batch_size: int, factor: int, duration: BatchDuration, *,
                   poll_interval_s: float = AWS_STREAM_POLL_S, read_latency_s: float = 0.0,
                   shards: int = 1) -> StreamPrediction:
    """Predict the steady state of a stream mapping: stability, batch fill, IteratorAge, latency.

    Each of ``shards`` x ``factor`` lanes receives an equal share ``m`` of the records (Lambda spreads a
    shard's records over its lanes by partition key) and runs one batch at a time. One lane drains at
    most ``B / d(B)`` records/s; at or above that, the backlog grows and IteratorAge is unbounded
    (growing by ``1 - capacity / m`` seconds per second). Below it, a lane takes everything that arrived
    while its previous batch ran, the fixed point ``b = m a / (1 - m c)`` of ``b = m d(b)``, and at least
    what one poll interval brings (``m p``) and one record. Since each batch is sent with everything
    read so far, its last record is at most one poll old: steady IteratorAge is about ``p / 2`` plus the
    read latency, whatever the factor. A record waits for the next poll, or for its busy lane's batch
    to end, then its own batch runs: that is the record latency.
    """
    if factor < 1 or batch_size < 1 or shards < 1:
        raise ValueError(f"factor, batch size and shards must be >= 1 (got {factor}, {batch_size}, {shards})")
    lam = max(0.0, float(arrival_per_s))
    p = float(poll_interval_s)
    m = lam / (shards * factor)
    full = duration(batch_size)
    capacity = batch_size / full if full > 0 else math.inf
    utilisation = 0.0 if math.isinf(capacity) else m / capacity
    if m >= capacity:
        growth = 1.0 - capacity / m
        return StreamPrediction(factor, lam, m, capacity, False, float(batch_size), full, math.inf, growth,
                                math.inf, utilisation, p, read_latency_s)
    a, c = duration.fixed_s, duration.per_record_s
    busy_b = m * a / (1.0 - m * c)  # records that arrive while the lane runs one batch (fixed point)
    b = min(float(batch_size), max(busy_b, m * p, 1.0)) if lam > 0 else 0.0
    d = duration(b)
    busy = min(1.0, m * d / b) if b > 0 else 0.0  # share of time the lane is running a batch
    # a record waits for the next poll (half an interval on average) and, if its lane is busy with a
    # batch longer than the interval, for the rest of that batch instead
    wait = p / 2.0 + busy * max(0.0, d - p) / 2.0
    age = p / 2.0 + read_latency_s
    return StreamPrediction(factor, lam, m, capacity, True, b, d, age, 0.0, wait + d, utilisation, p,
                            read_latency_s)


@dataclass(frozen=True)
class FactorChoice:
    """The smallest factor that meets the target (``None`` if even 10 does not) and every prediction."""

    factor: int | None
    target_s: float
    max_utilisation: float
    predictions: tuple[StreamPrediction, ...]
    caveat: str = ORDERING_CAVEAT

    @property
    def chosen(self) -> StreamPrediction | None:
        return None if self.factor is None else self.predictions[self.factor - 1]


def smallest_factor(arrival_per_s: float, batch_size: int, duration: BatchDuration, target_s: float, *,
                    poll_interval_s: float = AWS_STREAM_POLL_S, read_latency_s: float = 0.0, shards: int = 1,
                    max_utilisation: float = MAX_UTILISATION,
                    factors: Sequence[int] = tuple(range(1, 11))) -> FactorChoice:
    """Smallest parallelization factor (1..10) that keeps IteratorAge under ``target_s``.

    A factor qualifies when its lanes keep up with ``max_utilisation`` headroom (a deterministic model
    is optimistic near saturation, where bursts and slow batches build a backlog) and its predicted
    steady IteratorAge is under the target.
    """
    preds = tuple(predict_stream(arrival_per_s, batch_size, f, duration, poll_interval_s=poll_interval_s,
                                 read_latency_s=read_latency_s, shards=shards) for f in factors)
    chosen = next((p.factor for p in preds
                   if p.stable and p.utilisation <= max_utilisation and p.iterator_age_s < target_s), None)
    return FactorChoice(factor=chosen, target_s=target_s, max_utilisation=max_utilisation, predictions=preds)
