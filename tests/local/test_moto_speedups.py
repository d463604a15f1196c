"""moto with relay's speed-ups answers exactly as before: SQS counts, receipt handles, errors; DynamoDB conditions."""
from __future__ import annotations

import time
import uuid
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from relay.local.emulator import Emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(port=0) as emu:
        yield emu


@pytest.fixture(scope="module")
def sqs(emulator: Emulator) -> Any:
    return emulator.client("sqs")


def _queue(sqs: Any) -> str:
    return sqs.create_queue(QueueName=f"speed-{uuid.uuid4().hex[:8]}")["QueueUrl"]


def _counts(sqs: Any, url: str) -> tuple[int, int, int]:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"]),
            int(a["ApproximateNumberOfMessagesDelayed"]))


def test_counts_split_visible_in_flight_and_delayed(sqs: Any) -> None:
    url = _queue(sqs)
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)["Messages"]
    assert len(got) == 2
    assert _counts(sqs, url) == (3, 2, 1)


def test_old_receipt_handle_still_deletes_and_a_deleted_one_is_harmless(sqs: Any) -> None:
    url = _queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="once")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0]["ReceiptHandle"]
    time.sleep(1.1)
    second = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"][0]["ReceiptHandle"]
    assert first != second
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first)  # moto (like SQS here) accepts an older handle
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second)  # already deleted: no error
    assert _counts(sqs, url) == (0, 0, 0)


def test_handle_of_another_queue_is_invalid_for_visibility_and_delete(sqs: Any) -> None:
    a, b = _queue(sqs), _queue(sqs)
    sqs.send_message(QueueUrl=a, MessageBody="in a")
    handle = sqs.receive_message(QueueUrl=a, VisibilityTimeout=60)["Messages"][0]["ReceiptHandle"]
    with pytest.raises(ClientError) as err:
        sqs.change_message_visibility(QueueUrl=b, ReceiptHandle=handle, VisibilityTimeout=0)
    assert "ReceiptHandleIsInvalid" in str(err.value)
    resp = sqs.delete_message_batch(QueueUrl=b, Entries=[{"Id": "0", "ReceiptHandle": handle}])
    assert resp["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    sqs.change_message_visibility(QueueUrl=a, ReceiptHandle=handle, VisibilityTimeout=0)
    assert _counts(sqs, a) == (1, 0, 0), "made visible again in its own queue"


def test_visibility_past_twelve_hours_is_refused_as_moto_does(sqs: Any) -> None:
    url = _queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="m")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"][0]["ReceiptHandle"]
    with pytest.raises(ClientError) as err:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=43_200 + 5)
    assert "InvalidParameterValue" in str(err.value)


def test_receive_through_thousands_is_fast_and_complete(sqs: Any) -> None:
    url = _queue(sqs)
    for i in range(0, 3000, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": f"{i + j}"} for j in range(10)])
    t0 = time.perf_counter()
    seen: set[str] = set()
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=120).get("Messages"):
        seen.update(m["Body"] for m in batch)
    assert seen == {str(i) for i in range(3000)}
    assert time.perf_counter() - t0 < 30, "O(queue) per call, not O(queue) per returned message"


@pytest.fixture(scope="module")
def ddb(emulator: Emulator) -> Any:
    from botocore.config import Config

    client = emulator.client("dynamodb", config=Config(retries={"max_attempts": 1}))  # a 500 is not retried
    client.create_table(TableName="lex-cache", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    return client


NEWER = "attribute_not_exists(pk) OR #v < :v"


def _put_if_newer(ddb: Any, version: int) -> bool:
    try:
        ddb.put_item(TableName="lex-cache", Item={"pk": {"S": "k"}, "v": {"N": str(version)}},
                     ConditionExpression=NEWER, ExpressionAttributeNames={"#v": "v"},
                     ExpressionAttributeValues={":v": {"N": str(version)}})
    except ddb.exceptions.ConditionalCheckFailedException:
        return False
    return True


def test_a_cached_condition_still_compares_each_call_s_own_values(ddb: Any) -> None:
    # the same expression text every time: its tokens come from the cache, the values must not
    outcomes = [_put_if_newer(ddb, v) for v in (5, 3, 5, 9, 8, 10)]
    assert outcomes == [True, False, False, True, False, True]
    item = ddb.get_item(TableName="lex-cache", Key={"pk": {"S": "k"}})["Item"]
    assert item["v"] == {"N": "10"}


def test_a_malformed_condition_is_refused_every_time(ddb: Any) -> None:
    # moto raises its parser's ValueError through the in-process transport and answers 500 over HTTP (which
    # one this process uses depends on what ran before it): what matters here is that the lexer's refusal is
    # not cached into an acceptance, and nothing is written
    for _ in range(2):
        with pytest.raises((ClientError, ValueError)):
            ddb.put_item(TableName="lex-cache", Item={"pk": {"S": "bad"}}, ConditionExpression="#v = :v $",
                         ExpressionAttributeNames={"#v": "v"}, ExpressionAttributeValues={":v": {"N": "1"}})
    assert "Item" not in ddb.get_item(TableName="lex-cache", Key={"pk": {"S": "bad"}})
