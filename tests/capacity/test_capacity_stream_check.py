"""The model check (issue 6): predicted IteratorAge against the local stage's log indexer under load.

The local stage is deployed in-process (emulator + the Pulumi program + the data plane) and only the
messages table → stream → log indexer pipeline is kept. d(B) is calibrated from separate runs: two
copies of the log-indexer pipeline (same code, role, memory and environment, own tables) that chew
through a backlog in full batches of two other sizes *while* the checked run goes on. Everything here
shares one process and, on a shared machine, a varying CPU share; running the calibration alongside
the check makes both see the same share, so the comparison tests the model, not the neighbours' load.

The checked run writes message events at about twice what one lane drains, for a few seconds, at
factor 1: the model predicts how far IteratorAge climbs (the last record's age when its batch starts);
the test asserts the measured AWS/Lambda IteratorAge maximum is within 25 % of it.
"""
from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from relay.capacity import calibration, timed_handler
from relay.capacity.model import BatchDuration, predict_stream

pytestmark = pytest.mark.heavy(seconds=30)

CALIBRATE = (4, 24)   # batch sizes of the calibration pipelines
CHECK = 8             # batch size of the checked pipeline (not one of the calibrated sizes)
BACKLOG = 2000        # events waiting in each calibration pipeline (outlasts the checked run, also when the
                      # in-process emulator makes the lanes fast)
STREAM_POLL_S = 0.25  # the data plane's GetRecords interval on an idle shard (AWS: 4 per second)


@pytest.fixture(scope="module")
def stage() -> Iterator[dict[str, Any]]:
    from relay.local.stage import LocalStage

    found: dict[str, Any] = {}

    def keep_only_the_log_indexer(local: LocalStage) -> None:
        outputs = local.outputs
        lam = local.client("lambda")
        calibration.keep_only_the_log_indexer(local.client, outputs)
        lam.update_event_source_mapping(UUID=outputs["log_indexer_esm_uuid"], BatchSize=CHECK,
                                        ParallelizationFactor=1)
        timed_handler.reset()
        found["lanes"] = [calibration.add_calibration_lane(local.client, outputs, f"cal{b}", b, BACKLOG)
                          for b in CALIBRATE]

    local = LocalStage("local", aws_latency_ms=0.0, prepare=keep_only_the_log_indexer,
                       plane_options={"poll_interval": 0.2, "stream_poll_interval": STREAM_POLL_S,
                                      "metrics_interval": 0.5})
    with local:
        try:
            yield {"outputs": local.outputs, "clients": local.plane.clients, "lanes": found["lanes"]}
        finally:
            local.plane.stop()
            local.emulator.reset()


def _cycles(lanes: list[dict[str, str]], start: float, end: float, need: int = 2) -> list[tuple[float, float]] | None:
    """(batch records, mean seconds a batch holds its lane) per calibration lane in the window.

    The time from one batch's start to the next is what the model calls d(B): the handler's run plus
    the data plane's reading and dispatching in between. None until every lane ran ``need`` batches.
    """
    out = []
    for lane in lanes:
        cycles = [c for c in calibration.lane_cycles(lane["function"], start, end) if c[0] == int(lane["batch_size"])]
        if len(cycles) < need:
            return None
        out.append((float(lane["batch_size"]), sum(c for _, c in cycles) / len(cycles)))
    return out


def _check(stage: dict[str, Any], load_s: float, ratio: float = 2.5) -> tuple[float, float, str]:
    clients, lanes = stage["clients"], stage["lanes"]
    # a first look at the calibration lanes sets the load: about `ratio` x one lane's capacity
    t_warm = time.monotonic()
    deadline = t_warm + 30
    while (rough := _cycles(lanes, t_warm, time.monotonic())) is None:
        assert time.monotonic() < deadline, "the calibration lanes did not run two batches each"
        time.sleep(0.2)
    rate = min(200.0, max(5.0, ratio * CHECK / BatchDuration.fit(rough)(CHECK)))

    start = time.monotonic()
    r = calibration.run_stream_load(clients, stage["outputs"], rate, load_s, CHECK, 1, settle_s=0.0)
    end = time.monotonic()
    samples = _cycles(lanes, start, end)
    assert samples is not None, "the calibration lanes ran fewer than two batches each during the checked run"
    d = BatchDuration.fit(samples)
    for lane in lanes:  # the calibration lanes must have run full batches for the whole window
        ran = calibration.lane_cycles(lane["function"], 0.0, end + 60)
        assert sum(n for n, _ in ran) + int(lane["batch_size"]) < int(lane["backlog"]), f"{lane['function']} ran dry"
    time.sleep(0.8)  # the last IteratorAge metrics flush

    p = predict_stream(r.arrival_per_s, CHECK, 1, d, poll_interval_s=STREAM_POLL_S)
    predicted = p.peak_iterator_age(r.load_s)
    report = (f"d(B) = {d.fixed_s * 1000:.0f} ms + {d.per_record_s * 1000:.1f} ms x B; {r.records} events at "
              f"{r.arrival_per_s:.1f}/s for {r.load_s:.1f}s, batch {CHECK}, factor 1 (lane capacity "
              f"{p.lane_capacity_per_s:.1f}/s): IteratorAge max measured {r.iterator_age_max_s:.2f}s, "
              f"predicted {predicted:.2f}s")
    assert not p.stable, f"the run must overload the lane to exercise the model: {report}"
    return predicted, r.iterator_age_max_s, report


def _overloading_check(stage: dict[str, Any], load_s: float, ratio: float = 2.5) -> tuple[float, float, str]:
    """``_check``, again with a higher rate when the run did not overload the lane: the rate comes from a first
    look at the lanes, and a machine that sped up in between (a busy start of the suite) leaves the run stable —
    a precondition missed, not the model wrong. The model's own error is never retried."""
    missed = []
    for attempt in range(3):
        try:
            return _check(stage, load_s, ratio * 1.6 ** attempt)
        except AssertionError as exc:
            if "must overload the lane" not in str(exc):
                raise
            missed.append(str(exc).splitlines()[0])
    raise AssertionError("the lane was never overloaded: " + " | ".join(missed))


def test_iterator_age_prediction_within_25_percent_of_measured(stage):
    t0 = time.monotonic()
    predicted, measured, report = _overloading_check(stage, load_s=4.0)
    error = abs(predicted - measured) / measured
    print(f"\nmodel check: {report}, error {error:.0%} ({time.monotonic() - t0:.0f}s)")
    assert measured > 1.0, report
    assert error <= 0.25, report


@pytest.mark.slow
def test_iterator_age_prediction_long_mode_within_25_percent(stage):
    predicted, measured, report = _overloading_check(stage, load_s=6.0, ratio=1.5)
    error = abs(predicted - measured) / measured
    print(f"\nmodel check (long): {report}, error {error:.0%}")
    assert error <= 0.25, report
