"""The emulator: moto server on loopback whose own Lambda triggers are taken over."""
from __future__ import annotations

import io
import json
import time
import uuid
import zipfile

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from relay.local.emulator import Emulator


@pytest.fixture(scope="module")
def emu():
    with Emulator(port=0) as e:
        yield e


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
    return buf.getvalue()


def _function(emu: Emulator, name: str) -> str:
    iam = emu.client("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    fn = emu.client("lambda").create_function(FunctionName=name, Runtime="python3.11", Role=role,
                                             Handler="handler.lambda_handler", Code={"ZipFile": _zip()})
    return fn["FunctionArn"]


def test_start_on_port_zero_serves_boto3_on_loopback():
    with Emulator(port=0) as e:
        url = e.endpoint_url
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        e.client("sqs").create_queue(QueueName=f"q-{_uid()}")
        assert any("q-" in u for u in e.client("sqs").list_queues()["QueueUrls"])
    with pytest.raises(EndpointConnectionError):
        boto3.client("sqs", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").list_queues()


def test_endpoint_url_before_start_raises_runtime_error():
    with pytest.raises(RuntimeError, match="not started"):
        Emulator().endpoint_url


def test_s3_notification_to_lambda_calls_callback_with_aws_event(emu):
    name = f"fn-{_uid()}"
    fn_arn = _function(emu, name)
    bucket = f"b-{_uid()}"
    s3 = emu.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{
            "Id": "send", "LambdaFunctionArn": fn_arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "send/"}]}}}]})
    seen: list[tuple[str, dict]] = []
    emu.on_s3_notification(lambda arn, event: seen.append((arn, event)))

    s3.put_object(Bucket=bucket, Key="send/a b+c.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="other/x.json", Body=b"{}")  # outside the prefix: no event

    mine = [(a, e) for a, e in seen if e["Records"][0]["s3"]["bucket"]["name"] == bucket]
    assert len(mine) == 1
    arn, event = mine[0]
    assert arn == fn_arn
    rec = event["Records"][0]
    assert rec["eventSource"] == "aws:s3" and rec["eventName"] == "ObjectCreated:Put"
    assert rec["s3"]["object"]["key"] == "send/a+b%2Bc.json"  # URL-encoded, as AWS sends it
    assert rec["s3"]["object"]["size"] == 2
    assert rec["s3"]["configurationId"] == "send"
    assert rec["s3"]["object"]["sequencer"] and rec["userIdentity"]["principalId"]


def test_sqs_event_source_mapping_does_not_consume_messages(emu):
    name = f"fn-{_uid()}"
    fn_arn = _function(emu, name)
    sqs = emu.client("sqs")
    dlq = sqs.create_queue(QueueName=f"dlq-{_uid()}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    q = sqs.create_queue(QueueName=f"jobs-{_uid()}", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})})["QueueUrl"]
    q_arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    esm = emu.client("lambda").create_event_source_mapping(EventSourceArn=q_arn, FunctionName=fn_arn, BatchSize=5)

    for i in range(3):
        sqs.send_message(QueueUrl=q, MessageBody=f"job-{i}")

    got = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"])
    bodies = sorted(m["Body"] for m in got["Messages"])
    assert bodies == ["job-0", "job-1", "job-2"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in got["Messages"]} == {"1"}
    assert sqs.receive_message(QueueUrl=dlq).get("Messages") is None
    # the mapping is still real: listed, with its settings, and updatable
    lam = emu.client("lambda")
    assert lam.get_event_source_mapping(UUID=esm["UUID"])["BatchSize"] == 5
    lam.update_event_source_mapping(UUID=esm["UUID"], BatchSize=7)
    assert lam.get_event_source_mapping(UUID=esm["UUID"])["BatchSize"] == 7


def test_dynamodb_stream_mapping_does_not_empty_the_shard(emu):
    fn_arn = _function(emu, f"fn-{_uid()}")
    ddb = emu.client("dynamodb")
    table = f"t-{_uid()}"
    desc = ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST",
                            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    stream_arn = desc["TableDescription"]["LatestStreamArn"]
    emu.client("lambda").create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=fn_arn,
                                                    StartingPosition="TRIM_HORIZON", BatchSize=10,
                                                    ParallelizationFactor=4)
    for i in range(3):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}})

    streams = emu.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=it)["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["k0", "k1", "k2"]


def test_cloudwatch_accepts_aws_lambda_namespace(emu):
    cw = emu.client("cloudwatch")
    fn = f"fn-{_uid()}"
    cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "IteratorAge", "Value": 1234.0, "Unit": "Milliseconds",
         "Dimensions": [{"Name": "FunctionName", "Value": fn}]}])
    now = time.time()
    stats = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="IteratorAge",
                                     Dimensions=[{"Name": "FunctionName", "Value": fn}],
                                     StartTime=now - 300, EndTime=now + 60, Period=60, Statistics=["Maximum"])
    assert [p["Maximum"] for p in stats["Datapoints"]] == [1234.0]


def test_two_starts_and_stops_are_idempotent():
    e = Emulator(port=0)
    url = e.start()
    assert e.start() == url and e.running
    e.stop()
    e.stop()
    assert not e.running


def _stream_mapping(emu: Emulator) -> str:
    fn_arn = _function(emu, f"fn-{_uid()}")
    desc = emu.client("dynamodb").create_table(
        TableName=f"t-{_uid()}", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    return emu.client("lambda").create_event_source_mapping(
        EventSourceArn=desc["TableDescription"]["LatestStreamArn"], FunctionName=fn_arn,
        StartingPosition="TRIM_HORIZON", ParallelizationFactor=1)["UUID"]


def test_update_parallelization_factor_within_1_to_10_takes(emu):
    uuid_ = _stream_mapping(emu)
    emu.client("lambda").update_event_source_mapping(UUID=uuid_, ParallelizationFactor=10)
    assert emu.client("lambda").get_event_source_mapping(UUID=uuid_)["ParallelizationFactor"] == 10


@pytest.mark.parametrize("factor,bound", [(11, "less than or equal to 10"), (0, "greater than or equal to 1")])
def test_update_parallelization_factor_outside_1_to_10_fails_with_validation_exception(emu, factor, bound):
    # botocore would refuse 0 before sending (its model has min 1); the AWS CLI or curl would not
    lam = emu.client("lambda", config=Config(parameter_validation=False))
    uuid_ = _stream_mapping(emu)
    with pytest.raises(lam.exceptions.ClientError) as exc:
        lam.update_event_source_mapping(UUID=uuid_, ParallelizationFactor=factor)
    err = exc.value.response["Error"]
    assert err["Code"] == "ValidationException"
    assert err["Message"] == (f"1 validation error detected: Value '{factor}' at 'parallelizationFactor' "
                              f"failed to satisfy constraint: Member must have value {bound}")
    assert lam.get_event_source_mapping(UUID=uuid_)["ParallelizationFactor"] == 1


def test_parallelization_factor_on_sqs_mapping_fails_with_invalid_parameter(emu):
    lam, sqs = emu.client("lambda"), emu.client("sqs")
    url = sqs.create_queue(QueueName=f"q-{_uid()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    fn_arn = _function(emu, f"fn-{_uid()}")
    with pytest.raises(lam.exceptions.ClientError) as exc:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn_arn, ParallelizationFactor=2)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "ParallelizationFactor" in exc.value.response["Error"]["Message"]
    esm = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn_arn, BatchSize=10)
    with pytest.raises(lam.exceptions.ClientError) as exc:
        lam.update_event_source_mapping(UUID=esm["UUID"], BatchSize=50)  # > 10 needs a batching window
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert exc.value.response["Error"]["Message"] == ("Maximum batch window in seconds must be greater than 0 "
                                                      "if maximum batch size is greater than 10")
    lam.update_event_source_mapping(UUID=esm["UUID"], BatchSize=50, MaximumBatchingWindowInSeconds=1)
    assert lam.get_event_source_mapping(UUID=esm["UUID"])["BatchSize"] == 50


def test_reset_forgets_resources_and_keeps_the_takeover(emu):
    sqs = emu.client("sqs")
    name = f"gone-{_uid()}"
    sqs.create_queue(QueueName=name)
    emu.reset()
    assert all(name not in u for u in sqs.list_queues().get("QueueUrls", []))
    test_sqs_event_source_mapping_does_not_consume_messages(emu)


def test_lambda_invoke_goes_to_the_registered_handler(emu):
    from relay.local.dataplane.invoker import FunctionError

    fn_arn = _function(emu, f"fn-{_uid()}")
    calls: list[tuple[str, dict, str]] = []

    def handler(arn: str, event: dict, invocation_type: str):
        calls.append((arn, event, invocation_type))
        if event.get("fail"):
            raise FunctionError("boom", "ValueError")
        return {"echo": event}

    emu.on_lambda_invoke(handler)
    lam = emu.client("lambda")
    sync = lam.invoke(FunctionName=fn_arn, Payload=json.dumps({"a": 1}))
    queued = lam.invoke(FunctionName=fn_arn, InvocationType="Event", Payload=json.dumps({"b": 2}))
    failed = lam.invoke(FunctionName=fn_arn, Payload=json.dumps({"fail": True}))

    assert json.loads(sync["Payload"].read()) == {"echo": {"a": 1}} and "FunctionError" not in sync
    assert queued["StatusCode"] == 202
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read()) == {"errorMessage": "boom", "errorType": "ValueError"}
    assert calls == [(fn_arn, {"a": 1}, "RequestResponse"), (fn_arn, {"b": 2}, "Event"),
                     (fn_arn, {"fail": True}, "RequestResponse")]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="no-such-function", Payload=b"{}")


def test_sqs_delete_waits_for_the_queue_lock_held_by_a_sender(emu):
    # moto rebuilds the message list on delete; without the queue lock a concurrent send can be lost
    import threading

    from moto.sqs.models import sqs_backends

    sqs = emu.client("sqs")
    name = f"lock-{_uid()}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    queue = sqs_backends["123456789012"]["us-east-1"].queues[name]
    deleted = threading.Event()
    with queue._messages_lock:  # what add_message holds while it appends
        t = threading.Thread(target=lambda: (sqs.delete_message(QueueUrl=url, ReceiptHandle=handle), deleted.set()))
        t.start()
        assert not deleted.wait(0.5)
    assert deleted.wait(10)
    t.join()
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
