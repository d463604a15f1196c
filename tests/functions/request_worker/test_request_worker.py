"""Request worker on moto: S3 put events (URL-encoded keys) → run record + step 0 on the job queue."""
from __future__ import annotations

import json

import pytest

from functions.request_worker.handler import lambda_handler
from functions.shared.request_store import put_automation_request
from tests.functions.automations.moto_stage import moto_stage

RUN_ID = "run_01JQ0000000000000000000000"
BODY = {"automation": {"cancelation_token": "order 42", "steps": [
            {"action": "send"},
            {"action": "if", "condition": "data.n > 1", "then": [{"action": "delay", "duration": "1s"}]}]},
        "data": {"n": 2}, "profile": {"email": "ada@example.com"}, "recipient": "user-1", "template": "welcome"}


@pytest.fixture
def stage(monkeypatch):
    with moto_stage(monkeypatch) as s:
        yield s


def test_put_event_creates_run_and_enqueues_step_zero(stage):
    key = put_automation_request(stage.bucket, RUN_ID, BODY)
    event = stage.s3_put_event(key)
    assert event["Records"][0]["s3"]["object"]["key"] == "automations%2Frun_01JQ0000000000000000000000.json"
    out = lambda_handler(event, None)
    assert out["runs"] == [{"key": key, "runId": RUN_ID, "outcome": "created"}]
    run = stage.get_item(stage.state_table, f"RUN#{RUN_ID}", "RUN")
    assert run["status"] == "PENDING" and run["recipient"] == "user-1" and run["data"] == {"n": 2}
    assert run["cancelation_token"] == "order 42"
    assert "startEnqueued" not in run  # no write records the enqueue: a PENDING run is what tells (core.start_run)
    assert [s["action"] for s in run["steps"]] == ["send", "if", "delay"]
    assert stage.get_item(stage.state_table, "TOKEN#order 42", f"RUN#{RUN_ID}")["runId"] == RUN_ID
    jobs = stage.receive_jobs()
    assert [json.loads(m["Body"]) for m in jobs] == [{"v": 1, "runId": RUN_ID, "step": 0}]


def _queued(stage) -> str:
    attrs = stage.sqs.get_queue_attributes(QueueUrl=stage.queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return attrs["Attributes"]["ApproximateNumberOfMessages"]


def test_redelivered_event_creates_nothing_twice(stage):
    key = put_automation_request(stage.bucket, RUN_ID, BODY)
    event = stage.s3_put_event(key)
    lambda_handler(event, None)
    created_at = stage.get_item(stage.state_table, f"RUN#{RUN_ID}", "RUN")["createdAt"]
    stage.ddb.update_item(TableName=stage.state_table,  # step 0's job started: the run left PENDING
                          Key={"pk": {"S": f"RUN#{RUN_ID}"}, "sk": {"S": "RUN"}},
                          UpdateExpression="SET #s = :r", ExpressionAttributeNames={"#s": "status"},
                          ExpressionAttributeValues={":r": {"S": "RUNNING"}})
    again = lambda_handler(event, None)
    assert again["runs"][0]["outcome"] == "duplicate"
    assert stage.get_item(stage.state_table, f"RUN#{RUN_ID}", "RUN")["createdAt"] == created_at
    assert _queued(stage) == "1"


def test_redelivered_event_while_pending_enqueues_step_zero_again(stage):
    # nothing records that step 0 was enqueued (a write per run saved): while it has not started, a redelivered
    # event cannot tell a crash before the enqueue from a job still waiting, and enqueues it again (harmless:
    # the job worker's conditional step writes and derived ids make the second job repeat nothing)
    key = put_automation_request(stage.bucket, RUN_ID, BODY)
    event = stage.s3_put_event(key)
    lambda_handler(event, None)
    created_at = stage.get_item(stage.state_table, f"RUN#{RUN_ID}", "RUN")["createdAt"]
    again = lambda_handler(event, None)
    assert again["runs"][0]["outcome"] == "resumed"
    assert stage.get_item(stage.state_table, f"RUN#{RUN_ID}", "RUN")["createdAt"] == created_at
    assert _queued(stage) == "2"


def test_invalid_stored_request_recorded_failed_not_enqueued(stage):
    key = put_automation_request(stage.bucket, RUN_ID, {**BODY, "automation": {"steps": [{"action": "teleport"}]}})
    out = lambda_handler(stage.s3_put_event(key), None)
    assert out["runs"][0]["outcome"] == "invalid"
    run = stage.get_item(stage.state_table, f"RUN#{RUN_ID}", "RUN")
    assert run["status"] == "FAILED" and "automation.steps.0" in run["error"] and "teleport" in run["error"]
    assert stage.receive_jobs() == []


def test_missing_object_raises_for_async_retry(stage):
    stage.s3.put_object(Bucket=stage.bucket, Key="automations/run_gone.json", Body=b"{}")
    event = stage.s3_put_event("automations/run_gone.json")
    stage.s3.delete_object(Bucket=stage.bucket, Key="automations/run_gone.json")
    with pytest.raises(Exception) as exc:
        lambda_handler(event, None)
    assert "NoSuchKey" in str(exc.value) or "does not exist" in str(exc.value)


def test_key_outside_prefix_ignored(stage):
    stage.s3.put_object(Bucket=stage.bucket, Key="send/req_x.json", Body=b"{}")
    assert lambda_handler(stage.s3_put_event("send/req_x.json"), None)["runs"][0]["outcome"] == "ignored"
    assert stage.receive_jobs() == []


def test_object_that_is_not_json_is_recorded_failed_not_retried(stage):
    key = f"automations/{RUN_ID}.json"
    stage.s3.put_object(Bucket=stage.bucket, Key=key, Body=b"{not json")
    out = lambda_handler(stage.s3_put_event(key), None)
    assert out["runs"] == [{"key": key, "runId": RUN_ID, "outcome": "invalid"}]
    run = stage.get_item(stage.state_table, f"RUN#{RUN_ID}", "RUN")
    assert run["status"] == "FAILED" and run["error"].startswith(f"{key} is not JSON")
    assert stage.receive_jobs() == []


def test_stored_run_id_other_than_the_key_is_recorded_failed(stage):
    key = f"automations/{RUN_ID}.json"
    stage.s3.put_object(Bucket=stage.bucket, Key=key, Body=json.dumps({**BODY, "runId": "run_other"}).encode())
    assert lambda_handler(stage.s3_put_event(key), None)["runs"][0]["outcome"] == "invalid"
    run = stage.get_item(stage.state_table, f"RUN#{RUN_ID}", "RUN")
    assert run["error"] == f"stored runId 'run_other' does not match the key's {RUN_ID!r}"
    assert run["recipient"] == "user-1"
