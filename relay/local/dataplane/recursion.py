"""Lambda's recursive loop detection, modelled: a chain counter on the SQS messages an invocation sends.

In AWS, Lambda follows a chain of requests through the X-Ray trace header it puts on what a function
sends (a ``Lineage`` field counting the invocations so far; no active tracing needed). When a function
whose recursive loop setting is ``Terminate`` — the default — would be invoked by a message whose chain
already counts :data:`MAX_CHAIN` invocations, Lambda does not invoke it: the message goes to the source
queue's dead-letter queue when it has one and is dropped otherwise, and ``RecursiveInvocationsDropped``
counts it. ``FunctionRecursionConfig`` with ``Allow`` turns that off for one function.

The local data plane does the same:

* every invocation runs with a chain depth (its sandbox's ``chain``): the largest count among the SQS
  messages that triggered it, 0 for anything else (an S3 event, an API call);
* :func:`install` adds a botocore hook that, on an invocation's own thread, stamps every ``SendMessage``
  (and each ``SendMessageBatch`` entry) with the system attribute ``AWSTraceHeader`` carrying
  ``Lineage=<hash>:<depth + 1>`` — the message attributes a handler sees are untouched;
* the SQS poller reads the count back (:func:`lineage_of`) and, for a function that does not allow its
  loop, stops messages past :data:`MAX_CHAIN` (:func:`over_the_limit`).

Where the setting comes from: moto has no ``PutFunctionRecursionConfig``, so the emulator keeps the
Pulumi program's ``FunctionRecursionConfig`` as the function tag :data:`SETTING_TAG`, and the registry
reads it back (``Terminate`` when absent, as in AWS).

Limitation: moto keeps system attributes on ``SendMessage`` only; a ``SendMessageBatch`` entry's chain is
stamped but lost in the queue (relay's handlers send one job at a time).
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

from relay.local.dataplane.sandbox import current
from relay.local.patches import botocore_hook, once

__all__ = ["MAX_CHAIN", "SETTING_TAG", "ALLOW", "TERMINATE", "lineage_of", "with_lineage", "over_the_limit",
           "install"]

# Lambda stops a chain after about 16 invocations
MAX_CHAIN = 16
ALLOW, TERMINATE = "Allow", "Terminate"
# where the emulator keeps a function's recursive loop setting (moto has no API for it)
SETTING_TAG = "relay:local:recursiveLoop"
_LINEAGE = re.compile(r"(?:^|;)\s*Lineage=(?P<value>[^;]*)")
# the hash part names the loop in AWS; one fixed value is enough here (the count is what is modelled)
_HASH = hashlib.sha256(b"relay-local").hexdigest()[:8]


def lineage_of(trace_header: str | None) -> int:
    """The invocation count a message's ``AWSTraceHeader`` carries (0 without a ``Lineage`` field)."""
    match = _LINEAGE.search(trace_header or "")
    if match is None:
        return 0
    count = match.group("value").rsplit(":", 1)[-1]
    return int(count) if count.isdigit() else 0


def with_lineage(trace_header: str | None, count: int) -> str:
    """``trace_header`` with its ``Lineage`` field set to ``count`` (other fields kept)."""
    fields = [f for f in (trace_header or "").split(";") if f.strip() and not f.strip().startswith("Lineage=")]
    return ";".join([*fields, f"Lineage={_HASH}:{count}"])


def over_the_limit(count: int, setting: str) -> bool:
    """Whether Lambda would stop an invocation by a message carrying ``count`` for a function set to ``setting``."""
    return setting != ALLOW and count > MAX_CHAIN


def _stamp(entry: dict[str, Any], depth: int) -> None:
    system = entry.setdefault("MessageSystemAttributes", {})
    previous = (system.get("AWSTraceHeader") or {}).get("StringValue")
    system["AWSTraceHeader"] = {"DataType": "String", "StringValue": with_lineage(previous, depth + 1)}


def _on_send(params: dict[str, Any], **_: Any) -> None:
    sandbox = current()
    if sandbox is not None:  # only what an invocation sends belongs to a chain
        _stamp(params, sandbox.chain)


def _on_send_batch(params: dict[str, Any], **_: Any) -> None:
    sandbox = current()
    if sandbox is not None:
        for entry in params.get("Entries") or []:
            _stamp(entry, sandbox.chain)


@once
def install() -> None:
    """Stamp the chain on what invocations send to SQS, for every botocore session created from now on."""
    botocore_hook("provide-client-params.sqs.SendMessage", _on_send)
    botocore_hook("provide-client-params.sqs.SendMessageBatch", _on_send_batch)
