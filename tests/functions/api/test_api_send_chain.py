"""API → request store → send worker → messages table → log indexer → API reads, in-process on moto.

20 sends by default (100 with ``-m slow``), 20 % of them repeating an earlier Idempotency-Key with the same body: one request per key,
one outbox delivery per message, and every request reads back COMPLETED with its final statuses.
"""
from __future__ import annotations

import json
import os
import random

import pytest
from boto3.dynamodb.types import TypeSerializer

from functions.api import handler as api
from functions.send_worker import handler as send_worker
from tests.functions.shared.relay_aws import http_event, relay_stage, s3_put_event


def stream_event(items: list[dict]) -> dict:
    ser = TypeSerializer()
    records = []
    for n, item in enumerate(items):
        image = {k: ser.serialize(v) for k, v in item.items()}
        records.append({
            "eventID": f"e{n}", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
            "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "NewImage": image,
                         "SequenceNumber": str(100 + n), "SizeBytes": 100, "StreamViewType": "NEW_IMAGE",
                         "ApproximateCreationDateTime": 1_800_000_000}})
    return {"Records": records}


@pytest.fixture(scope="module")
def stage():
    with relay_stage() as st:
        yield st


LONG = pytest.mark.skipif(not os.environ.get("RELAY_LONG"), reason="long mode: RELAY_LONG=1 make test-long")


@pytest.mark.parametrize("sends", [20, pytest.param(100, marks=[pytest.mark.slow, LONG])])
def test_sends_with_repeated_keys_deliver_once_and_read_back(stage, sends):
    stage.clear()
    rng = random.Random(7)
    accepted: dict[str, str] = {}  # requestId -> idempotency key
    bodies = {}
    for i in range(sends):
        if i >= 5 and rng.random() < 0.2:
            key = rng.choice(list(bodies))  # repeat an earlier key with its own body
        else:
            key = f"key-{i}"
            channels = ["email", "sms"] if i % 3 else ["email"]
            content = {"body": "Hi {{ name }}"} if i % 10 else {"body": "Hi {{ missing }}"}
            bodies[key] = {"message": {"to": {"email": f"u{i}@x.io", "phone_number": "+1555"}, "content": content,
                                       "data": {"name": f"user{i}"}, "channels": channels}}
        resp = api.lambda_handler(http_event("POST", "/send", bodies[key], headers={"Idempotency-Key": key}), None)
        assert resp["statusCode"] == 202
        accepted[json.loads(resp["body"])["requestId"]] = key
    assert len(accepted) == len(bodies)  # one request per key, replays included
    keys = stage.keys("send/")
    assert len(keys) == len(bodies)

    for key in keys:  # each ObjectCreated event, and a redelivery of every third one
        send_worker.lambda_handler(s3_put_event(stage.bucket, key), None)
    for key in keys[::3]:
        send_worker.lambda_handler(s3_put_event(stage.bucket, key), None)

    outbox = stage.keys("outbox/")
    assert len(outbox) == len({k.rsplit("/", 1)[0] for k in outbox})  # no message delivered twice

    from functions.log_indexer import handler as log_indexer

    log_indexer.reset_store()
    events = sorted(stage.items(stage.messages), key=lambda i: (i["pk"], i["sk"]))
    result = log_indexer.lambda_handler(stream_event(events), None)
    assert result == {"batchItemFailures": []}

    statuses: dict[str, int] = {}
    for request_id in accepted:
        resp = api.lambda_handler(http_event("GET", f"/requests/{request_id}"), None)
        body = json.loads(resp["body"])
        assert resp["statusCode"] == 200 and body["status"] == "COMPLETED", body
        for m in body["messages"]:
            statuses[m["status"]] = statuses.get(m["status"], 0) + 1
    delivered = sum(1 for k in outbox)
    assert statuses.get("DELIVERED") == delivered
    assert set(statuses) == {"DELIVERED", "UNROUTABLE"}  # the i % 10 == 0 ones miss a variable
