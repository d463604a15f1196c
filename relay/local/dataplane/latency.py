"""AWS's network round trip, for handlers running against an in-process emulator.

In AWS a handler's every DynamoDB, SQS or S3 call waits a few milliseconds on the network; against the
in-process emulator it waits on nothing but the GIL. Without that wait, work that is I/O-bound in AWS is
CPU-bound here, and the dynamics the local stage exists to show — more parallelization, lower
IteratorAge; more pollers, more throughput — vanish. So calls made from an invocation thread (the
invoker names them ``invoke-<function>``) sleep ``latency`` before they are sent. The data plane's own
polling and the console are not slowed. ``relay up --aws-latency-ms 0`` turns it off.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from relay.local.patches import botocore_hook, once

__all__ = ["set_aws_latency", "aws_latency"]

_latency_s = 0.0


def _before_send(request: Any = None, **_: Any) -> None:
    if _latency_s > 0 and threading.current_thread().name.startswith("invoke-"):
        time.sleep(_latency_s)
    return None  # None lets botocore send the request as usual


@once
def _install() -> None:
    botocore_hook("before-send", _before_send)


def set_aws_latency(milliseconds: float) -> None:
    """Make each AWS call from a handler wait ``milliseconds`` (0 disables); applies to new sessions too."""
    global _latency_s
    _latency_s = max(0.0, milliseconds) / 1000.0
    _install()


def aws_latency() -> float:
    """The current per-call latency in milliseconds."""
    return _latency_s * 1000.0
