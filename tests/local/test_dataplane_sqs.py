"""SQS event source mappings: event shape, partial batch failures, poison messages to the DLQ via redrive."""
from __future__ import annotations

import hashlib
import time

from tests.local.handlers import recorder
from tests.local.handlers.fixtures import aws, emulator, plane_factory, wait_for  # noqa: F401 - fixtures


def _bodies(fn_name: str) -> list[str]:
    return [r["body"] for event, _ in recorder.CALLS[fn_name] for r in event["Records"]]


def test_sqs_batch_event_has_aws_record_shape(aws, plane_factory):
    fn = aws.function("job-worker")
    url, arn = aws.queue("jobs")
    aws("lambda").create_event_source_mapping(FunctionName=fn["FunctionName"], EventSourceArn=arn, BatchSize=10)
    plane_factory().start()
    aws("sqs").send_message(QueueUrl=url, MessageBody='{"v": 1}', MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "step"}})

    calls = wait_for(lambda: recorder.CALLS.get(fn["FunctionName"]))
    record = calls[0][0]["Records"][0]
    assert record["body"] == '{"v": 1}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["md5OfBody"] == hashlib.md5(b'{"v": 1}').hexdigest()
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert int(record["attributes"]["SentTimestamp"]) > 0
    assert record["messageAttributes"]["kind"] == {"stringValue": "step", "stringListValues": [],
                                                   "binaryListValues": [], "dataType": "String"}
    assert record["receiptHandle"] and record["messageId"]
    # success deletes the message
    wait_for(lambda: aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
        "ApproximateNumberOfMessagesNotVisible"] == "0")
    assert aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None


def test_partial_batch_failure_deletes_only_successes(aws, plane_factory):
    fn = aws.function("job-worker")
    url, arn = aws.queue("jobs", visibility=1)
    aws("lambda").create_event_source_mapping(FunctionName=fn["FunctionName"], EventSourceArn=arn, BatchSize=10,
                                              FunctionResponseTypes=["ReportBatchItemFailures"])

    def fail_bad(event, ctx):
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                      for r in event["Records"] if r["body"].startswith("bad")]}

    recorder.BEHAVIOUR[fn["FunctionName"]] = fail_bad
    aws("sqs").send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": body} for i, body in enumerate(["ok-1", "bad-1", "ok-2", "ok-3", "bad-2"])])
    plane_factory(sqs_pollers=1).start()

    # the failures come back after the 1 s visibility timeout; the successes never do
    wait_for(lambda: _bodies(fn["FunctionName"]).count("bad-1") >= 3, timeout=10)
    bodies = _bodies(fn["FunctionName"])
    assert sorted(b for b in bodies if b.startswith("ok")) == ["ok-1", "ok-2", "ok-3"]
    assert bodies.count("bad-2") >= 2
    counts = [r["attributes"]["ApproximateReceiveCount"] for e, _ in recorder.CALLS[fn["FunctionName"]]
              for r in e["Records"] if r["body"] == "bad-1"]
    assert counts[:3] == ["1", "2", "3"]


def test_raised_error_deletes_nothing_and_poison_reaches_dlq_after_max_receive_count(aws, plane_factory):
    fn = aws.function("job-worker")
    dlq_url, dlq_arn = aws.queue("job-dlq")
    url, arn = aws.queue("jobs", visibility=1, dlq_arn=dlq_arn, max_receive=3)
    aws("lambda").create_event_source_mapping(FunctionName=fn["FunctionName"], EventSourceArn=arn, BatchSize=10)

    def poison(event, ctx):
        raise RuntimeError("step failed")

    recorder.BEHAVIOUR[fn["FunctionName"]] = poison
    aws("sqs").send_message(QueueUrl=url, MessageBody='{"v": 1, "runId": "run_x", "step": 0}')
    plane_factory(sqs_pollers=1).start()

    [dead] = aws.drain(dlq_url, 1, timeout=15)
    assert dead["Body"] == '{"v": 1, "runId": "run_x", "step": 0}'
    time.sleep(1.2)  # one more visibility period: nothing else may arrive
    counts = [r["attributes"]["ApproximateReceiveCount"] for e, _ in recorder.CALLS[fn["FunctionName"]]
              for r in e["Records"]]
    assert counts == ["1", "2", "3"]


def test_batching_window_accumulates_messages_into_one_batch(aws, plane_factory):
    fn = aws.function("job-worker")
    url, arn = aws.queue("jobs")
    aws("lambda").create_event_source_mapping(FunctionName=fn["FunctionName"], EventSourceArn=arn, BatchSize=25,
                                              MaximumBatchingWindowInSeconds=1)
    plane_factory(sqs_pollers=1).start()
    for chunk in range(3):
        aws("sqs").send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": f"m-{chunk}-{i}"} for i in range(5)])
        time.sleep(0.2)
    wait_for(lambda: len(_bodies(fn["FunctionName"])) == 15, timeout=8)
    sizes = [len(e["Records"]) for e, _ in recorder.CALLS[fn["FunctionName"]]]
    assert sizes == [15]


def test_disabled_mapping_stops_polling_live(aws, plane_factory):
    fn = aws.function("job-worker")
    url, arn = aws.queue("jobs")
    esm = aws("lambda").create_event_source_mapping(FunctionName=fn["FunctionName"], EventSourceArn=arn)
    plane = plane_factory()
    plane.start()
    aws("lambda").update_event_source_mapping(UUID=esm["UUID"], Enabled=False)
    runner = plane.runner(esm["UUID"])
    # the watcher sees the change within its poll interval; pollers finish their current long poll
    wait_for(lambda: not runner.mapping.enabled and runner.receiving == 0, timeout=5)
    aws("sqs").send_message(QueueUrl=url, MessageBody="while disabled")
    time.sleep(1.0)
    assert _bodies(fn["FunctionName"]) == []
    aws("lambda").update_event_source_mapping(UUID=esm["UUID"], Enabled=True)
    wait_for(lambda: _bodies(fn["FunctionName"]) == ["while disabled"], timeout=5)


def test_stop_finishes_in_flight_batch_deletes_it_and_joins_threads(aws, plane_factory):
    import threading

    fn = aws.function("job-worker")
    url, arn = aws.queue("jobs", visibility=30)
    aws("lambda").create_event_source_mapping(FunctionName=fn["FunctionName"], EventSourceArn=arn)
    entered = threading.Event()

    def slow(event, ctx):
        entered.set()
        time.sleep(0.5)

    recorder.BEHAVIOUR[fn["FunctionName"]] = slow
    before = {t.ident for t in threading.enumerate()}
    plane = plane_factory(sqs_pollers=2)
    plane.start()
    aws("sqs").send_message(QueueUrl=url, MessageBody="in flight at stop")
    assert entered.wait(5)

    started = time.monotonic()
    plane.stop(timeout=5)
    assert time.monotonic() - started < 5
    assert plane.invoker.in_flight() == 0
    # the batch finished and was deleted: nothing comes back even after the visibility timeout
    attrs = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()
                and t.name.startswith(("sqs-", "dataplane-", "async-", "lane-", "stream-"))]
    assert leftover == []
