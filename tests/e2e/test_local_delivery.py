"""Email through SES and SMS through SNS on the local stage (`relay up` with `relay:providers`
``{"email": "ses", "sms": "sns"}``): SES's mailbox simulator's events travel the configuration set's topic to
the feedback function and end each message where SES says, the suppression list keeps later sends from SES,
and nothing is sent twice.

Run with ``-s`` to see each simulator address's status timeline.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from functions.shared.ids import message_id
from tests.e2e.harness import LocalStage, start_stage

SENDER = "Relay <notifications@relay.local>"
PHONE = "+14155550100"


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> LocalStage:
    st = start_stage({"relay:providers": json.dumps({"email": "ses", "sms": "sns"}), "relay:emailFrom": SENDER,
                      "relay:smsSenderId": "RELAY"},
                     state_dir=tmp_path_factory.mktemp("relay-delivery"))
    yield st
    code = st.stop()
    assert code == 0, f"relay up must exit 0 after SIGINT, got {code}: {''.join(st.lines[-20:])}"


def _sent_by_ses(stage: LocalStage) -> int:
    return int(stage.client("ses").get_send_quota()["SentLast24Hours"])


def _send(stage: LocalStage, to: dict[str, str], channels: list[str]) -> str:
    r = stage.post("/send", {"message": {"to": to, "content": {"title": "Hi {{ name }}", "body": "Order shipped."},
                                         "data": {"name": "Ada"}, "routing": {"method": "all", "channels": channels}}})
    assert r.status_code == 202, r.text
    return r.json()["requestId"]


def _messages(stage: LocalStage, request_id: str, want: dict[str, str], timeout: float = 90) -> dict[str, dict]:
    """Wait until every channel's message of the request has the status ``want[channel]``."""
    def check() -> dict[str, dict] | None:
        body = stage.get(f"/requests/{request_id}").json()
        by_channel = {m["channel"]: m for m in body.get("messages", [])}
        done = all(by_channel.get(ch, {}).get("status") == status for ch, status in want.items())
        return by_channel if done else None

    return stage.wait_for(check, timeout, interval=0.5, what=f"{request_id} to reach {want}")


def _timeline(stage: LocalStage, mid: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    items = stage.client("dynamodb").query(
        TableName=stage.outputs["message_table"], ConsistentRead=True,
        KeyConditionExpression="pk = :p AND begins_with(sk, :e)",
        ExpressionAttributeValues={":p": {"S": f"MSG#{mid}"}, ":e": {"S": "EVT#"}})["Items"]
    return [{k: des.deserialize(v) for k, v in i.items()} for i in items]


def _show(title: str, events: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    for e in events:
        at = datetime.fromtimestamp(int(e["ts"]) / 1000, timezone.utc).strftime("%H:%M:%S.%f")[:-3]
        extra = " ".join(f"{k}={e[k]}" for k in ("reason", "provider", "detail") if e.get(k))
        print(f"  {at}  {e['status']:<13} {extra}".rstrip())


def _statuses(events: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(e["status"], e.get("reason")) for e in events]


def test_send_to_address_and_phone_ends_delivered_by_email_and_sent_by_sms(stage: LocalStage) -> None:
    before = _sent_by_ses(stage)
    rid = _send(stage, {"user_id": "u-ada", "email": "ada@example.com", "phone_number": PHONE}, ["email", "sms"])
    msgs = _messages(stage, rid, {"email": "DELIVERED", "sms": "SENT"})
    assert _sent_by_ses(stage) == before + 1
    email = _timeline(stage, msgs["email"]["messageId"])
    sms = _timeline(stage, msgs["sms"]["messageId"])
    _show("ada@example.com (email, ses)", email)
    _show(f"{PHONE} (sms, sns)", sms)
    assert _statuses(email) == [("ENQUEUED", None), ("SENT", None), ("DELIVERED", None)]
    assert email[-1]["provider"] == "ses" and email[-1]["feedbackId"].startswith("Delivery:")
    assert email[1]["providerMessageId"] == email[-1]["providerMessageId"]  # SES's id, sent → its delivery event
    assert _statuses(sms) == [("ENQUEUED", None), ("SENT", None)] and sms[-1]["provider"] == "sns"


def test_success_simulator_ends_delivered(stage: LocalStage) -> None:
    before = _sent_by_ses(stage)
    rid = _send(stage, {"email": "success@simulator.amazonses.com"}, ["email"])
    msg = _messages(stage, rid, {"email": "DELIVERED"})["email"]
    events = _timeline(stage, msg["messageId"])
    _show("success@simulator.amazonses.com", events)
    assert _statuses(events) == [("ENQUEUED", None), ("SENT", None), ("DELIVERED", None)]
    assert _sent_by_ses(stage) == before + 1


@pytest.mark.parametrize(("address", "reason", "verdicts"), [
    ("bounce@simulator.amazonses.com", "BOUNCED", [("UNDELIVERABLE", "BOUNCED")]),
    ("complaint@simulator.amazonses.com", "COMPLAINT", [("DELIVERED", None), ("UNDELIVERABLE", "COMPLAINT")]),
])
def test_simulator_verdict_ends_undeliverable_and_next_send_is_suppressed_without_ses(
        stage: LocalStage, address: str, reason: str, verdicts: list) -> None:
    # GIVEN a send to the simulator address: SES accepts it, then reports the bounce (or delivery + complaint)
    before = _sent_by_ses(stage)
    first = _send(stage, {"email": address}, ["email"])
    msg = _messages(stage, first, {"email": "UNDELIVERABLE"})["email"]
    assert msg["reason"] == reason and _sent_by_ses(stage) == before + 1
    events = stage.wait_for(lambda: (ev := _timeline(stage, msg["messageId"])) and len(ev) == 2 + len(verdicts) and ev,
                            30, interval=0.5, what="every SES verdict recorded")
    _show(address, events)
    assert _statuses(events) == [("ENQUEUED", None), ("SENT", None), *verdicts]
    # the address is on the suppression list, naming the message that put it there
    item = stage.client("dynamodb").get_item(TableName=stage.outputs["state_table"], ConsistentRead=True,
                                             Key={"pk": {"S": "SUPPRESSION#email"}, "sk": {"S": address}})["Item"]
    assert (item["reason"]["S"], item["messageId"]["S"]) == (reason, msg["messageId"])
    # WHEN the address is mailed again THEN it ends UNDELIVERABLE/SUPPRESSED and SES is not called
    second = _send(stage, {"email": address}, ["email"])
    again = _messages(stage, second, {"email": "UNDELIVERABLE"})["email"]
    assert again["reason"] == "SUPPRESSED"
    later = _timeline(stage, again["messageId"])
    _show(f"{address}, sent again", later)
    assert _statuses(later) == [("ENQUEUED", None), ("UNDELIVERABLE", "SUPPRESSED")]
    assert _sent_by_ses(stage) == before + 1


def test_replayed_s3_event_and_redelivered_job_send_nothing_twice(stage: LocalStage) -> None:
    # GIVEN a delivered send
    before = _sent_by_ses(stage)
    rid = _send(stage, {"email": "success@simulator.amazonses.com"}, ["email"])
    msg = _messages(stage, rid, {"email": "DELIVERED"})["email"]
    assert _sent_by_ses(stage) == before + 1
    events = _timeline(stage, msg["messageId"])
    # WHEN S3 notifies the send worker again (the request object written again: a second ObjectCreated)
    s3, bucket = stage.client("s3"), stage.outputs["request_bucket"]
    body = s3.get_object(Bucket=bucket, Key=f"send/{rid}.json")["Body"].read()
    s3.put_object(Bucket=bucket, Key=f"send/{rid}.json", Body=body)
    # AND an automation's send step whose job is delivered twice
    run = stage.post("/automations/invoke", {"automation": {"steps": [
        {"action": "send", "message": {"to": {"email": "success@simulator.amazonses.com"},
                                       "content": {"title": "Step", "body": "once"},
                                       "routing": {"method": "single", "channels": ["email"]}}},
        {"action": "delay", "duration": "4 seconds"}]}, "data": {}, "profile": {}, "recipient": "u-job"})
    assert run.status_code == 202, run.text
    run_id = run.json()["runId"]
    step0 = stage.wait_for(lambda: (b := stage.get(f"/automations/runs/{run_id}").json()).get("steps")
                           and b["steps"][0].get("status") == "COMPLETED" and b["steps"][0], 60, interval=0.5,
                           what="the send step to complete")
    send_request = step0["result"]["requestId"]
    job_mid = message_id(send_request, "success@simulator.amazonses.com", "email")
    stage.wait_for(lambda: any(e["status"] == "DELIVERED" for e in _timeline(stage, job_mid)), 60, interval=0.5,
                   what="the step's message to be delivered")
    stage.client("sqs").send_message(QueueUrl=stage.outputs["job_queue_url"],
                                     MessageBody=json.dumps({"v": 1, "runId": run_id, "step": 0}))
    stage.wait_for(lambda: stage.get(f"/automations/runs/{run_id}").json()["status"] == "COMPLETED", 60,
                   interval=0.5, what="the run to complete")
    time.sleep(2)  # time for a duplicate to show, had there been one
    # THEN SES was called once per message, and the first message's timeline is unchanged
    assert _sent_by_ses(stage) == before + 2
    assert _timeline(stage, msg["messageId"]) == events
    assert [e["status"] for e in _timeline(stage, job_mid)].count("SENT") == 1
