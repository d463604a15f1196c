"""Make moto's SQS queues and DynamoDB tables safe for the threads the local stage runs.

moto's server handles requests on many threads, and the local stage adds its own (data plane pollers,
the message mover). ``Queue.add_message`` appends under ``queue._messages_lock``, but
``Queue.delete_message`` and ``SQSBackend.purge_queue`` rebuild ``queue._messages`` and assign the new
list without it: a message appended after the rebuild's loop and before the assignment vanishes.
The window is a few bytecodes wide (we could not provoke it in 10^4 tries), but it is a lost message
under exactly the concurrent send + delete traffic a job queue sees. We take the same lock around
both (it is a ``Condition`` over an ``RLock``, so moto's own nested use stays safe). ``receive_message``
takes it too: two pollers receiving at once could both take one visible message (moto checks and marks it
in two steps); in SQS a receive hides a message from every other receive. (Its long-poll wait releases the
lock: a ``Condition`` over an ``RLock`` releases every level while it waits.)

DynamoDB: moto evaluates a ``ConditionExpression`` and then writes, in two steps and without a lock, so
two threads writing one key "if it does not exist" could both succeed. In DynamoDB a conditional write is
atomic, and relay's exactly-once delivery rests on it (the send worker's claim): a duplicated request,
run by two invocations at once on a loaded machine, was delivered twice. Every DynamoDB request (and every
item call of the backend, for callers inside the process) takes one lock, so writes — transactions
included — are atomic and reads never see half of one.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable

from relay.local.patches import once

__all__ = ["install", "DYNAMODB_LOCK"]

DYNAMODB_LOCK = threading.RLock()  # reentrant: a transaction calls put_item/update_item under it
_DYNAMODB_ITEM_CALLS = ("put_item", "update_item", "delete_item", "transact_write_items", "get_item", "query",
                        "scan")


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with DYNAMODB_LOCK:
            return method(*args, **kwargs)

    return call


@once
def install() -> None:
    """Lock SQS's delete, purge and receive, and DynamoDB's item reads and writes (idempotent, process-wide)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.sqs.models import Queue, SQSBackend

    from moto.dynamodb.responses import DynamoHandler

    for name in _DYNAMODB_ITEM_CALLS:
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    # and each whole request: moto serialises a returned item after the backend call, while another
    # thread's update_item may change that item in place (a torn read, or "dict changed size" → 500)
    DynamoHandler.call_action = _locked(DynamoHandler.call_action)  # type: ignore[method-assign]

    original_delete = Queue.delete_message
    original_purge = SQSBackend.purge_queue

    def delete_message(self: Any, receipt_handle: str) -> None:
        with self._messages_lock:
            return original_delete(self, receipt_handle)

    def purge_queue(self: Any, queue_name: str) -> None:
        queue = self.get_queue(queue_name)
        with queue._messages_lock:
            return original_purge(self, queue_name)

    original_receive = SQSBackend.receive_message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        with queue._messages_lock:
            return original_receive(self, queue_name, *args, **kwargs)

    Queue.delete_message = delete_message  # type: ignore[method-assign]
    SQSBackend.purge_queue = purge_queue  # type: ignore[method-assign]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
