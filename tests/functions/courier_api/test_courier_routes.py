"""Courier's routes through the API handler on moto: messages, history, cancel, resend, profiles, runs, OpenAPI."""
from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functions.api import handler
from functions.shared.ids import message_id
from tests.functions.shared.relay_aws import http_event

MESSAGE = {"to": {"user_id": "u-1", "email": "ada@example.com"}, "content": {"title": "Hi", "body": "Hello"},
           "metadata": {"tags": ["welcome"], "trace_id": "trace-1"}}


def call(method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
    resp = handler.lambda_handler(http_event(method, path, body, **kw), None)
    return resp["statusCode"], json.loads(resp["body"]) if resp["body"] else None


def _view(stage, mid: str, request_id: str, status: str, ts: int, **extra: Any) -> None:
    item = {"pk": f"MSG#{mid}", "sk": "VIEW", "messageId": mid, "requestId": request_id, "recipient": "u-1",
            "channel": "email", "status": status, "ts": ts, "updatedAt": ts, "enqueuedAt": ts - 5, **extra}
    boto3.resource("dynamodb").Table(stage.log).put_item(Item=item)
    for seq, st in enumerate(("ENQUEUED", status) if status != "ENQUEUED" else ("ENQUEUED",)):
        boto3.resource("dynamodb").Table(stage.messages).put_item(Item={
            "pk": f"MSG#{mid}", "sk": f"EVT#{ts:013d}#{seq:02d}#{st}", "messageId": mid, "requestId": request_id,
            "recipient": "u-1", "channel": "email", "status": st, "ts": ts - 5 + seq * 5, "provider": "outbox"})


def test_send_answers_request_id_and_warnings_and_stores_absolute_delay(stage):
    status, body = call("POST", "/send", {"message": {**MESSAGE, "brand_id": "b", "delay": {"duration": 60000}}})
    assert status == 202 and body["warnings"] == ["brand_id: relay has no brands; the message is sent unbranded"]
    doc = json.loads(stage.s3.get_object(Bucket=stage.bucket, Key=f"send/{body['requestId']}.json")["Body"].read())
    assert set(doc["message"]["delay"]) == {"until"} and doc["message"]["delay"]["until"].endswith("Z")


def test_request_id_answers_for_its_pending_message_then_cancel(stage):
    _, sent = call("POST", "/send", {"message": {**MESSAGE, "delay": {"duration": 3_600_000}}})
    rid = sent["requestId"]
    status, body = call("GET", f"/messages/{rid}")
    assert status == 200 and (body["id"], body["status"], body["recipient"]) == (rid, "ENQUEUED", "u-1")
    status, body = call("POST", f"/messages/{rid}/cancel")
    assert status == 200 and body["status"] == "CANCELED"
    assert call("GET", f"/messages/{rid}/history")[1]["results"][-1]["type"] == "CANCELED"


def test_undelayed_message_cannot_be_canceled(stage):
    _, sent = call("POST", "/send", {"message": MESSAGE})
    status, body = call("POST", f"/messages/{sent['requestId']}/cancel")
    assert status == 409 and body["error"]["code"] == "not_cancelable"


def test_message_details_history_and_list_filters(stage):
    mid = message_id("req_A", "u-1", "email")
    _view(stage, mid, "req_A", "DELIVERED", 1_800_000_000_000, tags=["welcome"], traceId="trace-1")
    _view(stage, message_id("req_B", "u-1", "email"), "req_B", "SENT", 1_800_000_001_000)
    status, body = call("GET", f"/messages/{mid}")
    assert status == 200 and body["status"] == "DELIVERED" and body["enqueued"] == 1_800_000_000_000 - 5
    assert body["delivered"] and body["providers"][0]["provider"] == "outbox"
    assert call("GET", "/messages/req_A")[1]["id"] == mid  # a request id answers for its message
    history = call("GET", f"/messages/{mid}/history")[1]["results"]
    assert [e["type"] for e in history] == ["ENQUEUED", "DELIVERED"]
    for query, expect in (({"recipient": "u-1"}, 2), ({"tag": "welcome"}, 1), ({"trace_id": "trace-1"}, 1),
                          ({"status": "SENT,DELIVERED"}, 2), ({"status": "SENT"}, 1), ({"message_id": mid}, 1),
                          ({}, 2), ({"enqueued_after": "1800000000500"}, 1), ({"list": "x"}, 0)):
        status, body = call("GET", "/messages", query=query)
        assert status == 200 and len(body["results"]) == expect, (query, body)
        assert len(body["items"]) == expect and body["paging"]["more"] is False


def test_list_pages_across_status_partitions_without_loss_or_repeat(stage):
    ids = []
    for n in range(7):
        mid = message_id(f"req_{n}", "u-1", "email")
        ids.append(mid)
        _view(stage, mid, f"req_{n}", ("DELIVERED", "SENT", "UNDELIVERABLE")[n % 3], 1_800_000_000_000 + n * 10)
    seen, cursor = [], None
    for _ in range(10):
        status, body = call("GET", "/messages", query={"limit": "2", **({"cursor": cursor} if cursor else {})})
        assert status == 200
        seen += [r["id"] for r in body["results"]]
        cursor = body["paging"]["cursor"]
        if not body["paging"]["more"]:
            break
    assert seen == list(reversed(ids))  # newest first, every message once


def test_resend_delivers_again_as_a_new_message(stage):
    _, sent = call("POST", "/send", {"message": MESSAGE})
    rid = sent["requestId"]
    _view(stage, message_id(rid, "u-1", "email"), rid, "DELIVERED", 1_800_000_000_000)
    status, body = call("POST", f"/messages/{rid}/resend")
    assert status == 202 and body["messageId"] == message_id(body["requestId"], "u-1", "email")
    doc = json.loads(stage.s3.get_object(Bucket=stage.bucket, Key=f"send/{body['requestId']}.json")["Body"].read())
    assert doc["message"]["routing"] == {"method": "single", "channels": ["email"]} and len(doc["message"]["to"]) == 1


def test_profiles_merge_replace_patch_delete(stage):
    assert call("GET", "/profiles/u-9")[0] == 404
    assert call("POST", "/profiles/u-9", {"profile": {"email": "a@example.com", "plan": "pro"}}) == (
        200, {"status": "SUCCESS"})
    call("POST", "/profiles/u-9", {"profile": {"phone_number": "+15550100"}})
    assert call("GET", "/profiles/u-9")[1]["profile"] == {"email": "a@example.com", "plan": "pro",
                                                          "phone_number": "+15550100"}
    call("PUT", "/profiles/u-9", {"profile": {"email": "b@example.com"}})
    assert call("PATCH", "/profiles/u-9", {"patch": [{"op": "add", "path": "/address/city", "value": "Oslo"}]})[0] == 204
    assert call("GET", "/profiles/u-9")[1]["profile"] == {"email": "b@example.com", "address": {"city": "Oslo"}}
    item = boto3.resource("dynamodb").Table(stage.state).get_item(Key={"pk": "PROFILE#u-9", "sk": "PROFILE"})["Item"]
    assert item["userId"] == "u-9" and item["profile"]["email"] == "b@example.com"  # the update-profile record
    assert call("DELETE", "/profiles/u-9")[0] == 204 and call("GET", "/profiles/u-9")[0] == 404


def test_runs_list_newest_first_and_steps(stage):
    run_ids = [call("POST", "/automations/invoke", {"automation": {"steps": [{"action": "delay", "duration": 1000}]},
                                                     "recipient": f"u-{n}"})[1]["runId"] for n in range(3)]
    status, body = call("GET", "/automations/runs", query={"limit": "2"})
    assert status == 200 and [r["run_id"] for r in body["runs"]] == run_ids[::-1][:2]
    assert body["runs"][0]["status"] == "PENDING" and body["next_cursor"]
    rest = call("GET", "/automations/runs", query={"cursor": body["next_cursor"]})[1]
    assert [r["run_id"] for r in rest["runs"]] == run_ids[:1] and "next_cursor" not in rest
    assert call("GET", f"/automations/runs/{run_ids[0]}/steps") == (200, {"steps": []})


def test_invoke_courier_ad_hoc_shape_and_send_list_refused(stage):
    status, body = call("POST", "/automations/invoke", {
        "automation": {"cancelation_token": "delay-send--user-yes--abc-123", "steps": [
            {"action": "delay", "until": "20240408T080910.123"},
            {"action": "send", "template": "64TP5HKPFTM8VTK1Y75SJDQX9JK0", "brand": "b", "profile": {"email": "a@b.co"}},
            {"action": "update-profile", "profile": {"plan": "pro"}, "merge": "soft-merge"},
            {"action": "fetch-data", "webhook": {"method": "PUT", "url": "https://example.com/x", "body": "{}",
                                                  "params": {"a": "1"}}, "merge_strategy": "none", "if": "data.x === 1"}]},
        "brand": "brand", "data": {"name": "Foo"}, "profile": {"tenant_id": "abc-123"}, "recipient": "user-yes"})
    assert status == 202 and body["runId"].startswith("run_") and any(w.startswith("brand") for w in body["warnings"])
    status, body = call("POST", "/automations/invoke", {"automation": {"steps": [{"action": "send-list", "list": "l"}]},
                                                        "recipient": "u"})
    assert status == 422 and body["error"]["details"][0]["type"] == "unsupported"


def test_openapi_served_without_a_key_and_equal_to_the_published_document(stage):
    from pathlib import Path

    resp = handler.lambda_handler(http_event("GET", "/openapi.json", headers={"authorization": ""}), None)
    assert resp["statusCode"] == 200
    published = json.loads((Path(__file__).resolve().parents[3] / "docs" / "openapi.json").read_text())
    assert json.loads(resp["body"]) == published


@pytest.mark.parametrize("profile", [{"n": 1.7976931348623157e+308}, {"s": "\udb81"}, {"": {"": 1}}])
def test_profile_dynamodb_cannot_hold_is_422_not_500(stage, profile):
    status, body = call("PUT", "/profiles/u-x", {"profile": profile})
    assert status in (200, 422) and (status == 200 or body["error"]["details"][0]["field"] == "profile")


def test_invoke_by_template_runs_the_stored_automation_template(stage):
    stage.s3.put_object(Bucket=stage.bucket, Key="automation-templates/onboarding.json", Body=json.dumps(
        {"steps": [{"action": "delay", "duration": "1 minute"}, {"action": "send", "template": "welcome"}]}).encode())
    status, body = call("POST", "/automations/onboarding/invoke", {"recipient": "user_abc", "data": {"orderId": "1"},
                                                                   "profile": {"email": "a@example.com"}})
    assert status == 202 and body["runId"].startswith("run_")
    doc = json.loads(stage.s3.get_object(Bucket=stage.bucket, Key=f"automations/{body['runId']}.json")["Body"].read())
    assert [s["action"] for s in doc["automation"]["steps"]] == ["delay", "send"] and doc["recipient"] == "user_abc"
    status, body = call("POST", "/automations/missing/invoke", {"recipient": "user_abc"})
    assert status == 404 and "relay automations put" in body["error"]["message"]
