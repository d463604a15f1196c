"""A 40-hop automation completes on the local stage only because the job worker allows its recursive loop.

Each step of the run is one job worker invocation that enqueues the next step on the queue that invokes
it: a chain of 40. Lambda stops such a chain after 16 invocations unless the function's
FunctionRecursionConfig says ``Allow`` — which the Pulumi program sets and the data plane honours.
With the setting put back to Lambda's default (``Terminate``) the same run stops at AWS's limit.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from relay.local.dataplane.recursion import MAX_CHAIN, SETTING_TAG
from relay.local.stage import LocalStage
from tests.waits import wait_progressing

pytestmark = pytest.mark.heavy(seconds=50)

HOPS = 40
RUN = {"automation": {"steps": [{"action": "delay", "duration": "0 seconds"}] * HOPS}, "data": {}, "profile": {},
       "recipient": "u-loop"}


def _terminate(stage: LocalStage) -> None:
    """Lambda's default for the job worker, as if the program had no FunctionRecursionConfig."""
    lam = stage.client("lambda")
    arn = lam.get_function(FunctionName=stage.outputs["job_worker_function"])["Configuration"]["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={SETTING_TAG: "Terminate"})


def _stage(prepare: Any = None) -> LocalStage:
    # no modelled AWS round trip: 40 sequential jobs, nothing here measures throughput
    return LocalStage("local", aws_latency_ms=0.0, prepare=prepare, plane_options={"metrics_interval": 0.5})


def _invoke(stage: LocalStage) -> str:
    r = requests.post(f"{stage.api_url}/automations/invoke", json=RUN, timeout=30,
                      headers={"Authorization": f"Bearer {stage.api_key}"})
    assert r.status_code == 202, r.text
    return r.json()["runId"]


def _run(stage: LocalStage, run_id: str) -> dict:
    return requests.get(f"{stage.api_url}/automations/runs/{run_id}", timeout=30,
                        headers={"Authorization": f"Bearer {stage.api_key}"}).json()


def test_forty_hop_automation_completes_with_the_recursion_setting_on() -> None:
    # one stage per test: moto's state is one per process, so two stages cannot run side by side
    with _stage() as allowed:
        _forty_hops_complete(allowed)


def _forty_hops_complete(allowed: LocalStage) -> None:
    lam = allowed.client("lambda")
    arn = lam.get_function(FunctionName=allowed.outputs["job_worker_function"])["Configuration"]["FunctionArn"]
    assert lam.list_tags(Resource=arn)["Tags"][SETTING_TAG] == "Allow", "deployed from the program's setting"
    run_id = _invoke(allowed)
    run = wait_progressing(lambda: (r := _run(allowed, run_id))["status"] == "COMPLETED" and r,
                           lambda: len(_run(allowed, run_id)["steps"]), "the run to complete")
    assert [s["status"] for s in run["steps"]] == ["COMPLETED"] * HOPS


def test_data_plane_stops_the_same_run_at_awss_limit_with_the_setting_off() -> None:
    with _stage(prepare=_terminate) as stage:
        run_id = _invoke(stage)
        sqs = stage.client("sqs")
        dlq = stage.outputs["job_dlq_url"]

        def stopped_job() -> list[dict]:
            return sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])

        # a step timed out under load comes back after the visibility timeout: wait while the run advances
        [job] = wait_progressing(stopped_job, lambda: len(_run(stage, run_id)["steps"]),
                                 "the stopped job in the job DLQ")
        # the request worker's step 0 message opens the chain; steps 0-15 are its 16 job worker invocations,
        # so step 16's job is the one stopped (a redelivered job keeps its trace header, hence its count)
        body = json.loads(job["Body"])
        assert body["runId"] == run_id and body["step"] == MAX_CHAIN, body
        run = _run(stage, run_id)
        assert run["status"] == "RUNNING" and len(run["steps"]) == body["step"], run
        cw = stage.client("cloudwatch")
        dropped = wait_progressing(lambda: cw.list_metrics(
            Namespace="AWS/Lambda", MetricName="RecursiveInvocationsDropped")["Metrics"], lambda: None,
            "the RecursiveInvocationsDropped metric", stall_s=30)
        assert [d["Value"] for m in dropped for d in m["Dimensions"]] == [stage.outputs["job_worker_function"]]


def test_a_second_stage_in_the_same_process_is_refused_and_the_first_keeps_running() -> None:
    # moto's state is one per process: a second stage would reset or redeploy the first one's AWS under it
    # (this file's two tests once overlapped that way and the first stage's pollers ate the second's jobs)
    with _stage() as first:
        second = _stage()
        with pytest.raises(RuntimeError, match="already running in this process"):
            second.start()
        run_id = _invoke(first)
        run = wait_progressing(lambda: (r := _run(first, run_id))["status"] == "COMPLETED" and r,
                               lambda: len(_run(first, run_id)["steps"]), "the first stage's run to complete")
        assert len(run["steps"]) == HOPS
    with _stage() as after:  # released by the stop: the next stage starts
        assert after.outputs["job_worker_function"]
