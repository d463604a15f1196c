"""The local stage against a raw boto3 floor on the same emulator, in the same run.

Run: ``.venv/bin/python bench/local.py [--jobs 300] [--records 1000] [--redrive 300] [--rounds 2]``

Three ratios (issue 4):

* **job pipeline**: messages/s through an SQS mapping of the data plane (receive, invoke a job handler
  that does a state read and write per message, delete) ÷ the same calls made by plain boto3 threads
  (as many as the mapping's pollers). Target ≥ 0.8.
* **stream parallelization**: records/s of a DynamoDB stream mapping at ParallelizationFactor 10 ÷ at
  factor 1, with an I/O-bound handler (it waits ``--io-ms`` per batch, as a handler waiting on a
  downstream call does). Target ≥ 7.
* **redrive**: messages/s of ``StartMessageMoveTask`` (DLQ → source) ÷ a raw batch move with boto3
  (receive 10, send batch, delete batch, one thread). Target ≥ 0.8.

Rounds alternate the two sides so the machine's load hits both alike; the median is reported.
"""
from __future__ import annotations

import argparse
import importlib
import io
import json
import statistics
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POLLERS = 5
# ---- handlers the data plane runs (imported as bench.local.<name>) ----------------------------------
_clients: dict[str, Any] = {}
_lock = threading.Lock()
PROCESSED = [0]


def _client(service: str) -> Any:
    with _lock:
        if service not in _clients:
            import boto3

            _clients[service] = boto3.session.Session().client(service)  # AWS_ENDPOINT_URL set by the data plane
        return _clients[service]


def job_step(ddb: Any, table: str, body: str) -> None:
    """What one job step costs in calls at least: read the run, write the step result."""
    job = json.loads(body)
    key = {"pk": {"S": f"RUN#{job['runId']}"}, "sk": {"S": f"STEP#{job['step']:04d}"}}
    ddb.get_item(TableName=table, Key=key)
    ddb.put_item(TableName=table, Item={**key, "status": {"S": "done"}})


def job_handler(event: dict, context: Any) -> dict:
    import os

    ddb = _client("dynamodb")
    for record in event["Records"]:
        job_step(ddb, os.environ["BENCH_STATE_TABLE"], record["body"])
    with _lock:
        PROCESSED[0] += len(event["Records"])
    return {"batchItemFailures": []}


FIRST_INVOKE: list[float | None] = [None]


def io_handler(event: dict, context: Any) -> None:
    import os

    if FIRST_INVOKE[0] is None:
        FIRST_INVOKE[0] = time.perf_counter()
    time.sleep(float(os.environ["BENCH_IO_MS"]) / 1000)


# ---- set-up helpers -----------------------------------------------------------------------------------
class Stage:
    def __init__(self, emulator: Any) -> None:
        self.emu = emulator
        self.c: dict[str, Any] = {}
        self.tag = uuid.uuid4().hex[:6]
        self._n = 0
        self.role = self("iam").create_role(RoleName=f"bench-{self.tag}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    def unique(self, name: str) -> str:
        """Every round gets fresh resources: ``<name>-<run tag>-<n>``."""
        self._n += 1
        return f"{name}-{self.tag}-{self._n}"

    def __call__(self, service: str) -> Any:
        if service not in self.c:
            self.c[service] = self.emu.client(service)
        return self.c[service]

    def function(self, name: str, handler: str, env: dict[str, str]) -> str:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("placeholder.py", "")
        return self("lambda").create_function(
            FunctionName=self.unique(name), Runtime="python3.11", Role=self.role, Handler=handler,
            Code={"ZipFile": buf.getvalue()}, Timeout=30, MemorySize=256,
            Environment={"Variables": env})["FunctionArn"]

    def queue(self, name: str, **attrs: str) -> tuple[str, str]:
        url = self("sqs").create_queue(QueueName=self.unique(name), Attributes=attrs)["QueueUrl"]
        arn = self("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def fill(self, url: str, bodies: list[str]) -> None:
        for i in range(0, len(bodies), 10):
            self("sqs").send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "MessageBody": b} for n, b in enumerate(bodies[i:i + 10])])

    def depth(self, url: str) -> int:
        a = self("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])

    def table(self, name: str, stream: bool = False) -> tuple[str, str | None]:
        kw: dict[str, Any] = {}
        if stream:
            kw["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
        d = self("dynamodb").create_table(
            TableName=self.unique(name), BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}], **kw)["TableDescription"]
        return d["TableName"], d.get("LatestStreamArn")


def _wait(pred: Callable[[], bool], timeout: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(interval)


def _plane(endpoint: str, **kw: Any) -> Any:
    from relay.local.dataplane import DataPlane

    return DataPlane(endpoint, poll_interval=0.5, stream_poll_interval=0.05, sqs_pollers=POLLERS, **kw)


# ---- 1. job pipeline ------------------------------------------------------------------------------
def job_bodies(n: int) -> list[str]:
    return [json.dumps({"v": 1, "runId": f"run_{uuid.uuid4().hex}", "step": i % 5}) for i in range(n)]


def job_dataplane(st: Stage, n: int, state_table: str) -> float:
    mod = importlib.import_module("bench.local")
    fn = st.function("job", "bench.local.job_handler", {"BENCH_STATE_TABLE": state_table})
    url, arn = st.queue("jobs", VisibilityTimeout="60")
    st.fill(url, job_bodies(n))
    esm = st("lambda").create_event_source_mapping(FunctionName=fn, EventSourceArn=arn, BatchSize=10)
    mod.PROCESSED[0] = 0
    plane = _plane(st.emu.endpoint_url)
    t0 = time.perf_counter()
    plane.start()
    try:
        _wait(lambda: mod.PROCESSED[0] >= n, 300, "the job mapping")
        _wait(lambda: st.depth(url) == 0, 60, "deletes")
        elapsed = time.perf_counter() - t0
    finally:
        plane.stop()
        st("lambda").delete_event_source_mapping(UUID=esm["UUID"])
        st("lambda").delete_function(FunctionName=fn)
    return n / elapsed


def job_raw(st: Stage, n: int, state_table: str) -> float:
    url, _ = st.queue("jobs-raw", VisibilityTimeout="60")
    st.fill(url, job_bodies(n))
    import boto3

    done = [0]
    finished_at: list[float | None] = [None]
    lock = threading.Lock()

    opts = dict(endpoint_url=st.emu.endpoint_url, region_name="us-east-1", aws_access_key_id="testing",
                aws_secret_access_key="testing")
    session = boto3.session.Session()
    # clients are made before the clock starts (the data plane's are made before its first poll too)
    pairs = [(session.client("sqs", **opts), session.client("dynamodb", **opts)) for _ in range(POLLERS)]

    def worker(sqs: Any, ddb: Any) -> None:
        while True:
            with lock:
                if done[0] >= n:
                    return
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                       AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
            for m in msgs:
                job_step(ddb, state_table, m["Body"])
            if msgs:
                sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
                with lock:
                    done[0] += len(msgs)
                    if done[0] >= n and finished_at[0] is None:
                        finished_at[0] = time.perf_counter()

    threads = [threading.Thread(target=worker, args=pair) for pair in pairs]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # the moment the last delete returned, not when idle threads' long polls ended
    return n / (finished_at[0] - t0)  # type: ignore[operator]


# ---- 2. stream parallelization ---------------------------------------------------------------------
def stream_rate(st: Stage, records: int, factor: int, io_ms: int, keys: int = 100) -> float:
    table, stream_arn = st.table(f"messages-f{factor}", stream=True)
    ddb = st("dynamodb")
    items = [{"PutRequest": {"Item": {"pk": {"S": f"MSG#{i % keys}"}, "sk": {"S": f"EVT#{i:06d}"}}}}
             for i in range(records)]
    for i in range(0, records, 25):
        ddb.batch_write_item(RequestItems={table: items[i:i + 25]})
    fn = st.function(f"indexer-f{factor}", "bench.local.io_handler", {"BENCH_IO_MS": str(io_ms)})
    esm = st("lambda").create_event_source_mapping(FunctionName=fn, EventSourceArn=stream_arn, BatchSize=10,
                                                   ParallelizationFactor=factor, StartingPosition="TRIM_HORIZON")
    streams = st("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    last = None
    while True:
        resp = streams.get_records(ShardIterator=it, Limit=1000)
        if not resp["Records"]:
            break
        last = resp["Records"][-1]["dynamodb"]["SequenceNumber"]
        it = resp["NextShardIterator"]
    mod = importlib.import_module("bench.local")
    mod.FIRST_INVOKE[0] = None
    plane = _plane(st.emu.endpoint_url)
    plane.start()
    try:
        runner = plane.runner(esm["UUID"])
        _wait(lambda: bool(runner.shards) and runner.shards[0].checkpoint == last, 600, f"factor {factor}",
              interval=0.005)
        # steady-state throughput: from the first invocation (start-up is the same for both factors)
        elapsed = time.perf_counter() - mod.FIRST_INVOKE[0]
    finally:
        plane.stop()
        st("lambda").delete_event_source_mapping(UUID=esm["UUID"])
        st("lambda").delete_function(FunctionName=fn)
    return records / elapsed


# ---- 3. redrive -------------------------------------------------------------------------------------
def _dlq_pair(st: Stage, name: str) -> tuple[str, str, str, str]:
    dlq_url, dlq_arn = st.queue(f"{name}-dlq")
    src_url, src_arn = st.queue(name, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}))
    return src_url, src_arn, dlq_url, dlq_arn


def redrive_move_task(st: Stage, n: int) -> float:
    src_url, src_arn, dlq_url, dlq_arn = _dlq_pair(st, "redrive")
    st.fill(dlq_url, job_bodies(n))
    sqs = st("sqs")
    t0 = time.perf_counter()
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=src_arn)

    def finished() -> bool:
        tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)["Results"]
        if tasks and tasks[0]["Status"] == "FAILED":
            raise RuntimeError(f"move task failed: {tasks[0]}")
        return bool(tasks) and tasks[0]["Status"] == "COMPLETED"

    _wait(finished, 600, "the message move task", interval=0.05)
    elapsed = time.perf_counter() - t0
    moved = st.depth(src_url)
    if moved != n:
        raise RuntimeError(f"move task moved {moved} of {n} messages")
    return n / elapsed


def redrive_raw(st: Stage, n: int) -> float:
    src_url, _, dlq_url, _ = _dlq_pair(st, "redrive-raw")
    st.fill(dlq_url, job_bodies(n))
    sqs = st("sqs")
    moved = 0
    t0 = time.perf_counter()
    while moved < n:
        msgs = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, AttributeNames=["All"],
                                   MessageAttributeNames=["All"]).get("Messages", [])
        if not msgs:
            continue
        sqs.send_message_batch(QueueUrl=src_url, Entries=[
            {"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(msgs)])
        sqs.delete_message_batch(QueueUrl=dlq_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
        moved += len(msgs)
    return n / (time.perf_counter() - t0)


def _median_pair(rounds: int, a: Callable[[], float], b: Callable[[], float]) -> tuple[float, float]:
    sa, sb = [], []
    for r in range(rounds):
        # alternate which side goes first
        if r % 2 == 0:
            sa.append(a())
            sb.append(b())
        else:
            sb.append(b())
            sa.append(a())
    return statistics.median(sa), statistics.median(sb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--io-ms", type=int, default=40)
    ap.add_argument("--redrive", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", choices=["jobs", "stream", "redrive"], action="append")
    args = ap.parse_args()
    only = set(args.only or ["jobs", "stream", "redrive"])

    import logging

    logging.basicConfig(level=logging.WARNING)
    from relay.local.emulator import Emulator

    rows: list[tuple[str, float, float, float, float]] = []
    with Emulator(port=0) as emu:
        st = Stage(emu)
        if "jobs" in only:
            state_table, _ = st.table("state")
            plane_rate, raw_rate = _median_pair(args.rounds, lambda: job_dataplane(st, args.jobs, state_table),
                                                lambda: job_raw(st, args.jobs, state_table))
            rows.append(("job pipeline msgs/s: data plane ÷ raw boto3", plane_rate, raw_rate, plane_rate / raw_rate, 0.8))
        if "stream" in only:
            f10, f1 = _median_pair(args.rounds, lambda: stream_rate(st, args.records, 10, args.io_ms),
                                   lambda: stream_rate(st, args.records, 1, args.io_ms))
            rows.append((f"stream records/s ({args.io_ms} ms I/O per batch): factor 10 ÷ factor 1", f10, f1, f10 / f1, 7.0))
        if "redrive" in only:
            task_rate, raw_rate = _median_pair(args.rounds, lambda: redrive_move_task(st, args.redrive),
                                               lambda: redrive_raw(st, args.redrive))
            rows.append(("redrive msgs/s: StartMessageMoveTask ÷ raw batch move", task_rate, raw_rate,
                         task_rate / raw_rate, 0.8))
    print(f"\nlocal stage vs raw floor, same emulator, median of {args.rounds} alternating rounds")
    print(f"{'measure':<66}{'ours':>9}{'floor':>9}{'ratio':>8}{'target':>8}  verdict")
    for name, ours, floor, ratio, target in rows:
        verdict = "ok" if ratio >= target else "UNDER TARGET"
        print(f"{name:<66}{ours:>9.1f}{floor:>9.1f}{ratio:>8.2f}{target:>8.1f}  {verdict}")


if __name__ == "__main__":
    main()
