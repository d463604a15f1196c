"""The fault injector itself: parsing refuses typos, SQS batches fail per record, a death redelivers all."""
from __future__ import annotations

import json

import pytest

from relay.local.dataplane.faults import ChaosError, Faults, faults_from_environment, parse_chaos


def _batch(n: int) -> dict:
    return {"Records": [{"eventSource": "aws:sqs", "messageId": f"m{i}",
                         "body": json.dumps({"v": 1, "runId": f"run_{i}", "step": 0})} for i in range(n)]}


def test_unknown_key_refused_with_message() -> None:
    with pytest.raises(ValueError) as err:
        parse_chaos("step_eror=0.05")
    assert "unknown key 'step_eror'" in str(err.value)


def test_probability_outside_unit_interval_refused() -> None:
    with pytest.raises(ValueError) as err:
        parse_chaos("poison=1.5")
    assert "within [0, 1]" in str(err.value)


def test_unset_environment_means_no_faults() -> None:
    assert faults_from_environment({}) is None
    assert faults_from_environment({"RELAY_CHAOS": "step_error=0.1,seed=3"}).spec.step_error == 0.1


def test_step_errors_fail_single_records_as_batch_item_failures() -> None:
    faults = Faults(parse_chaos("step_error=0.5,seed=1"))
    seen: list[str] = []
    handler = faults.wrap("relay-local-job-worker", lambda e, c: seen.extend(r["messageId"] for r in e["Records"]))
    result = handler(_batch(100), None)
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    assert 30 < len(failed) < 70, len(failed)
    assert failed.isdisjoint(seen) and len(failed) + len(seen) == 100, "a failed record never reaches the handler"
    assert faults.injected["step_error"] == len(failed)


def test_die_mid_batch_runs_half_then_raises() -> None:
    faults = Faults(parse_chaos("die_mid_batch=1,seed=1"))
    seen: list[str] = []
    handler = faults.wrap("relay-local-job-worker", lambda e, c: seen.extend(r["messageId"] for r in e["Records"]))
    with pytest.raises(ChaosError, match="died mid-batch"):
        handler(_batch(10), None)
    assert seen == [f"m{i}" for i in range(5)]


def test_poison_is_stable_per_run_across_instances() -> None:
    a, b = Faults(parse_chaos("poison=0.3,seed=7")), Faults(parse_chaos("poison=0.3,seed=7"))
    keys = [f"run_{i}" for i in range(200)]
    assert [a.poisoned(k) for k in keys] == [b.poisoned(k) for k in keys]
    assert 30 < sum(a.poisoned(k) for k in keys) < 90


def test_other_functions_are_not_wrapped() -> None:
    faults = Faults(parse_chaos("step_error=1"))
    handler = lambda e, c: "ok"  # noqa: E731
    assert faults.wrap("relay-local-api", handler) is handler


def test_async_event_raises_for_poisoned_object_key_and_report_file_counts(tmp_path) -> None:
    report = tmp_path / "chaos.json"
    faults = Faults(parse_chaos(f"poison=1,functions=send-worker,report={report}"))
    handler = faults.wrap("relay-local-send-worker", lambda e, c: "ok")
    event = {"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "send/req_1.json"}}}]}
    with pytest.raises(ChaosError, match="poisoned"):
        handler(event, None)
    assert json.loads(report.read_text()) == {"poison": 1}
    assert Faults(parse_chaos(f"poison=1,report={report}")).injected["poison"] == 1, "a restart keeps counting"
