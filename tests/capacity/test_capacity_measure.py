"""Counting and pricing AWS calls: billing units per call and the in-process call counter (moto)."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from relay.capacity import units
from relay.capacity.call_counter import CallCounter


# ---- billing units (pure) ----------------------------------------------------------------------------
def test_s3_tiers_follow_the_price_list():
    assert units.s3_tier("PutObject") == "put" and units.s3_tier("ListObjectsV2") == "put"
    assert units.s3_tier("GetObject") == "get" and units.s3_tier("HeadObject") == "get"
    assert units.s3_tier("DeleteObject") == "free"


def test_sqs_payload_is_billed_per_64kb_chunk():
    assert units.sqs_requests("SendMessage", {"MessageBody": "x" * 100}) == 1
    assert units.sqs_requests("SendMessage", {"MessageBody": "x" * (64 * 1024 + 1)}) == 2
    batch = {"Entries": [{"Id": str(i), "MessageBody": "x" * 30_000} for i in range(5)]}
    assert units.sqs_requests("SendMessageBatch", batch) == 3  # 150,000 bytes → 3 chunks, not 5 requests
    assert units.sqs_requests("ReceiveMessage", {}) == 1


def test_dynamodb_item_size_is_the_same_in_both_notations():
    wire = {"pk": {"S": "MSG#abc"}, "n": {"N": "12345"}, "m": {"M": {"a": {"BOOL": True}}}, "l": {"L": [{"S": "x"}]}}
    native = {"pk": "MSG#abc", "n": 12345, "m": {"a": True}, "l": ["x"]}
    assert units.item_size(wire) == units.item_size(native) > 0


def test_write_units_count_kilobytes_gsis_and_transactions():
    gsis = {"log": [["recipient", "updatedAt"], ["status", "updatedAt"], ["runId", "updatedAt"]]}
    small = {"TableName": "log", "Item": {"pk": "MSG#1", "sk": "VIEW", "recipient": "u", "status": "SENT", "updatedAt": 1}}
    assert units.write_units("PutItem", small, gsis) == 1 + 2  # 1 KB + two GSIs the item reaches
    sparse = {"TableName": "log", "Item": {"pk": "MSG#1", "sk": "EVT#1", "recipient": "u", "status": "SENT"}}
    assert units.write_units("PutItem", sparse, gsis) == 1  # no updatedAt: in no index
    update = {"TableName": "log", "Key": {"pk": "MSG#1", "sk": "VIEW"}, "UpdateExpression": "SET #s = :s",
              "ExpressionAttributeNames": {"#s": "status"}, "ExpressionAttributeValues": {":s": "DELIVERED"}}
    assert units.write_units("UpdateItem", update, gsis) == 2
    big = {"TableName": "t", "Item": {"pk": "k", "body": "x" * 2500}}
    assert units.write_units("PutItem", big) == 3
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": {"pk": str(i)}}} for i in range(25)]}}
    assert units.write_units("BatchWriteItem", batch) == 25
    tx = {"TransactItems": [{"Put": {"TableName": "t", "Item": {"pk": "a"}}},
                            {"Update": {"TableName": "t", "Key": {"pk": "b"}, "UpdateExpression": "SET x = :v",
                                        "ExpressionAttributeValues": {":v": 1}}}]}
    assert units.write_units("TransactWriteItems", tx) == 4


def test_read_units_depend_on_size_and_consistency():
    item = {"pk": "a", "body": "x" * 5000}
    assert units.read_units("GetItem", {}, {"Item": item}) == 1.0  # 2 x 4 KB, eventually consistent = half
    assert units.read_units("GetItem", {"ConsistentRead": True}, {"Item": item}) == 2.0
    assert units.read_units("GetItem", {}, {}) == 0.5  # a miss still costs the minimum
    assert units.read_units("Query", {}, {"Items": [{"pk": "x" * 3000}] * 3}) == 1.5


# ---- the counter, against moto ------------------------------------------------------------------------
def _exercise_aws() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="relay-test-requests")
    s3.put_object(Bucket="relay-test-requests", Key="send/req_1.json", Body=b"{}")
    s3.get_object(Bucket="relay-test-requests", Key="send/req_1.json")
    s3.delete_object(Bucket="relay-test-requests", Key="send/req_1.json")
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="relay-test-jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"v": 1, "runId": "run_1", "step": 0}))
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    ddb = boto3.resource("dynamodb", region_name="us-east-1")
    table = ddb.create_table(
        TableName="relay-test-log", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "recipient")],
        GlobalSecondaryIndexes=[{"IndexName": "by_recipient", "KeySchema": [{"AttributeName": "recipient", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    table.put_item(Item={"pk": "MSG#1", "sk": "VIEW", "recipient": "u-1", "ts": 1})
    table.get_item(Key={"pk": "MSG#1", "sk": "VIEW"})


@mock_aws
def test_counter_files_calls_under_the_handler_and_prices_them():
    with CallCounter(handler_prefixes=(__name__,), plane_prefixes=("nothing.",)) as counter:
        _exercise_aws()
    t = counter.tally("handler")
    assert t.calls["s3:PutObject"] == 1 and t.calls["s3:GetObject"] == 1 and t.calls["s3:DeleteObject"] == 1
    assert t.s3_put_tier == 2 and t.s3_get_tier == 1  # CreateBucket is a PUT-tier request too; DELETE is free
    assert t.sqs_requests == 3 and t.sqs_messages_received == 1  # CreateQueue, SendMessage, ReceiveMessage
    assert t.dynamodb_wru == 2  # 1 KB item + the by_recipient GSI it reaches
    assert t.dynamodb_rru == 0.5
    assert counter.tally("other").calls == {}


@mock_aws
def test_counter_tells_the_data_plane_from_other_callers():
    with CallCounter(handler_prefixes=("nothing.",), plane_prefixes=(__name__,)) as counter:
        boto3.client("sqs", region_name="us-east-1").list_queues()
    with CallCounter(handler_prefixes=("nothing.",), plane_prefixes=("nothing.",)) as other:
        boto3.client("sqs", region_name="us-east-1").list_queues()
    assert counter.tally("dataplane").calls["sqs:ListQueues"] == 1 and counter.tally("handler").calls == {}
    assert other.tally("other").calls["sqs:ListQueues"] == 1


@mock_aws
def test_counter_counts_failed_calls_and_reraises():
    s3 = boto3.client("s3", region_name="us-east-1")
    with CallCounter(handler_prefixes=(__name__,)) as counter:
        with pytest.raises(s3.exceptions.NoSuchBucket) as err:
            s3.get_object(Bucket="relay-test-missing", Key="x")
    assert err.value.response["Error"]["Code"] == "NoSuchBucket"
    assert counter.tally("handler").s3_get_tier == 1  # AWS bills the failed GET too


@mock_aws
def test_uninstalled_counter_counts_nothing_more():
    counter = CallCounter(handler_prefixes=(__name__,)).install()
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.list_queues()
    counter.uninstall()
    sqs.list_queues()
    assert counter.tally("handler").calls["sqs:ListQueues"] == 1


def test_snapshot_difference_is_one_phase():
    from relay.capacity.call_counter import Tally

    a = Tally(s3_put_tier=2)
    a.calls["s3:PutObject"] = 2
    b = a.copy()
    b.s3_put_tier += 3
    b.calls["s3:PutObject"] += 3
    d = b.minus(a)
    assert d.s3_put_tier == 3 and d.calls == {"s3:PutObject": 3}


def test_flow_document_is_per_notification_and_parses():
    from relay.capacity.calls import parse_calls
    from relay.capacity.call_counter import Tally
    from relay.capacity.measure import flow_document

    handler = Tally(s3_put_tier=20, s3_get_tier=10, dynamodb_wru=250, sqs_messages_sent=30, sqs_requests=30)
    handler.calls["s3:PutObject"] = 20
    plane = Tally(stream_records_read=30, sqs_messages_received=45)
    metrics = {"api": {"Invocations.Sum": 10.0, "Duration.Sum": 1500.0},
               "job_worker": {"Invocations.Sum": 21.0, "Duration.Sum": 420.0},
               "request_worker": {"Invocations.Sum": 0.0, "Duration.Sum": 0.0}}
    doc = flow_document("automation", "d", 10, handler, plane, metrics)
    assert doc["s3_put_tier"] == 2 and doc["dynamodb_wru"] == 25 and doc["stream_records"] == 3
    assert doc["job_messages"] == 3 and doc["job_messages_received"] == 4.5  # sends, not redeliveries
    assert doc["functions"] == {"api": {"invocations": 1.0, "duration_ms": 150.0},
                                "job_worker": {"invocations": 2.1, "duration_ms": 42.0}}
    calls = parse_calls({"version": 1, "flows": {"automation": doc}})
    assert calls.flows["automation"].job_messages == 3


def test_committed_measurement_is_readable():
    from relay.capacity.calls import DEFAULT_CALLS_PATH, load_calls

    calls = load_calls()
    assert set(calls.flows) == {"send", "automation"}, DEFAULT_CALLS_PATH
    assert calls.notifications["send"] >= 100 and calls.measured_at and calls.command.startswith(".venv/bin/python bench/calls.py")
    assert calls.log_indexer_duration is not None and calls.log_indexer_duration.per_record_s > 0
    assert calls.flows["send"].s3_put_tier >= 1  # at least the API's request object
