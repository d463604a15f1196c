"""Start (and restart) ``relay up`` for the reliability suites, on top of :mod:`tests.e2e.harness`.

A restart must keep the state dir (the emulator's snapshot), and a chaos
run needs ``RELAY_CHAOS`` in the child's environment only — so this adds just those two knobs and reuses
the harness's :class:`~tests.e2e.harness.LocalStage`, ports and ready-line protocol.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.e2e.harness import LocalStage, start_stage

__all__ = ["launch", "outbox_deliveries", "queue_count", "explain_duplicates"]


def launch(state_dir: Path, overrides: dict[str, str], fresh: bool, chaos: str = "", trace: str = "",
           timeout: float = 240) -> LocalStage:
    """``relay up`` on free loopback ports; ``fresh=False`` restores the state dir; ``chaos`` → RELAY_CHAOS;
    ``trace`` → RELAY_TRACE (the data plane's journal of every unit of work, for diagnosing a loss)."""
    env = {"RELAY_CHAOS": chaos} if chaos else {}
    if trace:
        env["RELAY_TRACE"] = trace
    return start_stage(overrides, state_dir, timeout=timeout, fresh=fresh, env_extra=env or None)


def outbox_deliveries(stage: LocalStage) -> Counter:
    """Outbox objects per message id (a duplicate delivery is a count above 1)."""
    per_message: Counter = Counter()
    s3 = stage.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stage.outputs["request_bucket"],
                                                               Prefix="outbox/"):
        for obj in page.get("Contents", []):
            per_message[obj["Key"].split("/")[2]] += 1
    return per_message


def queue_count(stage: LocalStage, url: str) -> int:
    """Visible + in flight + delayed messages of one queue."""
    attrs = stage.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return sum(int(attrs.get(k, 0)) for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                              "ApproximateNumberOfMessagesDelayed"))


def count_objects(stage: LocalStage, prefix: str) -> int:
    """Objects under one prefix of the request store."""
    s3 = stage.client("s3")
    return sum(len(p.get("Contents", [])) for p in s3.get_paginator("list_objects_v2").paginate(
        Bucket=stage.outputs["request_bucket"], Prefix=prefix))


def peek_all(stage: LocalStage, url: str, kind: str) -> list[Any]:
    """Every dead letter of one DLQ, read with the console's own peek (nothing consumed)."""
    from dashboard import ops

    return ops.peek(stage.client("sqs"), url, kind, max_messages=100_000)


def explain_duplicates(stage: LocalStage, deliveries: Counter, trace: str) -> str:
    """For each message delivered more than once: its deliveries (id, time) and the journal's lines on its
    request, so a duplicate is diagnosed from the test's output alone."""
    try:
        return _explain_duplicates(stage, deliveries, trace)
    except Exception as exc:  # noqa: BLE001 - the explanation must never hide the failure it explains
        return f"(could not explain the duplicates: {exc!r}) {deliveries.most_common(3)}"


def _explain_duplicates(stage: LocalStage, deliveries: Counter, trace: str) -> str:
    from relay.local.dataplane.trace import read

    s3 = stage.client("s3")
    bucket = stage.outputs["request_bucket"]
    out = []
    for mid, count in deliveries.items():
        if count < 2:
            continue
        docs = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="outbox/"):
            for obj in page.get("Contents", []):
                if obj["Key"].split("/")[2] == mid:
                    docs.append(json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()))
        request_ids = {d.get("requestId") for d in docs}
        out.append(f"DUPLICATE {mid}: " + ", ".join(f"{d.get('deliveryId')} at {d.get('deliveredAt')}" for d in docs))
        for rid, lines in read(trace, {r for r in request_ids if r}).items():
            out += [f"  {rid}: {line}" for line in lines[-12:]]
    return "\n".join(out)
