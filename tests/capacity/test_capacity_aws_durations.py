"""AWS-realistic durations, arm64 and per-function memory in the cost, and which durations the report uses."""
from __future__ import annotations

import io
import json

import pytest

from relay.capacity import aws_durations as aws
from relay.capacity import prices
from relay.capacity.model import FlowUsage, FunctionUse, cost_per_million

SEND_CALLS = {"api": {"s3:PutObject": 1.0},
              "send_worker": {"s3:GetObject": 1.0, "dynamodb:PutItem": 2.0, "dynamodb:BatchWriteItem": 1.0,
                              "s3:PutObject": 1.0},
              "log_indexer": {"dynamodb:PutItem": 1.0}}


def test_arm64_is_priced_at_the_published_arm_rate():
    assert prices.lambda_gb_second("arm64") == pytest.approx(0.0000133334)
    assert prices.lambda_gb_second("arm64") == pytest.approx(0.8 * prices.lambda_gb_second("x86_64"), rel=1e-4)
    with pytest.raises(ValueError, match="Lambda runs arm64 or x86_64"):
        prices.lambda_gb_second("riscv")


def test_compute_uses_each_functions_memory_and_the_architecture():
    usage = FlowUsage(kind="send", functions={"api": FunctionUse(1, 100.0), "send_worker": FunctionUse(1, 100.0)})
    cost = cost_per_million(usage, memory_mb={"api": 128, "send_worker": 256}, job_batch_size=10,
                            job_batching_window_s=0, stream_fill=1, notifications_per_s=1, architecture="arm64")
    gb_s = 1_000_000 * 0.1 * (128 + 256) / 1024
    assert cost.by_service()["lambda_compute"] == pytest.approx(gb_s * prices.LAMBDA_GB_SECOND_ARM64)
    assert "api 128, send_worker 256 MB (arm64)" in next(ln.detail for ln in cost.lines if ln.service == "lambda_compute")


def test_a_functions_aws_duration_is_its_calls_round_trips_plus_stretched_cpu():
    use = FunctionUse(1.0, 999.0, SEND_CALLS["send_worker"])
    waits = 30 + 2 * 6 + 12 + 30  # S3 GET, two item writes, one batch write, the provider's S3 PUT
    cpu = (aws.CPU_PER_INVOCATION_MS + 5 * aws.CPU_PER_CALL_MS) * 1769 / 128
    assert aws.function_duration_ms(use, 128) == pytest.approx(waits + cpu)
    assert aws.function_duration_ms(use, 3008) == pytest.approx(waits + cpu * 128 / 1769), "never faster than one vCPU"


def test_the_indexers_aws_batch_duration_follows_concurrent_coalesced_writes():
    d = aws.indexer_batch_duration(1769, records_per_message=3, writers=16)
    assert d.fixed_s == pytest.approx((1.0 + 6.0) / 1000)
    assert d.per_record_s == pytest.approx((0.05 + 0.3 / 3 + 6.0 / 48) / 1000)
    slower = aws.indexer_batch_duration(128, records_per_message=3)
    assert slower.per_record_s > d.per_record_s and slower(500) < 2.0, "a 500-record batch still under 2 s at 128 MB"


def test_the_model_knows_the_indexers_writer_count():
    from functions.log_indexer.handler import WRITERS

    assert aws.INDEXER_WRITERS == WRITERS


def test_every_latency_names_its_source():
    assert all(lat.ms > 0 and len(lat.source) > 20 for lat in aws.LATENCY.values())
    assert aws.call_latency_ms("dynamodb:Query") == aws.LATENCY["dynamodb:multi"].ms
    assert aws.call_latency_ms("sesv2:SendEmail") == aws.LATENCY["other"].ms


def _calls_file(tmp_path, stage: str = "local", per_function: bool = True) -> str:
    def fn(name: str, inv: float, ms: float) -> dict:
        return {"invocations": inv, "duration_ms": ms, **({"calls": SEND_CALLS[name]} if per_function else {})}

    doc = {"version": 1, "stage": stage, "measured_at": "2026-12-02T00:00:00Z", "command": "test",
           "flows": {"send": {"notifications": 100, "s3_put_tier": 1, "s3_get_tier": 1, "stream_records": 3,
                              "dynamodb_wru": 8, "dynamodb_wru_by_table": {"relay-local-messages": 3},
                              "functions": {"api": fn("api", 1, 150), "send_worker": fn("send_worker", 1, 900),
                                            "log_indexer": fn("log_indexer", 0.05, 60)},
                              "provider": {"calls": {"s3:PutObject": 1.0}}}},
           "log_indexer_duration": {"fixed_s": 0.0, "per_record_s": 0.03}}
    path = tmp_path / "calls.json"
    path.write_text(json.dumps(doc))
    return str(path)


def _capacity(path: str, *extra: str) -> tuple[int, str, str]:
    from relay.capacity.cli import run_capacity
    from relay.cli import _parser

    out, err = io.StringIO(), io.StringIO()
    rc = run_capacity(_parser().parse_args(["capacity", "--stage", "prod", "--rate", "1000/s", "--calls", path,
                                            *extra]), out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


def test_a_local_measurement_is_priced_with_aws_durations_and_the_emulators_are_printed_beside(tmp_path):
    rc, out, err = _capacity(_calls_file(tmp_path))
    assert rc == 0, err
    assert "durations used: AWS-realistic" in out
    assert "cost per 1M sends: $" in out and "(aws durations; with measured durations $" in out
    assert "with the measured d(B) = 0.00 ms + 30.000 ms x B" in out
    assert "the provider's own calls, not priced: s3:PutObject 1" in out
    assert "DynamoDB write units per send: 8 (relay-local-messages 3)" in out


def test_a_real_stages_calls_file_wins_over_the_estimates(tmp_path):
    rc, out, _ = _capacity(_calls_file(tmp_path, stage="prod"))
    assert rc == 0 and "durations used: measured" in out and "d(B) = 0.00 ms + 30.000 ms x B (measured)" in out


def test_aws_durations_need_each_functions_calls(tmp_path):
    rc, _, err = _capacity(_calls_file(tmp_path, per_function=False), "--durations", "aws")
    assert rc == 2 and "does not say which AWS calls each function made" in err


def test_aws_durations_cost_less_than_the_emulators_here(tmp_path):
    rc, out, _ = _capacity(_calls_file(tmp_path), "--json")
    send = json.loads(out)["cost_per_million"]["send"]
    assert rc == 0 and send["total_usd_by_durations"]["aws"] < send["total_usd_by_durations"]["measured"]
    assert send["total_usd"] == send["total_usd_by_durations"]["aws"]


def test_the_committed_measurement_names_each_functions_calls_and_meets_the_write_target():
    from relay.capacity.calls import load_calls

    calls = load_calls()
    assert calls.per_function_calls, "relay capacity prices AWS durations from them"
    assert calls.flows["send"].dynamodb_wru <= 8.0, "issue 14: at most 8 write units per send"
    assert calls.provider_calls["send"] == {"s3:PutObject": 1.0}, "the outbox's object, priced apart"
