"""A restart of the data plane loses neither queued async events nor stream records past the checkpoint."""
from __future__ import annotations

import json
import time

from tests.local.handlers import recorder
from tests.local.handlers.fixtures import aws, emulator, plane_factory, wait_for  # noqa: F401 - fixtures
from tests.local.test_dataplane_async import _bucket_to_function
from tests.local.test_dataplane_stream import _stream_setup


def _slow(seconds: float):
    def handler(event, ctx):
        time.sleep(seconds)
    return handler


def test_async_events_not_run_at_stop_are_run_after_restart(aws, plane_factory, tmp_path):
    fn = aws.function("send-worker", timeout=5)
    bucket = _bucket_to_function(aws, fn["FunctionArn"])
    recorder.BEHAVIOUR[fn["FunctionName"]] = _slow(0.5)
    carry = tmp_path / "carry.json"
    first = plane_factory(carry_over=carry, stop_timeout=0.3).start()
    keys = [f"send/r{i}.json" for i in range(12)]
    for key in keys:
        aws("s3").put_object(Bucket=bucket, Key=key, Body=b"{}")
    wait_for(lambda: recorder.CALLS.get(fn["FunctionName"]))

    first.stop()
    saved = json.loads(carry.read_text())
    assert saved["async"], "events still queued at the stop bound are saved, not dropped"

    recorder.BEHAVIOUR[fn["FunctionName"]] = _slow(0.0)
    second = plane_factory(carry_over=carry).start()

    def every_key_ran() -> bool:
        seen = {ev["Records"][0]["s3"]["object"]["key"] for ev, _ in recorder.CALLS.get(fn["FunctionName"], [])}
        return seen >= set(keys)
    wait_for(every_key_ran, timeout=20)
    assert not carry.exists(), "the carry-over file is consumed by the restart"
    assert second._carry_over.stats["async"] == len(saved["async"])


def test_stream_records_past_the_checkpoint_are_replayed_after_restart(aws, plane_factory, tmp_path):
    fn, table, stream_arn, _ = _stream_setup(aws, factor=1, batch=2)
    recorder.BEHAVIOUR[fn["FunctionName"]] = _slow(0.4)
    carry = tmp_path / "carry.json"
    first = plane_factory(carry_over=carry, stop_timeout=0.3).start()
    for i in range(10):
        aws("dynamodb").put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "sk": {"S": "v"}})
    wait_for(lambda: recorder.CALLS.get(fn["FunctionName"]))

    first.stop()
    saved = json.loads(carry.read_text())
    tail = [r["dynamodb"]["Keys"]["pk"]["S"] for s in saved["streams"] for r in s["records"]]
    done_before = {r["dynamodb"]["Keys"]["pk"]["S"] for ev, _ in recorder.CALLS[fn["FunctionName"]]
                   for r in ev["Records"]}
    assert tail and set(tail) | done_before == {f"k{i}" for i in range(10)}, "nothing falls between the two"

    recorder.BEHAVIOUR[fn["FunctionName"]] = _slow(0.0)
    second = plane_factory(carry_over=carry).start()
    assert second._carry_over.replayed.wait(20)
    assert second._carry_over.stats["stream_records"] == len(tail)


def _put_after(seconds: float, bucket: str, aws_client):
    """A handler that works for ``seconds``, then stores an object (the side effect a stop must not split)."""
    def handler(event, ctx):
        time.sleep(seconds)
        key = event["Records"][0]["s3"]["object"]["key"]
        aws_client.put_object(Bucket=bucket, Key=f"after/{key.rsplit('/', 1)[-1]}", Body=b"{}")
    return handler


def test_stop_kills_a_running_handler_so_nothing_it_does_after_the_cut_survives(aws, plane_factory, tmp_path):
    # GIVEN a handler still running at the stop bound, which would store an object afterwards
    fn = aws.function("send-worker", timeout=10)
    bucket = _bucket_to_function(aws, fn["FunctionArn"])
    import boto3

    side = boto3.session.Session().client("s3", endpoint_url=aws.endpoint_url, region_name="us-east-1",
                                          aws_access_key_id="testing", aws_secret_access_key="testing")
    recorder.BEHAVIOUR[fn["FunctionName"]] = _put_after(1.5, bucket, side)
    carry = tmp_path / "carry.json"
    plane = plane_factory(carry_over=carry, stop_timeout=0.4).start()
    aws("s3").put_object(Bucket=bucket, Key="send/slow.json", Body=b"{}")
    wait_for(lambda: recorder.CALLS.get(fn["FunctionName"]))

    # WHEN the data plane stops while it runs
    t0 = time.monotonic()
    plane.stop()
    stopped_in = time.monotonic() - t0
    time.sleep(1.8)  # past the moment the handler makes its call

    # THEN its late call was refused (the sandbox was killed), and its event is carried over to run again
    listed = aws("s3").list_objects_v2(Bucket=bucket, Prefix="after/").get("KeyCount", 0)
    assert listed == 0, "a killed invocation changed the emulator after the stop's cut"
    saved = json.loads(carry.read_text())
    assert [e["payload"]["Records"][0]["s3"]["object"]["key"] for e in saved["async"]] == ["send/slow.json"]
    assert stopped_in < 1.5, f"the stop waits for its bound, not for the handler ({stopped_in:.2f} s)"


def test_a_timed_out_invocation_can_change_nothing_after_its_timeout(aws, plane_factory):
    # GIVEN a function with a 1 s timeout whose handler stores an object after 1.5 s
    fn = aws.function("send-worker", timeout=1)
    bucket = _bucket_to_function(aws, fn["FunctionArn"])
    import boto3

    side = boto3.session.Session().client("s3", endpoint_url=aws.endpoint_url, region_name="us-east-1",
                                          aws_access_key_id="testing", aws_secret_access_key="testing")
    recorder.BEHAVIOUR[fn["FunctionName"]] = _put_after(1.5, bucket, side)
    plane = plane_factory().start()

    # WHEN it is invoked and times out
    result = plane.invoke_result(fn["FunctionName"], {"Records": [{"s3": {"object": {"key": "send/t.json"}}}]})
    assert result.timed_out
    time.sleep(1.0)

    # THEN, as Lambda kills the sandbox at the timeout, the call it makes afterwards never happens
    assert aws("s3").list_objects_v2(Bucket=bucket, Prefix="after/").get("KeyCount", 0) == 0
