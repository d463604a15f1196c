"""The pure math of the cost and capacity model."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.capacity import prices
from relay.capacity.model import (BatchDuration, FlowUsage, FunctionUse, cost_per_million, lambda_billed_ms,
                                  predict_stream, smallest_factor, sqs_batch_fill)

SEND = FlowUsage(
    kind="send", s3_put_tier=2, s3_get_tier=1, sqs_requests=0, job_messages=0, stream_records=3,
    dynamodb_wru=8, dynamodb_rru=2,
    functions={"api": FunctionUse(1, 5.0), "send_worker": FunctionUse(1, 30.0), "log_indexer": FunctionUse(0.1, 6.0)})
AUTOMATION = FlowUsage(
    kind="automation", s3_put_tier=3, s3_get_tier=2, sqs_requests=2, job_messages=2, stream_records=3,
    dynamodb_wru=20, dynamodb_rru=6, cloudwatch_put_metric_data=0.5,
    functions={"api": FunctionUse(1, 5.0), "request_worker": FunctionUse(1, 10.0),
               "job_worker": FunctionUse(2, 20.0), "send_worker": FunctionUse(1, 30.0)})


def _cost(usage: FlowUsage, **kw):
    opts = dict(memory_mb=1024, job_batch_size=10, job_batching_window_s=0, stream_fill=100.0,
                notifications_per_s=1000.0)
    opts.update(kw)
    return cost_per_million(usage, **opts)


# ---- cost ----------------------------------------------------------------------------------------
def test_send_cost_by_hand_matches_every_line():
    cost = _cost(SEND).by_service()
    n = 1_000_000
    assert cost["s3"] == pytest.approx(n * (2 * prices.S3_STANDARD_PUT_TIER + prices.S3_STANDARD_GET_TIER))
    assert cost["dynamodb"] == pytest.approx(n * (8 * prices.DYNAMODB_ON_DEMAND_WRU + 2 * prices.DYNAMODB_ON_DEMAND_RRU))
    # log indexer: 3 records per send in batches of 100 → 0.03 invocations per send
    assert cost["lambda_requests"] == pytest.approx(n * (1 + 1 + 0.03) * prices.LAMBDA_REQUEST)
    # 1024 MB: GB-s = billed seconds; log indexer 6 ms over 0.03 invocations = 200 ms each
    assert cost["lambda_compute"] == pytest.approx(n * (5 + 30 + 6) / 1000 * prices.LAMBDA_GB_SECOND_X86)
    assert cost["sqs"] == 0.0
    assert cost["dynamodb_streams"] == 0.0  # GetRecords by a Lambda trigger are free


def test_automation_sqs_includes_mapping_polls_per_batch():
    # 2 jobs per run at 1000 runs/s, no window: receives return 10 (2000/s x 20 ms = 40, capped at 10)
    cost = _cost(AUTOMATION)
    assert cost.assumptions["job_batch_fill"] == 10
    expected = 1_000_000 * (2 + 2 * 2 / 10) * prices.SQS_STANDARD_REQUEST
    assert cost.by_service()["sqs"] == pytest.approx(expected)
    assert cost.by_service()["cloudwatch"] == pytest.approx(500_000 * prices.CLOUDWATCH_PUT_METRIC_DATA_REQUEST)


def test_memory_doubles_compute_cost_only():
    small, big = _cost(SEND, memory_mb=512).by_service(), _cost(SEND, memory_mb=1024).by_service()
    assert big["lambda_compute"] == pytest.approx(2 * small["lambda_compute"])
    assert big["s3"] == small["s3"] and big["lambda_requests"] == small["lambda_requests"]


def test_duration_is_billed_per_started_millisecond():
    assert lambda_billed_ms(10.2, 2) == 12  # 5.1 ms each → 6 ms each
    assert lambda_billed_ms(10.0, 2) == 10
    assert lambda_billed_ms(5.0, 0) == 0


@settings(max_examples=60, deadline=None)
@given(k=st.floats(min_value=1.0, max_value=50.0))
def test_cost_scales_linearly_with_calls_outcome(k):
    # batch fills saturate at this rate (10 per receive, 100 per stream batch), so only the counts change
    base, scaled = _cost(AUTOMATION), _cost(AUTOMATION.scaled(k))
    for service, usd in base.by_service().items():
        assert scaled.by_service()[service] == pytest.approx(k * usd, rel=1e-9), service
    assert scaled.total_usd == pytest.approx(k * base.total_usd)


def test_sqs_fill_uses_window_then_receive_cap():
    assert sqs_batch_fill(0, 25, 1) == 1
    assert sqs_batch_fill(5, 25, 1) == 5
    assert sqs_batch_fill(1000, 25, 1) == 25
    assert sqs_batch_fill(1000, 25, 0) == 10  # without a window one receive returns at most 10
    assert sqs_batch_fill(10, 10, 0) == 1


# ---- stream sizing -------------------------------------------------------------------------------
D = BatchDuration(fixed_s=0.01, per_record_s=0.002)


def test_rate_below_capacity_is_stable_with_poll_lag_age():
    p = predict_stream(100, 100, 1, D)
    assert p.stable and p.age_growth_per_s == 0
    assert p.lane_capacity_per_s == pytest.approx(100 / 0.21)
    assert p.iterator_age_s == pytest.approx(0.125)
    assert 1 <= p.batch_records <= 100


def test_rate_over_capacity_is_unbounded_and_grows():
    p = predict_stream(1000, 100, 1, D)
    assert not p.stable and math.isinf(p.iterator_age_s)
    assert p.age_growth_per_s == pytest.approx(1 - (100 / 0.21) / 1000)
    assert p.peak_iterator_age(10) == pytest.approx(0.125 + 10 * (1000 / (100 / 0.21) - 1))


def test_busy_lane_fills_batches_to_the_fixed_point():
    # m = 400/s, d(b) = 0.01 + 0.002 b → b = 4 / (1 - 0.8) = 20 records, d = 50 ms < poll → poll fill 100
    p = predict_stream(400, 500, 1, BatchDuration(0.01, 0.002), poll_interval_s=0.01)
    assert p.batch_records == pytest.approx(20)
    assert p.batch_duration_s == pytest.approx(0.05)


def test_smallest_factor_keeps_lanes_under_headroom():
    choice = smallest_factor(3000, 500, D, target_s=30)
    assert choice.factor == 8
    chosen = choice.chosen
    assert chosen is not None and chosen.stable and chosen.utilisation <= 0.8
    assert not choice.predictions[5].stable  # factor 6 cannot keep up
    assert "partition key" in choice.caveat


def test_target_under_poll_lag_has_no_factor():
    choice = smallest_factor(10, 100, D, target_s=0.05)
    assert choice.factor is None and choice.chosen is None


@settings(max_examples=200, deadline=None)
@given(rate=st.floats(min_value=0, max_value=50_000), batch=st.integers(1, 10_000),
       fixed=st.floats(min_value=0.0, max_value=2.0), per=st.floats(min_value=1e-6, max_value=0.05),
       poll=st.floats(min_value=0.01, max_value=1.0), f=st.integers(1, 9))
def test_more_factor_never_predicts_higher_age(rate, batch, fixed, per, poll, f):
    d = BatchDuration(fixed, per)
    lo = predict_stream(rate, batch, f, d, poll_interval_s=poll)
    hi = predict_stream(rate, batch, f + 1, d, poll_interval_s=poll)
    assert hi.iterator_age_s <= lo.iterator_age_s
    assert hi.age_growth_per_s <= lo.age_growth_per_s
    assert hi.record_latency_s <= lo.record_latency_s + 1e-12
    for load in (1.0, 60.0):
        assert hi.peak_iterator_age(load) <= lo.peak_iterator_age(load) + 1e-12


def test_fit_recovers_overhead_and_per_record_time():
    d = BatchDuration.fit([(10, 0.03), (50, 0.11), (100, 0.21)])
    assert d.fixed_s == pytest.approx(0.01) and d.per_record_s == pytest.approx(0.002)


def test_fit_with_one_batch_size_is_refused():
    with pytest.raises(ValueError, match="need two sizes"):
        BatchDuration.fit([(10, 0.1), (10, 0.2)])
    with pytest.raises(ValueError, match="at least 2"):
        BatchDuration.fit([(10, 0.1)])


def test_invalid_factor_is_refused():
    with pytest.raises(ValueError, match="must be >= 1"):
        predict_stream(10, 100, 0, D)
