"""Searches and bulk actions (dashboard.scan, letter_query, task_store, bulk) on a hand-built stage, and their pure core."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from dashboard import bulk
from dashboard.aws import clients
from dashboard.errors import NotResumable, TaskBusy
from dashboard.letter_edit import check_edit, diff
from dashboard.letter_query import JsonPathError, LetterQuery, json_path_get
from dashboard.letters import decode
from dashboard.redrive import Pacer
from dashboard.scan import QueueScan
from dashboard.task_store import CANCELED, COMPLETED, RUNNING
from tests.dashboard.stage_fixture import Stage, async_record, job_body


def _letter(body: str, kind: str = "job", receives: int = 1, age_s: float = 0.0) -> Any:
    sent = int((datetime.now(timezone.utc) - timedelta(seconds=age_s)).timestamp() * 1000)
    return decode(kind, {"MessageId": "m-1234", "Body": body,
                         "Attributes": {"SentTimestamp": str(sent), "ApproximateReceiveCount": str(receives)}})


def _wait(task_id: str, timeout: float = 60) -> None:
    assert bulk.join(task_id, timeout), f"bulk {task_id} still running after {timeout} s"


# ---- the query (pure) --------------------------------------------------------------------------------------
def test_query_run_step_age_and_receives_all_must_hold() -> None:
    letter = _letter(job_body("run_a", 2), receives=3, age_s=600)
    assert LetterQuery(run_id="run_a", step=2, min_age_s=300, min_receives=3).matches(letter)
    assert not LetterQuery(run_id="run_a", step=1).matches(letter)
    assert not LetterQuery(run_id="run_b").matches(letter)
    assert not LetterQuery(max_age_s=60).matches(letter)
    assert not LetterQuery(max_receives=2).matches(letter)
    assert LetterQuery().matches(letter), "an empty query selects every letter"


def test_query_json_path_and_error_text_match_async_records() -> None:
    fn = "arn:aws:lambda:us-east-1:123456789012:function:relay-t-send-worker"
    letter = _letter(async_record(fn, "send/req_7.json"), kind="async")
    assert LetterQuery(json_path="requestPayload.Records[0].s3.object.key", json_value="send/req_7.json").matches(letter)
    key = "$.requestPayload.Records[0].s3.object.key"
    assert not LetterQuery(json_path=key, json_value="send/req_8.json").matches(letter)
    assert LetterQuery(json_path="requestPayload.Records[1]").matches(letter) is False
    assert LetterQuery(error="template MISSING", function="send-worker").matches(letter)
    assert LetterQuery(run_id="req_7").matches(letter), "a stream/async record matches an id anywhere in its body"
    assert json_path_get({"a": [{"b": 1}]}, "a[0].b") == (True, 1)


def test_query_malformed_json_path_is_refused_before_a_scan() -> None:
    with pytest.raises(JsonPathError, match="use a.b\\[0\\].c"):
        LetterQuery(json_path="a[x]")


def test_pacer_holds_the_average_rate_without_bursts() -> None:
    now = [0.0]
    pacer = Pacer(50, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(25):
        pacer.wait(10)
    assert now[0] == pytest.approx(24 * 10 / 50), "250 letters at 50/s: the 25th chunk starts at 4.8 s"


# ---- edit checks ----------------------------------------------------------------------------------------------
def test_edit_check_uses_the_job_contract_and_the_workers_record_policy() -> None:
    outputs = {"send_worker_function": "relay-t-send-worker", "request_worker_function": "relay-t-request-worker"}
    assert check_edit("job", job_body("run_a", 1), outputs).ok
    bad = check_edit("job", json.dumps({"v": 1, "runId": "nope", "step": 0}), outputs)
    assert not bad.ok and "is not a run id" in bad.errors[0]
    fn = "arn:aws:lambda:us-east-1:123456789012:function:relay-t-send-worker"
    assert check_edit("async", async_record(fn, "send/req_1.json"), outputs).ok
    wrong_prefix = check_edit("async", async_record(fn, "automations/run_1.json"), outputs)
    assert not wrong_prefix.ok and "the worker would ignore it" in wrong_prefix.errors[0]
    assert not check_edit("stream", "{}", outputs).ok
    assert '-  "step": 0' in diff(job_body("run_a", 0), job_body("run_a", 1))


# ---- scanning without consuming ------------------------------------------------------------------------------
def test_scan_hands_out_every_message_once_and_releases_all(stage: Stage) -> None:
    sqs, dlq = stage.client("sqs"), stage.outputs["job_dlq_url"]
    ids = stage.fill(dlq, [job_body(f"run_{i}") for i in range(45)])
    seen: list[str] = []
    with QueueScan(sqs, dlq, hide_s=60) as scan:
        for batch in scan.batches():
            seen.extend(m["MessageId"] for m in batch)
        assert stage.visible(dlq) == 0, "held while scanning"
    assert sorted(seen) == sorted(ids) and scan.exhausted
    assert stage.visible(dlq) == 45, "and all visible again afterwards: 0 lost"


def test_scan_failing_half_way_releases_what_it_held(stage: Stage) -> None:
    sqs, dlq = stage.client("sqs"), stage.outputs["job_dlq_url"]
    stage.fill(dlq, [job_body(f"run_{i}") for i in range(30)])
    with pytest.raises(RuntimeError), QueueScan(sqs, dlq, hide_s=300) as scan:
        for _ in scan.batches():
            raise RuntimeError("the console died")
    assert stage.visible(dlq) == 30


# ---- search and bulk actions -------------------------------------------------------------------------------------
def test_search_one_run_saves_exactly_its_letters(stage: Stage) -> None:
    o = stage.outputs
    ids = stage.fill(o["job_dlq_url"], [job_body(f"run_{i % 7}", i % 3) for i in range(140)])
    want = {i for n, i in enumerate(ids) if n % 7 == 3}
    task = bulk.start_search(clients(), o, "job", LetterQuery(run_id="run_3"), {"seconds": 60}, "tester")
    _wait(task.task_id)
    store = bulk.store_for(clients(), o)
    done = store.get(task.task_id)
    assert (done.status, done.count("matched"), done.count("scanned")) == (COMPLETED, 20, 140)
    assert set(store.ids(task.task_id, "match")) == want and done.first_match_ms is not None
    assert stage.visible(o["job_dlq_url"]) == 140, "a search consumes nothing"


def test_search_budget_stops_and_says_so(stage: Stage) -> None:
    o = stage.outputs
    stage.fill(o["job_dlq_url"], [job_body(f"run_{i}") for i in range(60)])
    task = bulk.start_search(clients(), o, "job", LetterQuery(), {"messages": 25, "seconds": 60}, "tester")
    _wait(task.task_id)
    done = bulk.store_for(clients(), o).get(task.task_id)
    assert (done.count("scanned"), done.count("matched")) == (25, 25)
    assert "budget reached" in done.note
    assert stage.visible(o["job_dlq_url"]) == 60


def test_bulk_redrive_cancel_then_resume_moves_exactly_the_selection(stage: Stage) -> None:
    o = stage.outputs
    ids = stage.fill(o["job_dlq_url"], [job_body(f"run_{i % 4}") for i in range(200)])
    search = bulk.start_search(clients(), o, "job", LetterQuery(run_id="run_1"), {}, "tester")
    _wait(search.task_id)
    store = bulk.store_for(clients(), o)
    task = bulk.start_action(clients(), o, "redrive", "job", scope=search.task_id, rate=20, actor="tester",
                             audit_id="", audit_params={})
    deadline = time.monotonic() + 20
    while (store.get(task.task_id).count("moved") < 10) and time.monotonic() < deadline:
        time.sleep(0.05)
    bulk.cancel(clients(), o, task.task_id)
    _wait(task.task_id)
    half = store.get(task.task_id)
    assert half.status == CANCELED and 10 <= half.count("moved") < 50 and half.resumable
    final = bulk.resume(clients(), o, task.task_id, actor="tester", background=False)
    assert (final.status, final.count("moved"), final.total) == (COMPLETED, 50, 50)
    arrived = stage.drain(o["job_queue_url"])
    assert len(arrived) == 50 and {json.loads(m["Body"])["runId"] for m in arrived} == {"run_1"}, "0 duplicated"
    left = {m["MessageId"] for m in stage.drain(o["job_dlq_url"])}
    assert left == {i for n, i in enumerate(ids) if n % 4 != 1}, "0 lost, nothing else moved"


def test_bulk_redrive_all_skips_only_the_run_a_reused_token_canceled(stage: Stage) -> None:
    """GIVEN token tok canceled run_old, then run_new reused tok; WHEN every job letter is redriven in bulk
    THEN run_new's letters go back to the job queue and only run_old's stay, named (the core's token rule)."""
    o, ddb = stage.outputs, stage.client("dynamodb")
    for pk, sk, attrs in (("RUN#run_old", "RUN", {"cancelation_token": "tok", "createdAt": "2026-01-01T00:00:00.000Z"}),
                          ("TOKEN#tok", "CANCELED", {"canceledAt": "2026-01-01T00:01:00.000Z"}),
                          ("RUN#run_new", "RUN", {"cancelation_token": "tok", "createdAt": "2026-01-01T00:02:00.000Z"})):
        ddb.put_item(TableName=o["state_table"], Item={"pk": {"S": pk}, "sk": {"S": sk},
                                                        **{k: {"S": v} for k, v in attrs.items()}})
    old = stage.fill(o["job_dlq_url"], [job_body("run_old", i) for i in range(5)])
    stage.fill(o["job_dlq_url"], [job_body("run_new", i) for i in range(7)])
    task = bulk.start_action(clients(), o, "redrive", "job", scope="", rate=500, actor="tester", audit_id="",
                             audit_params={})
    _wait(task.task_id)
    done = bulk.store_for(clients(), o).get(task.task_id)
    assert (done.count("moved"), done.count("skipped")) == (7, 5)
    assert all("run run_old was canceled" in why for why in done.samples.values())
    assert [json.loads(m["Body"])["runId"] for m in stage.drain(o["job_queue_url"])] == ["run_new"] * 7
    assert sorted(m["MessageId"] for m in stage.drain(o["job_dlq_url"])) == sorted(old)


def test_bulk_delete_of_everything_is_audited_once_with_its_counts(stage: Stage) -> None:
    from dashboard.audit import AuditLog

    o = stage.outputs
    stage.fill(o["stream_dlq_url"], ["x"] * 35)
    log = AuditLog(clients().dynamodb, o["audit_table"], stage.name)
    audit_id = log.begin("tester", "bulk_delete", {"dlq": "stream"})
    task = bulk.start_action(clients(), o, "delete", "stream", scope="", rate=500, actor="tester", audit_id=audit_id,
                             audit_params={"dlq": "stream"})
    _wait(task.task_id)
    assert stage.count(o["stream_dlq_url"]) == 0
    records = [r for r in log.list() if r["auditId"] == audit_id]
    assert sorted(r["phase"] for r in records) == ["after", "before"]
    assert next(r for r in records if r["phase"] == "after")["result"].startswith("ok: 35 deleted of 35")


def test_bulk_export_writes_the_selected_letters_to_the_request_store(stage: Stage) -> None:
    o = stage.outputs
    stage.fill(o["job_dlq_url"], [job_body(f"run_{i % 3}") for i in range(30)])
    search = bulk.start_search(clients(), o, "job", LetterQuery(run_id="run_2"), {}, "tester")
    _wait(search.task_id)
    task = bulk.start_action(clients(), o, "export", "job", scope=search.task_id, rate=500, actor="tester",
                             audit_id="", audit_params={})
    _wait(task.task_id)
    done = bulk.store_for(clients(), o).get(task.task_id)
    body = stage.client("s3").get_object(Bucket=o["request_bucket"], Key=done.export_key)["Body"].read()
    assert sorted(r["run_id"] for r in json.loads(body)) == ["run_2"] * 10
    assert stage.visible(o["job_dlq_url"]) == 30, "an export leaves every letter where it was"


def test_second_runner_is_refused_while_the_lease_lives(stage: Stage) -> None:
    o = stage.outputs
    store = bulk.store_for(clients(), o)
    task = store.create("delete", "stream", actor="tester")
    store.claim(task.task_id, "console-a", lease_s=30)
    with pytest.raises(TaskBusy, match="running in another console"):
        store.claim(task.task_id, "console-b", lease_s=30)
    store.finish(task.task_id, "console-a", CANCELED)  # a gives it up: now b may take it over
    assert store.claim(task.task_id, "console-b", lease_s=30).owner == "console-b"


def test_runner_stopped_with_its_console_is_interrupted_and_resumes(stage: Stage) -> None:
    o = stage.outputs
    stage.fill(o["async_dlq_url"], ["x"] * 60)
    store = bulk.store_for(clients(), o)
    task = store.create("delete", "async", actor="tester", rate=30)
    stop = threading.Event()
    runner = bulk.Runner(clients(), o, store, task.task_id, stop=stop)
    runner.claim()
    thread = bulk.start(runner)
    time.sleep(0.5)
    stop.set()  # the console process is going away
    thread.join(10)
    gone = store.get(task.task_id)
    assert gone.status == RUNNING and gone.interrupted and gone.resumable and 0 < gone.count("moved") < 60
    with pytest.raises(NotResumable):
        bulk.resume(clients(), o, store.create("search", "job", actor="t").task_id, actor="t")
    final = bulk.resume(clients(), o, task.task_id, actor="tester", background=False)
    assert (final.status, final.count("moved")) == (COMPLETED, 60)
    assert stage.count(o["async_dlq_url"]) == 0


def test_runner_that_fails_half_way_records_how_far_it_got_and_resumes(stage: Stage,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard.redrive import DONE

    o = stage.outputs
    stage.fill(o["async_dlq_url"], ["x"] * 40)
    calls = {"n": 0}

    def flaky(dlq: str, aws: Any, outputs: Any) -> Any:
        def resend(part: list[dict]) -> dict:
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("the function's account is throttled")
            return {m["MessageId"]: DONE for m in part}
        return resend

    monkeypatch.setattr(bulk, "resend_for", flaky)
    task = bulk.start_action(clients(), o, "redrive", "async", scope="", rate=0, actor="tester", audit_id="",
                             audit_params={})
    _wait(task.task_id)
    failed = bulk.store_for(clients(), o).get(task.task_id)
    assert (failed.status, failed.count("moved")) == ("FAILED", 20) and "throttled" in failed.note
    assert stage.count(o["async_dlq_url"]) == 20, "the failed chunk and the rest stay in the DLQ"
    final = bulk.resume(clients(), o, task.task_id, actor="tester", background=False)
    assert (final.status, final.count("moved"), stage.count(o["async_dlq_url"])) == (COMPLETED, 40, 0)


def test_edited_async_record_reinvokes_with_the_edited_event_and_deletes_the_original(stage: Stage) -> None:
    from dashboard.actions import Action, perform
    from dashboard.errors import InvalidEdit

    sqs, lam, o = stage.client("sqs"), clients().lambda_, stage.outputs
    invoked: list[dict[str, Any]] = []
    hook = lambda params, **_: invoked.append(json.loads(params["body"]))  # noqa: E731
    lam.meta.events.register("before-call.lambda.Invoke", hook)
    try:
        fn = lam.get_function(FunctionName=o["send_worker_function"])["Configuration"]["FunctionArn"]
        [mid] = stage.fill(o["async_dlq_url"], [async_record(fn, "send/req_typo.json")])
        edited = json.loads(async_record(fn, "send/req_fixed.json"))
        bad = dict(edited, requestPayload={"Records": [{"eventName": "ObjectRemoved:Delete"}]})
        with pytest.raises(InvalidEdit, match="the worker would ignore it"):
            perform(clients(), o, Action("redrive_edited", {"dlq": "async", "message_id": mid, "body": json.dumps(bad)},
                                         "", stage.name))
        assert invoked == [] and stage.visible(o["async_dlq_url"]) == 1, "refused: nothing sent, nothing deleted"
        report = perform(clients(), o, Action("redrive_edited", {"dlq": "async", "message_id": mid,
                                                                 "body": json.dumps(edited)}, "", stage.name))
        assert report.moved == [mid]
        assert [e["Records"][0]["s3"]["object"]["key"] for e in invoked] == ["send/req_fixed.json"]
        assert stage.count(o["async_dlq_url"]) == 0
    finally:
        lam.meta.events.unregister("before-call.lambda.Invoke", hook)
