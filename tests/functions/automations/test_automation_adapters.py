"""The boto3 adapters against moto: conditional writes are the exactly-once guarantees."""
from __future__ import annotations

import pytest

from functions.automations.adapters import DynamoRunStore, SqsJobQueue
from functions.automations.core import new_run_record
from tests.functions.automations.moto_stage import moto_stage


@pytest.fixture
def stage(monkeypatch):
    with moto_stage(monkeypatch, max_receive=4) as s:
        yield s


def _run(run_id="run_01JQHHHHHHHHHHHHHHHHHHHHHH", data=None):
    doc = {"runId": run_id, "automation": {"cancelation_token": "tok", "steps": [{"action": "send"}]},
           "data": data if data is not None else {"price": 9.99, "qty": 3, "tags": ["a"]}, "profile": {},
           "recipient": "u", "template": "t"}
    return new_run_record(doc, "2026-01-01T00:00:00.000Z")


def test_run_created_once_and_read_back_with_numbers(stage):
    store = DynamoRunStore(stage.state_table, stage.bucket)
    assert store.create_run(_run()) is True
    assert store.create_run(_run()) is False
    run = store.get_run("run_01JQHHHHHHHHHHHHHHHHHHHHHH")
    assert run.data == {"price": 9.99, "qty": 3, "tags": ["a"]} and isinstance(run.data["qty"], int)
    assert run.steps[0]["action"] == "send" and run.status == "PENDING"
    assert store.get_run("run_nope") is None


def test_step_completes_once_and_data_written_atomically(stage):
    store = DynamoRunStore(stage.state_table, stage.bucket)
    store.create_run(_run())
    rid = "run_01JQHHHHHHHHHHHHHHHHHHHHHH"
    first = store.start_step(rid, 0, "t1")
    again = store.start_step(rid, 0, "t2")
    assert (first.attempts, again.attempts, again.started_at) == (1, 2, "t1")
    assert store.complete_step(rid, 0, {"next": None}, "t3", data={"merged": True}) is True
    assert store.complete_step(rid, 0, {"next": None}, "t4", data={"merged": "twice"}) is False
    assert store.get_run(rid).data == {"merged": True}
    # a late failure report or start cannot reopen a completed step
    store.fail_step(rid, 0, "late", "t5")
    assert store.start_step(rid, 0, "t6").status == "COMPLETED"
    step = store.get_step(rid, 0)
    assert step.status == "COMPLETED" and step.error is None and step.ended_at == "t3"


def test_status_moves_only_from_allowed_states(stage):
    store = DynamoRunStore(stage.state_table, stage.bucket)
    rid = "run_01JQHHHHHHHHHHHHHHHHHHHHHH"
    store.create_run(_run())
    assert store.set_run_status(rid, "RUNNING", only_from=("PENDING",), now="t") is True
    assert store.set_run_status(rid, "RUNNING", only_from=("PENDING",), now="t") is False
    assert store.set_run_status(rid, "FAILED", only_from=("RUNNING",), now="t", error="step 0: boom") is True
    assert store.get_run(rid).error == "step 0: boom"
    assert store.set_run_status("run_missing", "CANCELED", only_from=("RUNNING",), now="t") is False


def test_token_cancel_lists_registered_runs(stage):
    store = DynamoRunStore(stage.state_table, stage.bucket)
    for i in range(3):
        store.register_token("cart 1", f"run_{i}", "t0")
    store.register_token("other", "run_9", "t0")
    assert store.token_canceled_at("cart 1") is None
    assert sorted(store.cancel_token("cart 1", "t1")) == ["run_0", "run_1", "run_2"]
    assert store.token_canceled_at("cart 1") == "t1"


def test_large_data_goes_to_s3_first(stage):
    store = DynamoRunStore(stage.state_table, stage.bucket)
    big = {"blob": "x" * 300_000}
    store.create_run(_run(data=big))
    raw = stage.ddb.get_item(TableName=stage.state_table,
                             Key={"pk": {"S": "RUN#run_01JQHHHHHHHHHHHHHHHHHHHHHH"}, "sk": {"S": "RUN"}})["Item"]
    ref = raw["data"]["M"]["$ref"]["S"]
    assert ref.startswith(f"s3://{stage.bucket}/payloads/runs/run_01JQHHHHHHHHHHHHHHHHHHHHHH.data.")
    assert store.get_run("run_01JQHHHHHHHHHHHHHHHHHHHHHH").data == big


def test_queue_reads_max_receive_count_and_caps_delay(stage):
    queue = SqsJobQueue(stage.queue_url)
    assert queue.max_receive_count() == 4
    queue.enqueue({"v": 1, "runId": "run_x", "step": 0}, delay_seconds=5000)
    attrs = stage.sqs.get_queue_attributes(QueueUrl=stage.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert attrs["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
