"""A handler's own worker threads (functions.shared.concurrency) stay inside its invocation's sandbox."""
from __future__ import annotations

import threading

import pytest

from functions.shared.concurrency import run_all
from relay.local.dataplane import sandbox as sb
from tests.local.handlers.fixtures import aws, emulator  # noqa: F401 - fixtures


def test_worker_threads_see_the_invocations_sandbox():
    box = sb.Sandbox("log-indexer req-1")
    seen = sb.run_in(box, lambda: [r.value for r in run_all(lambda _: sb.current(), range(6), max_workers=3)])
    assert seen == [box] * 6
    assert sb.current() is None, "the sandbox does not leak past run_in"


def test_a_killed_sandbox_refuses_calls_from_worker_threads():
    box = sb.Sandbox("log-indexer req-2")
    box.kill("timed out")

    def call_starts(_: int) -> None:
        sb._before_send()  # noqa: SLF001 - the hook every botocore call passes first

    with pytest.raises(sb.SandboxKilled):
        sb.run_in(box, run_all, call_starts, range(4), 4)


def test_a_killed_invocations_pool_makes_no_aws_call(aws):
    # GIVEN a table, and an invocation whose sandbox is killed while its worker threads are about to write
    sb.install()
    ddb = aws("dynamodb")
    ddb.create_table(TableName=aws.name("views"), BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    import boto3

    client = boto3.session.Session().client("dynamodb", endpoint_url=aws.endpoint_url, region_name="us-east-1",
                                            aws_access_key_id="testing", aws_secret_access_key="testing")
    box = sb.Sandbox("log-indexer req-3")
    gate = threading.Event()

    def write(i: int) -> None:
        gate.wait(5)
        client.put_item(TableName=aws.name("views"), Item={"pk": {"S": f"k{i}"}})

    def invocation() -> None:
        with pytest.raises(sb.SandboxKilled):
            sb.run_in(box, run_all, write, range(8), 4)

    t = threading.Thread(target=invocation, name="invoke-test")
    t.start()
    # WHEN Lambda kills the sandbox (its timeout) before the writes go out
    box.kill("timed out")
    gate.set()
    t.join(10)
    # THEN none of the worker threads' writes reached the table
    assert ddb.scan(TableName=aws.name("views"))["Count"] == 0
