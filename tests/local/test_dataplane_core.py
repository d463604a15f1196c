"""Pure pieces of the data plane: response parsing, lanes, records, metrics aggregation, delay queue."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from relay.local.dataplane.delay_queue import DelayQueue
from relay.local.dataplane.metrics import MetricsRecorder
from relay.local.dataplane.records import async_failure_record, stream_event_record, stream_failure_record
from relay.local.dataplane.registry import parse_mapping
from relay.local.dataplane.sqs_poller import failed_message_ids
from relay.local.dataplane.stream_poller import first_failed_index, lane_of

import pytest


def test_no_or_empty_batch_item_failures_means_all_succeeded():
    assert failed_message_ids(None, {"a"}) == set()
    assert failed_message_ids({"batchItemFailures": []}, {"a"}) == set()
    assert failed_message_ids({"other": 1}, {"a"}) == set()


def test_listed_failures_returned():
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"a", "b"}) == {"b"}


@pytest.mark.parametrize("payload", [
    {"batchItemFailures": [{"itemIdentifier": "zzz"}]},
    {"batchItemFailures": [{"itemIdentifier": ""}]},
    {"batchItemFailures": [{}]},
    {"batchItemFailures": "b"},
])
def test_malformed_or_unknown_failure_fails_whole_batch(payload):
    assert failed_message_ids(payload, {"a", "b"}) is None


def test_stream_first_failure_is_lowest_reported_position():
    seqs = ["100", "101", "102", "103"]
    assert first_failed_index({"batchItemFailures": [{"itemIdentifier": "103"}, {"itemIdentifier": "101"}]}, seqs) == 1
    assert first_failed_index({"batchItemFailures": []}, seqs) is None
    assert first_failed_index({"batchItemFailures": [{"itemIdentifier": "999"}]}, seqs) == 0


def test_lane_is_stable_and_in_range():
    key = {"S": "MSG#abc"}
    assert lane_of(key, 10) == lane_of({"S": "MSG#abc"}, 10)
    assert {lane_of({"S": f"k{i}"}, 4) for i in range(200)} == {0, 1, 2, 3}
    assert {lane_of({"S": f"k{i}"}, 1) for i in range(50)} == {0}


def test_stream_record_gets_epoch_seconds_and_source_arn():
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    rec = stream_event_record({"eventID": "e1", "eventName": "MODIFY", "dynamodb": {
        "ApproximateCreationDateTime": created, "SequenceNumber": "7", "Keys": {"pk": {"S": "a"}}}},
        "arn:stream", "eu-west-1")
    assert rec["dynamodb"]["ApproximateCreationDateTime"] == created.timestamp()
    assert rec["eventSourceARN"] == "arn:stream" and rec["awsRegion"] == "eu-west-1"
    assert rec["eventVersion"] == "1.1" and rec["eventSource"] == "aws:dynamodb"


def test_failure_records_follow_contract_shapes():
    a = async_failure_record(request_id="r", function_arn="arn:fn", event={"x": 1}, attempts=3, now=0.0,
                             error={"errorMessage": "m", "errorType": "T"})
    assert a["timestamp"] == "1970-01-01T00:00:00.000Z"
    assert set(a) == {"version", "timestamp", "requestContext", "requestPayload", "responseContext",
                      "responsePayload"}
    recs = [{"dynamodb": {"SequenceNumber": s, "ApproximateCreationDateTime": 1.5}} for s in ("1", "2")]
    s = stream_failure_record(request_id="r", function_arn="arn:fn", records=recs, shard_id="sh", stream_arn="arn:s",
                              attempts=4, now=2.0, condition="RetryAttemptsExhausted", error=None)
    assert s["DDBStreamBatchInfo"] == {
        "shardId": "sh", "startSequenceNumber": "1", "endSequenceNumber": "2",
        "approximateArrivalOfFirstRecord": "1970-01-01T00:00:01.500Z",
        "approximateArrivalOfLastRecord": "1970-01-01T00:00:01.500Z", "batchSize": 2, "streamArn": "arn:s"}


def test_mapping_defaults_follow_aws():
    m = parse_mapping({"UUID": "u", "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
                       "EventSourceArn": "arn:aws:dynamodb:us-east-1:1:table/t/stream/x", "State": "Disabled"})
    assert (m.kind, m.enabled, m.batch_size, m.parallelization_factor, m.maximum_retry_attempts) == \
        ("dynamodb", False, 100, 1, -1)
    q = parse_mapping({"UUID": "u", "FunctionArn": "f", "EventSourceArn": "arn:aws:sqs:us-east-1:1:q"})
    assert (q.kind, q.batch_size, q.report_batch_item_failures) == ("sqs", 10, False)


def test_metrics_drain_gives_statistic_sets_and_resets():
    rec = MetricsRecorder(clock=lambda: datetime(2026, 1, 1, tzinfo=timezone.utc))
    for v in (10, 30, 20):
        rec.record("fn", "Duration", v)
    [datum] = rec.drain()
    assert datum["StatisticValues"] == {"SampleCount": 3, "Sum": 60, "Minimum": 10, "Maximum": 30}
    assert datum["Unit"] == "Milliseconds" and datum["Dimensions"] == [{"Name": "FunctionName", "Value": "fn"}]
    assert rec.drain() == []


def test_unknown_metric_refused_with_name():
    with pytest.raises(ValueError) as info:
        MetricsRecorder().record("fn", "Invocation", 1)
    assert "unknown AWS/Lambda metric 'Invocation'" in str(info.value)


def test_delay_queue_returns_due_items_in_due_order():
    q: DelayQueue[str] = DelayQueue()
    q.put("later", 0.15)
    q.put("now")
    assert q.get(0.01) == "now"
    assert q.get(0.01) is None
    t = time.monotonic()
    assert q.get(1.0) == "later"
    assert time.monotonic() - t >= 0.1
