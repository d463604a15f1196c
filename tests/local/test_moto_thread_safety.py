"""moto under the local stage's threads keeps AWS's atomicity: a conditional write and a receive each happen
once, however many threads race for them (relay/local/moto_thread_safety.py)."""
from __future__ import annotations

import sys
import threading
import uuid
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from relay.local.emulator import Emulator

THREADS = 8
KEYS = 60


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(port=0) as e:
        yield e


@pytest.fixture
def busy_switching() -> Iterator[None]:
    # switch threads as often as the interpreter can, so a check-then-write gap is hit if there is one
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _race(fn: Any, n: int) -> list[Any]:
    start = threading.Barrier(n)
    out: list[Any] = [None] * n

    def run(i: int) -> None:
        start.wait()
        try:
            out[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - reported by the caller, with the others' answers
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_a_conditional_put_succeeds_for_exactly_one_of_racing_writers(emu: Emulator, busy_switching: None) -> None:
    ddb = emu.client("dynamodb")
    table = f"claims-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    double = []
    for k in range(KEYS):
        def claim(i: int) -> bool:
            try:
                ddb.put_item(TableName=table, Item={"pk": {"S": f"msg-{k}"}, "by": {"S": str(i)}},
                             ConditionExpression="attribute_not_exists(pk)")
                return True
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
                return False

        answers = _race(claim, THREADS)
        assert not [a for a in answers if isinstance(a, Exception)], answers
        wins = sum(answers)
        if wins != 1:
            double.append((k, wins))
    assert not double, f"keys claimed by more than one writer (key, winners): {double}"


def test_a_message_is_received_by_exactly_one_of_racing_receivers(emu: Emulator, busy_switching: None) -> None:
    sqs = emu.client("sqs")
    url = sqs.create_queue(QueueName=f"race-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    twice = []
    for k in range(KEYS):
        sqs.send_message(QueueUrl=url, MessageBody=f"job-{k}")

        def receive(_: int) -> list[str]:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=30).get("Messages", [])
            return [m["Body"] for m in got]

        answers = _race(receive, THREADS)
        bodies = [b for got in answers if isinstance(got, list) for b in got]
        errors = [repr(a) for a in answers if isinstance(a, Exception)]
        if len(bodies) != 1 or errors:
            twice.append((k, bodies, errors[:1]))
    assert not twice, f"a message received by more than one receiver: {twice}"
