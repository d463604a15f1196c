"""A bad night on the local stage, for the console's tests, the browser test and the bench.

The letters are written straight into the DLQs (SendMessageBatch), never through the pipeline: what is
tested is the console. Job letters name mixed runs whose steps recorded mixed errors; stream letters point
at real records of the messages table's stream (written while the stream mapping is paused, so only a
redrive processes them); async letters carry the S3 events of real send requests stored while the request
store's notifications were held back, so only a redrive delivers them.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["JobLetters", "fill_job_dlq", "purge", "stream_letters", "async_letters", "wait_for", "send_request",
           "ERRORS", "TARGET_RUN"]

TARGET_RUN = "run_01TARGET0000000000000000"
ERRORS = ("(fetch-data): http://crm.internal/profile answered HTTP 500", "(send): template 'welcome' is missing",
          "(delay): until is in the past")  # a step's recorded error is "step <i> <what failed>"


@dataclass
class JobLetters:
    """What :func:`fill_job_dlq` wrote: message ids by run id, and each letter's unique ``seq``."""

    by_run: dict[str, list[str]] = field(default_factory=dict)
    seq_of: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.by_run.values())


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1, what: str = "it") -> Any:
    """Poll until ``predicate()`` is truthy (returned) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {got!r}")
        time.sleep(interval)


def purge(sqs: Any, url: str) -> list[dict]:
    """Empty a queue by receiving and deleting everything (PurgeQueue allows one call a minute); returns what it held."""
    out: list[dict] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=120,
                                       AttributeNames=["All"]).get("Messages"):
        out.extend(batch)
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for j, m in enumerate(batch)])
    return out


def fill_job_dlq(sqs: Any, ddb: Any, outputs: dict[str, Any], total: int = 2000, target: int = 300,
                 runs: int = 34) -> JobLetters:
    """``target`` letters of :data:`TARGET_RUN` and the rest spread over ``runs`` other runs; every run's
    steps carry one of :data:`ERRORS`. Bodies carry a unique ``seq`` so a duplicate would show."""
    out = JobLetters()
    bodies: list[tuple[str, str]] = []
    for i in range(total):
        run = TARGET_RUN if i < target else f"run_01MIX{(i - target) % runs:03d}00000000000000000"
        bodies.append((run, json.dumps({"v": 1, "runId": run, "step": i % 3, "seq": i})))
    requests = [{"PutRequest": {"Item": {
        "pk": {"S": f"RUN#{run}"}, "sk": {"S": f"STEP#{step:04d}"}, "status": {"S": "FAILED"},
        "error": {"S": f"step {step} {ERRORS[(n + step) % len(ERRORS)]}"}}}}
        for n, run in enumerate(sorted({r for r, _ in bodies})) for step in range(3)]
    for i in range(0, len(requests), 25):
        ddb.batch_write_item(RequestItems={outputs["state_table"]: requests[i:i + 25]})
    for i in range(0, len(bodies), 10):
        part = bodies[i:i + 10]
        resp = sqs.send_message_batch(QueueUrl=outputs["job_dlq_url"], Entries=[
            {"Id": str(j), "MessageBody": body} for j, (_, body) in enumerate(part)])
        for s in resp["Successful"]:
            run, body = part[int(s["Id"])]
            out.by_run.setdefault(run, []).append(s["MessageId"])
            out.seq_of[s["MessageId"]] = json.loads(body)["seq"]
    return out


def _message_event(message_id: str, ts: int) -> dict[str, Any]:
    return {"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": f"EVT#{ts:013d}#00#DELIVERED"},
            "messageId": {"S": message_id}, "requestId": {"S": "req_01NIGHT"}, "recipient": {"S": "night@example.com"},
            "channel": {"S": "email"}, "status": {"S": "DELIVERED"}, "provider": {"S": "outbox"}, "ts": {"N": str(ts)}}


def stream_letters(local: Any, count: int) -> list[str]:
    """Write ``count`` message events (the stream mapping must be paused) and one stream-DLQ letter per
    record; returns the message ids whose views only a redrive can create."""
    o, ddb, streams = local.outputs, local.client("dynamodb"), local.client("dynamodbstreams")
    ids = [f"msg_night{uuid.uuid4().hex[:24]}" for _ in range(count)]
    now = int(time.time() * 1000)
    for n, mid in enumerate(ids):
        ddb.put_item(TableName=o["message_table"], Item=_message_event(mid, now + n))
    wanted, found = set(ids), {}
    for shard in streams.describe_stream(StreamArn=o["message_stream_arn"])["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=o["message_stream_arn"], ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            resp = streams.get_records(ShardIterator=it, Limit=1000)
            for r in resp.get("Records", []):
                mid = r["dynamodb"].get("NewImage", {}).get("messageId", {}).get("S")
                if mid in wanted:
                    found[mid] = (shard["ShardId"], r["dynamodb"]["SequenceNumber"])
            it = resp.get("NextShardIterator") if resp.get("Records") else None
    assert set(found) == wanted, "every event is in the stream"
    fn = local.client("lambda").get_function(FunctionName=o["log_indexer_function"])["Configuration"]["FunctionArn"]
    letters = [json.dumps({"requestContext": {"requestId": uuid.uuid4().hex, "functionArn": fn,
                                              "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3},
                           "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                               "functionError": "Unhandled"},
                           "version": "1.0", "timestamp": "2026-12-02T03:00:00.000Z",
                           "DDBStreamBatchInfo": {"shardId": shard_id, "startSequenceNumber": seq,
                                                  "endSequenceNumber": seq, "batchSize": 1,
                                                  "streamArn": o["message_stream_arn"]}})
               for shard_id, seq in (found[m] for m in ids)]
    _send_all(local.client("sqs"), o["stream_dlq_url"], letters)
    return ids


def send_request(email: str, body: str = "Your order shipped.") -> dict[str, Any]:
    """A validated send message to one email address (the API's normal form)."""
    return {"to": [{"email": email}], "content": {"title": "Hello", "body": body},
            "routing": {"method": "single", "channels": ["email"]}}


def async_letters(local: Any, count: int) -> list[str]:
    """Store ``count`` send requests with the request store's notifications held back, then one async-DLQ
    letter per request (the send worker's on-failure record); returns the request ids."""
    from functions.shared.ids import new_request_id
    from functions.shared.request_store import put_send_request, send_key
    from relay.local import triggers

    o = local.outputs
    ids = [new_request_id() for _ in range(count)]
    listener = local.plane.on_s3_notification
    triggers.remove_s3_listener(listener)  # as if every one of these events had failed its attempts
    try:
        for n, rid in enumerate(ids):
            put_send_request(o["request_bucket"], rid, send_request(f"async{n}@example.com"))
    finally:
        triggers.add_s3_listener(listener)
    fn = local.client("lambda").get_function(FunctionName=o["send_worker_function"])["Configuration"]["FunctionArn"]
    letters = [json.dumps({"version": "1.0", "timestamp": "2026-12-02T03:00:00.000Z",
                           "requestContext": {"requestId": uuid.uuid4().hex, "functionArn": fn,
                                              "condition": "RetriesExhausted", "approximateInvokeCount": 3},
                           "requestPayload": {"Records": [{
                               "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                               "eventTime": "2026-12-02T03:00:00.000Z", "eventName": "ObjectCreated:Put",
                               "s3": {"bucket": {"name": o["request_bucket"]}, "object": {"key": send_key(rid)}}}]},
                           "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                               "functionError": "Unhandled"},
                           "responsePayload": {"errorMessage": "provider timed out", "errorType": "ProviderTimeout"}})
               for rid in ids]
    _send_all(local.client("sqs"), o["async_dlq_url"], letters)
    return ids


def _send_all(sqs: Any, url: str, bodies: list[str]) -> None:
    for i in range(0, len(bodies), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": b}
                                                      for j, b in enumerate(bodies[i:i + 10])])
