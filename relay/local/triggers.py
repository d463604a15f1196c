"""Take moto's own Lambda triggers over, so the local data plane alone decides when handlers run.

moto 5.2 runs three synchronous "triggers" inside the request that changes the data:

* ``moto.s3.notifications.send_event`` calls ``_invoke_awslambda`` for every bucket notification that
  targets a Lambda function. Without Docker that invoke fails and the event is lost.
* ``moto.sqs.models.Queue.add_message`` walks ``queue.lambda_event_source_mappings`` and, for every
  enabled mapping, *receives* a batch (raising receive counts), "invokes" the function and, on failure,
  makes the messages visible again. After ``maxReceiveCount`` sends the messages land in the DLQ without
  any handler having run.
* ``moto.dynamodb.models.table.StreamShard.add`` walks ``table.lambda_event_source_mappings`` and empties
  the shard whenever the "invoke" reports success, so ``GetRecords`` sees nothing.

``LambdaBackend.create_event_source_mapping`` is the only writer of those two
``lambda_event_source_mappings`` dicts. We replace the attribute on ``Queue`` and ``Table`` with a
property that always reads as an empty mapping and forgets writes: the mapping is still stored in the
Lambda backend (``ListEventSourceMappings`` / ``UpdateEventSourceMapping`` work unchanged) but neither
SQS nor DynamoDB can see it, so their triggers never fire. The S3 trigger is replaced by a dispatcher
that hands the event (AWS's Lambda event shape) to the callbacks the running emulators registered.

moto keeps its backends per process, so the takeover is process-wide and idempotent; the dispatcher
fans out to every registered callback.

A fourth path is the ``Invoke`` API itself (the console's async-DLQ redrive re-invokes a function
with ``InvocationType=Event``): without Docker moto answers with a canned payload and runs nothing.
When an invoke handler is set (:func:`set_invoke_handler`), ``LambdaBackend.invoke`` hands the call
to it instead — after moto's own lookup, so an unknown function still gets AWS's 404.
"""
from __future__ import annotations

import copy
import itertools
import logging
import threading
import uuid
from typing import Any, Callable
from urllib.parse import quote_plus, unquote_plus

from relay.local.dataplane.invoker import FunctionError
from relay.local.patches import once

__all__ = ["S3NotificationCallback", "InvokeHandler", "FunctionError", "install", "add_s3_listener",
           "remove_s3_listener", "set_invoke_handler", "clear_invoke_handler", "is_installed"]

log = logging.getLogger(__name__)

S3NotificationCallback = Callable[[str, dict], None]
"""``callback(function_arn, event)`` — called in the moto request thread; keep it quick (enqueue)."""

InvokeHandler = Callable[[str, Any, str], Any]
"""``handler(function_arn, event, invocation_type)`` → the payload (``RequestResponse``); for ``Event``
the return value is ignored (enqueue and return). Raise :class:`FunctionError` for a function error."""


_lock = threading.Lock()
_invoke_handler: InvokeHandler | None = None
_listeners: list[S3NotificationCallback] = []
# S3's sequencer orders events for one key; a process-wide counter keeps it monotonic as AWS does.
_sequencer = itertools.count(1)


class _ForgetfulMapping(dict):
    """Reads as empty; every write is dropped (see the module docstring for why)."""

    def __setitem__(self, key: Any, value: Any) -> None:  # noqa: D105 - the point is doing nothing
        return None

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        return None

    def setdefault(self, key: Any, default: Any = None) -> Any:  # type: ignore[override]
        return default


def _no_trigger_property() -> property:
    return property(lambda self: _ForgetfulMapping(), lambda self, value: None)


def _aws_shaped(event: dict, account_id: str) -> dict:
    """Fill in the fields AWS puts in an S3 → Lambda event that moto leaves out.

    moto URL-encodes ``s3.object.key`` but also encodes ``/``; we re-encode it as AWS does and add the identity,
    request/response elements, the bucket owner and the ``sequencer``.
    """
    event = copy.deepcopy(event)
    for record in event.get("Records", []):
        record.setdefault("userIdentity", {"principalId": f"AWS:{account_id}"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault("responseElements", {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                                               "x-amz-id-2": uuid.uuid4().hex})
        s3 = record.setdefault("s3", {})
        s3.setdefault("bucket", {}).setdefault("ownerIdentity", {"principalId": account_id})
        obj = s3.setdefault("object", {})
        # moto's quote_plus also encodes "/", AWS keeps it: "send/a b+c.json" -> "send/a+b%2Bc.json"
        if "key" in obj:
            obj["key"] = quote_plus(unquote_plus(obj["key"]), safe="/")
        obj.setdefault("sequencer", f"{next(_sequencer):016X}")
    return event


def _dispatch_s3_to_lambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    """Replacement for ``moto.s3.notifications._invoke_awslambda`` (same signature)."""
    with _lock:
        listeners = list(_listeners)
    if not listeners:
        log.debug("S3 notification for %s dropped: no listener registered", fn_arn)
        return
    event = _aws_shaped(event_body, account_id)
    for cb in listeners:
        try:
            cb(fn_arn, copy.deepcopy(event))
        except Exception:  # noqa: BLE001 - S3 must not fail a PutObject because a listener did
            log.exception("S3 notification listener failed for %s", fn_arn)


@once
def install() -> None:
    """Apply the takeover once per process (idempotent)."""
    from moto.dynamodb.models.table import Table
    from moto.s3 import notifications
    from moto.sqs.models import Queue

    Queue.lambda_event_source_mappings = _no_trigger_property()  # type: ignore[assignment]
    Table.lambda_event_source_mappings = _no_trigger_property()  # type: ignore[assignment]
    notifications._invoke_awslambda = _dispatch_s3_to_lambda  # type: ignore[assignment]
    _patch_invoke()


def _patch_invoke() -> None:
    import json

    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.invoke

    def invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
               response_headers: Any) -> Any:
        handler = _invoke_handler
        if handler is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        fn = self.get_function(function_name, qualifier)  # AWS's errors for unknown functions
        invocation_type = (headers or {}).get("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type == "DryRun":
            response_headers["Content-Length"] = "0"
            return b""
        raw = body.decode() if isinstance(body, (bytes, bytearray)) else (body or "")
        event = json.loads(raw) if raw.strip() else {}
        try:
            result = handler(fn.function_arn, event, invocation_type)
            payload = b"" if invocation_type == "Event" else json.dumps(result).encode()
        except FunctionError as err:
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = json.dumps({"errorMessage": err.error_message, "errorType": err.error_type}).encode()
        response_headers["Content-Length"] = str(len(payload))
        return payload

    LambdaBackend.invoke = invoke  # type: ignore[method-assign]


def set_invoke_handler(handler: InvokeHandler) -> None:
    """Route the ``Invoke`` API to ``handler`` (one per process; the last one set wins)."""
    global _invoke_handler
    with _lock:
        _invoke_handler = handler


def clear_invoke_handler(handler: InvokeHandler) -> None:
    """Back to moto's own ``Invoke`` if ``handler`` is the one set."""
    global _invoke_handler
    with _lock:
        if _invoke_handler is handler:
            _invoke_handler = None


def is_installed() -> bool:
    """True once :func:`install` has run in this process."""
    return install.installed()  # type: ignore[attr-defined]


def add_s3_listener(callback: S3NotificationCallback) -> None:
    """Register ``callback(function_arn, event)`` for S3 notifications that target a Lambda function."""
    with _lock:
        _listeners.append(callback)


def remove_s3_listener(callback: S3NotificationCallback) -> None:
    """Unregister a callback added with :func:`add_s3_listener` (no error if it is not there)."""
    with _lock:
        try:
            _listeners.remove(callback)
        except ValueError:
            pass
