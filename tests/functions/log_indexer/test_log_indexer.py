"""Log indexer: real DynamoDB stream records (NEW_IMAGE, AWS JSON) from moto → VIEW items (the timeline is the
messages table's own events: nothing is copied)."""
from __future__ import annotations

import copy
import random

import pytest
from hypothesis import given, settings, strategies as st

from functions.log_indexer.core import newer, view_item
from functions.log_indexer.handler import lambda_handler, reset_store
from tests.functions.automations.moto_stage import moto_stage

MSG = "msg_0123456789abcdef0123456789abcdef"


@pytest.fixture
def stage(monkeypatch):
    reset_store()
    with moto_stage(monkeypatch, server=True) as s:
        yield s
    reset_store()


def _event(stage, ts, seq, status, **extra):
    item = {"pk": {"S": f"MSG#{MSG}"}, "sk": {"S": f"EVT#{ts:013d}#{seq:02d}#{status}"},
            "messageId": {"S": MSG}, "requestId": {"S": "req_01JQ"}, "runId": {"S": "run_01JQ"},
            "recipient": {"S": "user-1"}, "channel": {"S": "email"}, "status": {"S": status},
            "ts": {"N": str(ts)}, "expiresAt": {"N": "1900000000"}}
    item.update(extra)
    stage.ddb.put_item(TableName=stage.message_table, Item=item)


def _view(stage):
    return stage.get_item(stage.log_table, f"MSG#{MSG}", "VIEW")


def _timeline(stage, table=None):
    resp = stage.ddb.query(TableName=table or stage.message_table,
                           KeyConditionExpression="pk = :pk AND begins_with(sk, :e)",
                           ExpressionAttributeValues={":pk": {"S": f"MSG#{MSG}"}, ":e": {"S": "EVT#"}})
    return [i["sk"]["S"] for i in resp["Items"]]


def test_stream_batch_builds_view_and_copies_no_timeline(stage):
    _event(stage, 1_700_000_000_000, 0, "ENQUEUED")
    _event(stage, 1_700_000_000_050, 1, "SENT", provider={"S": "outbox"})
    _event(stage, 1_700_000_000_090, 2, "DELIVERED", provider={"S": "outbox"}, deliveryId={"S": "dlv_1"})
    records = stage.stream_records()
    assert [r["eventName"] for r in records] == ["INSERT"] * 3
    assert records[0]["dynamodb"]["NewImage"]["ts"] == {"N": "1700000000000"}  # AWS JSON, as Lambda gets it
    assert lambda_handler({"Records": records}, None) == {"batchItemFailures": []}
    view = _view(stage)
    assert view["status"] == "DELIVERED" and view["updatedAt"] == 1_700_000_000_090
    assert view["deliveryId"] == "dlv_1" and view["recipient"] == "user-1" and view["runId"] == "run_01JQ"
    assert len(_timeline(stage)) == 3, "the timeline is the messages table's own events"
    assert _timeline(stage, stage.log_table) == [], "no timeline copy in the message-log table"
    # the GSIs answer the console's questions
    by_status = stage.ddb.query(TableName=stage.log_table, IndexName="by_status",
                                KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
                                ExpressionAttributeValues={":s": {"S": "DELIVERED"}})
    assert [i["messageId"]["S"] for i in by_status["Items"]] == [MSG]
    by_run = stage.ddb.query(TableName=stage.log_table, IndexName="by_run", KeyConditionExpression="runId = :r",
                             ExpressionAttributeValues={":r": {"S": "run_01JQ"}})
    assert by_run["Count"] == 1


def test_out_of_order_and_replayed_records_keep_newest(stage):
    _event(stage, 1_000, 0, "ENQUEUED")
    _event(stage, 2_000, 1, "SENT")
    _event(stage, 3_000, 2, "UNDELIVERABLE", reason={"S": "bounced"})
    records = stage.stream_records()
    # newest first, then a replay of the whole batch (a retry after a partial failure)
    lambda_handler({"Records": [records[2]]}, None)
    lambda_handler({"Records": [records[0], records[1]]}, None)
    lambda_handler({"Records": records}, None)
    view = _view(stage)
    assert view["status"] == "UNDELIVERABLE" and view["reason"] == "bounced" and view["ts"] == 3_000


def test_same_ts_later_status_wins(stage):
    _event(stage, 5_000, 1, "DELIVERED")
    _event(stage, 5_000, 0, "SENT")
    lambda_handler({"Records": stage.stream_records()}, None)
    assert _view(stage)["status"] == "DELIVERED"


def test_malformed_event_reported_failed_others_indexed(stage):
    _event(stage, 1_000, 0, "ENQUEUED")
    stage.ddb.put_item(TableName=stage.message_table, Item={
        "pk": {"S": "MSG#msg_bad"}, "sk": {"S": "EVT#0000000001000#00#SENT"}, "messageId": {"S": "msg_bad"}})
    stage.ddb.put_item(TableName=stage.message_table, Item={"pk": {"S": "OTHER#x"}, "sk": {"S": "META"}})
    records = stage.stream_records()
    response = lambda_handler({"Records": records}, None)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        records[1]["dynamodb"]["SequenceNumber"]]
    assert _view(stage)["status"] == "ENQUEUED"
    assert stage.get_item(stage.log_table, "OTHER#x", "META") is None


def test_remove_record_ignored(stage):
    _event(stage, 1_000, 0, "ENQUEUED")
    stage.ddb.delete_item(TableName=stage.message_table,
                          Key={"pk": {"S": f"MSG#{MSG}"}, "sk": {"S": "EVT#0000000001000#00#ENQUEUED"}})
    records = stage.stream_records()
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    assert lambda_handler({"Records": records}, None) == {"batchItemFailures": []}
    assert _view(stage)["status"] == "ENQUEUED"


_STATUSES = ["ENQUEUED", "SENT", "DELIVERED", "UNDELIVERABLE", "UNROUTABLE", "CANCELED"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.sampled_from(_STATUSES)), min_size=1, max_size=8),
       st.randoms(use_true_random=False))
def test_any_delivery_order_converges_on_same_view(events, rnd):
    # The pure ordering the conditional write enforces: any permutation with duplicates ends the same.
    images = [{"pk": "MSG#m", "sk": f"EVT#{ts:013d}#{seq:02d}#{s}", "messageId": "m", "status": s, "ts": ts,
               "recipient": "u"} for ts, seq, s in events]

    def fold(order):
        current = None
        for image in order:
            candidate = view_item(image)
            if newer(candidate, current):
                current = candidate
        return current

    shuffled = copy.deepcopy(images) * 2
    rnd.shuffle(shuffled)
    assert fold(shuffled) == fold(images)
