"""The message-log stream under the same load at parallelization factor 1 and 4, on a real `relay up`.

The whole local stage (emulator and handlers) shares one Python process, so without the data plane's
emulated AWS round trip (4 ms per call, relay/local/dataplane/latency.py) the log indexer would be
CPU-bound on the GIL and the factor could not matter; in AWS it is I/O-bound, waiting on DynamoDB. The
stage here runs with relay up's defaults: the load, the handler and the mapping are the deployed ones.
Per-key order under factor 4 is proven with a recording handler in tests/local/test_dataplane_stream.py.
"""
from __future__ import annotations

import os
import time

import pytest
from botocore.exceptions import ClientError

from tests.e2e.harness import LocalStage, start_stage

pytestmark = pytest.mark.heavy(seconds=30)

RECORDS, KEYS, BATCH = 400, 40, 10


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> LocalStage:
    st = start_stage({}, state_dir=tmp_path_factory.mktemp("relay-factor"))
    yield st
    code = st.stop()
    assert code == 0, f"relay up must exit 0 after SIGINT, got {code}"


def _metric_max(stage: LocalStage, metric: str, start: float, end: float) -> float:
    points = stage.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName=metric, StartTime=start, EndTime=end, Period=1, Statistics=["Maximum"],
        Dimensions=[{"Name": "FunctionName", "Value": stage.outputs["log_indexer_function"]}])["Datapoints"]
    return max((p["Maximum"] for p in points), default=0.0)


def _preload(stage: LocalStage, tag: str) -> dict[str, int]:
    """RECORDS message events over KEYS messages, written the way the send worker writes them.

    Returns each message's newest event ``ts``: the view must end there once every record is indexed.
    """
    ddb = stage.client("dynamodb")
    now = int(time.time() * 1000)
    items = [{"PutRequest": {"Item": {
        "pk": {"S": f"MSG#msg_{tag}{i % KEYS:04d}"}, "sk": {"S": f"EVT#{now + i:013d}#00#SENT"},
        "messageId": {"S": f"msg_{tag}{i % KEYS:04d}"}, "requestId": {"S": f"req_{tag}"},
        "recipient": {"S": f"load-{tag}"}, "channel": {"S": "email"}, "status": {"S": "SENT"},
        "ts": {"N": str(now + i)}}}} for i in range(RECORDS)]
    for j in range(0, RECORDS, 25):
        ddb.batch_write_item(RequestItems={stage.outputs["message_table"]: items[j:j + 25]})
    return {f"msg_{tag}{i % KEYS:04d}": now + i for i in range(RECORDS)}


def _indexed_views(stage: LocalStage, tag: str) -> list[dict]:
    items, nxt = [], None
    while True:
        params = {"recipient": f"load-{tag}", "limit": 100, **({"next": nxt} if nxt else {})}
        page = stage.get("/messages", **params).json()
        items += page["items"]
        nxt = page.get("next")
        if not nxt:
            return items


def _drain(stage: LocalStage, factor: int) -> dict[str, float]:
    """Index the same backlog at ``factor``; done when every view ends on its message's newest event."""
    lam = stage.client("lambda")
    uuid = stage.outputs["log_indexer_esm_uuid"]
    tag = f"f{factor}x"
    # the same backlog for both factors: load it while the mapping is disabled, then let it go
    lam.update_event_source_mapping(UUID=uuid, ParallelizationFactor=factor, BatchSize=BATCH, Enabled=False)
    time.sleep(3)
    newest = _preload(stage, tag)
    t0 = time.time()
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)

    def all_indexed() -> bool:
        return {v["messageId"]: v["ts"] for v in _indexed_views(stage, tag)} == newest

    stage.wait_for(all_indexed, timeout=300, interval=0.5, what=f"{RECORDS} records indexed at factor {factor}")
    t1 = time.time()
    time.sleep(5)  # the data plane flushes metrics every 2 s
    return {"drain_s": t1 - t0, "iterator_age_ms": _metric_max(stage, "IteratorAge", t0, t1 + 3),
            "concurrency": _metric_max(stage, "ConcurrentExecutions", t0, t1 + 3)}


def test_factor_4_runs_four_lanes_and_every_view_converges(stage: LocalStage) -> None:
    one = _drain(stage, 1)
    four = _drain(stage, 4)
    summary = {f: {k: round(v, 1) for k, v in r.items()} for f, r in ((1, one), (4, four))}
    print("stream factor comparison:", summary)
    # _drain returned: every view ended on its message's newest event at both factors (order kept per key)
    assert one["concurrency"] == 1 and four["concurrency"] > 1, summary


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RELAY_LONG"), reason="a speed comparison: RELAY_LONG=1 make test-long")
def test_factor_4_drains_the_same_backlog_faster_than_factor_1(stage: LocalStage) -> None:
    """Speed, so behind the slow marker (the suite's other tests share the CPU this compares): the lanes of
    factor 4 overlap their round trips to DynamoDB; on a machine whose cores are busy the indexer is CPU-bound
    in this one process and no factor can help (bench/local.py measures the ratio against a raw floor)."""
    one = _drain(stage, 1)
    four = _drain(stage, 4)
    summary = {f: {k: round(v, 1) for k, v in r.items()} for f, r in ((1, one), (4, four))}
    print("stream factor comparison:", summary)
    assert four["iterator_age_ms"] < one["iterator_age_ms"], summary
    assert four["drain_s"] < one["drain_s"], summary


def test_factor_11_is_refused_as_aws_refuses_it(stage: LocalStage) -> None:
    lam = stage.client("lambda")
    uuid = stage.outputs["log_indexer_esm_uuid"]
    before = lam.get_event_source_mapping(UUID=uuid)["ParallelizationFactor"]
    with pytest.raises(ClientError) as refused:
        lam.update_event_source_mapping(UUID=uuid, ParallelizationFactor=11)
    assert refused.value.response["Error"]["Code"] in {"ValidationException", "InvalidParameterValueException"}
    assert "11" in refused.value.response["Error"]["Message"] or "arallelization" in refused.value.response["Error"]["Message"]
    assert lam.get_event_source_mapping(UUID=uuid)["ParallelizationFactor"] == before
