"""S3 notifications → asynchronous invoke: URL-encoded keys, context, environment, retries, on-failure."""
from __future__ import annotations

import json
import os
from urllib.parse import unquote_plus

from tests.local.handlers import recorder
from tests.local.handlers.fixtures import TEST_ENV, aws, emulator, plane_factory, wait_for  # noqa: F401 - fixtures

KEY = "send/a b+ü.json"


def _bucket_to_function(aws, fn_arn: str) -> str:
    bucket = aws.name("requests")
    aws("s3").create_bucket(Bucket=bucket)
    aws("s3").put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": fn_arn, "Events": ["s3:ObjectCreated:*"],
                                          "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "send/"}]}}}]})
    return bucket


def test_s3_object_created_invokes_handler_with_url_encoded_key(aws, plane_factory):
    fn = aws.function("send-worker", memory=384, timeout=7)
    bucket = _bucket_to_function(aws, fn["FunctionArn"])
    seen_env = {}
    recorder.BEHAVIOUR[fn["FunctionName"]] = lambda event, ctx: seen_env.update(
        setting=os.environ.get("RELAY_TEST_SETTING"), endpoint=os.environ.get("AWS_ENDPOINT_URL"))
    plane = plane_factory().start()
    assert fn["FunctionArn"] in plane.registry.snapshot().s3_targets

    aws("s3").put_object(Bucket=bucket, Key=KEY, Body=b"{}")

    calls = wait_for(lambda: recorder.CALLS.get(fn["FunctionName"]))
    event, ctx = calls[0]
    record = event["Records"][0]
    assert record["eventSource"] == "aws:s3"
    assert record["s3"]["bucket"]["name"] == bucket
    assert record["s3"]["object"]["key"] == "send/a+b%2B%C3%BC.json"
    assert unquote_plus(record["s3"]["object"]["key"]) == KEY
    assert ctx.function_name == fn["FunctionName"]
    assert ctx.invoked_function_arn == fn["FunctionArn"]
    assert ctx.memory_limit_in_mb == 384
    assert ctx.log_group_name == f"/aws/lambda/{fn['FunctionName']}"
    assert 0 < ctx.get_remaining_time_in_millis() <= 7000
    assert seen_env == {"setting": TEST_ENV["RELAY_TEST_SETTING"], "endpoint": aws.endpoint_url}


def test_s3_event_failing_handler_retried_twice_then_on_failure_record_in_dlq(aws, plane_factory):
    fn = aws.function("request-worker")
    dlq_url, dlq_arn = aws.queue("async-dlq")
    aws("lambda").put_function_event_invoke_config(
        FunctionName=fn["FunctionName"], DestinationConfig={"OnFailure": {"Destination": dlq_arn}})
    bucket = _bucket_to_function(aws, fn["FunctionArn"])

    def boom(event, ctx):
        raise ValueError("template missing")

    recorder.BEHAVIOUR[fn["FunctionName"]] = boom
    plane = plane_factory().start()
    aws("s3").put_object(Bucket=bucket, Key="send/req_1.json", Body=b"{}")

    [msg] = aws.drain(dlq_url, 1)
    record = json.loads(msg["Body"])
    assert len(recorder.CALLS[fn["FunctionName"]]) == 3  # first attempt + 2 retries
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].startswith(fn["FunctionArn"])
    assert record["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "send/req_1.json"
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"] == {"errorMessage": "template missing", "errorType": "ValueError"}
    plane.stop()  # flushes the metrics
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    points = aws("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="Errors", Dimensions=[{"Name": "FunctionName", "Value": fn["FunctionName"]}],
        StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=5), Period=60, Statistics=["Sum"])
    assert sum(p["Sum"] for p in points["Datapoints"]) == 3


def test_maximum_retry_attempts_zero_sends_after_one_attempt(aws, plane_factory):
    fn = aws.function("send-worker")
    dlq_url, dlq_arn = aws.queue("async-dlq")
    aws("lambda").put_function_event_invoke_config(
        FunctionName=fn["FunctionName"], MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}})
    recorder.BEHAVIOUR[fn["FunctionName"]] = lambda e, c: 1 / 0
    plane = plane_factory().start()

    plane.invoke_async(fn["FunctionName"], {"hello": "world"})

    [msg] = aws.drain(dlq_url, 1)
    record = json.loads(msg["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestPayload"] == {"hello": "world"}
    assert record["responsePayload"]["errorType"] == "ZeroDivisionError"
    assert len(recorder.CALLS[fn["FunctionName"]]) == 1
