"""The real log indexer's lanes on the local stage: records/s at parallelization factor 4 and 10 ÷ factor 1.

Run: ``.venv/bin/python bench/lanes.py [--records 1500] [--batch 100 10] [--rounds 3] [--aws-latency-ms 4] [--sends 300]``

The local stage is started in this process (:class:`relay.local.stage.LocalStage`, the stage's own
Pulumi program, handler and mapping) with only the messages table → stream → log indexer pipeline kept.
For each batch size and factor the mapping is disabled, ``--records`` message events are written (one per
message, as ``relay capacity``'s calibration writes them), the mapping is enabled, and the clock runs until
every one of them has its VIEW. Factors alternate their order per round; the ratios are the median of
each round's own ratios (the machine's load drifts between rounds far more than within one).

What bounds a lane here: the indexer writes a batch's VIEWs concurrently (16 in flight), so one lane
already overlaps its round trips to DynamoDB, and every call's CPU — botocore, the emulator's request
handling, moto's expression evaluation — is spent in this one Python process. More lanes add throughput
only while a lane waits more than it computes; ``--aws-latency-ms`` is the modelled round trip that
waiting stands for. The figures are for reading, not a pass/fail gate: issue 14's target is ≥ 3 at
factor 10 on 2 cores.

Beside them, the whole stage's own pace (``--sends``, 0 to skip): a fresh local stage with every pipeline,
``--sends`` sends posted at once through the HTTP API, timed until every one is delivered to the outbox —
the most stream records the stage itself can feed the indexer (three per send), to read against one lane's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

__all__ = ["main"]

FACTORS = (1, 4, 10)


def _drain(local: Any, batch: int, factor: int, records: int, tag: str) -> float:
    """Records/s of the log indexer through a backlog of ``records`` at ``batch`` and ``factor``."""
    from relay.capacity.calibration import indexed, wait_until, write_events  # the calibration's own events

    lam, outputs = local.client("lambda"), local.outputs
    uuid = outputs["log_indexer_esm_uuid"]
    lam.update_event_source_mapping(UUID=uuid, Enabled=False, BatchSize=batch, ParallelizationFactor=factor)
    time.sleep(1.0)  # the data plane re-reads mappings every poll interval
    write_events(local.client("dynamodb"), outputs["message_table"], records, None, tag=tag)
    t0 = time.monotonic()
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    wait_until(lambda: indexed(local.client, outputs, records, tag, factor), 600,
               f"{records} records indexed at batch {batch}, factor {factor}")
    return records / (time.monotonic() - t0)


def _stage_pace(sends: int, aws_latency_ms: float) -> float:
    """Sends/s the whole local stage carries end to end: posted at once, timed until all are delivered."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    from relay.capacity.calibration import wait_until
    from relay.capacity.measure import outbox_count, post_json
    from relay.local.demo import demo_send
    from relay.local.stage import LocalStage

    rng = random.Random(7)
    bodies = []
    for n in range(sends):
        body = demo_send(n, rng)
        body["message"]["data"]["code"] = "123456"  # every one deliverable, one channel each
        body["message"]["routing"] = {"method": "single", "channels": ["email"]}
        bodies.append(body)
    with LocalStage("local", aws_latency_ms=aws_latency_ms) as local:
        s3, bucket, url = local.client("s3"), local.outputs["request_bucket"], f"{local.api_url}/send"
        t0 = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda body: post_json(url, body, local.api_key), bodies))
        if statuses.count(202) != sends:
            raise RuntimeError(f"{sends - statuses.count(202)} of {sends} sends were not accepted")
        wait_until(lambda: outbox_count(s3, bucket) >= sends, 600, f"{sends} sends delivered")
        return sends / (time.monotonic() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1500)
    ap.add_argument("--batch", type=int, nargs="+", default=[100, 10])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--aws-latency-ms", type=float, default=4.0)
    ap.add_argument("--sends", type=int, default=300)
    args = ap.parse_args(argv)

    import logging

    logging.basicConfig(level=logging.WARNING)
    from relay.capacity.calibration import keep_only_the_log_indexer
    from relay.local.stage import LocalStage

    rows = []
    local = LocalStage("local", aws_latency_ms=args.aws_latency_ms,
                       prepare=lambda stage: keep_only_the_log_indexer(stage.client, stage.outputs),
                       plane_options={"poll_interval": 0.2, "stream_poll_interval": 0.25, "metrics_interval": 2.0})
    drains = 0
    with local:
        _drain(local, args.batch[0], 1, 200, "warm")  # clients, connections, the emulator's code paths
        for batch in args.batch:
            samples: dict[int, list[float]] = {f: [] for f in FACTORS}
            for r in range(args.rounds):
                for factor in (FACTORS if r % 2 == 0 else FACTORS[::-1]):
                    drains += 1
                    tag = f"d{drains:07x}"  # unique, ≤ 8 characters: the event shape keeps 36 of the id
                    samples[factor].append(_drain(local, batch, factor, args.records, tag))
            ratios = {f: statistics.median(s / one for s, one in zip(samples[f], samples[1])) for f in FACTORS[1:]}
            rows.append((batch, {f: statistics.median(v) for f, v in samples.items()}, ratios))

    print(f"\nlog indexer lanes on the local stage, {args.records} records (one event per message), modelled AWS "
          f"round trip {args.aws_latency_ms:g} ms, {args.rounds} alternating rounds: median records/s, median of "
          f"the ratios within each round")
    print(f"{'batch':>5} {'factor 1':>9} {'factor 4':>9} {'factor 10':>10} {'4 ÷ 1':>6} {'10 ÷ 1':>7}")
    for batch, rate, ratio in rows:
        print(f"{batch:>5} {rate[1]:>9.0f} {rate[4]:>9.0f} {rate[10]:>10.0f} {ratio[4]:>6.2f} {ratio[10]:>7.2f}")
    print("target (issue 14): 10 ÷ 1 ≥ 3 on 2 cores")
    if args.sends > 0:
        pace = _stage_pace(args.sends, args.aws_latency_ms)
        print(f"the whole stage, {args.sends} sends posted at once: {pace:.1f} sends/s delivered end to end, about "
              f"{3 * pace:.0f} stream records/s for the indexer (three events per send) against "
              f"{rows[0][1][1]:.0f} records/s one lane indexes at batch {rows[0][0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
