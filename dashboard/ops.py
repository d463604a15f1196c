"""The console's verbs: plain functions over boto3 clients (no streamlit, no caching).

Every function takes the clients it needs as arguments, so tests hand in real boto3 clients bound to
moto (or the local stage's emulator) and the pages hand in :class:`dashboard.aws.Aws` clients.
Validation that an operator can get wrong (factor, rate) happens here, before any AWS call, and
raises a :mod:`dashboard.errors` exception with a stable code and a readable message.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from dashboard.errors import InvalidFactor, InvalidRate, NoSourceQueue, NotAStreamSource
from dashboard.letters import DeadLetter, decode

__all__ = [
    "QueueDepth", "RedriveReport", "discover_stages", "queue_depth", "peek", "redrive_selected",
    "redrive_async", "redrive_stream", "delete_selected", "start_redrive_all", "redrive_tasks",
    "cancel_redrive", "event_source_mapping", "set_parallelization_factor", "run_canceled",
    "alarm_states", "search_message_log", "message_timeline", "check_rate",
    "check_factor", "MAX_REDRIVE_RATE", "OUTPUTS_PREFIX", "dlqs",
]

OUTPUTS_PREFIX = "/relay/"
MAX_REDRIVE_RATE = 500  # StartMessageMoveTask's MaxNumberOfMessagesPerSecond limit
# How long a peek hides what it has already seen, so repeated receives page through the whole DLQ.
# Everything seen is made visible again (VisibilityTimeout=0) as soon as the page is complete; if the
# console dies half-way, SQS shows the messages again after this many seconds anyway.
PEEK_HIDE_SECONDS = 30
_EMPTY_RECEIVES_TO_STOP = 2  # short polling samples a subset of SQS hosts: one empty answer is not proof


@dataclass(frozen=True)
class QueueDepth:
    """``ApproximateNumberOfMessages{,NotVisible,Delayed}`` of one queue."""

    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


@dataclass
class RedriveReport:
    """What a redrive/delete did, message by message; ``lost`` must always be empty."""

    moved: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # message id -> why it stayed in the DLQ
    failed: dict[str, str] = field(default_factory=dict)  # message id -> error; still in the DLQ
    not_found: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.moved)} done"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.failed:
            parts.append(f"{len(self.failed)} failed (left in the DLQ)")
        if self.not_found:
            parts.append(f"{len(self.not_found)} no longer in the DLQ")
        return ", ".join(parts)


# ---- stages -----------------------------------------------------------------------------------------
def discover_stages(ssm: Any) -> dict[str, dict[str, Any]]:
    """Every stage that published ``/relay/<stage>/outputs``: ``{stage: outputs}``.

    Unparseable parameters are reported as ``{"error": ...}`` rather than hidden, so a broken deploy
    is visible in the stage picker.
    """
    found: dict[str, dict[str, Any]] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=OUTPUTS_PREFIX, Recursive=True):
        for p in page.get("Parameters", []):
            parts = p["Name"].strip("/").split("/")
            if len(parts) != 3 or parts[2] != "outputs":
                continue
            try:
                found[parts[1]] = json.loads(p["Value"])
            except ValueError as err:
                found[parts[1]] = {"stage": parts[1], "error": f"outputs are not JSON: {err}"}
    return dict(sorted(found.items()))


def dlqs(outputs: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The stage's three DLQs by kind, with their URL, ARN and where a redrive sends messages."""
    return {
        "job": {"url": outputs.get("job_dlq_url", ""), "arn": outputs.get("job_dlq_arn", ""),
                "label": "job DLQ", "target": "the job queue"},
        "stream": {"url": outputs.get("stream_dlq_url", ""), "arn": outputs.get("stream_dlq_arn", ""),
                   "label": "stream DLQ", "target": "the log indexer (re-invoked with the batch's records)"},
        "async": {"url": outputs.get("async_dlq_url", ""), "arn": outputs.get("async_dlq_arn", ""),
                  "label": "async-invoke DLQ", "target": "the failed function (re-invoked with its event)"},
    }


# ---- queues -----------------------------------------------------------------------------------------
def queue_depth(sqs: Any, url: str) -> QueueDepth:
    """Visible, in-flight and delayed counts of one queue."""
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
    ])["Attributes"]
    return QueueDepth(int(a.get("ApproximateNumberOfMessages", 0)), int(a.get("ApproximateNumberOfMessagesNotVisible", 0)),
                      int(a.get("ApproximateNumberOfMessagesDelayed", 0)))


def _release(sqs: Any, url: str, handles: Iterable[str]) -> None:
    """Make received messages visible again at once (ChangeMessageVisibility 0)."""
    handles = list(handles)
    for i in range(0, len(handles), 10):
        entries = [{"Id": str(j), "ReceiptHandle": h, "VisibilityTimeout": 0} for j, h in enumerate(handles[i:i + 10])]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


def _page(sqs: Any, url: str, want: Callable[[dict], bool], limit: int | None,
          hide_s: int = PEEK_HIDE_SECONDS) -> tuple[dict[str, dict], list[str]]:
    """Receive through the whole queue, hiding what was seen so the next receive returns new messages.

    Returns ``(kept, released_handles_source)``: messages for which ``want`` is true are kept hidden
    for the caller (``{message_id: message}``); every other message is made visible again before
    returning. ``limit`` stops after that many kept messages.
    """
    kept: dict[str, dict] = {}
    others: dict[str, str] = {}
    empty = 0
    try:
        while limit is None or len(kept) < limit:
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=hide_s, WaitTimeSeconds=0,
                AttributeNames=["All"], MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                empty += 1
                if empty >= _EMPTY_RECEIVES_TO_STOP:
                    break
                continue
            empty = 0
            for m in batch:
                if want(m) and (limit is None or len(kept) < limit):
                    kept[m["MessageId"]] = m
                else:
                    others[m["MessageId"]] = m["ReceiptHandle"]
    finally:
        _release(sqs, url, others.values())
    return kept, list(others)


def peek(sqs: Any, url: str, kind: str, max_messages: int = 200) -> list[DeadLetter]:
    """Read up to ``max_messages`` dead letters without consuming any.

    Each receive hides what it returned for :data:`PEEK_HIDE_SECONDS`, so repeated receives page
    through the whole queue instead of returning the same ten messages; when the page is complete,
    every message is made visible again at once. (Receiving increments ``ApproximateReceiveCount``,
    as with any SQS peek; a DLQ has no redrive policy of its own, so this moves nothing.)
    """
    kept, _ = _page(sqs, url, lambda m: True, max_messages)
    try:
        letters = [decode(kind, m) for m in kept.values()]
    finally:
        _release(sqs, url, [m["ReceiptHandle"] for m in kept.values()])
    return sorted(letters, key=lambda x: x.sent_at)


def explain_job_failures(ddb: Any, state_table: str, letters: list[DeadLetter]) -> list[DeadLetter]:
    """Give each job dead letter its failing step's recorded error as the reason.

    The job worker writes the error of every failed attempt on ``RUN#<runId>/STEP#<step>`` (CONTRACTS);
    the DLQ message itself only carries ``{runId, step}``. Letters whose step has no record keep the
    generic reason. One BatchGetItem per 100 letters.
    """
    keys = {(x.run_id, x.step) for x in letters if x.kind == "job" and x.run_id and x.step is not None}
    errors: dict[tuple[str, int], str] = {}
    ordered = sorted(keys)
    for i in range(0, len(ordered), 100):
        request = {state_table: {"Keys": [{"pk": {"S": f"RUN#{r}"}, "sk": {"S": f"STEP#{st:04d}"}}
                                          for r, st in ordered[i:i + 100]],
                                 "ProjectionExpression": "pk, sk, #e", "ExpressionAttributeNames": {"#e": "error"}}}
        while request:
            resp = ddb.batch_get_item(RequestItems=request)
            for item in resp.get("Responses", {}).get(state_table, []):
                if "error" in item:
                    run = item["pk"]["S"].split("#", 1)[1]
                    errors[(run, int(item["sk"]["S"].split("#", 1)[1]))] = item["error"]["S"]
            request = resp.get("UnprocessedKeys") or {}
    return [replace(x, reason=f"{errors[(x.run_id, x.step)]} (after maxReceiveCount receives)")
            if (x.run_id, x.step) in errors else x for x in letters]


def _take(sqs: Any, url: str, ids: Iterable[str]) -> tuple[dict[str, dict], list[str]]:
    """Receive the named messages with fresh receipt handles (hidden); everything else is released."""
    wanted = set(ids)
    kept, _ = _page(sqs, url, lambda m: m["MessageId"] in wanted, len(wanted))
    return kept, sorted(wanted - set(kept))


def _message_attributes(m: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in (m.get("MessageAttributes") or {}).items():
        out[k] = {x: v[x] for x in ("DataType", "StringValue", "BinaryValue") if x in v}
    return out


def redrive_selected(sqs: Any, dlq_url: str, target_url: str, ids: Iterable[str],
                     is_canceled: Callable[[str], bool] | None = None) -> RedriveReport:
    """Move the chosen job dead letters back to ``target_url``: send first, delete only what was sent.

    A job whose run's cancelation token has fired is skipped (left in the DLQ) and reported, so a
    redrive never resurrects a canceled automation.
    """
    if not target_url:
        raise NoSourceQueue("this DLQ has no source queue in the stage outputs; nothing was moved")
    report = RedriveReport()
    held, report.not_found = _take(sqs, dlq_url, ids)
    to_send: list[dict] = []
    release: list[str] = []
    for mid, m in held.items():
        letter = decode("job", m)
        if is_canceled and letter.run_id and is_canceled(letter.run_id):
            report.skipped[mid] = f"run {letter.run_id} was canceled (its cancelation token fired)"
            release.append(m["ReceiptHandle"])
        else:
            to_send.append(m)
    try:
        for i in range(0, len(to_send), 10):
            chunk = to_send[i:i + 10]
            entries = []
            for j, m in enumerate(chunk):
                e = {"Id": str(j), "MessageBody": m["Body"]}
                attrs = _message_attributes(m)
                if attrs:
                    e["MessageAttributes"] = attrs
                entries.append(e)
            try:
                resp = sqs.send_message_batch(QueueUrl=target_url, Entries=entries)
            except Exception as err:  # noqa: BLE001 - any failure: nothing of this chunk was sent, keep it
                for m in chunk:
                    report.failed[m["MessageId"]] = f"send failed: {err}"
                    release.append(m["ReceiptHandle"])
                continue
            sent = {int(s["Id"]) for s in resp.get("Successful", [])}
            for f in resp.get("Failed", []):
                m = chunk[int(f["Id"])]
                report.failed[m["MessageId"]] = f"send failed: {f.get('Code')}: {f.get('Message', '')}"
                release.append(m["ReceiptHandle"])
            # Only now, with the copy safely in the source queue, remove the dead letter.
            _delete(sqs, dlq_url, [chunk[j] for j in sorted(sent)], report)
    finally:
        _release(sqs, dlq_url, release)
    return report


def _delete(sqs: Any, url: str, messages: list[dict], report: RedriveReport) -> None:
    for i in range(0, len(messages), 10):
        chunk = messages[i:i + 10]
        resp = sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]} for j, m in enumerate(chunk)])
        for s in resp.get("Successful", []):
            report.moved.append(chunk[int(s["Id"])]["MessageId"])
        for f in resp.get("Failed", []):
            report.failed[chunk[int(f["Id"])]["MessageId"]] = f"delete failed: {f.get('Code')}"


def redrive_async(sqs: Any, lam: Any, dlq_url: str, ids: Iterable[str]) -> RedriveReport:
    """Re-invoke each failed function with the event stored in the async DLQ record, then delete it.

    ``lambda.invoke(InvocationType="Event")`` — the same asynchronous path (with its retries and
    on-failure destination) the S3 notification used. In the local stage the data plane serves the
    invoke; in AWS, Lambda does.
    """
    report = RedriveReport()
    held, report.not_found = _take(sqs, dlq_url, ids)
    release: list[str] = []
    done: list[dict] = []
    try:
        for mid, m in held.items():
            letter = decode("async", m)
            body = letter.decoded if isinstance(letter.decoded, dict) else {}
            fn = letter.function_arn
            if not fn or "requestPayload" not in body:
                report.skipped[mid] = "not a Lambda on-failure record (no functionArn / requestPayload)"
                release.append(m["ReceiptHandle"])
                continue
            try:
                resp = lam.invoke(FunctionName=fn, InvocationType="Event",
                                  Payload=json.dumps(body["requestPayload"]).encode())
            except Exception as err:  # noqa: BLE001 - leave the record for the next attempt
                report.failed[mid] = f"invoke failed: {err}"
                release.append(m["ReceiptHandle"])
                continue
            if int(resp.get("StatusCode", 0)) != 202:
                report.failed[mid] = f"invoke answered {resp.get('StatusCode')}"
                release.append(m["ReceiptHandle"])
                continue
            done.append(m)
        _delete(sqs, dlq_url, done, report)
    finally:
        _release(sqs, dlq_url, release)
    return report


def _stream_records(streams: Any, info: Mapping[str, Any]) -> list[dict]:
    """The records a stream DLQ record points at, read back from the shard (if still retained)."""
    it = streams.get_shard_iterator(StreamArn=info["streamArn"], ShardId=info["shardId"],
                                    ShardIteratorType="AT_SEQUENCE_NUMBER",
                                    SequenceNumber=info["startSequenceNumber"])["ShardIterator"]
    end = int(info["endSequenceNumber"])
    out: list[dict] = []
    for _ in range(100):
        resp = streams.get_records(ShardIterator=it, Limit=1000)
        for r in resp.get("Records", []):
            if int(r["dynamodb"]["SequenceNumber"]) > end:
                return out
            r = dict(r)
            r["eventSourceARN"] = info["streamArn"]
            d = dict(r["dynamodb"])
            created = d.get("ApproximateCreationDateTime")
            if isinstance(created, datetime):  # boto3 parses it; Lambda events carry epoch seconds
                d["ApproximateCreationDateTime"] = created.timestamp()
            r["dynamodb"] = d
            out.append(r)
        it = resp.get("NextShardIterator")
        if not it or not resp.get("Records"):
            break
    return out


def redrive_stream(sqs: Any, lam: Any, streams: Any, dlq_url: str, ids: Iterable[str],
                   function_name: str) -> RedriveReport:
    """Re-invoke the log indexer with the stream records each stream DLQ record names, then delete it.

    The records are read back from the shard (a stream keeps them 24 h); a record whose batch has
    been trimmed is skipped and says so. The log indexer's writes are idempotent, so reprocessing a
    batch twice is harmless.
    """
    report = RedriveReport()
    held, report.not_found = _take(sqs, dlq_url, ids)
    release: list[str] = []
    done: list[dict] = []
    try:
        for mid, m in held.items():
            letter = decode("stream", m)
            info = (letter.decoded or {}).get("DDBStreamBatchInfo") if isinstance(letter.decoded, dict) else None
            if not info:
                report.skipped[mid] = "no DDBStreamBatchInfo in the record"
                release.append(m["ReceiptHandle"])
                continue
            try:
                records = _stream_records(streams, info)
                if not records:
                    report.skipped[mid] = "the batch's records are no longer in the stream (trimmed after 24 h)"
                    release.append(m["ReceiptHandle"])
                    continue
                lam.invoke(FunctionName=function_name, InvocationType="Event",
                           Payload=json.dumps({"Records": records}, default=str).encode())
            except Exception as err:  # noqa: BLE001
                report.failed[mid] = f"re-invoke failed: {err}"
                release.append(m["ReceiptHandle"])
                continue
            done.append(m)
        _delete(sqs, dlq_url, done, report)
    finally:
        _release(sqs, dlq_url, release)
    return report


def delete_selected(sqs: Any, dlq_url: str, ids: Iterable[str]) -> RedriveReport:
    """Delete the chosen dead letters for good (``moved`` lists what was deleted)."""
    report = RedriveReport()
    held, report.not_found = _take(sqs, dlq_url, ids)
    _delete(sqs, dlq_url, list(held.values()), report)
    return report


# ---- redrive all (SQS message-move tasks) -------------------------------------------------------------
def check_rate(rate: int) -> int:
    """Raise :class:`InvalidRate` unless 1 <= rate <= 500 messages/s."""
    if not isinstance(rate, int) or isinstance(rate, bool) or not 1 <= rate <= MAX_REDRIVE_RATE:
        raise InvalidRate(f"redrive rate {rate!r} messages/s is out of range: SQS moves 1 to {MAX_REDRIVE_RATE} "
                          "messages per second (StartMessageMoveTask). Nothing was started.")
    return rate


def start_redrive_all(sqs: Any, dlq_arn: str, source_arn: str, rate: int) -> str:
    """Start moving every message in the DLQ back to ``source_arn`` at ``rate`` messages/s.

    Returns the task handle (for :func:`cancel_redrive`).
    """
    check_rate(rate)
    if not source_arn:
        raise NoSourceQueue("this DLQ has no source queue ARN in the stage outputs; nothing was started")
    return sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=source_arn,
                                       MaxNumberOfMessagesPerSecond=rate)["TaskHandle"]


def redrive_tasks(sqs: Any, dlq_arn: str) -> list[dict[str, Any]]:
    """The DLQ's recent message-move tasks, newest first (status, moved / to move, handle if running)."""
    return list(sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10).get("Results", []))


def cancel_redrive(sqs: Any, task_handle: str) -> int:
    """Cancel a running move task; returns how many messages it had moved."""
    return int(sqs.cancel_message_move_task(TaskHandle=task_handle).get("ApproximateNumberOfMessagesMoved", 0))


# ---- streams -----------------------------------------------------------------------------------------
def check_factor(factor: int) -> int:
    """Raise :class:`InvalidFactor` unless 1 <= factor <= 10."""
    if not isinstance(factor, int) or isinstance(factor, bool) or not 1 <= factor <= 10:
        raise InvalidFactor(f"parallelization factor {factor!r} is out of range: a stream mapping takes 1 to 10 "
                            "concurrent batches per shard. The mapping was not changed.")
    return factor


def event_source_mapping(lam: Any, uuid: str) -> dict[str, Any]:
    """The mapping's current settings and state."""
    m = lam.get_event_source_mapping(UUID=uuid)
    m.pop("ResponseMetadata", None)
    return m


def set_parallelization_factor(lam: Any, uuid: str, factor: int) -> tuple[int, int]:
    """Update the stream mapping's ParallelizationFactor; returns ``(before, after)`` as AWS reports them."""
    check_factor(factor)
    current = event_source_mapping(lam, uuid)
    source = str(current.get("EventSourceArn", ""))
    if ":dynamodb:" not in source and ":kinesis:" not in source:
        raise NotAStreamSource(f"mapping {uuid} reads {source or 'an unknown source'}: ParallelizationFactor "
                               "applies to DynamoDB and Kinesis stream sources only. Nothing was changed.")
    before = int(current.get("ParallelizationFactor", 1))
    after = lam.update_event_source_mapping(UUID=uuid, ParallelizationFactor=factor)
    return before, int(after.get("ParallelizationFactor", factor))


# ---- state --------------------------------------------------------------------------------------------
def run_canceled(ddb: Any, state_table: str, run_id: str) -> bool:
    """True when the run's cancelation token has fired (``TOKEN#<token>/CANCELED`` exists)."""
    run = ddb.get_item(TableName=state_table, Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}},
                       ConsistentRead=True).get("Item")
    token = (run or {}).get("cancelation_token", {}).get("S")
    if not token:
        return False
    hit = ddb.get_item(TableName=state_table, Key={"pk": {"S": f"TOKEN#{token}"}, "sk": {"S": "CANCELED"}},
                       ConsistentRead=True).get("Item")
    return hit is not None


# ---- metrics & alarms -----------------------------------------------------------------------------------
def alarm_states(cw: Any, stage: str) -> list[dict[str, str]]:
    """The stage's CloudWatch alarms (named ``relay-<stage>-…``) and their states."""
    out = []
    for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"relay-{stage}-"):
        for a in page.get("MetricAlarms", []):
            out.append({"alarm": a["AlarmName"], "state": a.get("StateValue", "INSUFFICIENT_DATA"),
                        "reason": a.get("StateReason", "")})
    return out


# ---- message log ------------------------------------------------------------------------------------
_INDEX = {"recipient": "by_recipient", "status": "by_status", "run": "by_run", "request": "by_request"}
_KEY = {"recipient": "recipient", "status": "status", "run": "runId", "request": "requestId"}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    d = TypeDeserializer()
    out = {}
    for k, v in item.items():
        val = d.deserialize(v)
        out[k] = int(val) if hasattr(val, "as_integer_ratio") and val == int(val) else val
    return out


def search_message_log(ddb: Any, table: str, by: str, value: str, limit: int = 100) -> list[dict[str, Any]]:
    """Messages by recipient, status, run or request (the log table's GSIs), newest first."""
    if by not in _INDEX:
        raise ValueError(f"search by one of {', '.join(_INDEX)}, not {by!r}")
    resp = ddb.query(TableName=table, IndexName=_INDEX[by], KeyConditionExpression="#k = :v",
                     ExpressionAttributeNames={"#k": _KEY[by]}, ExpressionAttributeValues={":v": {"S": value}},
                     ScanIndexForward=False, Limit=limit)
    return [_plain(i) for i in resp.get("Items", [])]


def message_timeline(ddb: Any, table: str, message_id: str) -> list[dict[str, Any]]:
    """A message's status events (``EVT#`` items), oldest first."""
    resp = ddb.query(TableName=table, KeyConditionExpression="pk = :p AND begins_with(sk, :e)",
                     ExpressionAttributeValues={":p": {"S": f"MSG#{message_id}"}, ":e": {"S": "EVT#"}})
    return [_plain(i) for i in resp.get("Items", [])]





# ---- batched metric reads (one GetMetricData call per view) --------------------------------------------
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


def oldest_sample_age(sqs: Any, url: str, now: datetime | None = None) -> float | None:
    """Age (s) of the oldest message in one receive of up to 10, released at once; None if empty.

    A lower bound only (SQS does not return oldest-first); the overview uses it where CloudWatch has
    no ``ApproximateAgeOfOldestMessage`` (the local stage publishes only Lambda metrics).
    """
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=PEEK_HIDE_SECONDS,
                               WaitTimeSeconds=0, AttributeNames=["SentTimestamp"]).get("Messages", [])
    _release(sqs, url, [m["ReceiptHandle"] for m in msgs])
    if not msgs:
        return None
    now = now or datetime.now(timezone.utc)
    first = min(int(m["Attributes"]["SentTimestamp"]) for m in msgs)
    return max(0.0, now.timestamp() - first / 1000)


__all__ += ["MetricSpec", "metrics_batch", "oldest_sample_age"]
