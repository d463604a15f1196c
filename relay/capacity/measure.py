"""Measure what one notification costs in AWS calls, on the local stage, in this process.

:class:`CallCounter` wraps ``botocore.client.BaseClient._make_api_call`` (every boto3 client in the
process goes through it, whatever session made it) and files each call under its *origin*, found by
walking the caller's stack: ``handler`` when a module under ``functions.`` is on it (relay's Lambda
code, billed), ``dataplane`` when ``relay.local.dataplane`` is (what Lambda itself does in AWS: event
source mapping polls, async invokes, metrics), ``other`` for the test driver. Each call is priced in
billing units by :mod:`relay.capacity.units`.

Lambda invocations and durations come from the ``AWS/Lambda`` metrics the data plane publishes to
CloudWatch, as an operator would read them in AWS.

:func:`measure_local_stage` runs ``relay up`` in-process, sends a known number of sends and automation
runs through the HTTP API and returns the calls-file document; :func:`calibrate_batch_duration` and
:func:`run_stream_load` drive the messages stream → log indexer pipeline for the sizing model.
"""
from __future__ import annotations

import collections
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Mapping, Sequence

from relay.capacity import units

__all__ = ["CallCounter", "Tally", "origin_of", "lambda_metrics", "flow_document", "calibrate_batch_duration",
           "run_stream_load", "StreamLoadResult", "measure_local_stage", "SEND_REQUEST", "AUTOMATION_REQUEST",
           "create_shadow_table", "add_calibration_lane", "lane_cycles"]

FUNCTION_NAMES = ("api", "send_worker", "request_worker", "job_worker", "log_indexer")


def origin_of(frame: Any, handler_prefixes: Sequence[str] = ("functions.",),
              plane_prefixes: Sequence[str] = ("relay.local.dataplane",)) -> str:
    """``handler`` / ``dataplane`` / ``other``: who, up the stack from ``frame``, made this AWS call."""
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith(tuple(handler_prefixes)):
            return "handler"
        if name.startswith(tuple(plane_prefixes)):
            return "dataplane"
        frame = frame.f_back
    return "other"


@dataclass
class Tally:
    """Calls and billing units of one origin."""

    calls: collections.Counter = field(default_factory=collections.Counter)
    s3_put_tier: float = 0.0
    s3_get_tier: float = 0.0
    sqs_requests: float = 0.0
    sqs_messages_received: float = 0.0
    sqs_messages_sent: float = 0.0
    dynamodb_wru: float = 0.0
    dynamodb_rru: float = 0.0
    stream_records_read: float = 0.0
    cloudwatch_put_metric_data: float = 0.0
    wru_by_table: collections.Counter = field(default_factory=collections.Counter)

    def copy(self) -> "Tally":
        t = Tally(**{k: v for k, v in self.__dict__.items() if k not in ("calls", "wru_by_table")})
        t.calls = collections.Counter(self.calls)
        t.wru_by_table = collections.Counter(self.wru_by_table)
        return t

    def minus(self, earlier: "Tally") -> "Tally":
        t = Tally(**{k: v - getattr(earlier, k) for k, v in self.__dict__.items() if k not in ("calls", "wru_by_table")})
        for name in ("calls", "wru_by_table"):
            mine, theirs = getattr(self, name), getattr(earlier, name)
            setattr(t, name, collections.Counter({k: v - theirs.get(k, 0) for k, v in mine.items() if v - theirs.get(k, 0)}))
        return t


class CallCounter:
    """Counts every AWS API call made in this process while installed (a context manager).

    Parameters
    ----------
    handler_prefixes, plane_prefixes
        Module name prefixes that mark a call as a handler's or the data plane's.
    """

    def __init__(self, handler_prefixes: Sequence[str] = ("functions.",),
                 plane_prefixes: Sequence[str] = ("relay.local.dataplane",)) -> None:
        self.handler_prefixes = tuple(handler_prefixes)
        self.plane_prefixes = tuple(plane_prefixes)
        self._lock = threading.Lock()
        self._tallies: dict[str, Tally] = collections.defaultdict(Tally)
        self._gsis: dict[str, list[list[str]]] = {}
        self._internal = threading.local()
        self._original: Callable[..., Any] | None = None
        self.last_call: dict[str, float] = {}

    # ---- install ------------------------------------------------------------------------------
    def install(self) -> "CallCounter":
        import botocore.client

        if self._original is not None:
            return self
        original = botocore.client.BaseClient._make_api_call
        counter = self

        def counted(client: Any, operation_name: str, api_params: dict) -> Any:
            if getattr(counter._internal, "active", False):
                return original(client, operation_name, api_params)
            origin = origin_of(sys._getframe(1), counter.handler_prefixes, counter.plane_prefixes)
            response, error = None, None
            try:
                response = original(client, operation_name, api_params)
                return response
            except Exception as exc:
                error = exc
                raise
            finally:
                try:
                    counter._record(client, origin, operation_name, api_params, response, error)
                except Exception:  # noqa: BLE001 - measuring must never break the call it measures
                    pass

        self._original = original
        botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
        return self

    def uninstall(self) -> None:
        import botocore.client

        if self._original is not None:
            botocore.client.BaseClient._make_api_call = self._original  # type: ignore[method-assign]
            self._original = None

    def __enter__(self) -> "CallCounter":
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    # ---- reading ------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Tally]:
        """A copy of the tallies so far, per origin."""
        with self._lock:
            return {k: v.copy() for k, v in self._tallies.items()}

    def tally(self, origin: str) -> Tally:
        with self._lock:
            return self._tallies[origin].copy()

    # ---- pricing one call -----------------------------------------------------------------------
    def _gsi_keys(self, client: Any, table: str) -> list[list[str]]:
        if table not in self._gsis:
            self._internal.active = True
            try:
                desc = client.describe_table(TableName=table)["Table"]
                self._gsis[table] = [[k["AttributeName"] for k in g["KeySchema"]]
                                     for g in desc.get("GlobalSecondaryIndexes", [])]
            except Exception:  # noqa: BLE001
                self._gsis[table] = []
            finally:
                self._internal.active = False
        return self._gsis[table]

    def _record(self, client: Any, origin: str, op: str, params: Mapping[str, Any], response: Any,
                error: BaseException | None) -> None:
        service = client.meta.service_model.service_name
        gsis: dict[str, list[list[str]]] = {}
        if service == "dynamodb" and op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
                                            "TransactWriteItems"):
            tables = [params.get("TableName")] if "TableName" in params else list(params.get("RequestItems", {}))
            tables += [p.get("TableName") for e in params.get("TransactItems", []) for p in e.values()]
            gsis = {t: self._gsi_keys(client, t) for t in tables if t}
        with self._lock:
            self.last_call[origin] = time.monotonic()
            t = self._tallies[origin]
            t.calls[f"{service}:{op}"] += 1
            if service == "s3":
                tier = units.s3_tier(op)
                if tier == "put":
                    t.s3_put_tier += 1
                elif tier == "get":
                    t.s3_get_tier += 1
            elif service == "sqs":
                t.sqs_requests += units.sqs_requests(op, params)
                if op == "ReceiveMessage" and response:
                    t.sqs_messages_received += len(response.get("Messages", []))
                elif op == "SendMessage":
                    t.sqs_messages_sent += 1
                elif op == "SendMessageBatch":
                    t.sqs_messages_sent += len(params.get("Entries", []))
            elif service == "dynamodb":
                # a failed conditional write is still billed its write units
                wru = units.write_units(op, params, gsis)
                t.dynamodb_wru += wru
                if wru:
                    t.wru_by_table[str(params.get("TableName") or ",".join(params.get("RequestItems", {})) or "?")] += wru
                t.dynamodb_rru += units.read_units(op, params, response if error is None else None) \
                    if op in ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems") else 0.0
            elif service == "dynamodbstreams" and op == "GetRecords" and response:
                t.stream_records_read += len(response.get("Records", []))
            elif service == "cloudwatch" and op == "PutMetricData":
                t.cloudwatch_put_metric_data += 1


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


def _utc() -> datetime:
    return datetime.now(timezone.utc)


# ---- the messages stream → log indexer ----------------------------------------------------------------
def _event_item(i: int, tag: str, now_ms: int) -> dict[str, Any]:
    """A message event as the send worker writes it (docs/CONTRACTS.md, messages table)."""
    mid = f"msg_{tag}{i:024x}"[:36]
    return {"pk": {"S": f"MSG#{mid}"}, "sk": {"S": f"EVT#{now_ms:013d}#00#DELIVERED"},
            "messageId": {"S": mid}, "requestId": {"S": f"req_{tag}{i:020d}"[:30]},
            "recipient": {"S": f"user-{i % 50}"}, "channel": {"S": "email"}, "status": {"S": "DELIVERED"},
            "provider": {"S": "outbox"}, "ts": {"N": str(now_ms)}, "expiresAt": {"N": str(now_ms // 1000 + 86400)}}


def _write_events(dynamodb: Any, table: str, count: int, rate_per_s: float | None, tag: str) -> float:
    """Write ``count`` events (25 per BatchWriteItem), paced at ``rate_per_s`` if given; returns seconds taken."""
    t0 = time.monotonic()
    for start in range(0, count, 25):
        if rate_per_s:
            due = t0 + start / rate_per_s
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        now_ms = int(time.time() * 1000)
        batch = [{"PutRequest": {"Item": _event_item(i, tag, now_ms)}} for i in range(start, min(count, start + 25))]
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
    _write_events(ddb, table, backlog, None, tag=suffix)
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


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
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
        start = _utc()
        _write_events(ddb, table, records_per_size, None, tag=f"c{n}{size}")
        _set_mapping(lam, uuid, 0.0, Enabled=True)
        _wait(lambda: _indexed(clients, outputs, records_per_size, f"c{n}{size}"), timeout,
              f"calibration at batch size {size}")
        time.sleep(settle_s)  # let the last metrics flush
        m = lambda_metrics(cw, fn, start - timedelta(seconds=1), _utc() + timedelta(minutes=1))
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
    start = _utc()
    took = _write_events(ddb, table, count, rate_per_s, tag=tag)
    _wait(lambda: _indexed(clients, outputs, count, tag), timeout, "stream load indexed")
    time.sleep(settle_s)  # let the last metrics flush
    m = lambda_metrics(cw, fn, start - timedelta(seconds=1), _utc() + timedelta(minutes=1))
    return StreamLoadResult(records=count, load_s=took, arrival_per_s=count / took if took > 0 else rate_per_s,
                            batch_size=batch_size, factor=factor, invocations=m["Invocations.Sum"],
                            iterator_age_max_s=m["IteratorAge.Maximum"] / 1000.0,
                            iterator_age_mean_s=m["IteratorAge.Mean"] / 1000.0,
                            duration_mean_s=m["Duration.Mean"] / 1000.0)


def _indexed(clients: Callable[[str], Any], outputs: Mapping[str, Any], count: int, tag: str) -> bool:
    """Whether the views of the last 25 events written exist (each lane indexes its records in order)."""
    keys = [{"pk": {"S": _event_item(i, tag, 0)["pk"]["S"]}, "sk": {"S": "VIEW"}}
            for i in range(max(0, count - 25), count)]
    if not keys:
        return True
    resp = clients("dynamodb").batch_get_item(RequestItems={outputs["log_table"]: {"Keys": keys}})
    return len(resp.get("Responses", {}).get(outputs["log_table"], [])) == len(keys)


# ---- the whole local stage: calls per send and per automation run ---------------------------------------
SEND_REQUEST: dict[str, Any] = {"message": {
    "to": {"user_id": "user-{n}", "email": "user{n}@example.com"},
    "content": {"title": "Hello {{ name }}", "body": "Your sign-in code is {{ code }}."},
    "data": {"name": "User {n}", "code": "{n:06d}"},
    "routing": {"method": "single", "channels": ["email"]}}}
AUTOMATION_REQUEST: dict[str, Any] = {
    "automation": {"steps": [
        {"action": "delay", "duration": "1 second"},
        {"action": "send", "message": {"to": {"user_id": "user-{n}", "email": "user{n}@example.com"},
                                       "content": {"title": "Welcome {{ name }}", "body": "Glad you are here."},
                                       "routing": {"method": "single", "channels": ["email"]}}}]},
    "data": {"name": "User {n}"}, "profile": {"email": "user{n}@example.com"}, "recipient": "user-{n}"}
SEND_DESCRIPTION = ("one send: POST /send (single channel, email, templated), stored in S3, rendered and "
                    "delivered once by the send worker (outbox provider), its status events indexed by the log indexer")
AUTOMATION_DESCRIPTION = ("one automation run: POST /automations/invoke with a 1 s delay step and a send step, "
                          "the run and step records, the job messages, and the send it makes (as a send above)")


def _fill(template: Any, n: int) -> Any:
    if isinstance(template, dict):
        return {k: _fill(v, n) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, n) for v in template]
    if isinstance(template, str) and "{n" in template and "{{" not in template:
        return template.format(n=n)
    return template


def _post(url: str, body: dict) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"POST {url} answered {exc.code}: {exc.read()[:500]!r}") from None


def _outbox_count(s3: Any, bucket: str) -> int:
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="outbox/"):
        n += page.get("KeyCount", 0)
    return n


def flow_document(kind: str, description: str, notifications: int, handler: Tally, plane: Tally,
                  metrics: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """One flow of the calls file from a phase's tallies and its AWS/Lambda metrics (per notification).

    ``metrics`` maps the logical function name to :func:`lambda_metrics` of that function in the phase.
    """
    n = float(notifications)
    # job messages the handlers enqueued (relay's only queue sends); the mapping's receives can be more
    # when a slow local run lets visibility lapse, and are kept as information
    jobs = handler.sqs_messages_sent
    return {
        "notifications": notifications,
        "description": description,
        "s3_put_tier": handler.s3_put_tier / n,
        "s3_get_tier": handler.s3_get_tier / n,
        "sqs_requests": handler.sqs_requests / n,
        "job_messages": jobs / n,
        "stream_records": plane.stream_records_read / n,
        "job_messages_received": plane.sqs_messages_received / n,
        "dynamodb_wru": handler.dynamodb_wru / n,
        "dynamodb_rru": handler.dynamodb_rru / n,
        "cloudwatch_put_metric_data": handler.cloudwatch_put_metric_data / n,
        "functions": {name: {"invocations": m["Invocations.Sum"] / n, "duration_ms": m["Duration.Sum"] / n}
                      for name, m in metrics.items() if m["Invocations.Sum"] > 0},
        "calls": {k: v / n for k, v in sorted(handler.calls.items())},
        "dynamodb_wru_by_table": {k: v / n for k, v in sorted(handler.wru_by_table.items())},
        "dataplane_calls": {k: v / n for k, v in sorted(plane.calls.items())},
    }


def measure_local_stage(sends: int = 100, automations: int = 20, stage: str = "local",
                        calibrate_sizes: Sequence[int] = (10, 100), calibrate_records: int = 300,
                        command: str = "", log: Callable[[str], None] = print) -> dict[str, Any]:
    """Bring the local stage up in this process, send known traffic, return the calls-file document.

    The pieces are started as ``relay up`` starts them (API server, emulator, the Pulumi program
    deployed into it, the data plane), without a state directory, so a developer's saved local state
    is neither read nor overwritten. Sends go first, then automation runs, each phase ending when
    every delivery is in the outbox and the handlers have been quiet for a while.
    """
    from relay.local.stage import LocalStage

    counter = CallCounter().install()
    # no modelled round trip: durations are measured as the emulator serves them (see the notes below)
    local = LocalStage(stage, aws_latency_ms=0.0, plane_options={"metrics_interval": 0.5}, say=log)
    try:
        local.start()
        emu, plane, outputs, api = local.emulator, local.plane, local.outputs, local.api
        s3, cw = emu.client("s3"), emu.client("cloudwatch")
        names = {logical: outputs[f"{logical}_function"] for logical in FUNCTION_NAMES}

        flows: dict[str, Any] = {}
        delivered = 0
        for kind, count, path, template, description in (
                ("send", sends, "/send", SEND_REQUEST, SEND_DESCRIPTION),
                ("automation", automations, "/automations/invoke", AUTOMATION_REQUEST, AUTOMATION_DESCRIPTION)):
            if count <= 0:
                continue
            before = counter.snapshot()
            start = _utc()
            log(f"measure: {count} {kind}s through {api.url}{path}")
            for n in range(count):
                status = _post(f"{api.url}{path}", _fill(template, n))
                if status != 202:
                    raise RuntimeError(f"POST {path} answered {status}, expected 202")
            delivered += count
            _wait(lambda: _outbox_count(s3, outputs["request_bucket"]) >= delivered, 120.0,
                  f"{delivered} deliveries in the outbox")
            _wait(lambda: time.monotonic() - counter.last_call.get("handler", 0.0) > 2.0, 60.0, "quiet handlers")
            time.sleep(1.2)  # two metric flushes
            after = counter.snapshot()
            end = _utc()
            handler = after.get("handler", Tally()).minus(before.get("handler", Tally()))
            planet = after.get("dataplane", Tally()).minus(before.get("dataplane", Tally()))
            metrics = {logical: lambda_metrics(cw, fn, start, end) for logical, fn in names.items()}
            flows[kind] = flow_document(kind, description, count, handler, planet, metrics)

        log(f"measure: calibrating the log indexer's batch duration at batch sizes {list(calibrate_sizes)}")
        samples = calibrate_batch_duration(emu.client, outputs, calibrate_sizes, calibrate_records, settle_s=1.2)
        from relay.capacity.model import BatchDuration

        fit = BatchDuration.fit(samples)
        return {
            "version": 1,
            "measured_at": _utc().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": command,
            "stage": stage,
            "notes": ("Counts are per notification, measured on the local stage (moto in-process) by counting "
                      "every boto3 call the handlers make; Lambda invocations and durations from the AWS/Lambda "
                      "metrics the local data plane publishes. Durations are local (emulated AWS on this machine), "
                      "so GB-seconds and d(B) are pessimistic next to AWS."),
            "flows": flows,
            "log_indexer_duration": {"fixed_s": fit.fixed_s, "per_record_s": fit.per_record_s,
                                     "samples": [list(s) for s in samples]},
        }
    finally:
        counter.uninstall()
        local.stop()


def lane_cycles(function_name: str, start_mono: float, end_mono: float) -> list[tuple[int, float]]:
    """``(records, seconds until the next batch started)`` for each batch of a timed lane in the window."""
    from relay.capacity.timed_handler import BATCHES

    runs = sorted(BATCHES.get(function_name, []))
    return [(n, nxt[0] - t0) for (t0, _, n), nxt in zip(runs, runs[1:]) if start_mono <= t0 and nxt[0] <= end_mono]
