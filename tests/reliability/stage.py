"""Start (and restart) ``relay up`` for the reliability suites, on top of :mod:`tests.e2e.harness`.

The harness always starts fresh; a restart must keep the state dir (the emulator's snapshot), and a chaos
run needs ``RELAY_CHAOS`` in the child's environment only — so this adds just those two knobs and reuses
the harness's :class:`~tests.e2e.harness.LocalStage`, ports and ready-line protocol.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from tests.e2e.harness import RELAY, ROOT, LocalStage, free_port

__all__ = ["launch", "outbox_deliveries", "queue_count"]


def launch(state_dir: Path, overrides: dict[str, str], fresh: bool, chaos: str = "",
           timeout: float = 240) -> LocalStage:
    """``relay up`` on free loopback ports; ``fresh=False`` restores the state dir; ``chaos`` → RELAY_CHAOS."""
    port = free_port()
    args = [str(RELAY), "up", "--stage", "local", "--port", str(port), "--no-console",
            "--state-dir", str(state_dir)] + (["--fresh"] if fresh else [])
    for key, value in overrides.items():
        args += ["--set", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "RELAY_CHAOS"}
    env["PYTHONUNBUFFERED"] = "1"
    if chaos:
        env["RELAY_CHAOS"] = chaos
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("ready"):
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"relay up did not get ready: {''.join(lines[-30:])}")
    endpoint = f"http://127.0.0.1:{port}"
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    outputs = json.loads(ssm.get_parameter(Name="/relay/local/outputs")["Parameter"]["Value"])
    return LocalStage(proc, endpoint, outputs, lines)


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
