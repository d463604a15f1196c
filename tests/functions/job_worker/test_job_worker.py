"""Job worker on moto: SQS batches with partial failures, real steps, redelivery, cancelation, the DLQ."""
from __future__ import annotations

import http.server
import json
import threading
import time

import pytest

from functions.job_worker.handler import lambda_handler as job_handler
from functions.request_worker.handler import lambda_handler as request_handler
from functions.shared.request_store import get_json, put_automation_request
from tests.functions.automations.moto_stage import moto_stage


@pytest.fixture
def profile_server():
    """A loopback JSON endpoint on a free port (the only fetch target the test stage allows)."""
    calls = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            calls.append(self.path)
            raw = json.dumps({"tier": "gold", "name": "Server"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    srv.calls = calls
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def stage(monkeypatch):
    with moto_stage(monkeypatch) as s:
        yield s


def _start(stage, run_id, body):
    key = put_automation_request(stage.bucket, run_id, body)
    request_handler(stage.s3_put_event(key), None)


def _pump(stage, rounds=30, wait_delayed=2.0):
    """Receive → invoke the handler → settle, as the event source mapping does, until the queue is empty."""
    responses = []
    deadline = time.monotonic() + wait_delayed
    for _ in range(rounds):
        messages = stage.receive_jobs()
        if not messages:
            attrs = stage.sqs.get_queue_attributes(QueueUrl=stage.queue_url, AttributeNames=["All"])["Attributes"]
            if attrs["ApproximateNumberOfMessagesDelayed"] != "0" and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            return responses
        response = job_handler(stage.sqs_event(messages), None)
        responses.append((messages, response))
        stage.settle(messages, response)
    return responses


def _body(steps, **extra):
    doc = {"automation": {"steps": steps}, "data": {"name": "Ada"}, "profile": {"email": "ada@example.com"},
           "recipient": "user-1", "template": "welcome"}
    doc.update(extra)
    return doc


def _run(stage, run_id):
    return stage.get_item(stage.state_table, f"RUN#{run_id}", "RUN")


def _step(stage, run_id, i):
    return stage.get_item(stage.state_table, f"RUN#{run_id}", f"STEP#{i:04d}")


def _sends(stage):
    keys = [o["Key"] for o in stage.s3.list_objects_v2(Bucket=stage.bucket, Prefix="send/").get("Contents", [])]
    return {k: get_json(stage.bucket, k) for k in keys}


def test_mixed_batch_reports_only_bad_records(stage):
    _start(stage, "run_01JQAAAAAAAAAAAAAAAAAAAAAA", _body([{"action": "send"}]))
    stage.sqs.send_message(QueueUrl=stage.queue_url, MessageBody="{not json")
    stage.sqs.send_message(QueueUrl=stage.queue_url, MessageBody=json.dumps({"v": 1, "runId": "run_missing", "step": 0}))
    messages = []
    while len(messages) < 3:
        messages += stage.receive_jobs()
    response = job_handler(stage.sqs_event(messages), None)
    by_body = {m["Body"]: m["MessageId"] for m in messages}
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert failed == {by_body["{not json"], by_body[json.dumps({"v": 1, "runId": "run_missing", "step": 0})]}
    assert _run(stage, "run_01JQAAAAAAAAAAAAAAAAAAAAAA")["status"] == "COMPLETED"
    assert len(_sends(stage)) == 1


def test_every_step_kind_runs_to_completion(stage, profile_server, monkeypatch):
    # the stage allows exactly this loopback host:port
    from functions.automations.bootstrap import reset_deps
    from functions.shared.settings import reset_settings

    monkeypatch.setenv("FETCH_ALLOW", f"127.0.0.1:{profile_server.server_address[1]}")
    reset_settings()
    reset_deps()
    url = f"http://127.0.0.1:{profile_server.server_address[1]}/profile"
    run_id = "run_01JQBBBBBBBBBBBBBBBBBBBBBB"
    _start(stage, run_id, _body([
        {"action": "delay", "duration": "1 second"},
        {"action": "fetch-data", "webhook": {"url": url}, "merge_strategy": "overwrite"},
        {"action": "if", "condition": "data.tier == 'gold'",
         "then": [{"action": "send", "template": "gold", "channels": ["email"]}],
         "else": [{"action": "send", "template": "basic"}]},
        {"action": "update-profile", "profile": {"plan": "gold"}},
        {"action": "invoke", "automation": {"steps": [{"action": "send"}]}},
    ]))
    t0 = time.monotonic()
    _pump(stage)
    run = _run(stage, run_id)
    assert run["status"] == "COMPLETED", run
    assert time.monotonic() - t0 >= 0.9  # the delay was a real SQS DelaySeconds hop
    assert profile_server.calls == ["/profile"]
    assert run["data"] == {"name": "Server", "tier": "gold"}
    assert run["profile"] == {"email": "ada@example.com", "plan": "gold"}
    sends = _sends(stage)
    assert len(sends) == 1
    (doc,) = sends.values()
    assert doc["message"]["template"] == "gold" and doc["message"]["to"] == [{"user_id": "user-1", "email": "ada@example.com"}]
    assert doc["source"] == {"runId": run_id, "step": 3}
    assert stage.get_item(stage.state_table, "PROFILE#user-1", "PROFILE")["profile"] == {"plan": "gold"}
    child = _step(stage, run_id, 6)["result"]["runId"]
    assert stage.s3.head_object(Bucket=stage.bucket, Key=f"automations/{child}.json")
    assert _step(stage, run_id, 2)["result"]["branch"] == "then"
    assert _step(stage, run_id, 4) is None


def test_redelivered_job_does_not_send_twice(stage):
    run_id = "run_01JQCCCCCCCCCCCCCCCCCCCCCC"
    _start(stage, run_id, _body([{"action": "send"}]))
    messages = stage.receive_jobs()
    event = stage.sqs_event(messages)
    assert job_handler(event, None) == {"batchItemFailures": []}
    first = {k: v["receivedAt"] for k, v in _sends(stage).items()}
    # SQS redelivers the same message (e.g. the delete was lost)
    assert job_handler(event, None) == {"batchItemFailures": []}
    assert {k: v["receivedAt"] for k, v in _sends(stage).items()} == first
    assert _step(stage, run_id, 0)["attempts"] == 1


def test_refused_fetch_fails_to_dlq_with_reason(stage):
    run_id = "run_01JQDDDDDDDDDDDDDDDDDDDDDD"
    _start(stage, run_id, _body([{"action": "fetch-data", "webhook": {"url": "http://169.254.169.254/latest/meta-data/"}},
                                 {"action": "send"}]))
    responses = _pump(stage, rounds=10)
    assert len(responses) == stage.max_receive
    assert all(len(r["batchItemFailures"]) == 1 for _, r in responses)
    assert stage.dlq_bodies() == [{"v": 1, "runId": run_id, "step": 0}]
    step = _step(stage, run_id, 0)
    assert step["status"] == "FAILED" and step["attempts"] == stage.max_receive
    assert "refused by the address guard" in step["error"] and "link-local" in step["error"]
    run = _run(stage, run_id)
    assert run["status"] == "FAILED" and run["error"].startswith("step 0 (fetch-data): refused by the address guard")
    assert _sends(stage) == {}


def test_cancel_stops_other_run_before_next_step(stage):
    victim, canceller = "run_01JQEEEEEEEEEEEEEEEEEEEEEE", "run_01JQFFFFFFFFFFFFFFFFFFFFFF"
    _start(stage, victim, _body([{"action": "delay", "duration": "1 second"}, {"action": "send"}],
                                automation={"cancelation_token": "cart-9",
                                            "steps": [{"action": "delay", "duration": "1 second"}, {"action": "send"}]}))
    _start(stage, canceller, _body([{"action": "cancel", "cancelation_token": "cart-9"}]))
    _pump(stage)
    assert _run(stage, victim)["status"] == "CANCELED"
    assert _run(stage, canceller)["status"] == "COMPLETED"
    assert _step(stage, canceller, 0)["result"]["canceled"] == [victim]
    assert _step(stage, victim, 1) is None
    assert _sends(stage) == {}


def test_invalid_built_message_fails_step_with_field_errors(stage):
    # the request is valid; the message built from the run's profile at step time is not
    run_id = "run_01JQGGGGGGGGGGGGGGGGGGGGGG"
    _start(stage, run_id, _body([{"action": "send"}], profile={"email": "not-an-address"}))
    messages = stage.receive_jobs()
    response = job_handler(stage.sqs_event(messages), None)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [messages[0]["MessageId"]]
    error = _step(stage, run_id, 0)["error"]
    assert "step 0 (send): invalid message" in error and "to.0.email" in error


class _Context:
    """A Lambda context with little time left (what the data plane passes)."""

    function_name = "relay-test-job-worker"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:relay-test-job-worker"
    aws_request_id = "req-1"

    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def test_fetch_never_outlives_the_invocation(stage):
    run_id = "run_01JQJJJJJJJJJJJJJJJJJJJJJJ"
    _start(stage, run_id, _body([{"action": "fetch-data", "webhook": {"url": "https://api.example.com/slow"},
                                  "timeout_ms": 30_000}]))
    messages = stage.receive_jobs()
    response = job_handler(stage.sqs_event(messages), _Context(remaining_ms=550))
    assert len(response["batchItemFailures"]) == 1
    assert "no time left in this invocation" in _step(stage, run_id, 0)["error"]


def test_concurrent_invocations_answer_each_batch_with_its_own_failures() -> None:
    """The local data plane runs a function's concurrent invocations as threads of one process: each batch
    must get back exactly its own failures (a shared processor mixed them up and deleted jobs never run)."""
    import threading

    from functions.job_worker import handler

    def batch(n: int) -> dict:
        return {"Records": [{"messageId": f"b{n}-m{i}", "receiptHandle": "r", "body": "not a job",
                             "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                             "md5OfBody": "", "eventSource": "aws:sqs",
                             "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}
                            for i in range(20)]}

    answers: dict[int, set[str]] = {}
    start = threading.Barrier(8)

    def invoke(n: int) -> None:
        start.wait()
        answers[n] = {f["itemIdentifier"] for f in handler.lambda_handler(batch(n), None)["batchItemFailures"]}

    threads = [threading.Thread(target=invoke, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == {n: {f"b{n}-m{i}" for i in range(20)} for n in range(8)}
