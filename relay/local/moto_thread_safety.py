"""Make moto's SQS queue safe for the threads the local stage runs.

moto's server handles requests on many threads, and the local stage adds its own (data plane pollers,
the message mover). ``Queue.add_message`` appends under ``queue._messages_lock``, but
``Queue.delete_message`` and ``SQSBackend.purge_queue`` rebuild ``queue._messages`` and assign the new
list without it: a message appended after the rebuild's loop and before the assignment vanishes.
The window is a few bytecodes wide (we could not provoke it in 10^4 tries), but it is a lost message
under exactly the concurrent send + delete traffic a job queue sees. We take the same lock around
both (it is a ``Condition`` over an ``RLock``, so moto's own nested use stays safe).
"""
from __future__ import annotations

from typing import Any

from relay.local.patches import once

__all__ = ["install"]



@once
def install() -> None:
    """Lock ``Queue.delete_message`` and ``SQSBackend.purge_queue`` (idempotent, process-wide)."""
    from moto.sqs.models import Queue, SQSBackend

    original_delete = Queue.delete_message
    original_purge = SQSBackend.purge_queue

    def delete_message(self: Any, receipt_handle: str) -> None:
        with self._messages_lock:
            return original_delete(self, receipt_handle)

    def purge_queue(self: Any, queue_name: str) -> None:
        queue = self.get_queue(queue_name)
        with queue._messages_lock:
            return original_purge(self, queue_name)

    Queue.delete_message = delete_message  # type: ignore[method-assign]
    SQSBackend.purge_queue = purge_queue  # type: ignore[method-assign]
