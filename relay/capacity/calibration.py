"""Calibrate the log indexer's batch duration d(B) and drive the messages stream → log indexer pipeline.

Lambda invocations and durations come from the ``AWS/Lambda`` metrics the data plane publishes to
CloudWatch, as an operator would read them in AWS (:func:`lambda_metrics`). :func:`calibrate_batch_duration`
and :func:`run_stream_load` drive the pipeline for the sizing model; :func:`lane_cycles` reads the timed
handler's batches back.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping, Sequence

__all__ = ["lambda_metrics", "calibrate_batch_duration", "run_stream_load", "StreamLoadResult",
           "create_shadow_table", "add_calibration_lane", "lane_cycles", "utc_now", "event_item", "write_events",
           "indexed", "wait_until", "keep_only_the_log_indexer"]

# ---- CloudWatch AWS/Lambda --------------------------------------------------------------------------
def lambda_metrics(cloudwatch: Any, function_name: str, start: datetime, end: datetime) -> dict[str, float]:
    """Invocations, Duration (sum, count, mean ms) and IteratorAge (max, mean ms) of one function in a window."""
    out: dict[str, float] = {}
    for metric, stats in (("Invocations", ["Sum"]), ("Duration", ["Sum", "SampleCount"]),
                          ("IteratorAge", ["Maximum", "Sum", "SampleCount"])):
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName=metric, Dimensions=[{"Name": "FunctionName", "Value": function_name}],
            StartTime=start, EndTime=end, Period=60, Statistics=stats)["Datapoints"]
        for s in stats:
            values = [p[s] for p in points if s in p]
            out[f"{metric}.{s}"] = (max(values) if s == "Maximum" else sum(values)) if values else 0.0
    out["Duration.Mean"] = out["Duration.Sum"] / out["Duration.SampleCount"] if out["Duration.SampleCount"] else 0.0
    out["IteratorAge.Mean"] = (out["IteratorAge.Sum"] / out["IteratorAge.SampleCount"]
                               if out["IteratorAge.SampleCount"] else 0.0)
    return out


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# ---- the messages stream → log indexer ----------------------------------------------------------------
def event_item(i: int, tag: str, now_ms: int) -> dict[str, Any]:
    """A message event as the send worker writes it (docs/CONTRACTS.md, messages table)."""
    mid = f"msg_{tag}{i:024x}"[:36]
    return {"pk": {"S": f"MSG#{mid}"}, "sk": {"S": f"EVT#{now_ms:013d}#00#DELIVERED"},
            "messageId": {"S": mid}, "requestId": {"S": f"req_{tag}{i:020d}"[:30]},
            "recipient": {"S": f"user-{i % 50}"}, "channel": {"S": "email"}, "status": {"S": "DELIVERED"},
            "provider": {"S": "outbox"}, "ts": {"N": str(now_ms)}, "expiresAt": {"N": str(now_ms // 1000 + 86400)}}


def write_events(dynamodb: Any, table: str, count: int, rate_per_s: float | None, tag: str) -> float:
    """Write ``count`` events (25 per BatchWriteItem), paced at ``rate_per_s`` if given; returns seconds taken."""
    t0 = time.monotonic()
    for start in range(0, count, 25):
        if rate_per_s:
            due = t0 + start / rate_per_s
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        now_ms = int(time.time() * 1000)
        batch = [{"PutRequest": {"Item": event_item(i, tag, now_ms)}} for i in range(start, min(count, start + 25))]
        pending = {table: batch}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return time.monotonic() - t0


def create_shadow_table(dynamodb: Any, name: str) -> str:
    """A table shaped like the messages table (stream NEW_IMAGE) that no mapping reads: ballast writes."""
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    return name


def add_calibration_lane(clients: Callable[[str], Any], outputs: Mapping[str, Any], suffix: str, batch_size: int,
                         backlog: int, handler: str | None = "relay.capacity.timed_handler.lambda_handler"
                         ) -> dict[str, str]:
    """A second copy of the log-indexer pipeline, with its own table, function and mapping, and a backlog.

    The function has the log indexer's code (wrapped by ``handler``, which times each batch), role,
    memory and environment; the mapping reads a table
    shaped like the messages table that holds ``backlog`` events, so it runs full batches of
    ``batch_size`` for as long as the backlog lasts. Run next to a checked pipeline, it measures d(B)
    under the very same CPU share (the emulator and every handler share this process).
    """
    lam, ddb = clients("lambda"), clients("dynamodb")
    conf = lam.get_function_configuration(FunctionName=outputs["log_indexer_function"])
    name = f"{outputs['log_indexer_function']}-{suffix}"
    table = create_shadow_table(ddb, f"{outputs['message_table']}-{suffix}")
    write_events(ddb, table, backlog, None, tag=suffix)
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("placeholder.py", "")  # the data plane runs the code from this checkout
    lam.create_function(FunctionName=name, Runtime=conf["Runtime"], Role=conf["Role"], Handler=handler or conf["Handler"],
                        Code={"ZipFile": buf.getvalue()}, Timeout=conf["Timeout"], MemorySize=conf["MemorySize"],
                        Environment={"Variables": dict(conf.get("Environment", {}).get("Variables", {}))})
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    uuid = lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn, StartingPosition="TRIM_HORIZON",
                                           BatchSize=batch_size, ParallelizationFactor=1)["UUID"]
    return {"function": name, "table": table, "uuid": uuid, "batch_size": str(batch_size), "backlog": str(backlog)}


def keep_only_the_log_indexer(clients: Callable[[str], Any], outputs: Mapping[str, Any]) -> None:
    """Delete every other function of a deployed stage, with its mappings: one pipeline measured, no pollers'
    noise (a stage's ``prepare`` hook, before the data plane starts)."""
    lam = clients("lambda")
    for fn in lam.list_functions()["Functions"]:
        if fn["FunctionName"] != outputs["log_indexer_function"]:
            for m in lam.list_event_source_mappings(FunctionName=fn["FunctionName"])["EventSourceMappings"]:
                lam.delete_event_source_mapping(UUID=m["UUID"])
            lam.delete_function(FunctionName=fn["FunctionName"])


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f}s")
        time.sleep(0.05)


def _set_mapping(lam: Any, uuid: str, settle_s: float, **changes: Any) -> None:
    lam.update_event_source_mapping(UUID=uuid, **changes)
    time.sleep(settle_s)  # the data plane re-reads mappings every poll interval


def calibrate_batch_duration(clients: Callable[[str], Any], outputs: Mapping[str, Any], batch_sizes: Sequence[int],
                             records_per_size: int, settle_s: float = 1.2,
                             timeout: float = 60.0) -> list[tuple[float, float]]:
    """Measure d(B) for the log indexer: one backlog run per batch size, full batches.

    The mapping is disabled while ``records_per_size`` events are written, so the backlog is waiting
    when it is enabled again and every batch but the last is full. Returns ``(mean records per
    batch, mean duration s)`` per size, from the AWS/Lambda metrics of the run.
    """
    lam, ddb, cw = clients("lambda"), clients("dynamodb"), clients("cloudwatch")
    fn, uuid, table = outputs["log_indexer_function"], outputs["log_indexer_esm_uuid"], outputs["message_table"]
    samples: list[tuple[float, float]] = []
    for n, size in enumerate(batch_sizes):
        _set_mapping(lam, uuid, settle_s, Enabled=False, BatchSize=size, ParallelizationFactor=1)
        start = utc_now()
        write_events(ddb, table, records_per_size, None, tag=f"c{n}{size}")
        _set_mapping(lam, uuid, 0.0, Enabled=True)
        wait_until(lambda: indexed(clients, outputs, records_per_size, f"c{n}{size}"), timeout,
              f"calibration at batch size {size}")
        time.sleep(settle_s)  # let the last metrics flush
        m = lambda_metrics(cw, fn, start - timedelta(seconds=1), utc_now() + timedelta(minutes=1))
        samples.append((records_per_size / m["Invocations.Sum"], m["Duration.Mean"] / 1000.0))
    return samples


@dataclass(frozen=True)
class StreamLoadResult:
    """What one paced run of the stream pipeline measured."""

    records: int
    load_s: float
    arrival_per_s: float
    batch_size: int
    factor: int
    invocations: float
    iterator_age_max_s: float
    iterator_age_mean_s: float
    duration_mean_s: float


def run_stream_load(clients: Callable[[str], Any], outputs: Mapping[str, Any], rate_per_s: float, load_s: float,
                    batch_size: int, factor: int, settle_s: float = 1.2, timeout: float = 90.0) -> StreamLoadResult:
    """Write events at ``rate_per_s`` for ``load_s`` seconds and measure IteratorAge until they are indexed."""
    lam, ddb, cw = clients("lambda"), clients("dynamodb"), clients("cloudwatch")
    fn, uuid, table = outputs["log_indexer_function"], outputs["log_indexer_esm_uuid"], outputs["message_table"]
    _set_mapping(lam, uuid, settle_s, Enabled=True, BatchSize=batch_size, ParallelizationFactor=factor)
    count = int(rate_per_s * load_s)
    tag = f"l{batch_size}x{factor}"
    start = utc_now()
    took = write_events(ddb, table, count, rate_per_s, tag=tag)
    wait_until(lambda: indexed(clients, outputs, count, tag, factor), timeout, "stream load indexed")
    time.sleep(settle_s)  # let the last metrics flush
    m = lambda_metrics(cw, fn, start - timedelta(seconds=1), utc_now() + timedelta(minutes=1))
    return StreamLoadResult(records=count, load_s=took, arrival_per_s=count / took if took > 0 else rate_per_s,
                            batch_size=batch_size, factor=factor, invocations=m["Invocations.Sum"],
                            iterator_age_max_s=m["IteratorAge.Maximum"] / 1000.0,
                            iterator_age_mean_s=m["IteratorAge.Mean"] / 1000.0,
                            duration_mean_s=m["Duration.Mean"] / 1000.0)


def indexed(clients: Callable[[str], Any], outputs: Mapping[str, Any], count: int, tag: str, factor: int = 1) -> bool:
    """Whether all ``count`` events written under ``tag`` have their VIEW.

    A lane indexes its records in order, so it is enough that the last event of each of the mapping's
    ``factor`` lanes has its VIEW (the data plane's own lane assignment): a handful of reads, where the
    last few events alone could all fall in lanes that finished while another still works.
    """
    ddb = clients("dynamodb")
    return all("Item" in ddb.get_item(TableName=outputs["log_table"], Key={"pk": {"S": pk}, "sk": {"S": "VIEW"}},
                                      ProjectionExpression="pk") for pk in _lane_tails(count, tag, factor))


@functools.lru_cache(maxsize=64)
def _lane_tails(count: int, tag: str, factor: int) -> tuple[str, ...]:
    """The last message key of each lane (computed once per load: ``indexed`` is polled while the lanes run)."""
    from relay.local.dataplane.stream_poller import lane_of

    last: dict[int, str] = {}
    for i in range(count):
        pk = event_item(i, tag, 0)["pk"]["S"]
        last[lane_of({"S": pk}, factor)] = pk
    return tuple(last.values())


def lane_cycles(function_name: str, start_mono: float, end_mono: float) -> list[tuple[int, float]]:
    """``(records, seconds until the next batch started)`` for each batch of a timed lane in the window."""
    from relay.capacity.timed_handler import BATCHES

    runs = sorted(BATCHES.get(function_name, []))
    return [(n, nxt[0] - t0) for (t0, _, n), nxt in zip(runs, runs[1:]) if start_mono <= t0 and nxt[0] <= end_mono]
