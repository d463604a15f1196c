"""The local stage end to end, started as a user starts it (`relay up`), driven over real HTTP and boto3.

One stage for the module (deploying takes a while); the tests run in file order and build on each other's
state only where named (the poison runs of one test are redriven by the next).
"""
from __future__ import annotations

import json
from collections import Counter

import pytest
from botocore.exceptions import ClientError

from dashboard import ops
from tests.e2e.harness import TERMINAL, FaultServer, LocalStage, start_stage

pytestmark = pytest.mark.heavy(seconds=95)

MAX_RECEIVE = 5


@pytest.fixture(scope="module")
def fault() -> FaultServer:
    with FaultServer() as server:
        yield server


@pytest.fixture(scope="module")
def poison_fault() -> FaultServer:
    """A second fetch-data target that fails every attempt until lifted (the poison runs' own server)."""
    with FaultServer() as server:
        server.failing = True
        yield server


@pytest.fixture(scope="module")
def stage(fault: FaultServer, poison_fault: FaultServer, tmp_path_factory) -> LocalStage:
    # Pulumi.local.yaml's short clocks (job worker timeout 2 s, visibility 12 s), and this test's loopback
    # servers allowed past the address guard explicitly — the local stage's default allows nothing.
    allowed = [f"127.0.0.1:{fault.port}", f"127.0.0.1:{poison_fault.port}"]
    state = tmp_path_factory.mktemp("relay-state")
    # the data plane's journal (RELAY_TRACE) counts how often each job was received
    st = start_stage({"relay:fetchAllow": json.dumps(allowed), "relay:jobMaxReceiveCount": str(MAX_RECEIVE)},
                     state_dir=state / "state", env_extra={"RELAY_TRACE": str(state / "trace.jsonl")})
    st.trace = state / "trace.jsonl"  # type: ignore[attr-defined]
    yield st
    (state / "relay-up.log").write_text("".join(st.lines))  # what the stage said, for a failed run
    code = st.stop()
    assert code == 0, f"relay up must exit 0 after SIGINT, got {code}: {''.join(st.lines[-20:])}"


@pytest.fixture(scope="module")
def poison_runs(stage: LocalStage, poison_fault: FaultServer) -> list[str]:
    """Four runs whose fetch-data fails every attempt, started with the stage: their receive cycles
    (maxReceiveCount × the visibility timeout) run while the other tests do."""
    run_ids = []
    for i in range(4):
        body = {"automation": {"steps": [
            {"action": "fetch-data", "webhook": {"url": poison_fault.url(f"poison-{i}"), "method": "GET"}},
            {"action": "send", "message": _send_body(3000 + i)["message"]}]},
            "data": {}, "profile": {}, "recipient": f"u-{i}"}
        r = stage.post("/automations/invoke", body)
        assert r.status_code == 202, r.text
        run_ids.append(r.json()["runId"])
    return run_ids


def _send_body(i: int) -> dict:
    data = {"name": f"User {i}", "order": f"#{i}"}
    if i % 25 == 0:
        data.pop("order")  # a missing template variable: UNROUTABLE with the reason, not a crash
    return {"message": {
        "to": {"user_id": f"u-{i % 40}", "email": f"u{i % 40}@example.com", "phone_number": "+15550100"},
        "content": {"title": "Hi {{ name }}", "body": "Order {{ order }} shipped"},
        "data": data,
        "routing": {"method": "all" if i % 3 == 0 else "single", "channels": ["email", "sms"]},
    }}


def _outbox_deliveries(stage: LocalStage) -> Counter:
    s3 = stage.client("s3")
    per_message: Counter = Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stage.outputs["request_bucket"],
                                                               Prefix="outbox/"):
        for obj in page.get("Contents", []):
            _, channel, message_id, _delivery = obj["Key"].split("/", 3)
            per_message[message_id] += 1
    return per_message


def _receives(stage: LocalStage, run_id: str) -> int:
    """How often the data plane received the run's step-0 job (its journal, RELAY_TRACE)."""
    from relay.local.dataplane import trace

    return sum(1 for e in trace.read(str(stage.trace), [run_id])[run_id]  # type: ignore[attr-defined]
               if e["what"] == "sqs.received" and f"{run_id}#0" in e["keys"])


def _wait_requests_terminal(stage: LocalStage, request_ids: set[str], timeout: float) -> dict[str, dict]:
    done: dict[str, dict] = {}

    def check() -> bool:
        for rid in sorted(request_ids - done.keys()):
            body = stage.get(f"/requests/{rid}").json()
            assert "messages" in body, f"GET /requests/{rid}: {body}"
            if body["messages"] and all(m["status"] in TERMINAL for m in body["messages"]):
                done[rid] = body
        return len(done) == len(request_ids)

    stage.wait_for(check, timeout, interval=2, what=f"{len(request_ids)} requests to end terminal")
    return done


def _wait_runs(stage: LocalStage, run_ids: list[str], statuses: set[str], timeout: float) -> dict[str, dict]:
    done: dict[str, dict] = {}

    def check() -> bool:
        for rid in run_ids:
            if rid not in done:
                body = stage.get(f"/automations/runs/{rid}").json()
                if body["status"] in statuses:
                    done[rid] = body
        return len(done) == len(run_ids)

    try:
        stage.wait_for(check, timeout, interval=2, what=f"{len(run_ids)} runs to reach {statuses}")
    except AssertionError as exc:
        pending = {rid: stage.get(f"/automations/runs/{rid}").json() for rid in run_ids if rid not in done}
        raise AssertionError(f"{exc}; not there: {json.dumps(pending)[:3000]}") from None
    return done


def test_sends_and_automations_complete_without_duplicate_delivery(stage: LocalStage, fault: FaultServer,
                                                                   poison_runs: list[str]) -> None:
    # GIVEN 200 sends, 40 of them replayed with the same Idempotency-Key and body, 2 reusing a key with another body
    first: dict[int, str] = {}
    for i in range(200):
        r = stage.post("/send", _send_body(i), headers={"Idempotency-Key": f"e2e-{i}"})
        assert r.status_code == 202, r.text
        first[i] = r.json()["requestId"]
    for i in range(0, 200, 5):
        r = stage.post("/send", _send_body(i), headers={"Idempotency-Key": f"e2e-{i}"})
        assert r.status_code == 202 and r.json()["requestId"] == first[i], "a replay answers the first response"
    for i in (1, 2):
        r = stage.post("/send", _send_body(i + 100), headers={"Idempotency-Key": f"e2e-{i}"})
        assert r.status_code == 409 and r.json()["error"]["code"]

    # AND 20 automations: delay + fetch-data (allowed loopback) + if; cancel; plain sends
    runs: dict[str, str] = {}
    for i in range(8):
        body = {"automation": {"steps": [
            {"action": "delay", "duration": "1 second"},
            {"action": "fetch-data", "webhook": {"url": fault.url(f"ok-{i}"), "method": "GET"},
             "merge_strategy": "soft-merge"},
            {"action": "if", "condition": "data.tier == 'gold' and data.score > 5",
             "then": [{"action": "send", "message": _send_body(1000 + i)["message"]}],
             "else": [{"action": "update-profile", "profile": {"branch": "else"}}]},
        ]}, "data": {"name": f"A{i}"}, "profile": {}, "recipient": f"u-{i}"}
        r = stage.post("/automations/invoke", body)
        assert r.status_code == 202, r.text
        runs[r.json()["runId"]] = "COMPLETED"
    for i in range(6):
        victim = {"automation": {"cancelation_token": f"cart-{i}", "steps": [
            {"action": "delay", "duration": "8 seconds"},
            {"action": "send", "message": _send_body(2000 + i)["message"]}]},
            "data": {}, "profile": {}, "recipient": f"u-{i}"}
        r = stage.post("/automations/invoke", victim)
        runs[r.json()["runId"]] = "CANCELED"
        canceller = {"automation": {"steps": [{"action": "cancel", "cancelation_token": f"cart-{i}"}]},
                     "data": {}, "profile": {}, "recipient": f"u-{i}"}
        r = stage.post("/automations/invoke", canceller)
        runs[r.json()["runId"]] = "COMPLETED"
    assert len(runs) == 20

    # THEN every accepted send ends DELIVERED / UNDELIVERABLE / UNROUTABLE / CANCELED
    done = _wait_requests_terminal(stage, set(first.values()), timeout=240)
    statuses = Counter(m["status"] for body in done.values() for m in body["messages"])
    assert statuses["DELIVERED"] > 0 and statuses["UNROUTABLE"] >= 8, statuses
    unroutable = [m for b in done.values() for m in b["messages"] if m["status"] == "UNROUTABLE"]
    assert all("order" in m.get("reason", "") for m in unroutable), unroutable[:2]

    # AND every run ends as planned: if-branch taken from fetched data, cancelled runs never send
    finished = _wait_runs(stage, list(runs), {"COMPLETED", "CANCELED", "FAILED"}, timeout=180)
    assert {rid: b["status"] for rid, b in finished.items()} == runs

    # AND the outbox holds exactly one delivery per message id: nothing was delivered twice
    deliveries = _outbox_deliveries(stage)
    assert deliveries and max(deliveries.values()) == 1, deliveries.most_common(3)
    delivered_ids = {m["messageId"] for b in done.values() for m in b["messages"] if m["status"] == "DELIVERED"}
    assert delivered_ids <= set(deliveries)


def test_poison_jobs_reach_dlq_after_exactly_max_receive_count_then_redrive_completes(
        stage: LocalStage, poison_fault: FaultServer, poison_runs: list[str]) -> None:
    sqs = stage.client("sqs")
    run_ids = poison_runs  # GIVEN runs whose fetch-data target fails every attempt (started with the stage)

    # THEN their jobs land in the job DLQ, each after exactly maxReceiveCount receives
    def poison_letters() -> dict:
        # the console's peek pages through the whole DLQ without consuming it (earlier jobs that timed
        # out under load may be there too)
        letters = {x.run_id: x for x in ops.peek(sqs, stage.outputs["job_dlq_url"], "job", max_messages=10_000)}
        return letters if set(run_ids) <= letters.keys() else {}

    stage.wait_for(poison_letters, timeout=240, interval=3, what="the 4 poison jobs in the job DLQ")
    assert [_receives(stage, run) for run in run_ids] == [MAX_RECEIVE] * 4
    # each receive ran the step at most once (a receive whose batch was killed at its timeout may not
    # have reached the fetch), and at least once
    attempts = [poison_fault.hits[f"poison-{i}"] for i in range(4)]
    assert all(1 <= n <= MAX_RECEIVE for n in attempts), attempts
    failed = _wait_runs(stage, run_ids, {"FAILED"}, timeout=60)
    assert all("HTTP 500" in json.dumps(b) for b in failed.values()), "the run says why it failed"

    # WHEN the fault is lifted and the DLQ is redriven with the message-move API
    poison_fault.failing = False
    task = sqs.start_message_move_task(SourceArn=stage.outputs["job_dlq_arn"], MaxNumberOfMessagesPerSecond=50)
    assert task["TaskHandle"]
    with pytest.raises(ClientError) as second:
        sqs.start_message_move_task(SourceArn=stage.outputs["job_dlq_arn"])
    assert second.value.response["Error"]["Code"] in {"AWS.SimpleQueueService.UnsupportedOperation",
                                                       "UnsupportedOperation", "InvalidParameterValue"}

    # THEN every run completes and its send is delivered exactly once: 0 lost, 0 duplicated
    done = _wait_runs(stage, run_ids, {"COMPLETED"}, timeout=120)
    assert len(done) == 4
    tasks = sqs.list_message_move_tasks(SourceArn=stage.outputs["job_dlq_arn"])["Results"]
    assert tasks[0]["Status"] == "COMPLETED" and tasks[0]["ApproximateNumberOfMessagesMoved"] >= 4
    assert all(poison_fault.hits[f"poison-{i}"] > attempts[i] for i in range(4)), "each ran again after the redrive"
    deliveries = _outbox_deliveries(stage)
    sends = [s["result"]["requestId"] for b in done.values() for s in b["steps"] if "requestId" in (s.get("result") or {})]
    assert len(sends) == 4 and max(deliveries.values()) == 1


def test_lambda_metrics_reach_cloudwatch(stage: LocalStage) -> None:
    cw = stage.client("cloudwatch")
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/Lambda")["Metrics"]}
    assert {"Invocations", "Errors", "Duration", "ConcurrentExecutions", "IteratorAge"} <= names
    functions = {d["Value"] for m in cw.list_metrics(Namespace="AWS/Lambda", MetricName="Invocations")["Metrics"]
                 for d in m["Dimensions"] if d["Name"] == "FunctionName"}
    assert {stage.outputs["api_function"], stage.outputs["send_worker_function"],
            stage.outputs["job_worker_function"], stage.outputs["log_indexer_function"]} <= functions
