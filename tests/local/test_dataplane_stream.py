"""DynamoDB stream mappings: per-key order with parallelization factor, bisect, on-failure, live updates, metrics."""
from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from tests.local.handlers import recorder
from tests.local.handlers.fixtures import aws, emulator, plane_factory, wait_for  # noqa: F401 - fixtures

KEYS = [f"MSG#{i}" for i in range(8)]


def _put_events(aws, table: str, per_key: int, poison: set[tuple[str, int]] = frozenset()) -> None:
    for n in range(per_key):
        for key in KEYS:
            item = {"pk": {"S": key}, "sk": {"S": f"EVT#{n:04d}"}, "n": {"N": str(n)}}
            if (key, n) in poison:
                item["poison"] = {"BOOL": True}
            aws("dynamodb").put_item(TableName=table, Item=item)


def _seen(fn_name: str) -> list[tuple[str, int]]:
    return [(r["dynamodb"]["Keys"]["pk"]["S"], int(r["dynamodb"]["NewImage"]["n"]["N"]))
            for event, _ in recorder.CALLS[fn_name] for r in event["Records"]]


def _slow(event, ctx):
    time.sleep(0.03)


def _stream_setup(aws, factor: int, batch: int = 5, **esm):
    fn = aws.function("log-indexer")
    table, stream_arn = aws.stream_table("messages")
    mapping = aws("lambda").create_event_source_mapping(
        FunctionName=fn["FunctionName"], EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON",
        BatchSize=batch, ParallelizationFactor=factor, **esm)
    return fn, table, stream_arn, mapping


def _assert_order_per_key(seen: list[tuple[str, int]]) -> None:
    by_key: dict[str, list[int]] = defaultdict(list)
    for key, n in seen:
        by_key[key].append(n)
    for key, ns in by_key.items():
        assert ns == sorted(ns), f"{key} out of order: {ns}"


def test_factor_four_keeps_per_key_order_and_runs_batches_concurrently(aws, plane_factory):
    fn, table, stream_arn, mapping = _stream_setup(aws, factor=4)
    recorder.BEHAVIOUR[fn["FunctionName"]] = _slow
    _put_events(aws, table, per_key=6)
    plane = plane_factory().start()

    wait_for(lambda: len(_seen(fn["FunctionName"])) == 48, timeout=15)
    seen = _seen(fn["FunctionName"])
    assert len(set(seen)) == 48
    _assert_order_per_key(seen)
    assert recorder.MAX_ACTIVE[fn["FunctionName"]] > 1
    first = seen[0]
    assert first[1] == 0
    event = recorder.CALLS[fn["FunctionName"]][0][0]
    record = event["Records"][0]
    assert record["eventSource"] == "aws:dynamodb" and record["eventName"] == "INSERT"
    assert record["eventSourceARN"] == stream_arn and record["awsRegion"] == "us-east-1"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert record["dynamodb"]["StreamViewType"] == "NEW_IMAGE" and record["dynamodb"]["SizeBytes"] > 0
    # checkpoint: every record done → the last sequence number read
    shard = plane.runner(mapping["UUID"]).shards[0]
    wait_for(lambda: shard.checkpoint == max(r["dynamodb"]["SequenceNumber"] for e, _ in
                                             recorder.CALLS[fn["FunctionName"]] for r in e["Records"]))


def test_factor_one_runs_one_batch_at_a_time_in_order(aws, plane_factory):
    fn, table, _, _ = _stream_setup(aws, factor=1)
    recorder.BEHAVIOUR[fn["FunctionName"]] = _slow
    _put_events(aws, table, per_key=3)
    plane_factory().start()

    wait_for(lambda: len(_seen(fn["FunctionName"])) == 24, timeout=15)
    seen = _seen(fn["FunctionName"])
    assert recorder.MAX_ACTIVE[fn["FunctionName"]] == 1
    assert seen == [(k, n) for n in range(3) for k in KEYS]  # one lane: exactly the shard's order


def test_bisect_isolates_poison_record_and_sends_it_to_stream_dlq(aws, plane_factory):
    dlq_url, dlq_arn = aws.queue("stream-dlq")
    fn, table, stream_arn, _ = _stream_setup(
        aws, factor=1, batch=8, BisectBatchOnFunctionError=True, MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}})

    def fail_on_poison(event, ctx):
        if any("poison" in r["dynamodb"]["NewImage"] for r in event["Records"]):
            raise ValueError("cannot index")

    recorder.BEHAVIOUR[fn["FunctionName"]] = fail_on_poison
    _put_events(aws, table, per_key=2, poison={("MSG#5", 0)})  # 16 records, the 6th is poison
    plane_factory().start()

    [msg] = aws.drain(dlq_url, 1, timeout=10)
    record = json.loads(msg["Body"])
    poison_calls = [e for e, _ in recorder.CALLS[fn["FunctionName"]]
                    if any("poison" in r["dynamodb"]["NewImage"] for r in e["Records"])]
    poison_seq = next(r["dynamodb"]["SequenceNumber"] for r in poison_calls[-1]["Records"])
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poison_seq
    assert info["streamArn"] == stream_arn and info["shardId"].startswith("shardId-")
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2  # first try + 1 retry of the single record
    assert record["requestContext"]["functionArn"] == fn["FunctionArn"]
    # every other record was delivered in a successful batch
    def delivered_ok() -> set:
        return {(r["dynamodb"]["Keys"]["pk"]["S"], r["dynamodb"]["NewImage"]["n"]["N"])
                for e, _ in recorder.CALLS[fn["FunctionName"]]
                if not any("poison" in r["dynamodb"]["NewImage"] for r in e["Records"]) for r in e["Records"]}

    ok = wait_for(lambda: len(delivered_ok()) == 15 and delivered_ok())
    assert ("MSG#5", "0") not in ok
    # batches: 8 (fails) → 4 + 4, 4 with poison → 2 + 2 → 1 + 1, single poison retried once
    sizes = [len(e["Records"]) for e, _ in recorder.CALLS[fn["FunctionName"]]]
    assert sizes[:1] == [8] and sizes.count(1) >= 3


def test_report_batch_item_failures_retries_from_first_failure(aws, plane_factory):
    fn, table, _, _ = _stream_setup(aws, factor=1, batch=10, FunctionResponseTypes=["ReportBatchItemFailures"],
                                    MaximumRetryAttempts=5)
    failed_once: set[str] = set()

    def fail_fourth_once(event, ctx):
        recs = event["Records"]
        if len(recs) >= 4 and recs[3]["dynamodb"]["SequenceNumber"] not in failed_once:
            failed_once.add(recs[3]["dynamodb"]["SequenceNumber"])
            return {"batchItemFailures": [{"itemIdentifier": recs[3]["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    recorder.BEHAVIOUR[fn["FunctionName"]] = fail_fourth_once
    for n in range(10):
        aws("dynamodb").put_item(TableName=table, Item={"pk": {"S": "k"}, "sk": {"S": f"{n:02d}"},
                                                        "n": {"N": str(n)}})
    plane_factory().start()
    wait_for(lambda: len(recorder.CALLS[fn["FunctionName"]]) >= 2)
    batches = [[int(r["dynamodb"]["NewImage"]["n"]["N"]) for r in e["Records"]]
               for e, _ in recorder.CALLS[fn["FunctionName"]]]
    assert batches[0] == list(range(10))
    assert batches[1] == list(range(3, 10))  # records 0-2 are checkpointed, the retry starts at the failure


def test_factor_update_takes_effect_live(aws, plane_factory):
    fn, table, _, mapping = _stream_setup(aws, factor=1, batch=2)
    recorder.BEHAVIOUR[fn["FunctionName"]] = _slow
    plane = plane_factory().start()
    _put_events(aws, table, per_key=1)
    wait_for(lambda: len(_seen(fn["FunctionName"])) == 8)
    assert recorder.MAX_ACTIVE[fn["FunctionName"]] == 1

    aws("lambda").update_event_source_mapping(UUID=mapping["UUID"], ParallelizationFactor=4)
    wait_for(lambda: plane.runner(mapping["UUID"]).shards[0].factor == 4, timeout=3)
    _put_events(aws, table, per_key=4)
    wait_for(lambda: len(_seen(fn["FunctionName"])) == 40, timeout=15)
    assert recorder.MAX_ACTIVE[fn["FunctionName"]] > 1
    _assert_order_per_key(_seen(fn["FunctionName"]))


def test_iterator_age_and_invocations_published_to_cloudwatch(aws, plane_factory):
    fn, table, _, _ = _stream_setup(aws, factor=1, batch=10)
    _put_events(aws, table, per_key=1)
    time.sleep(0.3)  # the records are at least this old when the batch runs
    plane = plane_factory().start()
    wait_for(lambda: len(_seen(fn["FunctionName"])) == 8)
    plane.stop()  # flushes the last metrics

    cw = aws("cloudwatch")
    now = datetime.now(timezone.utc)

    def stat(metric: str, statistic: str) -> float:
        points = cw.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName=metric, Dimensions=[{"Name": "FunctionName", "Value": fn["FunctionName"]}],
            StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=5), Period=60,
            Statistics=[statistic])["Datapoints"]
        return sum(p[statistic] for p in points) if statistic == "Sum" else max(p[statistic] for p in points)

    assert stat("Invocations", "Sum") == len(recorder.CALLS[fn["FunctionName"]])
    assert stat("IteratorAge", "Maximum") >= 300
    assert stat("Duration", "Maximum") >= 0
    assert stat("ConcurrentExecutions", "Maximum") == 1
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/Lambda")["Metrics"]}
    assert {"Invocations", "IteratorAge", "Duration", "ConcurrentExecutions"} <= names


def test_records_older_than_maximum_age_skip_handler_and_go_to_dlq(aws, plane_factory):
    dlq_url, dlq_arn = aws.queue("stream-dlq")
    fn, table, stream_arn, _ = _stream_setup(aws, factor=1, batch=10, MaximumRecordAgeInSeconds=60,
                                             DestinationConfig={"OnFailure": {"Destination": dlq_arn}})
    _put_events(aws, table, per_key=1)
    # the data plane's clock runs two minutes ahead: every record is older than 60 s
    plane_factory(clock=lambda: time.time() + 120).start()

    [msg] = aws.drain(dlq_url, 1, timeout=10)
    record = json.loads(msg["Body"])
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["DDBStreamBatchInfo"]["batchSize"] == 8
    assert recorder.CALLS[fn["FunctionName"]] == []
