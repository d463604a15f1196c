"""The SQS message-move API on the emulator, through real boto3 calls."""
from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from botocore.exceptions import ClientError

from relay.local.emulator import Emulator


@pytest.fixture(scope="module")
def emu():
    with Emulator(port=0) as e:
        yield e


@pytest.fixture(scope="module")
def sqs(emu):
    return emu.client("sqs")


def _arn(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _pair(sqs, max_receive: int = 1):
    """A source queue whose redrive policy targets a DLQ; returns (src_url, src_arn, dlq_url, dlq_arn)."""
    uid = uuid.uuid4().hex[:8]
    dlq = sqs.create_queue(QueueName=f"dlq-{uid}")["QueueUrl"]
    dlq_arn = _arn(sqs, dlq)
    src = sqs.create_queue(QueueName=f"src-{uid}", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)})})["QueueUrl"]
    return src, _arn(sqs, src), dlq, dlq_arn


def _dead_letter(sqs, src: str, n: int, attrs: bool = False) -> None:
    """Send n messages to src and let SQS's own redrive (maxReceiveCount 1) move them to the DLQ."""
    for i in range(n):
        kw = {"MessageAttributes": {"kind": {"DataType": "String", "StringValue": f"k{i}"}}} if attrs else {}
        sqs.send_message(QueueUrl=src, MessageBody=f"m-{i}", **kw)
    got = 0
    while got < n:
        got += len(sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []))
    # the next receive finds them over maxReceiveCount and moves them to the DLQ
    assert sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10).get("Messages") is None


def _drain(sqs, url: str) -> list[dict]:
    out = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                   VisibilityTimeout=30).get("Messages", [])
        if not msgs:
            return out
        out.extend(msgs)


def _wait_status(sqs, dlq_arn: str, statuses: set[str], timeout: float = 20.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        res = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        if res and res[0]["Status"] in statuses:
            return res[0]
        time.sleep(0.05)
    raise AssertionError(f"no task reached {statuses}: {res}")


def _code(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def test_move_without_destination_returns_messages_to_source_queue(sqs):
    src, src_arn, dlq, dlq_arn = _pair(sqs)
    _dead_letter(sqs, src, 5, attrs=True)

    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    done = _wait_status(sqs, dlq_arn, {"COMPLETED", "FAILED"})

    assert handle and done["Status"] == "COMPLETED"
    assert done["ApproximateNumberOfMessagesMoved"] == 5 and done["ApproximateNumberOfMessagesToMove"] == 5
    assert done["SourceArn"] == dlq_arn and "TaskHandle" not in done and "DestinationArn" not in done
    back = _drain(sqs, src)
    assert sorted(m["Body"] for m in back) == [f"m-{i}" for i in range(5)]
    assert sorted(m["MessageAttributes"]["kind"]["StringValue"] for m in back) == [f"k{i}" for i in range(5)]
    assert _drain(sqs, dlq) == []


def test_move_to_destination_arn_sends_there_and_reports_it(sqs):
    src, _, dlq, dlq_arn = _pair(sqs)
    other = sqs.create_queue(QueueName=f"other-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    other_arn = _arn(sqs, other)
    _dead_letter(sqs, src, 3)

    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=other_arn, MaxNumberOfMessagesPerSecond=100)
    done = _wait_status(sqs, dlq_arn, {"COMPLETED", "FAILED"})

    assert done["Status"] == "COMPLETED" and done["DestinationArn"] == other_arn
    assert done["MaxNumberOfMessagesPerSecond"] == 100
    assert len(_drain(sqs, other)) == 3 and _drain(sqs, src) == []


def test_move_from_queue_that_is_not_a_dlq_fails_with_invalid_parameter_value(sqs):
    src, src_arn, _, _ = _pair(sqs)
    with pytest.raises(ClientError) as exc:
        sqs.start_message_move_task(SourceArn=src_arn)
    assert _code(exc) == ("InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.")


def test_move_from_missing_queue_fails_with_resource_not_found(sqs):
    with pytest.raises(ClientError) as exc:
        sqs.start_message_move_task(SourceArn="arn:aws:sqs:us-east-1:123456789012:no-such-queue")
    assert _code(exc) == ("ResourceNotFoundException",
                          "The resource that you specified for the SourceArn parameter doesn't exist.")


@pytest.mark.parametrize("rate", [0, 501])
def test_move_with_rate_outside_1_to_500_fails_with_invalid_parameter_value(sqs, rate):
    _, _, _, dlq_arn = _pair(sqs)
    with pytest.raises(ClientError) as exc:
        sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=rate)
    code, message = _code(exc)
    assert code == "InvalidParameterValue"
    assert message == (f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. "
                       "Reason: You must enter a number that's between 1 and 500.")


def test_second_task_on_same_source_fails_while_first_runs(sqs):
    src, _, _, dlq_arn = _pair(sqs)
    _dead_letter(sqs, src, 10)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=2)["TaskHandle"]
    try:
        with pytest.raises(ClientError) as exc:
            sqs.start_message_move_task(SourceArn=dlq_arn)
        assert _code(exc) == ("InvalidParameterValue", "There is already a task running. Only one active task "
                                                       "is allowed for a source queue arn at a given time.")
        running = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
        assert running["Status"] == "RUNNING" and running["TaskHandle"] == handle
    finally:
        sqs.cancel_message_move_task(TaskHandle=handle)


def test_cancel_halfway_loses_no_message(sqs):
    src, _, dlq, dlq_arn = _pair(sqs)
    _dead_letter(sqs, src, 30)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=20)["TaskHandle"]
    deadline = time.time() + 10
    while sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]["ApproximateNumberOfMessagesMoved"] < 10:
        assert time.time() < deadline, "move made no progress"
        time.sleep(0.05)

    moved_at_cancel = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    final = _wait_status(sqs, dlq_arn, {"CANCELLED"})

    assert 10 <= moved_at_cancel < 30
    in_src, in_dlq = _drain(sqs, src), _drain(sqs, dlq)
    assert len(in_src) == final["ApproximateNumberOfMessagesMoved"] < 30
    assert sorted(m["Body"] for m in in_src + in_dlq) == sorted(f"m-{i}" for i in range(30))


def test_rate_limit_paces_the_move(sqs):
    src, _, _, dlq_arn = _pair(sqs)
    _dead_letter(sqs, src, 12)
    t0 = time.monotonic()
    sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=10)
    _wait_status(sqs, dlq_arn, {"COMPLETED"})
    elapsed = time.monotonic() - t0
    # 12 messages at 10/s: the 12th may leave at 1.1 s, not before
    assert 1.0 <= elapsed < 5.0


def test_cancel_unknown_handle_fails_with_resource_not_found(sqs):
    with pytest.raises(ClientError) as exc:
        sqs.cancel_message_move_task(TaskHandle="bm90LWEtaGFuZGxl")
    assert _code(exc) == ("ResourceNotFoundException", "Task does not exist.")


def test_list_returns_newest_first_up_to_max_results(sqs):
    src, _, _, dlq_arn = _pair(sqs)
    for _ in range(2):
        _dead_letter(sqs, src, 1)
        sqs.start_message_move_task(SourceArn=dlq_arn)
        _wait_status(sqs, dlq_arn, {"COMPLETED"})
    assert len(sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]) == 1
    both = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    assert [r["Status"] for r in both] == ["COMPLETED", "COMPLETED"]
    assert both[0]["StartedTimestamp"] >= both[1]["StartedTimestamp"]
    with pytest.raises(ClientError) as exc:
        sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=11)
    assert _code(exc)[0] == "InvalidParameterValue"


def test_query_protocol_start_and_list_answer_xml(emu, sqs):
    src, _, _, dlq_arn = _pair(sqs)
    _dead_letter(sqs, src, 2)
    r = requests.post(emu.endpoint_url + "/", data={"Action": "StartMessageMoveTask", "SourceArn": dlq_arn,
                                                    "Version": "2012-11-05"}, timeout=10)
    assert r.status_code == 200 and "<TaskHandle>" in r.text
    _wait_status(sqs, dlq_arn, {"COMPLETED"})
    r = requests.post(emu.endpoint_url + "/", data={"Action": "ListMessageMoveTasks", "SourceArn": dlq_arn}, timeout=10)
    assert "<Status>COMPLETED</Status>" in r.text and "<ApproximateNumberOfMessagesMoved>2<" in r.text
    bad = requests.post(emu.endpoint_url + "/", data={"Action": "StartMessageMoveTask",
                                                      "SourceArn": _arn(sqs, src)}, timeout=10)
    assert bad.status_code == 400 and "<Code>InvalidParameterValue</Code>" in bad.text
    # other query-protocol traffic still reaches moto
    assert sqs.get_queue_url(QueueName=src.rsplit("/", 1)[1])["QueueUrl"].endswith(src.rsplit("/", 1)[1])


def test_destination_deleted_midway_fails_task_and_keeps_the_rest_in_dlq(sqs):
    src, _, dlq, dlq_arn = _pair(sqs)
    dest = sqs.create_queue(QueueName=f"dest-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    _dead_letter(sqs, src, 10)
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=_arn(sqs, dest), MaxNumberOfMessagesPerSecond=10)
    deadline = time.time() + 10
    while sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]["ApproximateNumberOfMessagesMoved"] < 2:
        assert time.time() < deadline, "move made no progress"
        time.sleep(0.02)

    sqs.delete_queue(QueueUrl=dest)
    failed = _wait_status(sqs, dlq_arn, {"FAILED", "COMPLETED"})

    assert failed["Status"] == "FAILED"
    assert failed["FailureReason"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert len(_drain(sqs, dlq)) == 10 - failed["ApproximateNumberOfMessagesMoved"]
