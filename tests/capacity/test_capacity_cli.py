"""``relay capacity``: argument parsing, the calls file, and the printed report."""
from __future__ import annotations

import io
import json

import pytest

from relay.capacity.calls import CallsFileError, load_calls, parse_calls
from relay.capacity.report import InputError, parse_duration, parse_rate
from relay.cli import _parser

CALLS = {
    "version": 1, "measured_at": "2026-11-27T08:00:00Z", "stage": "local", "command": "test",
    "flows": {
        "send": {"notifications": 10, "s3_put_tier": 2, "s3_get_tier": 1, "stream_records": 3, "dynamodb_wru": 8,
                 "dynamodb_rru": 2, "functions": {"api": {"invocations": 1, "duration_ms": 5},
                                                  "send_worker": {"invocations": 1, "duration_ms": 30},
                                                  "log_indexer": {"invocations": 0.1, "duration_ms": 6}}},
        "automation": {"notifications": 4, "s3_put_tier": 3, "s3_get_tier": 2, "sqs_requests": 2,
                       "job_messages": 2, "stream_records": 3, "dynamodb_wru": 20, "dynamodb_rru": 6,
                       "functions": {"api": {"invocations": 1, "duration_ms": 5},
                                     "job_worker": {"invocations": 2, "duration_ms": 20}}},
    },
    "log_indexer_duration": {"fixed_s": 0.01, "per_record_s": 0.002},
}


def _run(tmp_path, *argv: str, calls: dict | None = CALLS) -> tuple[int, str, str]:
    from relay.capacity.cli import run_capacity

    path = tmp_path / "calls.json"
    if calls is not None:
        path.write_text(json.dumps(calls))
    args = _parser().parse_args(["capacity", "--calls", str(path), *argv])
    out, err = io.StringIO(), io.StringIO()
    return run_capacity(args, out=out, err=err), out.getvalue(), err.getvalue()


def test_prod_at_1000_per_s_prints_costs_and_needed_factor(tmp_path):
    rc, out, err = _run(tmp_path, "--stage", "prod", "--rate", "1000/s")
    assert rc == 0, err
    assert "cost per 1M sends: $" in out and "cost per 1M automations: $" in out
    assert "Pulumi.prod.yaml: memory (MB) api 128, job_worker 256, log_indexer 256, send_worker 128 on arm64" in out
    assert "durations used: measured" in out  # this file names no function's calls: its own durations price it
    # 3000 records/s need 3 shards (1,000 writes/s per partition); B=500, d(500)=1.01 s → 495 records/s
    # per lane; 1,000 records/s per shard at ≤80% busy needs 3 lanes per shard
    assert "over 3 shard(s)" in out
    assert "needed factor: 3 (configured 4" in out
    # 4 lanes x 3 shards x 495/s x 0.8 / 3 records per send
    assert "the configured factor 4 keeps up with about 1,584 sends/s" in out
    assert "partition key" in out


def test_json_output_has_itemised_costs_and_inputs(tmp_path):
    rc, out, _ = _run(tmp_path, "--stage", "dev", "--rate", "60/min", "--iterator-age-target", "500ms", "--json")
    assert rc == 0
    doc = json.loads(out)
    assert doc["rate_per_s"] == 1.0 and doc["iterator_age_target_s"] == 0.5
    send = doc["cost_per_million"]["send"]
    assert {ln["service"] for ln in send["lines"]} >= {"lambda_requests", "lambda_compute", "sqs", "s3", "dynamodb",
                                                      "dynamodb_streams", "cloudwatch"}
    assert send["total_usd"] == pytest.approx(sum(ln["usd"] for ln in send["lines"]))
    assert doc["inputs"]["stage_config"]["memory"] == {"api": 128, "job_worker": 256, "log_indexer": 128,
                                                       "send_worker": 128}
    assert doc["stream"]["needed_factor"] == 1 and doc["stream"]["configured_factor"] == 2
    assert doc["stream"]["shards"] == 1
    assert any("pessimistic for AWS" in n for n in doc["notes"])  # the calls were measured on the local stage


def test_bad_rate_is_refused_with_exit_2(tmp_path):
    rc, out, err = _run(tmp_path, "--rate", "fast")
    assert rc == 2 and out == ""
    assert "--rate 'fast': expected a positive rate such as 1000/s" in err


def test_unknown_stage_is_refused_with_exit_2(tmp_path):
    rc, _, err = _run(tmp_path, "--stage", "staging")
    assert rc == 2 and "no stage file Pulumi.staging.yaml" in err


def test_missing_calls_file_is_refused_with_exit_2(tmp_path):
    rc, _, err = _run(tmp_path, calls=None)
    assert rc == 2 and "no such calls file" in err


def test_negative_count_in_calls_file_is_refused():
    bad = json.loads(json.dumps(CALLS))
    bad["flows"]["send"]["s3_put_tier"] = -1
    with pytest.raises(CallsFileError, match=r"flows.send.s3_put_tier must be a non-negative number, got -1"):
        parse_calls(bad, "x.json")


def test_unknown_flow_and_version_are_refused():
    with pytest.raises(CallsFileError, match="version must be 1, got 2"):
        parse_calls({**CALLS, "version": 2})
    with pytest.raises(CallsFileError, match="flows.email: unknown flow"):
        parse_calls({**CALLS, "flows": {"email": CALLS["flows"]["send"]}})


def test_calls_file_that_is_not_json_is_refused(tmp_path):
    p = tmp_path / "c.json"
    p.write_text("{nope")
    with pytest.raises(CallsFileError, match="not JSON"):
        load_calls(p)


@pytest.mark.parametrize("text,per_s", [("1000/s", 1000), ("60000/min", 1000), ("3600/h", 1), ("250", 250)])
def test_rates_parse_to_per_second(text, per_s):
    assert parse_rate(text) == per_s


@pytest.mark.parametrize("text,s", [("30s", 30), ("500ms", 0.5), ("2m", 120), ("45", 45)])
def test_durations_parse_to_seconds(text, s):
    assert parse_duration(text) == s


def test_zero_duration_is_refused():
    with pytest.raises(InputError, match="--iterator-age-target '0s': expected a positive duration"):
        parse_duration("0s")
