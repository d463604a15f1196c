"""The send worker handler on moto (real boto3 clients, real S3 put event shapes)."""
from __future__ import annotations

import json

import boto3
import pytest

from functions.send_worker import handler
from functions.shared.errors import MissingPayload
from functions.shared.request_store import put_send_request
from tests.functions.shared.relay_aws import s3_put_event


def send(stage, request_id: str, message: dict, source: dict | None = None) -> dict:
    key = put_send_request(stage.bucket, request_id, message, source)
    return s3_put_event(stage.bucket, key)


def events_of(stage) -> list[dict]:
    return sorted(stage.items(stage.messages), key=lambda i: (i["pk"], i["sk"]))


def test_put_event_with_url_encoded_key_delivers_to_outbox(stage):
    # a key with a space and a plus arrives as "send/req_a+b%2Bc.json": unquote_plus must restore it
    event = send(stage, "req_a b+c", {"to": [{"email": "a@x.io"}], "content": {"title": "T", "body": "hi {{ n }}"},
                                       "data": {"n": 1}})
    assert "req_a+b%2Bc" in event["Records"][0]["s3"]["object"]["key"]
    assert handler.lambda_handler(event, None) == {"settled": 1}
    keys = stage.keys("outbox/email/")
    assert len(keys) == 1
    delivered = json.loads(stage.s3.get_object(Bucket=stage.bucket, Key=keys[0])["Body"].read())
    assert (delivered["address"], delivered["title"], delivered["body"]) == ("a@x.io", "T", "hi 1")
    statuses = [i["status"] for i in events_of(stage)]
    assert statuses == ["ENQUEUED", "SENT", "DELIVERED"]


def test_event_items_follow_the_contract_shape(stage):
    handler.lambda_handler(send(stage, "req_shape", {"to": {"email": "a@x.io"}, "content": {"body": "x"}},
                                {"runId": "run_1", "step": 0}), None)
    final = events_of(stage)[-1]
    assert final["pk"] == f"MSG#{final['messageId']}"
    assert final["sk"] == f"EVT#{int(final['ts']):013d}#02#DELIVERED"
    assert (final["requestId"], final["runId"], final["recipient"], final["channel"], final["provider"]) == \
        ("req_shape", "run_1", "a@x.io", "email", "outbox")
    assert final["deliveryId"].startswith("dlv_")
    assert int(final["expiresAt"]) == int(final["ts"]) // 1000 + 30 * 86_400


def test_redelivered_event_does_not_deliver_twice(stage):
    event = send(stage, "req_dup", {"to": [{"email": "a@x.io"}, {"email": "b@x.io"}], "content": {"body": "x"},
                                    "channels": ["email", "push"], })
    handler.lambda_handler(event, None)
    events_after_first = events_of(stage)
    handler.lambda_handler(event, None)
    handler.lambda_handler(event, None)
    # one outbox object per delivered message (push has no user_id → UNROUTABLE, nothing delivered)
    keys = stage.keys("outbox/")
    message_dirs = {k.rsplit("/", 1)[0] for k in keys}
    assert len(keys) == len(message_dirs) == 2
    assert events_of(stage) == events_after_first


def test_canceled_token_marks_canceled_and_delivers_nothing(stage):
    state = boto3.resource("dynamodb").Table(stage.state)
    state.put_item(Item={"pk": "RUN#run_c", "sk": "RUN", "status": "RUNNING", "cancelation_token": "tok"})
    state.put_item(Item={"pk": "TOKEN#tok", "sk": "CANCELED", "canceledAt": "2026-11-27T08:00:00Z"})
    handler.lambda_handler(send(stage, "req_c", {"to": {"email": "a@x.io"}, "content": {"body": "x"}},
                                {"runId": "run_c", "step": 1}), None)
    assert stage.keys("outbox/") == []
    final = events_of(stage)[-1]
    assert (final["status"], final["reason"]) == ("CANCELED", "run run_c was canceled")


def test_named_template_from_request_store_and_profile_address(stage):
    stage.s3.put_object(Bucket=stage.bucket, Key="templates/welcome.json",
                        Body=json.dumps({"title": "Welcome {{ name }}", "body": "Hi {{ profile.email }}"}))
    boto3.resource("dynamodb").Table(stage.state).put_item(
        Item={"pk": "PROFILE#u1", "sk": "PROFILE", "email": "u1@x.io"})
    handler.lambda_handler(send(stage, "req_t", {"to": {"user_id": "u1"}, "template": "welcome",
                                                 "data": {"name": "Ann"}}), None)
    [key] = stage.keys("outbox/email/")
    doc = json.loads(stage.s3.get_object(Bucket=stage.bucket, Key=key)["Body"].read())
    assert (doc["address"], doc["title"], doc["body"]) == ("u1@x.io", "Welcome Ann", "Hi u1@x.io")


def test_missing_object_raises_retryable_missing_payload(stage):
    event = s3_put_event(stage.bucket, "send/req_gone.json")
    with pytest.raises(MissingPayload) as exc:
        handler.lambda_handler(event, None)
    assert str(exc.value) == f"payload s3://{stage.bucket}/send/req_gone.json is missing: NoSuchKey (retryable)"


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", json.dumps({"requestId": "r", "message": {"to": 5}}).encode()])
def test_bad_content_is_dropped_without_exception(stage, body):
    stage.s3.put_object(Bucket=stage.bucket, Key="send/req_bad.json", Body=body)
    assert handler.lambda_handler(s3_put_event(stage.bucket, "send/req_bad.json"), None) == {"settled": 0}
    assert stage.items(stage.messages) == [] and stage.keys("outbox/") == []


def test_key_outside_send_prefix_is_ignored(stage):
    stage.s3.put_object(Bucket=stage.bucket, Key="automations/run_1.json", Body=b"{}")
    assert handler.lambda_handler(s3_put_event(stage.bucket, "automations/run_1.json"), None) == {"settled": 0}


class _Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_claim_lease_covers_the_invocation_time_left(stage, monkeypatch):
    import time as _time

    from functions.send_worker.core import LEASE_MARGIN_MS

    leases: list[int] = []
    claims = handler.build_ports().claims
    acquire = claims.acquire
    monkeypatch.setattr(claims, "acquire", lambda *a, **kw: leases.append(kw["lease_ms"]) or acquire(*a, **kw))
    before = int(_time.time() * 1000)
    handler.lambda_handler(send(stage, "req_lease", {"to": {"email": "a@x.io"}, "content": {"body": "x"}}),
                           _Context(2_000))
    assert leases == [2_000 + LEASE_MARGIN_MS]
    # the claim is the message's ENQUEUED event, written once: the final events settle it
    assert not [i for i in stage.items(stage.state) if i["pk"].startswith("DELIVERY#")]
    (claim,) = [i for i in stage.items(stage.messages) if "claimedBy" in i]
    assert claim["status"] == "ENQUEUED" and int(claim["leaseUntil"]) >= before + 2_000 + LEASE_MARGIN_MS
    assert int(claim["ts"]) >= before


def test_record_outside_object_created_is_ignored(stage):
    event = send(stage, "req_removed", {"to": {"email": "a@x.io"}, "content": {"body": "x"}})
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert handler.lambda_handler(event, None) == {"settled": 0}
    assert stage.keys("outbox/") == []


def test_unreadable_record_raises_after_the_other_records_ran(stage):
    good = send(stage, "req_good", {"to": {"email": "a@x.io"}, "content": {"body": "x"}})
    gone = s3_put_event(stage.bucket, "send/req_gone.json")
    with pytest.raises(MissingPayload):
        handler.lambda_handler({"Records": gone["Records"] + good["Records"]}, None)
    assert len(stage.keys("outbox/email/")) == 1, "the readable record was delivered before the event failed"
