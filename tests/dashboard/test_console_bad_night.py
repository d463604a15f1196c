"""The console on a bad night, driven through AppTest against the whole local stage (emulator + deployed
program + data plane): 2,000 job dead letters of mixed runs and errors, stream and async letters."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import bulk, ops
from dashboard.aws import clients
from dashboard.task_store import CANCELED, COMPLETED, Task
from tests.dashboard.local_night import (
    TARGET_RUN, JobLetters, async_letters, fill_job_dlq, purge, send_request, stream_letters, wait_for,
)

pytestmark = pytest.mark.heavy(seconds=45)

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture(scope="module")
def local() -> Iterator[Any]:
    from relay.local.stage import LocalStage

    with LocalStage("local", plane_options={"poll_interval": 0.3}) as stage:
        yield stage


@pytest.fixture()
def letters(local: Any) -> JobLetters:
    """2,000 job dead letters, fresh for each test (the job DLQ is emptied first)."""
    purge(local.client("sqs"), local.outputs["job_dlq_url"])
    return fill_job_dlq(local.client("sqs"), local.client("dynamodb"), local.outputs)


def console(page: str) -> AppTest:
    import streamlit as st

    # a fresh page load for each test: the loaders' caches live in this process and would otherwise show a
    # mapping or a DLQ as an earlier test left it, for as long as their time to live
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["stage"] = "local"
    at.switch_page(page)
    return run(at)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def refresh(at: AppTest) -> AppTest:
    """Rerun as the page's one-second poll would, past its one-second caches."""
    from dashboard import loaders

    loaders.clear()
    return run(at)


def confirm(at: AppTest, typed: str | None = None) -> AppTest:
    if typed is not None:
        at.text_input(key="confirm_typed").set_value(typed)
    at.button(key="confirm_go").click()
    return run(at)


def newest(local: Any, kind: str) -> Task:
    return next(t for t in bulk.store_for(clients(), local.outputs).list() if t.kind == kind)


def finished(local: Any, task_id: str, timeout: float = 120) -> Task:
    assert bulk.join(task_id, timeout), f"{task_id} still running"
    return bulk.store_for(clients(), local.outputs).get(task_id)


def search(at: AppTest, local: Any, **fields: str) -> Task:
    for key, value in fields.items():
        at.text_input(key=f"q_{key}").set_value(value)
    at.button(key="btn_search").click()
    run(at)
    task = finished(local, at.session_state[f"selection_{at.session_state['bulk_dlq']}"])
    refresh(at)
    return task


def audit(local: Any, action: str) -> list[dict[str, Any]]:
    from dashboard.audit import AuditLog

    return [r for r in AuditLog(clients().dynamodb, local.outputs["audit_table"], "local").list(500)
            if r["action"] == action]


@pytest.fixture()
def invokes() -> Iterator[list[dict[str, Any]]]:
    """Every Lambda Invoke the console sends (its one boto3 client, shared with its runner threads)."""
    calls: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        calls.append({"function": params["url_path"].split("/functions/")[1].split("/")[0],
                      "payload": json.loads(params["body"])})

    events = clients("us-east-1").lambda_.meta.events
    events.register("before-call.lambda.Invoke", hook)
    yield calls
    events.unregister("before-call.lambda.Invoke", hook)


def view(local: Any, message_id: str) -> dict[str, Any] | None:
    """The message-log view of one message (what the log indexer writes), or None."""
    return local.client("dynamodb").get_item(TableName=local.outputs["log_table"], ConsistentRead=True, Key={
        "pk": {"S": f"MSG#{message_id}"}, "sk": {"S": "VIEW"}}).get("Item")


def deliveries(local: Any, message_id: str) -> int:
    """How many times the outbox provider delivered one email message."""
    return len(local.client("s3").list_objects_v2(Bucket=local.outputs["request_bucket"],
                                                   Prefix=f"outbox/email/{message_id}/").get("Contents", []))


def set_mapping(local: Any, key: str, enabled: bool) -> None:
    lam = local.client("lambda")
    ops.set_mapping_enabled(lam, local.outputs[ops.MAPPINGS[key][0]], enabled)
    uuid = local.outputs[ops.MAPPINGS[key][0]]
    wait_for(lambda: local.plane.mappings()[uuid].enabled is enabled, 10, what=f"data plane sees {key} enabled={enabled}")


# ---- search ------------------------------------------------------------------------------------------------
def test_search_for_one_run_finds_exactly_its_letters_with_the_count(local: Any, letters: JobLetters) -> None:
    at = console("pages/dlq_search.py")
    assert next(m for m in at.metric if m.label == "Letters in job DLQ").value == "2000"
    task = search(at, local, run_id=TARGET_RUN)
    ids = bulk.store_for(clients(), local.outputs).ids(task.task_id, "match")
    assert sorted(ids) == sorted(letters.by_run[TARGET_RUN]) and len(ids) == 300
    assert (task.count("scanned"), task.count("matched"), task.status) == (2000, 300, COMPLETED)
    assert any(m.value.startswith("**300** letter(s) match") for m in at.markdown)
    assert len(at.dataframe[0].value) == 300
    assert local.client("sqs").get_queue_attributes(QueueUrl=local.outputs["job_dlq_url"], AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "2000", "nothing consumed"


def test_search_by_error_text_reads_the_steps_recorded_errors(local: Any, letters: JobLetters) -> None:
    at = console("pages/dlq_search.py")
    task = search(at, local, error="HTTP 500")
    rows = at.dataframe[0].value
    assert 0 < task.count("matched") < 2000 and set(rows["reason"].str.contains("HTTP 500")) == {True}


# ---- bulk redrive of a selection --------------------------------------------------------------------------------
def test_redrive_selection_at_50_per_s_cancels_halfway_and_resumes_exactly(local: Any, letters: JobLetters) -> None:
    o, sqs = local.outputs, local.client("sqs")
    set_mapping(local, "job", False)  # the moved jobs wait in the job queue, where they can be counted
    try:
        at = console("pages/dlq_search.py")
        search(at, local, run_id=TARGET_RUN)
        at.number_input(key="bulk_rate").set_value(50)
        at.button(key="btn_bulk_redrive_sel").click()
        run(at)
        assert any("Redrive the 300 selected letter(s)" in m.value and "at 50 letters/s" in m.value for m in at.markdown)
        confirm(at)
        task = newest(local, "redrive")
        store = bulk.store_for(clients(), o)
        wait_for(lambda: store.get(task.task_id).count("moved") >= 60, 30, 0.02, "60 moved")
        refresh(at)
        at.button(key=f"btn_task_cancel_{task.task_id}").click()
        confirm(run(at))
        half = finished(local, task.task_id)
        assert half.status == CANCELED and 60 <= half.count("moved") < 300, half.summary()
        at = refresh(console("pages/dlq_search.py"))  # another session: the action lives in the stage, not the tab
        at.button(key=f"btn_task_resume_{task.task_id}").click()
        confirm(run(at))
        done = finished(local, task.task_id)
        assert (done.status, done.count("moved"), done.total) == (COMPLETED, 300, 300)
        assert done.elapsed_ms >= 300 / 50 * 1000 * 0.9, "paced at 50/s"
        moved = [json.loads(m["Body"]) for m in purge(sqs, o["job_queue_url"])]
        assert len(moved) == 300 and {m["runId"] for m in moved} == {TARGET_RUN}
        assert sorted(m["seq"] for m in moved) == list(range(300)), "0 lost, 0 duplicated"
        assert {m["MessageId"] for m in purge(sqs, o["job_dlq_url"])} == {
            i for run, ids in letters.by_run.items() if run != TARGET_RUN for i in ids}, "only the selection moved"
        results = [r["result"] for r in audit(local, "bulk_redrive") if r["phase"] == "after"]
        assert any(r.startswith("canceled: ") for r in results) and any(r.startswith("ok: 300 moved of 300") for r in results)
    finally:
        set_mapping(local, "job", True)


# ---- redrive all of the Lambda-fed DLQs --------------------------------------------------------------------------
def test_redrive_all_of_the_stream_dlq_reprocesses_every_letter_once(local: Any, invokes: list) -> None:
    o = local.outputs
    set_mapping(local, "stream", False)
    try:
        ids = stream_letters(local, 40)
        at = console("pages/dlq_search.py")
        at.radio(key="bulk_dlq").set_value("stream")
        run(at).number_input(key="bulk_rate").set_value(500)
        at.button(key="btn_bulk_redrive_all").click()
        confirm(run(at))
        task = finished(local, newest(local, "redrive").task_id)
        assert (task.status, task.count("moved"), task.count("skipped")) == (COMPLETED, 40, 0)
        mine = [c for c in invokes if c["function"].endswith("log-indexer")]
        seqs = [c["payload"]["Records"][0]["dynamodb"]["SequenceNumber"] for c in mine]
        assert len(mine) == 40 and len(set(seqs)) == 40, "one re-invoke per letter"
        wait_for(lambda: all(view(local, m) for m in ids), 30, 0.2, "the log indexer's views")
        assert _depth(local, "stream_dlq_url") == 0
    finally:
        set_mapping(local, "stream", True)


def test_redrive_all_of_the_async_dlq_delivers_every_request_once(local: Any, invokes: list) -> None:
    from functions.shared.ids import message_id

    o = local.outputs
    requests = async_letters(local, 25)
    at = console("pages/dlq_search.py")
    at.radio(key="bulk_dlq").set_value("async")
    run(at).number_input(key="bulk_rate").set_value(500)
    at.button(key="btn_bulk_redrive_all").click()
    confirm(run(at))
    task = finished(local, newest(local, "redrive").task_id)
    assert (task.status, task.count("moved")) == (COMPLETED, 25)
    assert len([c for c in invokes if c["function"].endswith("send-worker")]) == 25
    s3 = local.client("s3")
    wanted = {message_id(r, f"async{n}@example.com", "email") for n, r in enumerate(requests)}

    def deliveries() -> dict[str, int]:
        keys = [k["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=o["request_bucket"], Prefix="outbox/email/") for k in page.get("Contents", [])]
        counts: dict[str, int] = {}
        for key in keys:
            counts[key.split("/")[2]] = counts.get(key.split("/")[2], 0) + 1
        return {m: counts.get(m, 0) for m in wanted}

    got = wait_for(lambda: (d := deliveries()) and all(d.values()) and d, 30, 0.2, "25 deliveries")
    assert set(got.values()) == {1}, "each request delivered exactly once"
    assert _depth(local, "async_dlq_url") == 0


def _depth(local: Any, output: str) -> int:
    return ops.queue_depth(local.client("sqs"), local.outputs[output]).total


# ---- purge -------------------------------------------------------------------------------------------------------
def test_purge_without_the_typed_words_does_nothing(local: Any, letters: JobLetters) -> None:
    at = console("pages/dlq_search.py")
    at.number_input(key="bulk_rate").set_value(500)
    at.button(key="btn_bulk_purge").click()
    run(at)
    assert any("Type `purge local` to confirm" in t.label for t in at.text_input)
    before = len(bulk.store_for(clients(), local.outputs).list(100))
    for typed in ("", "purge", "local"):
        confirm(at, typed)
        assert any("ConfirmationMismatch" in e.value and "purge local" in e.value for e in at.error)
    assert _depth(local, "job_dlq_url") == 2000
    assert len(bulk.store_for(clients(), local.outputs).list(100)) == before, "no bulk action was started"
    confirm(at, "purge local")  # positive control: the same dialog purges once the words are typed
    task = finished(local, newest(local, "delete").task_id)
    assert (task.count("moved"), _depth(local, "job_dlq_url")) == (2000, 0)


# ---- edit before redrive -------------------------------------------------------------------------------------------
def test_edited_job_letter_runs_with_the_edited_body_and_the_audit_keeps_the_diff(local: Any) -> None:
    from functions.shared.ids import new_run_id
    from functions.shared.request_store import put_automation_request

    o, ddb = local.outputs, local.client("dynamodb")
    run_id = new_run_id()
    put_automation_request(o["request_bucket"], run_id, {
        "automation": {"steps": [{"action": "delay", "duration": "1 hour"},
                                 {"action": "send", "message": {"content": {"title": "Hi", "body": "edited run"},
                                                                "routing": {"method": "single", "channels": ["email"]}}}]},
        "data": {}, "profile": {"email": "edit@example.com"}, "recipient": "u-edit"})
    step = lambda i: ddb.get_item(TableName=o["state_table"], ConsistentRead=True,  # noqa: E731
                                  Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": f"STEP#{i:04d}"}}).get("Item")
    wait_for(lambda: step(0), 30, 0.2, "the run waiting in its delay")
    purge(local.client("sqs"), o["job_dlq_url"])
    [mid] = [s["MessageId"] for s in local.client("sqs").send_message_batch(QueueUrl=o["job_dlq_url"], Entries=[
        {"Id": "0", "MessageBody": json.dumps({"v": 1, "runId": run_id, "step": 9})}])["Successful"]]
    at = console("pages/dead_letters.py")
    at.selectbox(key="edit_id").set_value(mid)
    run(at)
    assert at.button(key="btn_redrive_edited").disabled, "nothing changed yet"
    at.text_area(key=f"edit_body_{mid}").set_value(json.dumps({"v": 1, "runId": "rn_typo", "step": 1}, indent=2))
    run(at)
    assert any("Not valid against the job message contract" in e.value for e in at.error), "refused, never sent"
    at.text_area(key=f"edit_body_{mid}").set_value(json.dumps({"runId": run_id, "step": 1, "v": 1}, indent=2))
    run(at)
    assert any("Valid against the job message contract" in s.value for s in at.success)
    at.button(key="btn_redrive_edited").click()
    confirm(run(at))
    assert any("1 done" in s.value for s in at.success), [e.value for e in at.error]
    done = wait_for(lambda: (i := step(1)) and i["status"]["S"] == "COMPLETED" and i, 30, 0.2, "step 1 completed")
    assert "requestId" in done["result"]["M"], "the edited job ran its send step"
    assert _depth(local, "job_dlq_url") == 0, "the original is gone"
    after = next(r for r in audit(local, "redrive_edited") if r["phase"] == "after")
    diff = json.loads(after["params"])["diff"]
    assert '-  "step": 9' in diff and '+  "step": 1' in diff


# ---- pause and resume ---------------------------------------------------------------------------------------------
def test_paused_stream_mapping_stops_processing_the_overview_says_so_and_resume_restarts(local: Any) -> None:
    o, ddb = local.outputs, local.client("dynamodb")
    at = console("pages/mappings.py")
    at.text_input(key="pause_reason_stream").set_value("log table throttled (INC-7)")
    run(at).button(key="btn_pause_stream").click()
    confirm(run(at))
    uuid = o["log_indexer_esm_uuid"]
    try:
        assert local.client("lambda").get_event_source_mapping(UUID=uuid)["State"] == "Disabled"
        wait_for(lambda: local.plane.mappings()[uuid].enabled is False, 10, what="the data plane pausing")
        mid = "msg_paused" + "0" * 22
        ddb.put_item(TableName=o["message_table"], Item={
            "pk": {"S": f"MSG#{mid}"}, "sk": {"S": "EVT#0000000000001#00#DELIVERED"}, "messageId": {"S": mid},
            "requestId": {"S": "req_paused"}, "recipient": {"S": "p@example.com"}, "channel": {"S": "email"},
            "status": {"S": "DELIVERED"}, "ts": {"N": "1"}})
        import time

        time.sleep(2.5)
        assert view(local, mid) is None, "no log indexer invocation while paused"
        at.switch_page("pages/overview.py")
        run(at)
        loud = [e.value for e in at.error if "PAUSED" in e.value]
        assert loud and "message stream → log indexer" in loud[0] and "log table throttled (INC-7)" in loud[0]
        assert any("Reminder" in w.value and "PAUSED" in w.value for w in at.warning), "on every page while paused"
        at.switch_page("pages/mappings.py")
        run(at).button(key="btn_resume_stream").click()
        confirm(run(at))
        assert local.client("lambda").get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
        wait_for(lambda: view(local, mid), 30, 0.2, "the paused event processed after resume")
        at.switch_page("pages/overview.py")
        assert not [e for e in run(at).error if "PAUSED" in e.value]
        phases = [(r["action"], r["phase"]) for r in audit(local, "pause_mapping") + audit(local, "resume_mapping")]
        assert sorted(phases) == [("pause_mapping", "after"), ("pause_mapping", "before"),
                                  ("resume_mapping", "after"), ("resume_mapping", "before")]
    finally:
        set_mapping(local, "stream", True)


# ---- send again ----------------------------------------------------------------------------------------------------
def test_resent_message_is_delivered_again_once_and_linked_to_the_first(local: Any) -> None:
    from functions.shared.ids import message_id, new_request_id
    from functions.shared.request_store import get_json, put_send_request, send_key

    o = local.outputs
    first_req = new_request_id()
    put_send_request(o["request_bucket"], first_req, send_request("resend@example.com", "Your code is 1234."))
    first = message_id(first_req, "resend@example.com", "email")
    status = lambda m: ((view(local, m) or {}).get("status") or {}).get("S")  # noqa: E731
    wait_for(lambda: status(first) == "DELIVERED", 30, 0.2, "the first delivery")
    at = console("pages/message_log.py")
    at.text_input(key="log_value").set_value("resend@example.com")
    run(at)
    at.selectbox(key="log_pick").set_value(first)
    run(at).button(key="btn_resend").click()
    run(at)
    assert any("Send message" in m.value and "resend@example.com" in m.value for m in at.markdown)
    confirm(at)
    flash = next(s.value for s in at.success if "sent again as request" in s.value)
    new_req = flash.split("sent again as request ")[1].split(" ")[0]
    second = message_id(new_req, "resend@example.com", "email")
    wait_for(lambda: status(second) == "DELIVERED", 30, 0.2, "the second delivery")
    assert (deliveries(local, first), deliveries(local, second)) == (1, 1), "sent again once; the first stays once"
    stored = get_json(o["request_bucket"], send_key(new_req))
    assert stored["source"] == {"resendOf": first} and stored["message"]["content"]["body"] == "Your code is 1234."
    assert [r["phase"] for r in audit(local, "resend_message")] == ["after", "before"]
    refresh(at).selectbox(key="log_pick").set_value(second)  # the search now lists both, newest first
    assert any(f"a resend of `{first}`" in c.value for c in run(at).caption)


# ---- the long mode: 20,000 letters -------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RELAY_LONG"), reason="long mode: RELAY_LONG=1 make test-long")
def test_twenty_thousand_letters_search_and_redrive_one_run_exactly(local: Any) -> None:
    from dashboard.letter_query import LetterQuery

    o, sqs = local.outputs, local.client("sqs")
    purge(sqs, o["job_dlq_url"])
    letters = fill_job_dlq(sqs, local.client("dynamodb"), o, total=20_000, target=3_000)
    set_mapping(local, "job", False)
    try:
        search_task = bulk.start_search(clients(), o, "job", LetterQuery(run_id=TARGET_RUN),
                                        {"messages": 10**6, "seconds": 1800}, "slow")
        found = finished(local, search_task.task_id, 1800)
        store = bulk.store_for(clients(), o)
        assert (found.count("scanned"), found.count("matched")) == (20_000, 3_000)
        assert sorted(store.ids(found.task_id, "match")) == sorted(letters.by_run[TARGET_RUN])
        print(f"\n20,000 letters: first match {found.first_match_ms / 1000:.2f} s, count {found.elapsed_ms / 1000:.1f} s")
        act = bulk.start_action(clients(), o, "redrive", "job", scope=found.task_id, rate=500, actor="slow",
                                audit_id="", audit_params={})
        done = finished(local, act.task_id, 1800)
        assert (done.status, done.count("moved")) == (COMPLETED, 3_000)
        print(f"redrive of 3,000 at 500/s: {3_000 / (done.elapsed_ms / 1000):.0f} letters/s")
        moved = purge(sqs, o["job_queue_url"])
        assert sorted(json.loads(m["Body"])["seq"] for m in moved) == list(range(3_000)), "0 lost, 0 duplicated"
        left = {m["MessageId"] for m in purge(sqs, o["job_dlq_url"])}
        assert left == {i for run, ids in letters.by_run.items() if run != TARGET_RUN for i in ids}
    finally:
        set_mapping(local, "job", True)
