"""The console's verbs (dashboard.ops, audit) with real boto3 clients on the local emulator, and its pure core."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from dashboard import auth, health, ops
from dashboard.audit import AuditLog
from dashboard.capacity import recommend_factor
from dashboard.errors import InvalidFactor, InvalidRate, NotAStreamSource
from dashboard.letters import decode, filter_letters
from tests.dashboard.stage_fixture import Stage, async_record, job_body, stream_record


# ---- peek ----------------------------------------------------------------------------------------------
def test_peek_pages_through_whole_dlq_without_consuming(stage: Stage) -> None:
    sqs, dlq = stage.client("sqs"), stage.outputs["job_dlq_url"]
    ids = stage.fill(dlq, [job_body(f"run_{i}") for i in range(35)])
    first = ops.peek(sqs, dlq, "job", max_messages=1000)
    second = ops.peek(sqs, dlq, "job", max_messages=1000)
    assert sorted(x.message_id for x in first) == sorted(ids), "repeated receives page through all 35"
    assert sorted(x.message_id for x in second) == sorted(ids), "and the next peek sees them all again"
    assert stage.visible(dlq) == 35


def test_peek_limit_returns_that_many_and_releases_rest(stage: Stage) -> None:
    sqs, dlq = stage.client("sqs"), stage.outputs["job_dlq_url"]
    stage.fill(dlq, [job_body(f"run_{i}") for i in range(23)])
    assert len(ops.peek(sqs, dlq, "job", max_messages=12)) == 12
    assert stage.visible(dlq) == 23


def test_job_letters_carry_their_failing_steps_recorded_error(stage: Stage) -> None:
    sqs, ddb, o = stage.client("sqs"), stage.client("dynamodb"), stage.outputs
    stage.fill(o["job_dlq_url"], [job_body("run_err", 2), job_body("run_unknown", 0)])
    ddb.put_item(TableName=o["state_table"], Item={
        "pk": {"S": "RUN#run_err"}, "sk": {"S": "STEP#0002"}, "status": {"S": "FAILED"},
        "error": {"S": "step 2 (fetch-data): http://127.0.0.1:9/x answered HTTP 500"}})
    letters = {x.run_id: x for x in ops.explain_job_failures(
        ddb, o["state_table"], ops.peek(sqs, o["job_dlq_url"], "job", max_messages=100))}
    assert letters["run_err"].reason.startswith("step 2 (fetch-data): http://127.0.0.1:9/x answered HTTP 500")
    assert letters["run_unknown"].reason == "job dead-lettered after maxReceiveCount failed receives"


# ---- redrive selected / async / delete ------------------------------------------------------------------
def test_redrive_selected_send_failure_deletes_nothing(stage: Stage) -> None:
    sqs, o = stage.client("sqs"), stage.outputs
    ids = stage.fill(o["job_dlq_url"], [job_body("run_a"), job_body("run_b")])
    missing = o["job_queue_url"] + "-gone"
    report = ops.redrive_selected(sqs, o["job_dlq_url"], missing, ids)
    assert report.moved == [] and sorted(report.failed) == sorted(ids)
    assert all("send failed" in v for v in report.failed.values())
    assert stage.visible(o["job_dlq_url"]) == 2, "never delete before the send succeeded"


def test_redrive_selected_unknown_id_reported_not_found(stage: Stage) -> None:
    sqs, o = stage.client("sqs"), stage.outputs
    ids = stage.fill(o["job_dlq_url"], [job_body("run_a")])
    report = ops.redrive_selected(sqs, o["job_dlq_url"], o["job_queue_url"], ids + ["nope"])
    assert report.moved == ids and report.not_found == ["nope"]
    assert "1 no longer in the DLQ" in report.summary()


def test_redrive_async_reinvokes_with_stored_event(stage: Stage) -> None:
    sqs, lam, o = stage.client("sqs"), stage.client("lambda"), stage.outputs
    invoked: list[dict[str, Any]] = []
    lam.meta.events.register("before-call.lambda.Invoke", lambda params, **_: invoked.append(params))
    fn_arn = lam.get_function(FunctionName=o["send_worker_function"])["Configuration"]["FunctionArn"]
    ids = stage.fill(o["async_dlq_url"], [async_record(fn_arn, "send/req_1.json"), "garbage"])
    report = ops.redrive_async(sqs, lam, o["async_dlq_url"], ids)
    assert report.moved == [ids[0]]
    assert "not a Lambda on-failure record" in report.skipped[ids[1]]
    assert len(invoked) == 1
    assert invoked[0]["headers"]["X-Amz-Invocation-Type"] == "Event"
    assert json.loads(invoked[0]["body"])["Records"][0]["s3"]["object"]["key"] == "send/req_1.json"
    assert [m["MessageId"] for m in stage.drain(o["async_dlq_url"])] == [ids[1]]


def test_redrive_selected_token_reused_by_later_run_skips_only_the_canceled_run(stage: Stage) -> None:
    """GIVEN token tok canceled run_old, then run_new reused tok; WHEN the console redrives both runs' jobs
    THEN run_new's letter goes back to the job queue and only run_old's stays (the core's token rule)."""
    from dashboard.actions import Action, perform
    from dashboard.aws import Aws

    o, ddb = stage.outputs, stage.client("dynamodb")
    items = [("RUN#run_old", "RUN", {"cancelation_token": "tok", "createdAt": "2026-01-01T00:00:00.000Z"}),
             ("TOKEN#tok", "CANCELED", {"canceledAt": "2026-01-01T00:01:00.000Z"}),
             ("RUN#run_new", "RUN", {"cancelation_token": "tok", "createdAt": "2026-01-01T00:02:00.000Z"})]
    for pk, sk, attrs in items:
        ddb.put_item(TableName=o["state_table"], Item={"pk": {"S": pk}, "sk": {"S": sk},
                                                        **{k: {"S": v} for k, v in attrs.items()}})
    ids = stage.fill(o["job_dlq_url"], [job_body("run_old"), job_body("run_new")])
    report = perform(Aws(), o, Action("redrive_selected", {"dlq": "job", "message_ids": ids}, "", stage.name))
    assert report.moved == [ids[1]] and list(report.skipped) == [ids[0]]
    assert "run run_old was canceled" in report.skipped[ids[0]]
    assert [json.loads(m["Body"])["runId"] for m in stage.drain(o["job_queue_url"])] == ["run_new"]
    assert [m["MessageId"] for m in stage.drain(o["job_dlq_url"])] == [ids[0]]


def test_redrive_loop_resend_that_raises_deletes_nothing_and_releases_all(stage: Stage) -> None:
    from dashboard.redrive import redrive

    sqs, dlq = stage.client("sqs"), stage.outputs["job_dlq_url"]
    ids = stage.fill(dlq, [job_body(f"run_{i}") for i in range(3)])

    def broken(part: list[dict]) -> dict:
        raise RuntimeError("re-invoke target is down")

    with pytest.raises(RuntimeError):
        redrive(sqs, dlq, ids, broken)
    assert stage.visible(dlq) == 3, "nothing deleted, and nothing left hidden for the visibility timeout"


def test_redrive_stream_trimmed_batch_is_skipped_and_kept(stage: Stage) -> None:
    sqs, lam, o = stage.client("sqs"), stage.client("lambda"), stage.outputs
    ids = stage.fill(o["stream_dlq_url"], [stream_record("arn:aws:lambda:us-east-1:123456789012:function:x",
                                                          o["message_stream_arn"])])
    report = ops.redrive_stream(sqs, lam, stage.client("dynamodbstreams"), o["stream_dlq_url"], ids,
                                o["log_indexer_function"])
    assert report.moved == []
    assert ids[0] in report.skipped or ids[0] in report.failed
    assert stage.visible(o["stream_dlq_url"]) == 1


# ---- validation -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [0, 501, -5])
def test_rate_out_of_range_rejected(rate: int) -> None:
    with pytest.raises(InvalidRate) as err:
        ops.check_rate(rate)
    assert err.value.code == "InvalidRedriveRate"
    assert f"redrive rate {rate} messages/s is out of range: SQS moves 1 to 500" in str(err.value)


@pytest.mark.parametrize("factor", [0, 11])
def test_factor_out_of_range_rejected_before_any_call(stage: Stage, factor: int) -> None:
    lam = stage.client("lambda")
    with pytest.raises(InvalidFactor) as err:
        ops.set_parallelization_factor(lam, stage.outputs["log_indexer_esm_uuid"], factor)
    assert err.value.code == "InvalidParallelizationFactor"
    assert "takes 1 to 10" in str(err.value)
    assert lam.get_event_source_mapping(UUID=stage.outputs["log_indexer_esm_uuid"])["ParallelizationFactor"] == 1


def test_factor_on_sqs_mapping_rejected(stage: Stage) -> None:
    with pytest.raises(NotAStreamSource) as err:
        ops.set_parallelization_factor(stage.client("lambda"), stage.outputs["job_worker_esm_uuid"], 2)
    assert err.value.code == "NotAStreamSource"
    assert "applies to DynamoDB and Kinesis stream sources only" in str(err.value)


def test_start_redrive_all_bad_rate_starts_nothing(stage: Stage) -> None:
    sqs, o = stage.client("sqs"), stage.outputs
    with pytest.raises(InvalidRate):
        ops.start_redrive_all(sqs, o["job_dlq_arn"], o["job_queue_arn"], 501)
    assert ops.redrive_tasks(sqs, o["job_dlq_arn"]) == []


# ---- audit ------------------------------------------------------------------------------------------------
def test_audit_run_writes_before_and_after_with_error(stage: Stage) -> None:
    log = AuditLog(stage.client("dynamodb"), stage.outputs["audit_table"], stage.name)
    assert log.run("ada", "noop", {"n": 1}, lambda: 42) == 42

    def boom() -> None:
        raise InvalidRate("too fast")

    with pytest.raises(InvalidRate):
        log.run("ada", "explode", {}, boom)
    records = log.list()
    assert [(r["action"], r["phase"]) for r in records] == [("explode", "after"), ("explode", "before"),
                                                            ("noop", "after"), ("noop", "before")]
    assert records[0]["result"] == "error: InvalidRedriveRate: too fast"
    assert records[2]["result"] == "ok: 42" and json.loads(records[2]["params"]) == {"n": 1}


# ---- stages & metrics ---------------------------------------------------------------------------------------
def test_discover_stages_finds_published_outputs(stage: Stage) -> None:
    found = ops.discover_stages(stage.client("ssm"))
    assert found[stage.name]["job_dlq_url"] == stage.outputs["job_dlq_url"]


def test_metrics_batch_reads_iterator_age_per_minute(stage: Stage) -> None:
    from tests.dashboard.stage_fixture import seed_metrics

    cw = stage.client("cloudwatch")
    seed_metrics(cw, stage, hours=0.5, iterator_age_ms=500)
    end = datetime.now(timezone.utc) + timedelta(minutes=1)
    spec = ops.MetricSpec("it", "AWS/Lambda", "IteratorAge", (("FunctionName", stage.outputs["log_indexer_function"]),))
    pts = ops.metrics_batch(cw, [spec], end - timedelta(hours=1), end)["it"]
    assert 29 <= len(pts) <= 31 and max(v for _, v in pts) == 506


# ---- pure core --------------------------------------------------------------------------------------------
def _msg(body: str, sent_ms: int, **attrs: str) -> dict:
    return {"MessageId": "m1", "Body": body, "Attributes": {"SentTimestamp": str(sent_ms),
                                                            "ApproximateReceiveCount": "5", **attrs}}


def test_decode_job_and_async_letters() -> None:
    job = decode("job", _msg(job_body("run_x", 3), 1_700_000_000_000))
    assert (job.run_id, job.step, job.receive_count) == ("run_x", 3, 5)
    a = decode("async", _msg(async_record("arn:aws:lambda:us-east-1:1:function:f", "send/k.json"), 0))
    assert a.reason == "RetriesExhausted, TemplateError: template missing" and a.function_arn.endswith(":f")
    bad = decode("job", _msg("{nope", 0))
    assert bad.reason == "body is not JSON" and bad.decoded is None


def test_filter_letters_by_text_attribute_and_age() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    old = decode("job", _msg(job_body("run_old"), int((now - timedelta(hours=2)).timestamp() * 1000)))
    new = decode("job", _msg(job_body("run_new"), int((now - timedelta(seconds=5)).timestamp() * 1000),
                             ApproximateReceiveCount="9"))
    assert filter_letters([old, new], text="RUN_OLD", now=now) == [old]
    assert filter_letters([old, new], attribute="ApproximateReceiveCount", attribute_value="9", now=now) == [new]
    assert filter_letters([old, new], min_age_s=3600, now=now) == [old]


def test_recommend_factor_scales_with_load_and_caps_at_10() -> None:
    assert recommend_factor(0, 0.2, 100).factor == 1
    # relay capacity's rule: 1000*0.5/100 = 5 lanes busy at 100 %, at most 80 % each -> 6.25 -> 7
    assert recommend_factor(1000, 0.5, 100).factor == 7
    capped = recommend_factor(100_000, 1.0, 100)
    assert capped.factor == 10 and "over 10" in capped.reason


def test_recommend_factor_is_relay_capacitys_smallest_factor() -> None:
    from relay.capacity.model import BatchDuration, smallest_factor

    for rate in (50, 400, 1500):
        assert recommend_factor(rate, 0.5, 100).factor == smallest_factor(rate, 100, BatchDuration(0.5, 0), 60).factor


def test_health_thresholds() -> None:
    assert health.classify(None, 100) == health.GREEN
    assert health.classify(49, 100) == health.GREEN
    assert health.classify(50, 100) == health.AMBER
    assert health.classify(100, 100) == health.RED
    assert (health.dlq_health(0), health.dlq_health(1), health.dlq_health(10)) == ("green", "amber", "red")


def test_auth_roles() -> None:
    kw = dict(operators=["ops@example.com"], local_user="me")
    assert auth.decide(is_local=True, auth_configured=True, logged_in=False, email=None, **kw).can_act
    anon = auth.decide(is_local=False, auth_configured=True, logged_in=False, email=None, **kw)
    assert anon.role == auth.ANONYMOUS and not anon.can_act
    viewer = auth.decide(is_local=False, auth_configured=True, logged_in=True, email="eve@example.com", **kw)
    assert viewer.role == auth.VIEWER and "read-only" in viewer.why
    op = auth.decide(is_local=False, auth_configured=True, logged_in=True, email="OPS@example.com", **kw)
    assert op.role == auth.OPERATOR and op.actor == "ops@example.com"


def test_redrive_stream_reinvokes_indexer_with_batch_records(stage: Stage, emulator: Any) -> None:
    from relay.local import triggers

    o, ddb = stage.outputs, stage.client("dynamodb")
    for i in range(3):
        ddb.put_item(TableName=o["message_table"], Item={"pk": {"S": f"MSG#m{i}"}, "sk": {"S": "EVT#1#00#SENT"}})
    streams = stage.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=o["message_stream_arn"])["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=o["message_stream_arn"], ShardId=shard,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    seqs = [r["dynamodb"]["SequenceNumber"] for r in streams.get_records(ShardIterator=it)["Records"]]
    assert len(seqs) == 3
    record = json.loads(stream_record("arn:aws:lambda:us-east-1:123456789012:function:x", o["message_stream_arn"]))
    record["DDBStreamBatchInfo"].update(shardId=shard, startSequenceNumber=seqs[1], endSequenceNumber=seqs[2], batchSize=2)
    ids = stage.fill(o["stream_dlq_url"], [json.dumps(record)])
    calls: list[tuple[str, dict, str]] = []

    def handler(fn_arn: str, event: dict, invocation_type: str) -> None:
        calls.append((fn_arn, event, invocation_type))

    emulator.on_lambda_invoke(handler)
    try:
        report = ops.redrive_stream(stage.client("sqs"), stage.client("lambda"), streams, o["stream_dlq_url"], ids,
                                    o["log_indexer_function"])
    finally:
        triggers.clear_invoke_handler(handler)
    assert report.moved == ids
    assert len(calls) == 1 and calls[0][0].endswith(o["log_indexer_function"]) and calls[0][2] == "Event"
    got = calls[0][1]["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in got] == ["MSG#m1", "MSG#m2"], "exactly the batch's records"
    assert all(r["eventSourceARN"] == o["message_stream_arn"] for r in got)
    assert stage.visible(o["stream_dlq_url"]) == 0
