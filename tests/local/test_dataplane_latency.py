"""Handlers' AWS calls wait a network round trip; the data plane's own calls do not."""
import threading
import time

import boto3
from moto import mock_aws

from relay.local.dataplane.latency import aws_latency, set_aws_latency


def _timed_calls(thread_name: str, n: int = 5) -> float:
    out: dict[str, float] = {}

    def run() -> None:
        sqs = boto3.session.Session().client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName=f"latency-{thread_name}")["QueueUrl"]
        t0 = time.perf_counter()
        for _ in range(n):
            sqs.get_queue_attributes(QueueUrl=url)
        out["s"] = time.perf_counter() - t0

    t = threading.Thread(target=run, name=thread_name)
    t.start()
    t.join()
    return out["s"]


@mock_aws
def test_calls_from_invocation_threads_wait_the_latency_others_do_not() -> None:
    try:
        set_aws_latency(40)
        assert aws_latency() == 40
        in_handler = _timed_calls("invoke-relay-test-fn")
        poller = _timed_calls("stream-poller")
        assert in_handler >= 5 * 0.040
        assert poller < in_handler - 0.1
    finally:
        set_aws_latency(0)
    assert _timed_calls("invoke-relay-test-fn") < 5 * 0.040
