"""A relay stage built by hand in the local emulator, for the console's tests and bench.

It creates what the console reads (docs/CONTRACTS.md): the job queue with its redrive policy to the
job DLQ, the stream and async DLQs, the messages table with a stream and the log indexer's mapping on
it (for a dummy function), the message-log, state and audit tables, and the SSM outputs parameter.
The Pulumi program is not used here on purpose: the console must work against any stage that
publishes the outputs, and these tests must not break while the program is being written.
"""
from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["Stage", "build_stage", "job_body", "async_record", "stream_record", "seed_metrics"]

ACCOUNT = "123456789012"


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
    return buf.getvalue()


@dataclass
class Stage:
    """Handles on one hand-built stage."""

    name: str
    outputs: dict[str, Any]
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return self.clients[service]

    def count(self, url: str) -> int:
        """Visible + in-flight + delayed messages of a queue."""
        a = self.clients["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return sum(int(a.get(k, 0)) for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                              "ApproximateNumberOfMessagesDelayed"))

    def visible(self, url: str) -> int:
        a = self.clients["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(a["Attributes"]["ApproximateNumberOfMessages"])

    def drain(self, url: str) -> list[dict]:
        """Receive and delete everything in a queue (to check exactly what arrived)."""
        sqs, out, empty = self.clients["sqs"], [], 0
        while empty < 2:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                       AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
            if not msgs:
                empty += 1
                continue
            empty = 0
            for m in msgs:
                out.append(m)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return out

    def fill(self, url: str, bodies: list[str]) -> list[str]:
        """Send bodies (10 per call); returns the message ids in order."""
        ids: list[str] = []
        for i in range(0, len(bodies), 10):
            resp = self.clients["sqs"].send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(j), "MessageBody": b} for j, b in enumerate(bodies[i:i + 10])])
            ids.extend(s["MessageId"] for s in sorted(resp["Successful"], key=lambda s: int(s["Id"])))
        return ids


def job_body(run_id: str, step: int = 0) -> str:
    return json.dumps({"v": 1, "runId": run_id, "step": step})


def async_record(function_arn: str, key: str, bucket: str = "relay-t-requests") -> str:
    event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                          "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]}
    return json.dumps({"version": "1.0", "timestamp": "2026-01-01T00:00:00.000Z",
                       "requestContext": {"requestId": uuid.uuid4().hex, "functionArn": function_arn,
                                          "condition": "RetriesExhausted", "approximateInvokeCount": 3},
                       "requestPayload": event,
                       "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                       "responsePayload": {"errorMessage": "template missing", "errorType": "TemplateError"}})


def stream_record(function_arn: str, stream_arn: str) -> str:
    return json.dumps({"requestContext": {"requestId": uuid.uuid4().hex, "functionArn": function_arn,
                                          "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 4},
                       "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                       "version": "1.0", "timestamp": "2026-01-01T00:00:00.000Z",
                       "DDBStreamBatchInfo": {"shardId": "shardId-0001", "startSequenceNumber": "100",
                                              "endSequenceNumber": "200", "batchSize": 3, "streamArn": stream_arn}})


def _table(ddb: Any, name: str, gsis: list[tuple[str, str]] = (), stream: bool = False) -> dict:
    attrs = {"pk": "S", "sk": "S"}
    kw: dict[str, Any] = {}
    if gsis:
        indexes = []
        for index, hash_key in gsis:
            attrs[hash_key] = "S"
            attrs["updatedAt"] = "N"
            indexes.append({"IndexName": index, "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"},
                                                              {"AttributeName": "updatedAt", "KeyType": "RANGE"}],
                            "Projection": {"ProjectionType": "ALL"}})
        kw["GlobalSecondaryIndexes"] = indexes
    if stream:
        kw["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    try:
        return ddb.describe_table(TableName=name)["Table"]  # fixed names (prod, demo) may exist in this process
    except ddb.exceptions.ResourceNotFoundException:
        pass
    return ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": k, "AttributeType": t} for k, t in attrs.items()],
                            **kw)["TableDescription"]


def build_stage(make_client: Any, stage: str | None = None, max_receive: int = 5) -> Stage:
    """Create one stage's resources with clients from ``make_client(service)``; returns :class:`Stage`.

    Names carry a random suffix: moto's state is per process, so tests never see each other's queues.
    """
    stage = stage or f"t{uuid.uuid4().hex[:8]}"
    c = {s: make_client(s) for s in ("sqs", "ssm", "dynamodb", "lambda", "iam", "cloudwatch", "dynamodbstreams", "s3")}
    sqs, ddb, lam = c["sqs"], c["dynamodb"], c["lambda"]
    n = lambda r: f"relay-{stage}-{r}"  # noqa: E731

    def queue(name: str, **attrs: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=n(name), Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    job_dlq_url, job_dlq_arn = queue("job-dlq")
    job_url, job_arn = queue("jobs", VisibilityTimeout="12", RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": job_dlq_arn, "maxReceiveCount": str(max_receive)}))
    stream_dlq_url, stream_dlq_arn = queue("stream-dlq")
    async_dlq_url, async_dlq_arn = queue("async-dlq")

    messages = _table(ddb, n("messages"), stream=True)
    _table(ddb, n("message-log"), gsis=[("by_recipient", "recipient"), ("by_status", "status"),
                                         ("by_run", "runId"), ("by_request", "requestId")])
    _table(ddb, n("state"))
    _table(ddb, n("audit"))
    try:  # the request store: the console's exports and resends write there
        c["s3"].create_bucket(Bucket=n("requests"))
    except c["s3"].exceptions.BucketAlreadyOwnedByYou:
        pass

    try:
        role = c["iam"].get_role(RoleName=n("role"))["Role"]["Arn"]
    except c["iam"].exceptions.NoSuchEntityException:
        role = c["iam"].create_role(RoleName=n("role"), AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    for fn in ("send-worker", "job-worker", "log-indexer"):  # the ones a test invokes or maps (speed)
        try:
            lam.get_function(FunctionName=n(fn))
        except lam.exceptions.ResourceNotFoundException:
            lam.create_function(FunctionName=n(fn), Runtime="python3.11", Role=role,
                                Handler="handler.lambda_handler", Code={"ZipFile": _zip()})
    stream_arn = messages["LatestStreamArn"]
    esm = lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=n("log-indexer"),
                                          StartingPosition="LATEST", BatchSize=100, ParallelizationFactor=1)
    job_esm = lam.create_event_source_mapping(EventSourceArn=job_arn, FunctionName=n("job-worker"), BatchSize=10)

    outputs = {
        "stage": stage, "region": "us-east-1", "api_url": "http://127.0.0.1:9/",
        "request_bucket": n("requests"),
        "job_queue_url": job_url, "job_queue_arn": job_arn, "job_dlq_url": job_dlq_url, "job_dlq_arn": job_dlq_arn,
        "stream_dlq_url": stream_dlq_url, "stream_dlq_arn": stream_dlq_arn,
        "async_dlq_url": async_dlq_url, "async_dlq_arn": async_dlq_arn,
        "message_table": n("messages"), "message_stream_arn": stream_arn, "log_table": n("message-log"),
        "state_table": n("state"), "audit_table": n("audit"),
        "api_function": n("api"), "send_worker_function": n("send-worker"),
        "request_worker_function": n("request-worker"), "job_worker_function": n("job-worker"),
        "job_worker_esm_uuid": job_esm["UUID"], "log_indexer_function": n("log-indexer"),
        "log_indexer_esm_uuid": esm["UUID"], "alarm_topic_arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:{n('alarms')}",
        "outbox": f"s3://{n('requests')}/outbox/",
    }
    c["ssm"].put_parameter(Name=f"/relay/{stage}/outputs", Type="String", Value=json.dumps(outputs), Overwrite=True)
    return Stage(stage, outputs, c)


def seed_metrics(cw: Any, stage: Stage, hours: float = 24, iterator_age_ms: float = 1000.0) -> int:
    """Publish ``hours`` of per-minute IteratorAge, queue depth and oldest-age points; returns the count."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    o = stage.outputs
    series = [
        ("AWS/Lambda", "IteratorAge", [{"Name": "FunctionName", "Value": o["log_indexer_function"]}], iterator_age_ms),
        ("AWS/Lambda", "Errors", [{"Name": "FunctionName", "Value": o["send_worker_function"]}], 0.0),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", [{"Name": "QueueName", "Value": o["job_queue_url"].rsplit("/", 1)[-1]}], 3.0),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", [{"Name": "QueueName", "Value": o["job_queue_url"].rsplit("/", 1)[-1]}], 5.0),
    ]
    minutes = int(hours * 60)
    sent = 0
    for ns, metric, dims, value in series:
        data = [{"MetricName": metric, "Dimensions": dims, "Timestamp": now - timedelta(minutes=i),
                 "Value": value + (i % 7), "Unit": "Count"} for i in range(minutes)]
        for i in range(0, len(data), 1000):
            cw.put_metric_data(Namespace=ns, MetricData=data[i:i + 1000])
            sent += len(data[i:i + 1000])
    return sent


def wait_until(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())
