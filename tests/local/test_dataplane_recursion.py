"""Recursive loop detection: the data plane counts a chain through the SQS messages invocations send and stops
it past 16 invocations unless the function allows its loop (Lambda's FunctionRecursionConfig)."""
from __future__ import annotations

import json

import pytest

from relay.local.dataplane.recursion import MAX_CHAIN, SETTING_TAG, lineage_of, over_the_limit, with_lineage
from tests.local.handlers import recorder
from tests.local.handlers.fixtures import aws, emulator, plane_factory, wait_for  # noqa: F401 - fixtures


@pytest.mark.parametrize("header, count", [
    (None, 0), ("", 0), ("Root=1-abc;Sampled=0", 0), ("Root=1-abc;Lineage=a87bd80c:7", 7),
    ("Lineage=1:a87bd80c:12;Root=1-x", 12), ("Lineage=junk", 0),
])
def test_lineage_count_is_read_from_the_trace_header(header, count):
    assert lineage_of(header) == count


def test_lineage_is_set_keeping_the_other_trace_fields():
    header = with_lineage("Root=1-abc;Sampled=0;Lineage=x:3", 4)
    assert header.startswith("Root=1-abc;Sampled=0;Lineage=") and header.count("Lineage=") == 1
    assert lineage_of(header) == 4 and lineage_of(with_lineage(None, 1)) == 1


def test_only_a_terminate_function_is_stopped_and_only_past_16():
    assert [over_the_limit(n, "Terminate") for n in (1, 16, 17)] == [False, False, True]
    assert not over_the_limit(1_000, "Allow")


def _self_enqueuing(aws, url: str, fn_name: str, stop_at: int) -> None:
    """A function that sends the next message of a counter to the queue that invokes it (a job worker's loop)."""
    clients: list = []

    def loop(event, ctx):
        if not clients:  # made in the handler, as a handler makes its clients: after the data plane's hooks
            import boto3

            clients.append(boto3.session.Session().client(
                "sqs", endpoint_url=aws.endpoint_url, region_name="us-east-1", aws_access_key_id="testing",
                aws_secret_access_key="testing"))
        for record in event["Records"]:
            n = json.loads(record["body"])["n"]
            if n + 1 < stop_at:
                clients[0].send_message(QueueUrl=url, MessageBody=json.dumps({"n": n + 1}))

    recorder.BEHAVIOUR[fn_name] = loop


def _seen(fn_name: str) -> list[int]:
    return sorted(json.loads(r["body"])["n"] for event, _ in recorder.CALLS[fn_name] for r in event["Records"])


def _setup(aws, setting: str | None) -> tuple[str, str, str]:
    fn = aws.function("job-worker", timeout=30)  # a chain counts exactly only without timeouts on a loaded machine
    if setting is not None:
        aws("lambda").tag_resource(Resource=fn["FunctionArn"], Tags={SETTING_TAG: setting})
    dlq_url, dlq_arn = aws.queue("job-dlq")
    url, arn = aws.queue("jobs", dlq_arn=dlq_arn)
    aws("lambda").create_event_source_mapping(FunctionName=fn["FunctionName"], EventSourceArn=arn, BatchSize=1)
    return fn["FunctionName"], url, dlq_url


def test_terminate_stops_a_self_enqueuing_chain_at_awss_limit_into_the_dlq(aws, plane_factory):
    # GIVEN a function left at Lambda's default (Terminate) that re-enqueues itself 40 times
    name, url, dlq_url = _setup(aws, None)
    _self_enqueuing(aws, url, name, stop_at=40)
    plane_factory(sqs_pollers=1).start()
    aws("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"n": 0}))  # from outside: not a chain yet

    # THEN it runs 1 + 16 times (the first message carries no chain) and the next message is stopped
    [stopped] = aws.drain(dlq_url, 1, timeout=90)
    assert json.loads(stopped["Body"]) == {"n": MAX_CHAIN + 1}
    assert _seen(name) == list(range(MAX_CHAIN + 1))
    assert aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages") is None
    # AND the handler saw the chain where AWS shows it, never among its message attributes
    last = recorder.CALLS[name][-1][0]["Records"][0]
    assert lineage_of(last["attributes"]["AWSTraceHeader"]) == MAX_CHAIN and last["messageAttributes"] == {}
    # AND AWS/Lambda counts the stopped invocation
    dropped = wait_for(lambda: aws("cloudwatch").list_metrics(Namespace="AWS/Lambda",
                                                              MetricName="RecursiveInvocationsDropped")["Metrics"])
    assert [d["Value"] for m in dropped for d in m["Dimensions"]] == [name]


def test_allow_lets_a_forty_hop_chain_run_to_its_end(aws, plane_factory):
    name, url, dlq_url = _setup(aws, "Allow")
    _self_enqueuing(aws, url, name, stop_at=40)
    plane_factory(sqs_pollers=1).start()
    aws("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"n": 0}))

    wait_for(lambda: len(_seen(name)) >= 40, timeout=120)  # generous: 40 sequential hops on a loaded machine
    assert _seen(name) == list(range(40))
    assert aws("sqs").receive_message(QueueUrl=dlq_url, WaitTimeSeconds=0).get("Messages") is None


def test_stopped_message_without_a_dlq_is_dropped(aws, plane_factory):
    fn = aws.function("job-worker", timeout=30)  # a chain counts exactly only without timeouts on a loaded machine
    url, arn = aws.queue("jobs")
    aws("lambda").create_event_source_mapping(FunctionName=fn["FunctionName"], EventSourceArn=arn, BatchSize=1)
    _self_enqueuing(aws, url, fn["FunctionName"], stop_at=40)
    plane_factory(sqs_pollers=1).start()
    aws("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"n": 0}))

    wait_for(lambda: len(_seen(fn["FunctionName"])) >= MAX_CHAIN + 1, timeout=90)
    wait_for(lambda: aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
        "ApproximateNumberOfMessages"] == "0", timeout=5)
    assert aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages") is None
    assert _seen(fn["FunctionName"]) == list(range(MAX_CHAIN + 1))


def test_messages_sent_from_outside_an_invocation_carry_no_chain(aws, plane_factory):
    import boto3

    url, _ = aws.queue("plain")
    plane_factory().start()  # the hooks are in place for every session from now on
    sqs = boto3.session.Session().client("sqs", endpoint_url=aws.endpoint_url, region_name="us-east-1",
                                         aws_access_key_id="testing", aws_secret_access_key="testing")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    [msg] = aws.drain(url, 1)
    assert "AWSTraceHeader" not in msg.get("Attributes", {})
