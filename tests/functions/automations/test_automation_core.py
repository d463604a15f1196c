"""The run state machine with fakes: steps, hops, idempotency under redelivery, cancelation, failure."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from functions.automations.core import (
    BadJob, RunNotFound, job_body, new_run_record, parse_job, run_job, start_run,
)
from functions.automations.program import compile_steps
from functions.automations.steps import StepFailed, build_send_message, derived_id
from functions.shared.address_guard import AddressRefused


def _doc(steps, run_id="run_01JABCDEFGHJKMNPQRSTVWXYZ0", token=None, **extra):
    automation = {"steps": steps}
    if token:
        automation["cancelation_token"] = token
    doc = {"runId": run_id, "automation": automation, "data": {"name": "Ada"}, "profile": {"email": "ada@example.com"},
           "recipient": "user-1", "template": "welcome"}
    doc.update(extra)
    return doc


def _start(world, doc):
    start_run(new_run_record(doc, "2026-01-01T11:59:00.000Z"), world.runs, world.queue)
    return doc["runId"]


def _drain(world, max_jobs=50, advance=True):
    """Run queued jobs in order; delayed jobs move the clock forward by their delay."""
    results = []
    for _ in range(max_jobs):
        if not world.queue.jobs:
            return results
        job, delay = world.queue.jobs.pop(0)
        if advance:
            world.now += timedelta(seconds=delay)
        results.append(run_job(parse_job(json.dumps(job)), world.runs, world.queue, world.ctx()))
    raise AssertionError("automation did not finish")


def test_program_compiles_nested_if_to_flat_indices():
    program = compile_steps([
        {"action": "send"},
        {"action": "if", "condition": "c", "then": [{"action": "delay"}, {"action": "send"}],
         "else": [{"action": "cancel"}]},
        {"action": "invoke"},
    ])
    assert [(i["i"], i["action"], i["next"], i.get("else")) for i in program] == [
        (0, "send", 1, None), (1, "if", 2, 4), (2, "delay", 3, None), (3, "send", 5, None),
        (4, "cancel", 5, None), (5, "invoke", None, None)]
    assert "then" not in program[1]["spec"] and program[1]["spec"]["condition"] == "c"


def test_empty_branches_fall_through_to_next_step():
    program = compile_steps([{"action": "if", "condition": "c"}, {"action": "send"}])
    assert program[0]["next"] == 1 and program[0]["else"] == 1


def test_full_automation_completes_with_every_step(world):
    world.http.table["https://api.example.com/u"] = (200, {"tier": "gold", "name": "Server"})
    doc = _doc([
        {"action": "delay", "duration": "30 minutes"},
        {"action": "fetch-data", "webhook": {"url": "https://api.example.com/u"}, "merge_strategy": "soft-merge"},
        {"action": "if", "condition": "data.tier == 'gold'",
         "then": [{"action": "send", "template": "gold"}], "else": [{"action": "send", "template": "basic"}]},
        {"action": "update-profile", "profile": {"plan": "gold"}},
        {"action": "invoke", "automation": {"steps": [{"action": "send"}]}},
    ])
    run_id = _start(world, doc)
    t0 = world.now
    results = _drain(world)
    run = world.runs.get_run(run_id)
    assert run.status == "COMPLETED"
    # 30 minutes = 2 SQS waits of at most 900 s: one hop, then the fetch-data step's own job carries the rest
    assert [r.outcome for r in results][:3] == ["waiting", "completed", "completed"]
    due = (t0 + timedelta(minutes=30)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert results[1].detail == f"next step due {due}"
    assert world.now - t0 >= timedelta(minutes=30)
    # soft-merge kept the run's own name and added tier
    assert run.data == {"name": "Ada", "tier": "gold"}
    # the if took the then-branch: exactly one send, with the gold template and the profile's address
    assert len(world.requests.sends) == 1
    (message, source), = world.requests.sends.values()
    assert message["template"] == "gold" and message["to"] == {"user_id": "user-1", "email": "ada@example.com"}
    assert source == {"runId": run_id, "step": 3}
    assert world.runs.profiles["user-1"] == {"plan": "gold"}
    assert run.profile == {"email": "ada@example.com", "plan": "gold"}
    child = derived_id("run", run_id, 6, "invoke")
    assert world.requests.automations[child]["recipient"] == "user-1"
    assert world.runs.steps[(run_id, 3)].status == "COMPLETED"
    assert (run_id, 4) not in world.runs.steps  # the else-branch send never ran


def test_else_branch_taken_when_condition_false(world):
    run_id = _start(world, _doc([{"action": "if", "condition": "data.missing.deep > 3",
                                  "then": [{"action": "send", "template": "a"}],
                                  "else": [{"action": "send", "template": "b"}]}]))
    _drain(world)
    (message, _), = world.requests.sends.values()
    assert message["template"] == "b"
    assert world.runs.steps[(run_id, 0)].result["branch"] == "else"


def test_redelivered_completed_job_repeats_no_side_effect(world):
    run_id = _start(world, _doc([{"action": "send"}, {"action": "send", "template": "second"}]))
    first = world.queue.pop()
    run_job(parse_job(first), world.runs, world.queue, world.ctx())
    assert world.requests.send_writes == 1 and len(world.queue.jobs) == 1
    # WHEN SQS redelivers the same job
    again = run_job(parse_job(first), world.runs, world.queue, world.ctx())
    # THEN nothing is sent again and the next step is not enqueued twice
    assert again.outcome == "skipped-done"
    assert world.requests.send_writes == 1 and len(world.queue.jobs) == 1


def test_a_duplicate_job_does_not_spread_down_the_run(world):
    run_id = _start(world, _doc([{"action": "send", "template": f"t{i}"} for i in range(4)]))
    body = world.queue.pop()
    world.queue.jobs.append((json.loads(body), 0))  # SQS hands step 0's job out twice
    world.queue.jobs.append((json.loads(body), 0))
    results = _drain(world)
    assert [r.outcome for r in results] == ["completed", "skipped-done", "completed", "completed", "completed"]
    assert world.requests.send_writes == 4 and world.runs.get_run(run_id).status == "COMPLETED"


def test_crash_after_the_last_step_completes_the_run_on_redelivery(world):
    run_id = _start(world, _doc([{"action": "send"}]))
    body = world.queue.pop()
    set_status = world.runs.set_run_status

    def crash_on_completed(run, status, **kw):
        if status == "COMPLETED":
            raise RuntimeError("crash")
        return set_status(run, status, **kw)

    world.runs.set_run_status = crash_on_completed  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        run_job(parse_job(body), world.runs, world.queue, world.ctx())
    world.runs.set_run_status = set_status  # type: ignore[method-assign]
    assert world.runs.get_run(run_id).status == "RUNNING"  # the step is COMPLETED, the run is not
    again = run_job(parse_job(body), world.runs, world.queue, world.ctx())
    assert again.outcome == "reenqueued" and world.runs.get_run(run_id).status == "COMPLETED"
    assert world.requests.send_writes == 1 and world.queue.jobs == []


def test_the_step_after_a_delay_waits_for_its_due_time_even_if_delivered_early(world):
    run_id = _start(world, _doc([{"action": "delay", "duration": "10 minutes"}, {"action": "send"}]))
    done = run_job(parse_job(world.queue.pop()), world.runs, world.queue, world.ctx())
    due = world.now + timedelta(minutes=10)
    assert done.outcome == "completed"
    assert world.queue.jobs == [(job_body(run_id, 1, n=1, due=due), 600)]
    # WHEN the job arrives 9 minutes early (a restored queue without its delay, a redrive)
    world.now += timedelta(minutes=1)
    early = run_job(parse_job(world.queue.pop()), world.runs, world.queue, world.ctx())
    # THEN the send waits out the rest instead of going now
    assert early.outcome == "waiting" and world.requests.send_writes == 0
    assert world.queue.jobs == [(job_body(run_id, 1, n=2, due=due), 540)]
    world.now += timedelta(minutes=9)
    assert run_job(parse_job(world.queue.pop()), world.runs, world.queue, world.ctx()).outcome == "completed"
    assert world.requests.send_writes == 1


def test_redelivered_last_hop_re_enqueues_the_next_step_with_the_rest_of_the_wait(world):
    run_id = _start(world, _doc([{"action": "delay", "duration": "10 minutes"}, {"action": "send"}]))
    job = world.queue.pop()
    done = run_job(parse_job(job), world.runs, world.queue, world.ctx())
    due = world.now + timedelta(minutes=10)
    assert done.outcome == "completed" and world.queue.jobs == [(job_body(run_id, 1, n=1, due=due), 600)]
    world.queue.jobs.clear()  # a crash between "step completed" and "next enqueued"
    world.runs.steps[(run_id, 0)].next_enqueued = False
    world.now += timedelta(minutes=4)
    again = run_job(parse_job(job), world.runs, world.queue, world.ctx())
    # the send must still wait until the delay's end, not run at once
    assert again.outcome == "reenqueued" and world.queue.jobs == [(job_body(run_id, 1, n=1, due=due), 360)]


def test_crash_after_completion_reenqueues_next_once(world):
    run_id = _start(world, _doc([{"action": "send"}, {"action": "send", "template": "x"}]))
    body = world.queue.pop()
    run_job(parse_job(body), world.runs, world.queue, world.ctx())
    # simulate a crash between "step completed" and "next enqueued"
    world.queue.jobs.clear()
    world.runs.steps[(run_id, 0)].next_enqueued = False
    result = run_job(parse_job(body), world.runs, world.queue, world.ctx())
    assert result.outcome == "reenqueued" and result.next_step == 1
    assert [j for j, _ in world.queue.jobs] == [job_body(run_id, 1, n=1)]
    assert world.requests.send_writes == 1


def test_crash_between_send_and_marker_reuses_request_id(world):
    run_id = _start(world, _doc([{"action": "send"}]))
    body = world.queue.pop()
    world.runs.complete_step = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash"))  # type: ignore
    with pytest.raises(RuntimeError):
        run_job(parse_job(body), world.runs, world.queue, world.ctx())
    del world.runs.complete_step
    run_job(parse_job(body), world.runs, world.queue, world.ctx())
    # two writes of the SAME request id: the send worker's message-id claim delivers once
    assert world.requests.send_writes == 2 and list(world.requests.sends) == [derived_id("req", run_id, 0, "send")]


def test_cancel_step_cancels_other_run_before_its_next_step(world):
    victim = _start(world, _doc([{"action": "delay", "duration": "1h"}, {"action": "send"}],
                                run_id="run_01JAAAAAAAAAAAAAAAAAAAAAAA", token="order-7"))
    canceller = _start(world, _doc([{"action": "cancel", "cancelation_token": "order-7"}],
                                   run_id="run_01JBBBBBBBBBBBBBBBBBBBBBBB"))
    _drain(world)
    assert world.runs.get_run(victim).status == "CANCELED"
    assert world.runs.get_run(canceller).status == "COMPLETED"
    assert world.requests.sends == {}
    assert world.runs.steps[(canceller, 0)].result["canceled"] == [victim]


def test_run_created_after_cancel_is_not_canceled(world):
    world.runs.cancel_token("reused", "2026-01-01T00:00:00.000Z")
    run_id = _start(world, _doc([{"action": "send"}], token="reused"))
    _drain(world)
    assert world.runs.get_run(run_id).status == "COMPLETED"


def test_token_canceled_between_register_and_job_stops_run(world):
    run_id = _start(world, _doc([{"action": "send"}], token="t"))
    world.runs.canceled["t"] = "2026-01-01T12:00:00.000Z"  # later than the run's creation
    result = _drain(world)[0]
    assert result.outcome == "canceled"
    assert world.runs.get_run(run_id).status == "CANCELED" and world.requests.sends == {}


def test_failing_step_records_error_and_fails_run_on_last_receive(world):
    world.http.table["http://10.0.0.1/x"] = AddressRefused("address 10.0.0.1 is refused: private")
    run_id = _start(world, _doc([{"action": "fetch-data", "webhook": {"url": "http://10.0.0.1/x"}}]))
    body = world.queue.pop()
    for receive in (1, 2):
        with pytest.raises(StepFailed) as exc:
            run_job(parse_job(body), world.runs, world.queue, world.ctx(), receive_count=receive)
        assert "refused by the address guard" in str(exc.value)
    step = world.runs.steps[(run_id, 0)]
    assert step.status == "FAILED" and step.attempts == 2 and "10.0.0.1 is refused: private" in step.error
    assert world.runs.get_run(run_id).status == "RUNNING"
    with pytest.raises(StepFailed):
        run_job(parse_job(body), world.runs, world.queue, world.ctx(), receive_count=5)
    run = world.runs.get_run(run_id)
    assert run.status == "FAILED" and run.error.startswith("step 0 (fetch-data): refused by the address guard")
    # a redrive that then succeeds resumes the run
    world.http.table["http://10.0.0.1/x"] = (200, {"ok": True})
    run_job(parse_job(body), world.runs, world.queue, world.ctx(), receive_count=1)
    assert world.runs.get_run(run_id).status == "COMPLETED"


def test_non_2xx_and_non_json_fetch_fail_step(world):
    world.http.table["https://a.example/500"] = (500, {"e": 1})
    world.http.table["https://a.example/html"] = (200, b"<html>")
    for url, message in (("https://a.example/500", "answered HTTP 500"), ("https://a.example/html", "not JSON")):
        run_id = _start(world, _doc([{"action": "fetch-data", "webhook": {"url": url}}], run_id=f"run_{url[-4:]:0>26}"))
        with pytest.raises(StepFailed) as exc:
            run_job(parse_job(world.queue.pop()), world.runs, world.queue, world.ctx())
        assert message in str(exc.value)


def test_duplicate_s3_event_creates_nothing_twice(world):
    doc = _doc([{"action": "send"}, {"action": "send", "template": "x"}], token="tok")
    assert start_run(new_run_record(doc, "t0"), world.runs, world.queue) == "created"
    run_job(parse_job(world.queue.pop()), world.runs, world.queue, world.ctx())  # step 0 started (and ran)
    assert start_run(new_run_record(doc, "t1"), world.runs, world.queue) == "duplicate"
    assert [j for j, _ in world.queue.jobs] == [job_body(doc["runId"], 1, n=1)]
    assert world.runs.get_run(doc["runId"]).created_at == "t0"


def test_duplicate_s3_event_while_pending_enqueues_step_zero_again_harmlessly(world):
    doc = _doc([{"action": "send"}, {"action": "send", "template": "x"}])
    assert start_run(new_run_record(doc, "t0"), world.runs, world.queue) == "created"
    # step 0's job is still on the queue: nothing recorded its enqueue, so it is enqueued again
    assert start_run(new_run_record(doc, "t1"), world.runs, world.queue) == "resumed"
    assert [j for j, _ in world.queue.jobs] == [job_body(doc["runId"], 0)] * 2
    # the second job finds step 0 done and its next job recorded: the duplicate stops there
    assert [r.outcome for r in _drain(world)] == ["completed", "skipped-done", "completed"]
    assert world.requests.send_writes == 2 and world.runs.get_run(doc["runId"]).created_at == "t0"


def test_a_run_stored_with_start_enqueued_is_not_enqueued_again(world):
    doc = _doc([{"action": "send"}])
    record = new_run_record(doc, "t0")
    record.start_enqueued = True  # written by versions before the flag was dropped
    world.runs.create_run(record)
    assert start_run(new_run_record(doc, "t1"), world.runs, world.queue) == "duplicate"
    assert world.queue.jobs == []

def test_crash_before_first_enqueue_resumes_on_redelivery(world):
    doc = _doc([{"action": "send"}])
    world.runs.create_run(new_run_record(doc, "t0"))  # created, then crashed before enqueue
    assert start_run(new_run_record(doc, "t1"), world.runs, world.queue) == "resumed"
    assert [j for j, _ in world.queue.jobs] == [job_body(doc["runId"], 0)]


@pytest.mark.parametrize("body,message", [
    ("not json", "not JSON"),
    ('{"v": 2, "runId": "run_x", "step": 0}', '"v": 1'),
    ('{"v": 1, "runId": "req_x", "step": 0}', "is not a run id"),
    ('{"v": 1, "runId": "run_x", "step": -1}', "not a step index"),
    ('{"v": 1, "runId": "run_x", "step": true}', "not a step index"),
    ('{"v": 1, "runId": "run_x", "step": 0, "hop": {"until": "soon"}}', "job hop"),
    ('{"v": 1, "runId": "run_x", "step": 0, "due": "soon"}', "job due"),
    ('{"v": 1, "runId": "run_x", "step": 0, "due": 5}', "job due"),
])
def test_malformed_job_body_rejected(body, message):
    with pytest.raises(BadJob) as exc:
        parse_job(body)
    assert message in str(exc.value)


def test_missing_run_and_missing_step_rejected(world):
    with pytest.raises(RunNotFound) as exc:
        run_job(parse_job('{"v":1,"runId":"run_nope","step":0}'), world.runs, world.queue, world.ctx())
    assert "run run_nope does not exist" in str(exc.value)
    run_id = _start(world, _doc([{"action": "send"}]))
    with pytest.raises(BadJob) as exc:
        run_job(parse_job(json.dumps(job_body(run_id, 7))), world.runs, world.queue, world.ctx())
    assert "has no step 7" in str(exc.value)


def test_delay_until_in_past_completes_at_once(world):
    run_id = _start(world, _doc([{"action": "delay", "until": "2020-01-01T00:00:00Z"}]))
    assert [r.outcome for r in _drain(world)] == ["completed"]


def test_long_delay_hops_never_exceed_900_seconds(world):
    _start(world, _doc([{"action": "delay", "duration": "P1DT1S"}]))
    delays = []
    enqueue = world.queue.enqueue
    world.queue.enqueue = lambda job, delay_seconds=0: (delays.append(delay_seconds), enqueue(job, delay_seconds))
    results = _drain(world, max_jobs=200)
    assert max(delays) == 900 and delays[-1] == 1 and sum(delays) == 86_401
    assert len(results) == 98  # 86401 s = 96 x 900 + 1 -> 97 waits + the completion
    assert results[-1].outcome == "completed"
    assert next(iter(world.runs.steps.values())).attempts == 1  # hops continue the same attempt


def test_send_message_built_from_explicit_message_keeps_it():
    from functions.automations.ports import RunRecord

    run = RunRecord(run_id="run_x", status="RUNNING", steps=[], data={"a": 1, "b": 1}, recipient="u")
    msg = build_send_message({"message": {"to": {"email": "x@example.com"}, "template": "t", "data": {"b": 2}}}, run)
    assert msg == {"to": {"email": "x@example.com"}, "template": "t", "data": {"a": 1, "b": 2}}


def test_fetch_timeout_capped_by_invocation_time_left(world):
    world.http.table["https://a.example/u"] = (200, {"x": 1})
    run_id = _start(world, _doc([{"action": "fetch-data", "webhook": {"url": "https://a.example/u"}, "timeout_ms": 20_000}]))
    ctx = world.ctx()
    ctx.time_left = lambda: 1.25
    run_job(parse_job(world.queue.pop()), world.runs, world.queue, ctx)
    assert world.http.timeouts == [1.25]
    assert world.runs.get_run(run_id).data == {"name": "Ada", "x": 1}


def test_send_message_without_to_goes_to_the_run_recipient_with_profile_address():
    from functions.automations.ports import RunRecord

    run = RunRecord(run_id="run_x", status="RUNNING", steps=[], data={"name": "Ada"}, recipient="u-1",
                    profile={"email": "ada@example.com", "tier": "gold"})
    msg = build_send_message({"message": {"content": {"body": "b"}, "channels": ["email"]}}, run)
    assert msg == {"to": [{"user_id": "u-1", "email": "ada@example.com"}], "content": {"body": "b"},
                   "channels": ["email"], "data": {"name": "Ada"}}


def test_readme_automation_example_sends_to_the_run_recipient(world):
    from dataclasses import replace

    from functions.automations.bootstrap import validate_send_message
    from tests.functions.automations.test_automation_schema import README_INVOKE

    run_id = _start(world, {"runId": "run_01JREADME0000000000000000", **README_INVOKE})
    plain = world.ctx
    # the job worker's own check of the built message, as in production
    world.ctx = lambda: replace(plain(), validate_message=validate_send_message)
    results = _drain(world)
    assert results[-1].outcome == "completed" and world.runs.get_run(run_id).status == "COMPLETED"
    (message, source), = world.requests.sends.values()
    assert message["to"] == [{"user_id": "u-1", "email": "ada@example.com"}]
    assert message["routing"] == {"method": "single", "channels": ["email"]} and message["data"] == {"name": "Ada"}
    assert source == {"runId": run_id, "step": 1}


def test_stored_invoke_with_ref_fails_the_run_naming_the_field():
    from functions.automations.core import InvalidRunRequest, run_for_request

    doc = _doc([{"action": "send"}], data={"$ref": "s3://relay-test-requests/automations/other.json"})
    with pytest.raises(InvalidRunRequest) as exc:
        run_for_request(doc["runId"], doc, "2026-01-01T12:00:00.000Z")
    assert str(exc.value) == "data.$ref: '$ref' is reserved for payloads the platform stores"


def test_fetch_response_with_ref_fails_the_step_and_keeps_run_data(world):
    world.http.table["https://a.example/ref"] = (200, {"profile": {"$ref": "s3://relay-test-requests/send/x.json"}})
    run_id = _start(world, _doc([{"action": "fetch-data", "webhook": {"url": "https://a.example/ref"},
                                  "merge_strategy": "replace"}]))
    with pytest.raises(StepFailed) as exc:
        run_job(parse_job(world.queue.pop()), world.runs, world.queue, world.ctx())
    assert "response.profile.$ref: '$ref' is reserved" in str(exc.value)
    assert world.runs.get_run(run_id).data == {"name": "Ada"}


def test_jobs_count_the_run_chain_through_steps_and_hops(world):
    _start(world, _doc([{"action": "send"}, {"action": "delay", "duration": "30 minutes"}, {"action": "send"}]))
    ns = []
    enqueue = world.queue.enqueue
    world.queue.enqueue = lambda job, delay_seconds=0: (ns.append(job.get("n", 0)), enqueue(job, delay_seconds))
    results = _drain(world)
    assert [r.outcome for r in results] == ["completed", "waiting", "completed", "completed"]
    assert ns == [1, 2, 3]  # step 1, one hop of 900 s, step 2 (carrying the last 900 s): each one further down


def test_forty_step_run_is_well_inside_its_job_budget(world):
    run_id = _start(world, _doc([{"action": "delay", "duration": "0 seconds"}] * 40))
    assert [r.outcome for r in _drain(world)] == ["completed"] * 40
    assert world.runs.get_run(run_id).status == "COMPLETED"


@pytest.mark.parametrize("steps, budget", [
    ([{"action": "send"}] * 3, 3 + 16),
    ([{"action": "delay", "duration": "1 hour"}], 1 + (4 + 1) + 16),
    ([{"action": "delay", "duration": "0 seconds"}, {"action": "send"}], 2 + 1 + 16),
    ([{"action": "delay", "until": "2026-01-01T12:30:00Z"}], 1 + (3 + 1) + 16),  # created 11:59: 31 min
])
def test_job_budget_is_one_per_step_and_hop_plus_slack(steps, budget):
    from functions.automations.core import job_budget

    assert job_budget(compile_steps(steps), "2026-01-01T11:59:00.000Z") == budget


def test_step_that_re_enqueues_itself_fails_the_run_at_its_budget(world):
    from functions.automations.core import job_budget

    # a delay whose clock never moves on: every hop finds it still waiting and enqueues the next one
    run_id = _start(world, _doc([{"action": "delay", "duration": "1 hour"}, {"action": "send"}]))
    budget = job_budget(world.runs.get_run(run_id).steps, world.runs.get_run(run_id).created_at)
    results = _drain(world, max_jobs=budget + 5, advance=False)
    assert [r.outcome for r in results] == ["waiting"] * budget + ["stopped"]
    run = world.runs.get_run(run_id)
    assert run.status == "FAILED" and world.queue.jobs == []
    assert run.error == (f"step 0: stopped after {budget} jobs, more than this run can need ({budget}: one per step "
                         "and per delay hop, plus 16); a step kept re-enqueueing itself without progress")
    assert world.runs.steps[(run_id, 0)].status == "FAILED"  # the step says why too
    assert world.runs.steps[(run_id, 0)].error == run.error


@pytest.mark.parametrize("n", ['"3"', "-1", "true", "1.5"])
def test_job_with_bad_chain_count_rejected(n):
    with pytest.raises(BadJob) as exc:
        parse_job('{"v": 1, "runId": "run_x", "step": 0, "n": ' + n + "}")
    assert "is not a job count" in str(exc.value)


def test_job_without_chain_count_counts_from_zero():
    assert parse_job('{"v": 1, "runId": "run_x", "step": 2}').n == 0
    assert parse_job(json.dumps(job_body("run_x", 2, n=7))).n == 7
