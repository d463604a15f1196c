"""The API handler on moto, with HTTP API payload v2 events."""
from __future__ import annotations

import base64
import json

import boto3
import pytest

from functions.api import handler
from tests.functions.shared.relay_aws import READ_API_KEY, SEND_API_KEY, TEST_API_KEY, http_event, relay_stage

SEND = {"message": {"to": {"email": "ann@example.com"}, "content": {"title": "Hi", "body": "Hello {{ name }}"},
                    "data": {"name": "Ann"}, "routing": {"method": "single", "channels": ["email", "sms"]}}}
INVOKE = {"automation": {"cancelation_token": "tok-1", "steps": [{"action": "delay", "duration": "5 minutes"},
                                                                 {"action": "send", "template": "welcome"}]},
          "data": {"name": "Ann"}, "profile": {"email": "ann@example.com"}, "recipient": "user-1"}


@pytest.fixture(scope="module")
def module_stage():  # tests/functions/conftest.py's `stage` empties it per test
    with relay_stage({"API_MAX_BODY_BYTES": "4096"}) as st:
        yield st


def call(*args, **kw) -> tuple[int, dict, dict]:
    resp = handler.lambda_handler(http_event(*args, **kw), None)
    assert resp["headers"]["content-type"] == "application/json"
    return resp["statusCode"], json.loads(resp["body"]), resp["headers"]


def stored(stage, prefix: str) -> list[str]:
    return stage.keys(prefix)


def test_send_is_stored_before_202(stage):
    status, body, _ = call("POST", "/send", SEND)
    assert status == 202 and body["requestId"].startswith("req_") and len(body["requestId"]) == 30
    doc = json.loads(stage.s3.get_object(Bucket=stage.bucket, Key=f"send/{body['requestId']}.json")["Body"].read())
    assert doc["requestId"] == body["requestId"] and doc["source"] == {}
    assert doc["message"]["to"] == [{"email": "ann@example.com"}]
    assert doc["message"]["routing"] == {"method": "single", "channels": ["email", "sms"]}


def test_send_base64_body_is_accepted(stage):
    status, body, _ = call("POST", "/send", SEND, base64_body=True)
    assert status == 202 and stored(stage, "send/") == [f"send/{body['requestId']}.json"]


def test_send_same_idempotency_key_and_body_replays_first_response(stage):
    first = call("POST", "/send", SEND, headers={"Idempotency-Key": "order-42"})
    second = call("POST", "/send", SEND, headers={"Idempotency-Key": "order-42"})
    assert first[0] == second[0] == 202 and first[1] == second[1]
    assert second[2]["idempotent-replayed"] == "true" and "idempotent-replayed" not in first[2]
    assert len(stored(stage, "send/")) == 1


def test_send_same_idempotency_key_other_body_is_409(stage):
    call("POST", "/send", SEND, headers={"Idempotency-Key": "order-43"})
    other = json.loads(json.dumps(SEND))
    other["message"]["data"]["name"] = "Bob"
    status, body, _ = call("POST", "/send", other, headers={"Idempotency-Key": "order-43"})
    assert status == 409 and body["error"]["code"] == "idempotency_key_reused"
    assert body["error"]["message"] == "Idempotency-Key 'order-43' was already used with a different request body"
    assert len(stored(stage, "send/")) == 1


def test_send_key_of_crashed_first_attempt_completes_under_recorded_id(stage):
    # the first attempt recorded the key (IN_PROGRESS) and died before storing the request
    from functions.api.service import _body_hash
    from functions.api.validation import validate_send

    boto3.resource("dynamodb").Table(stage.state).put_item(Item={
        "pk": "IDEMP#k-crash", "sk": "API", "status": "IN_PROGRESS", "resourceId": "req_FIRSTATTEMPT",
        "bodyHash": _body_hash("send", validate_send(SEND)), "createdAt": 1, "expiresAt": 4_000_000_000})
    status, body, _ = call("POST", "/send", SEND, headers={"Idempotency-Key": "k-crash"})
    assert (status, body) == (202, {"requestId": "req_FIRSTATTEMPT"})
    assert stored(stage, "send/") == ["send/req_FIRSTATTEMPT.json"]


def test_send_expired_idempotency_record_does_not_block_key(stage):
    boto3.resource("dynamodb").Table(stage.state).put_item(Item={
        "pk": "IDEMP#k-old", "sk": "API", "status": "COMPLETED", "resourceId": "req_OLD", "bodyHash": "x",
        "createdAt": 1, "expiresAt": 2, "response": json.dumps({"status": 202, "body": {"requestId": "req_OLD"}})})
    status, body, _ = call("POST", "/send", SEND, headers={"Idempotency-Key": "k-old"})
    assert status == 202 and body["requestId"] != "req_OLD"


def test_send_validation_names_every_bad_field(stage):
    bad = {"message": {"to": [{"email": "not-an-address"}, {}], "content": {"body": ""},
                       "channels": ["fax"], "colour": "red"}}
    status, body, _ = call("POST", "/send", bad)
    assert status == 422 and body["error"]["code"] == "validation_error"
    fields = {d["field"] for d in body["error"]["details"]}
    assert fields == {"message.to.0.email", "message.to.1", "message.content.body", "message.channels", "message.colour"}
    assert body["error"]["message"].startswith("send request is invalid: message.to.0.email")
    assert stored(stage, "send/") == []


def test_send_template_and_content_together_is_422(stage):
    bad = {"message": {"to": {"email": "a@x.io"}, "template": "t", "content": {"body": "b"}}}
    status, body, _ = call("POST", "/send", bad)
    assert status == 422
    assert body["error"]["details"] == [{"field": "message", "message": "give exactly one of template or content",
                                         "type": "value_error"}]


@pytest.mark.parametrize("kw, status, code, message", [
    (dict(body="{not json", raw=True), 400, "malformed_json",
     "request body is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    (dict(body="", raw=True), 400, "malformed_json", "request body is empty; expected a JSON object"),
    (dict(body='{"a": NaN}', raw=True), 400, "malformed_json", "request body is not valid JSON: NaN is not valid JSON"),
    (dict(body="[" * 100_000, raw=True), 413, "payload_too_large", "request body is larger than the limit of 4096 bytes"),
    (dict(body="é" * 3000, raw=True), 413, "payload_too_large", "request body is larger than the limit of 4096 bytes"),
    (dict(body=SEND, headers={"content-type": "text/plain"}), 415, "unsupported_media_type",
     "Content-Type must be application/json, got 'text/plain'"),
    (dict(body=SEND, headers={"content-type": None}), 415, "unsupported_media_type",
     "Content-Type must be application/json, got 'none'"),
    (dict(body=SEND, headers={"Idempotency-Key": "has space"}), 400, "invalid_idempotency_key",
     "Idempotency-Key must be 1 to 255 visible ASCII characters"),
    (dict(body=[1, 2]), 422, "validation_error", "send request must be a JSON object"),
])
def test_send_bad_input_is_4xx_and_stores_nothing(stage, kw, status, code, message):
    got_status, body, _ = call("POST", "/send", **kw)
    assert (got_status, body["error"]["code"], body["error"]["message"]) == (status, code, message)
    assert stored(stage, "send/") == []


def test_send_invalid_base64_body_is_400(stage):
    event = http_event("POST", "/send", "%%%not-base64", raw=True)
    event["isBase64Encoded"] = True
    resp = handler.lambda_handler(event, None)
    assert (resp["statusCode"], json.loads(resp["body"])["error"]) == (
        400, {"code": "malformed_body", "message": "body is marked base64 but is not valid base64"})
    assert stored(stage, "send/") == []


def test_deeply_nested_json_is_400_not_5xx(stage, monkeypatch):
    from functions.shared.settings import reset_settings

    monkeypatch.setenv("API_MAX_BODY_BYTES", "10000000")
    reset_settings()
    try:
        status, body, _ = call("POST", "/send", '{"message": ' + "[" * 200_000 + "]" * 200_000 + "}", raw=True)
    finally:
        monkeypatch.setenv("API_MAX_BODY_BYTES", "4096")
        reset_settings()
    assert (status, body["error"]["code"], body["error"]["message"]) == (400, "malformed_json", "request body is nested too deeply")
    assert stage.keys("send/") == []


def test_unknown_route_is_404_and_wrong_method_is_405(stage):
    status, body, _ = call("GET", "/nope")
    assert (status, body["error"]) == (404, {"code": "not_found", "message": "no route for /nope"})
    status, body, headers = call("GET", "/send")
    assert (status, body["error"]["code"], headers["allow"]) == (405, "method_not_allowed", "POST")
    assert body["error"]["message"] == "GET is not allowed on /send; use POST"


def test_invoke_is_stored_before_202(stage):
    status, body, _ = call("POST", "/automations/invoke", INVOKE, headers={"Idempotency-Key": "inv-1"})
    assert status == 202 and body["runId"].startswith("run_")
    doc = json.loads(stage.s3.get_object(Bucket=stage.bucket, Key=f"automations/{body['runId']}.json")["Body"].read())
    assert doc["runId"] == body["runId"] and doc["recipient"] == "user-1"
    assert doc["automation"]["steps"][0] == {"action": "delay", "duration": "5 minutes"}
    assert doc["automation"]["cancelation_token"] == "tok-1"
    again = call("POST", "/automations/invoke", INVOKE, headers={"Idempotency-Key": "inv-1"})
    assert again[1] == body and len(stored(stage, "automations/")) == 1


def test_invoke_bad_steps_are_422_naming_fields(stage):
    bad = {"automation": {"steps": [{"action": "delay"}, {"action": "teleport"}]}, "recipient": ""}
    status, body, _ = call("POST", "/automations/invoke", bad)
    assert status == 422 and body["error"]["code"] == "validation_error"
    fields = {d["field"] for d in body["error"]["details"]}
    assert "recipient" in fields and any(f.startswith("automation.steps.0") for f in fields)
    assert any(f.startswith("automation.steps.1") for f in fields)
    assert stored(stage, "automations/") == []


def test_get_request_reports_messages_from_the_log(stage):
    _, accepted, _ = call("POST", "/send", SEND)
    rid = accepted["requestId"]
    status, body, _ = call("GET", f"/requests/{rid}")
    assert (status, body) == (200, {"requestId": rid, "status": "ACCEPTED", "messages": []})
    log = boto3.resource("dynamodb").Table(stage.log)
    log.put_item(Item={"pk": "MSG#msg_1", "sk": "VIEW", "messageId": "msg_1", "requestId": rid, "recipient": "ann@example.com",
                       "channel": "email", "status": "UNDELIVERABLE", "reason": "bounced", "updatedAt": 5})
    log.put_item(Item={"pk": "MSG#msg_2", "sk": "VIEW", "messageId": "msg_2", "requestId": rid, "recipient": "ann@example.com",
                       "channel": "sms", "status": "SENT", "updatedAt": 6})
    status, body, _ = call("GET", f"/requests/{rid}")
    assert body["status"] == "PROCESSING"
    assert body["messages"] == [
        {"messageId": "msg_1", "recipient": "ann@example.com", "channel": "email", "status": "UNDELIVERABLE", "reason": "bounced"},
        {"messageId": "msg_2", "recipient": "ann@example.com", "channel": "sms", "status": "SENT"}]
    log.update_item(Key={"pk": "MSG#msg_2", "sk": "VIEW"}, UpdateExpression="SET #s = :d",
                    ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":d": "DELIVERED"})
    assert call("GET", f"/requests/{rid}")[1]["status"] == "COMPLETED"


def test_get_unknown_request_and_run_are_404(stage):
    status, body, _ = call("GET", "/requests/req_UNKNOWN")
    assert (status, body["error"]) == (404, {"code": "not_found", "message": "no request 'req_UNKNOWN'"})
    status, body, _ = call("GET", "/automations/runs/run_UNKNOWN")
    assert (status, body["error"]) == (404, {"code": "not_found", "message": "no run 'run_UNKNOWN'"})


def test_get_run_reads_run_and_steps(stage):
    _, accepted, _ = call("POST", "/automations/invoke", INVOKE)
    rid = accepted["runId"]
    assert call("GET", f"/automations/runs/{rid}")[1] == {"runId": rid, "status": "PENDING", "steps": []}
    state = boto3.resource("dynamodb").Table(stage.state)
    state.put_item(Item={"pk": f"RUN#{rid}", "sk": "RUN", "status": "RUNNING", "createdAt": "t0", "updatedAt": "t1"})
    state.put_item(Item={"pk": f"RUN#{rid}", "sk": "STEP#0000", "status": "COMPLETED", "attempts": 1})
    state.put_item(Item={"pk": f"RUN#{rid}", "sk": "STEP#0001", "status": "RUNNING", "attempts": 2})
    status, body, _ = call("GET", f"/automations/runs/{rid}")
    assert status == 200 and body["status"] == "RUNNING"
    assert body["steps"] == [{"index": 0, "status": "COMPLETED", "attempts": 1}, {"index": 1, "status": "RUNNING", "attempts": 2}]


def _view(i: int, recipient: str, status: str) -> dict:
    return {"pk": f"MSG#msg_{i}", "sk": "VIEW", "messageId": f"msg_{i}", "requestId": "req_1", "recipient": recipient,
            "channel": "email", "status": status, "updatedAt": 1000 + i, "ts": 1000 + i}


def test_list_messages_by_recipient_and_status_pages_newest_first(stage):
    log = boto3.resource("dynamodb").Table(stage.log)
    for i in range(5):
        log.put_item(Item=_view(i, "ann", "DELIVERED" if i % 2 == 0 else "UNROUTABLE"))
    log.put_item(Item=_view(9, "bob", "DELIVERED"))
    status, page1, _ = call("GET", "/messages", query={"recipient": "ann", "limit": "2"})
    assert status == 200 and [i["messageId"] for i in page1["items"]] == ["msg_4", "msg_3"]
    assert "pk" not in page1["items"][0]
    _, page2, _ = call("GET", "/messages", query={"recipient": "ann", "limit": "2", "next": page1["next"]})
    assert [i["messageId"] for i in page2["items"]] == ["msg_2", "msg_1"]
    _, by_status, _ = call("GET", "/messages", query={"status": "DELIVERED"})
    assert [i["messageId"] for i in by_status["items"]] == ["msg_9", "msg_4", "msg_2", "msg_0"]
    _, both, _ = call("GET", "/messages", query={"recipient": "ann", "status": "UNROUTABLE"})
    assert [i["messageId"] for i in both["items"]] == ["msg_3", "msg_1"]


def test_list_messages_bad_query_names_every_field(stage):
    status, body, _ = call("GET", "/messages", query={"status": "LOST", "limit": "1000", "next": "@@@"})
    assert status == 422 and body["error"]["code"] == "validation_error"
    assert [d["field"] for d in body["error"]["details"]] == ["status", "limit", "next"]
    # Courier's list needs no filter: every message, newest first
    status, body, _ = call("GET", "/messages")
    assert status == 200 and body["paging"] == {"cursor": None, "more": False} and body["results"] == []
    status, body, _ = call("GET", "/messages", query={"colour": "red"})
    assert (status, body["error"]["message"]) == (422, "query is invalid: colour")


@pytest.mark.parametrize("limit", ["¹", "٣", "0", "101", "-1", "1e2", ""])
def test_list_messages_non_ascii_or_out_of_range_limit_is_422(stage, limit):
    status, body, _ = call("GET", "/messages", query={"recipient": "ann", "limit": limit})
    assert (status, body["error"]["details"][0]["field"]) == (422, "limit")


def test_list_messages_forged_next_token_is_422(stage):
    token = base64.urlsafe_b64encode(json.dumps({"bogus": "key"}).encode()).decode().rstrip("=")
    status, body, _ = call("GET", "/messages", query={"recipient": "ann", "next": token})
    assert (status, body["error"]["message"]) == (422, "query is invalid: next")


def test_storage_failure_is_500_without_leaking_details(stage, monkeypatch):
    from functions.shared.settings import reset_settings

    monkeypatch.setenv("REQUEST_BUCKET", "relay-test-no-such-bucket")
    reset_settings()
    handler.reset_ports()
    try:
        status, body, _ = call("POST", "/send", SEND)
    finally:
        monkeypatch.setenv("REQUEST_BUCKET", stage.bucket)
        reset_settings()
        handler.reset_ports()
    assert (status, body) == (500, {"error": {"code": "internal_error",
                                              "message": "the request could not be processed; retry later"}})
    assert stored(stage, "send/") == []


def test_named_stage_prefix_in_raw_path_is_routed(stage):
    event = http_event("POST", "/v1/send", SEND)
    event["requestContext"]["stage"] = "v1"
    resp = handler.lambda_handler(event, None)
    assert resp["statusCode"] == 202 and len(stored(stage, "send/")) == 1


def test_real_http_through_local_function_url_front_door(stage):
    """Over loopback HTTP via the local stage's Function URL emulation (its own event builder)."""
    import requests

    from relay.local.api_server import ApiServer

    server = ApiServer(invoke=lambda event: handler.lambda_handler(event, None))
    url = server.start()
    auth = {"Authorization": f"Bearer {TEST_API_KEY}"}
    try:
        ok = requests.post(f"{url}/send", json=SEND, headers={"Idempotency-Key": "http-1", **auth}, timeout=10)
        replay = requests.post(f"{url}/send", json=SEND, headers={"Idempotency-Key": "http-1", **auth}, timeout=10)
        binary = requests.post(f"{url}/send", data=b"\xff\xfe{",
                               headers={"content-type": "application/octet-stream", **auth}, timeout=10)
        missing = requests.get(f"{url}/requests/req_NOPE", headers=auth, timeout=10)
        anonymous = requests.post(f"{url}/send", json=SEND, timeout=10)
    finally:
        server.stop()
    assert ok.status_code == 202 and replay.json() == ok.json() and replay.headers["idempotent-replayed"] == "true"
    assert (binary.status_code, binary.json()["error"]["code"]) == (415, "unsupported_media_type")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert (anonymous.status_code, anonymous.headers["www-authenticate"]) == (401, "Bearer")
    assert stored(stage, "send/") == [f"send/{ok.json()['requestId']}.json"]


def test_list_messages_items_carry_only_documented_fields(stage):
    from functions.api.service import MESSAGE_FIELDS

    log = boto3.resource("dynamodb").Table(stage.log)
    log.put_item(Item={**_view(1, "ann", "DELIVERED"), "statusRank": 2, "eventSk": "EVT#0000000001001#02#DELIVERED",
                       "expiresAt": 1_900_000_000, "provider": "outbox", "deliveryId": "dlv_1"})
    _, page, _ = call("GET", "/messages", query={"recipient": "ann"})
    [item] = page["items"]
    assert set(item) <= set(MESSAGE_FIELDS)
    assert not {"pk", "sk", "statusRank", "eventSk", "expiresAt"} & set(item)
    assert (item["messageId"], item["status"], item["ts"], item["provider"]) == ("msg_1", "DELIVERED", 1001, "outbox")


def test_get_run_carries_only_documented_fields(stage):
    _, accepted, _ = call("POST", "/automations/invoke", INVOKE)
    rid = accepted["runId"]
    state = boto3.resource("dynamodb").Table(stage.state)
    state.put_item(Item={"pk": f"RUN#{rid}", "sk": "RUN", "status": "FAILED", "createdAt": "t0", "updatedAt": "t1",
                         "recipient": "user-1", "error": "step 0: boom", "startEnqueued": True, "stepCount": 1,
                         "steps": [{"i": 0}], "data": {"secret": 1}, "expiresAt": 1})
    state.put_item(Item={"pk": f"RUN#{rid}", "sk": "STEP#0000", "status": "FAILED", "attempts": 3, "runId": rid,
                         "stepIndex": 0, "error": "boom", "nextEnqueued": False, "startedAt": "t0", "failedAt": "t1"})
    _, body, _ = call("GET", f"/automations/runs/{rid}")
    assert body == {"runId": rid, "status": "FAILED", "createdAt": "t0", "updatedAt": "t1", "recipient": "user-1",
                    "error": "step 0: boom", "steps": [{"index": 0, "status": "FAILED", "attempts": 3, "error": "boom",
                                                        "startedAt": "t0", "failedAt": "t1"}]}


def test_readme_automation_example_is_accepted(stage):
    from tests.functions.automations.test_automation_schema import README_INVOKE

    status, body, _ = call("POST", "/automations/invoke", README_INVOKE)
    assert status == 202 and body["runId"].startswith("run_")
    assert stored(stage, "automations/") == [f"automations/{body['runId']}.json"]


def test_route_table_maps_every_route_to_its_endpoint():
    from functions.api import endpoints
    from functions.api.routes import match

    assert match("POST", "/send")[0].endpoint is endpoints.post_send
    route, params = match("GET", "/automations/runs/run_1")
    assert (route.endpoint, params) == (endpoints.get_run, {"runId": "run_1"})


@pytest.mark.parametrize("route, body, fields", [
    ("/send", {"message": {**SEND["message"], "data": {"name": {"$ref": "s3://relay-test-requests/send/x.json"}}}},
     ["message.data.name.$ref"]),
    ("/automations/invoke", {**INVOKE, "data": {"$ref": "s3://relay-test-requests/automations/x.json"},
                             "profile": {"email": "ann@example.com", "nested": [{"$ref": "s3://b/k"}]}},
     ["data.$ref", "profile.nested.0.$ref"]),
    ("/automations/invoke", {**INVOKE, "automation": {"steps": [
        {"action": "update-profile", "profile": {"$ref": "s3://b/k"}}]}},
     ["automation.steps.0.profile.$ref"]),
])
def test_user_supplied_ref_anywhere_is_422_naming_the_field(stage, route, body, fields):
    status, got, _ = call("POST", route, body)
    assert status == 422 and got["error"]["code"] == "validation_error"
    refs = [d for d in got["error"]["details"] if d["type"] == "reserved_key"]
    assert [d["field"] for d in refs] == fields
    assert refs[0]["message"] == "'$ref' is reserved for payloads the platform stores; rename the key"
    assert all(f in got["error"]["message"] for f in fields)
    assert stored(stage, "send/") == [] and stored(stage, "automations/") == []


def test_body_nested_deeper_than_the_limit_is_a_400_not_a_500() -> None:
    import pytest

    from functions.api.events import MAX_JSON_DEPTH, ApiError, HttpRequest, parse_json_body

    nested = '{"a": ' * 2000 + "1" + "}" * 2000
    body = '{"message": {"to": {"email": "h@example.com"}, "content": {"body": "b"}, "data": ' + nested + "}}"
    with pytest.raises(ApiError) as info:
        parse_json_body(HttpRequest("POST", "/send", {"content-type": "application/json"}, {}, body), 10**7)
    assert info.value.status == 400 and f"more than {MAX_JSON_DEPTH} levels" in info.value.message
