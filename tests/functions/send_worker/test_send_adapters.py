"""The send worker's boto3 adapters on moto: the delivery claim's lease and settlement."""
from __future__ import annotations

import pytest

from functions.send_worker.adapters import DynamoClaimStore, DynamoRunState, S3TemplateStore
from functions.send_worker.ports import ClaimResult, Outcome
from tests.functions.shared.relay_aws import relay_stage


@pytest.fixture(scope="module")
def stage():
    with relay_stage() as st:
        yield st


def _enqueued(mid: str, ts: int) -> dict:
    return {"pk": f"MSG#{mid}", "sk": "EVT#1700000000000#00#ENQUEUED", "messageId": mid, "status": "ENQUEUED",
            "ts": ts, "recipient": "a@x.io", "channel": "email", "requestId": "req_x"}


def _item(stage, mid: str) -> dict:
    import boto3

    return boto3.resource("dynamodb").Table(stage.messages).get_item(
        Key={"pk": f"MSG#{mid}", "sk": "EVT#1700000000000#00#ENQUEUED"}, ConsistentRead=True)["Item"]


def test_claim_is_the_enqueued_event_exclusive_while_leased_and_taken_over_after(stage):
    claims = DynamoClaimStore(stage.messages, stage.state)
    first = claims.acquire(_enqueued("msg_a", 1_000), "dlv_1", now_ms=1_000, lease_ms=500)
    assert (first.acquired, first.enqueued_ts) == (True, 1_000)
    assert not claims.acquire(_enqueued("msg_a", 1_200), "dlv_2", now_ms=1_200, lease_ms=500).acquired
    assert not claims.take_over(_enqueued("msg_a", 1_200), "dlv_2", now_ms=1_200, lease_ms=500).acquired, "leased"
    later = claims.take_over(_enqueued("msg_a", 1_501), "dlv_3", now_ms=1_501, lease_ms=500)  # the first one crashed
    assert (later.acquired, later.enqueued_ts) == (True, 1_000)
    item = _item(stage, "msg_a")
    assert (item["status"], int(item["ts"]), item["claimedBy"], int(item["leaseUntil"])) == \
        ("ENQUEUED", 1_000, "dlv_3", 2_001), "the event keeps the first claim's time; the lease moved"


def test_claim_settled_by_an_earlier_version_returns_its_outcome_forever(stage):
    import boto3

    # GIVEN a claim as versions before this one left it in the state table: DONE, the outcome on the claim
    outcome = Outcome("DELIVERED", None, "outbox", "dlv_1", ((10, 0, "ENQUEUED"), (11, 1, "SENT"), (11, 2, "DELIVERED")))
    boto3.resource("dynamodb").Table(stage.state).put_item(Item={
        "pk": "DELIVERY#msg_b", "sk": "CLAIM", "deliveryId": "dlv_1", "status": "DONE", "outcome": outcome.as_item()})
    claims = DynamoClaimStore(stage.messages, stage.state)
    # THEN the outcome comes back, however late; a message no earlier version claimed has none
    assert claims.legacy("msg_b") == ClaimResult(acquired=False, outcome=outcome)
    assert claims.legacy("msg_never") is None


def test_release_only_by_the_holder(stage):
    claims = DynamoClaimStore(stage.messages, stage.state)
    assert claims.acquire(_enqueued("msg_c", 0), "dlv_1", now_ms=0, lease_ms=10**9).acquired
    claims.release(_enqueued("msg_c", 0), "dlv_other")  # not the holder: no effect, no error
    assert not claims.take_over(_enqueued("msg_c", 1), "dlv_2", now_ms=1, lease_ms=10).acquired
    claims.release(_enqueued("msg_c", 0), "dlv_1")
    assert "leaseUntil" not in _item(stage, "msg_c"), "given up: the event stays, the lease goes"
    assert claims.take_over(_enqueued("msg_c", 2), "dlv_2", now_ms=2, lease_ms=10).acquired


def test_event_log_writes_final_events_together_and_reads_them_back(stage):
    from functions.send_worker.adapters import DynamoEventLog

    log = DynamoEventLog(stage.messages)
    base = {"pk": "MSG#msg_e", "messageId": "msg_e", "recipient": "a@x.io", "channel": "email", "requestId": "req_e"}
    log.put({**base, "sk": "EVT#0000000000010#00#ENQUEUED", "status": "ENQUEUED", "ts": 10})
    log.put_all([{**base, "sk": "EVT#0000000000011#01#SENT", "status": "SENT", "ts": 11, "deliveryId": "dlv_1"},
                 {**base, "sk": "EVT#0000000000011#02#DELIVERED", "status": "DELIVERED", "ts": 11, "deliveryId": "dlv_1"}])
    events = log.events("msg_e")
    assert [e["status"] for e in events] == ["ENQUEUED", "SENT", "DELIVERED"]
    recorded = Outcome.from_events(events)
    assert recorded is not None and (recorded.status, recorded.delivery_id) == ("DELIVERED", "dlv_1")
    assert recorded.events == ((10, 0, "ENQUEUED"), (11, 1, "SENT"), (11, 2, "DELIVERED"))


def test_run_state_cancel_by_status_or_token_and_profiles(stage):
    import boto3

    table = boto3.resource("dynamodb").Table(stage.state)
    table.put_item(Item={"pk": "RUN#r1", "sk": "RUN", "status": "CANCELED"})
    table.put_item(Item={"pk": "RUN#r2", "sk": "RUN", "status": "RUNNING", "cancelation_token": "t2"})
    table.put_item(Item={"pk": "RUN#r3", "sk": "RUN", "status": "RUNNING", "cancelation_token": "t3"})
    table.put_item(Item={"pk": "TOKEN#t2", "sk": "CANCELED", "canceledAt": "x"})
    table.put_item(Item={"pk": "PROFILE#u1", "sk": "PROFILE", "profile": {"email": "u1@x.io"}})
    runs = DynamoRunState(stage.state)
    assert [runs.is_canceled(r) for r in ("r1", "r2", "r3", "r_missing")] == [True, True, False, False]
    assert runs.profile("u1") == {"email": "u1@x.io"} and runs.profile("nobody") is None


def test_template_store_reads_named_templates_only_inside_prefix(stage):
    stage.s3.put_object(Bucket=stage.bucket, Key="templates/welcome.json", Body=b'{"body": "hi"}')
    stage.s3.put_object(Bucket=stage.bucket, Key="send/secret.json", Body=b'{"body": "secret"}')
    store = S3TemplateStore(stage.bucket)
    assert store.get("welcome") == {"body": "hi"}
    assert store.get("nope") is None and store.get("../send/secret") is None


def test_run_created_after_its_token_fired_is_not_canceled(stage):
    import boto3

    table = boto3.resource("dynamodb").Table(stage.state)
    table.put_item(Item={"pk": "TOKEN#reused", "sk": "CANCELED", "canceledAt": "2026-11-27T09:00:00.000Z"})
    table.put_item(Item={"pk": "RUN#before", "sk": "RUN", "status": "RUNNING", "cancelation_token": "reused",
                         "createdAt": "2026-11-27T08:59:59.999Z"})
    table.put_item(Item={"pk": "RUN#after", "sk": "RUN", "status": "RUNNING", "cancelation_token": "reused",
                         "createdAt": "2026-11-27T09:00:00.001Z"})
    runs = DynamoRunState(stage.state)
    assert runs.is_canceled("before") is True
    assert runs.is_canceled("after") is False, "a later run reusing a fired token must still send"
