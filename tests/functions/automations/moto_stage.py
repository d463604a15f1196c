"""A stage's tables, bucket and queues in moto (in-process), with the function environment pointing at it.

Shared by the request worker, job worker and log indexer tests: real boto3 clients, unique names, and
the event shapes built from real API responses by the local data plane's own record builders.
"""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import boto3
from moto import mock_aws

from relay.local.dataplane.records import sqs_event_record, stream_event_record

REGION = "us-east-1"
_INDEX_NAMES = {"recipient": "by_recipient", "status": "by_status", "runId": "by_run", "requestId": "by_request"}


@dataclass
class Stage:
    bucket: str
    state_table: str
    message_table: str
    log_table: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    stream_arn: str
    s3: Any
    sqs: Any
    ddb: Any
    streams: Any
    max_receive: int

    # ---- event builders from real API responses --------------------------------------------------
    def s3_put_event(self, key: str) -> dict:
        """An S3 ObjectCreated:Put event; the key URL-encoded as S3 sends it."""
        from urllib.parse import quote_plus

        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        return {"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
            "eventTime": "2026-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "automations",
                   "bucket": {"name": self.bucket, "arn": f"arn:aws:s3:::{self.bucket}"},
                   "object": {"key": quote_plus(key), "size": head["ContentLength"], "eTag": head["ETag"].strip('"')}},
        }]}

    def receive_jobs(self, max_messages: int = 10, wait: int = 0) -> list[dict]:
        resp = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=max_messages,
                                        AttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=wait)
        return resp.get("Messages", [])

    def sqs_event(self, messages: list[dict]) -> dict:
        return {"Records": [sqs_event_record(m, self.queue_arn, REGION) for m in messages]}

    def settle(self, messages: list[dict], response: dict) -> None:
        """What the event source mapping does with a partial batch response."""
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=0)
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def dlq_bodies(self) -> list[dict]:
        out = []
        resp = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        for m in resp.get("Messages", []):
            out.append(json.loads(m["Body"]))
        return out

    def stream_records(self) -> list[dict]:
        """Every record on the messages table's stream, as Lambda's event records."""
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        out = []
        for shard in shards:
            it = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            out += [stream_event_record(r, self.stream_arn, REGION)
                    for r in self.streams.get_records(ShardIterator=it)["Records"]]
        return out

    def get_item(self, table: str, pk: str, sk: str) -> dict | None:
        from functions.automations.adapters import _Codec

        item = self.ddb.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")
        return _Codec.load(item) if item else None


def _table(ddb: Any, name: str, gsis: tuple[str, ...] = (), stream: bool = False) -> None:
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]
    kwargs: dict[str, Any] = {}
    if gsis:
        for g in gsis:
            attrs.append({"AttributeName": g, "AttributeType": "S"})
        attrs.append({"AttributeName": "updatedAt", "AttributeType": "N"})
        kwargs["GlobalSecondaryIndexes"] = [{
            "IndexName": _INDEX_NAMES[g],
            "KeySchema": [{"AttributeName": g, "KeyType": "HASH"}, {"AttributeName": "updatedAt", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}} for g in gsis]
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", AttributeDefinitions=attrs,
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     **kwargs)


@contextmanager
def _moto(monkeypatch: Any, server: bool) -> Iterator[str | None]:
    if not server:
        with mock_aws():
            yield None
        return
    from moto.server import ThreadedMotoServer

    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    try:
        host, port = srv.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        yield endpoint
    finally:
        srv.stop()


@contextmanager
def moto_stage(monkeypatch: Any, fetch_allow: str = "", max_receive: int = 3, server: bool = False) -> Iterator[Stage]:
    """Create a stage in moto and point the function environment (and cached clients) at it.

    ``server=True`` runs moto as a ThreadedMotoServer on a free loopback port (``AWS_ENDPOINT_URL``), as
    the local stage does: moto 5.2's in-process mock answers DynamoDB Streams calls with 404.
    """
    from functions.automations.bootstrap import reset_deps
    from functions.shared.aws import reset_clients
    from functions.shared.settings import reset_settings

    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                 "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    suffix = uuid.uuid4().hex[:8]
    with _moto(monkeypatch, server) as endpoint:
        s3, sqs, ddb, streams = (boto3.client(s, region_name=REGION, endpoint_url=endpoint)
                                 for s in ("s3", "sqs", "dynamodb", "dynamodbstreams"))
        bucket = f"relay-test-requests-{suffix}"
        s3.create_bucket(Bucket=bucket)
        dlq_url = sqs.create_queue(QueueName=f"relay-test-job-dlq-{suffix}")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(QueueName=f"relay-test-jobs-{suffix}", Attributes={
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)})})["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        state, messages, log = (f"relay-test-{n}-{suffix}" for n in ("state", "messages", "message-log"))
        _table(ddb, state)
        _table(ddb, messages, stream=True)
        _table(ddb, log, gsis=("recipient", "status", "runId", "requestId"))
        stream_arn = ddb.describe_table(TableName=messages)["Table"]["LatestStreamArn"]
        env = {"STAGE": "test", "REQUEST_BUCKET": bucket, "STATE_TABLE": state, "MESSAGE_TABLE": messages,
               "LOG_TABLE": log, "JOB_QUEUE_URL": queue_url, "FETCH_ALLOW": fetch_allow}
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        reset_settings()
        reset_clients()
        reset_deps()
        try:
            yield Stage(bucket=bucket, state_table=state, message_table=messages, log_table=log, queue_url=queue_url,
                        queue_arn=queue_arn, dlq_url=dlq_url, stream_arn=stream_arn, s3=s3, sqs=sqs, ddb=ddb,
                        streams=streams, max_receive=max_receive)
        finally:
            reset_settings()
            reset_clients()
            reset_deps()
