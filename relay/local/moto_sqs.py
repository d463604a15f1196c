"""The message mover's view of SQS, served straight from moto's in-process backend.

Going through the backend (not HTTP) keeps a redrive as cheap as the raw calls it replaces; the
operations are the same ones a client would make (receive, send, delete, change visibility).

moto moves a message to its DLQ without recording where it came from, while AWS keeps that origin
(``DeadLetterQueueSourceArn``) so ``StartMessageMoveTask`` without a destination can send each message
home. :func:`install_origin_tracking` wraps ``SQSBackend.receive_message`` to stamp that origin on the
message objects moto just moved (a private attribute: moto does not render it).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from relay.local.patches import once

__all__ = ["MotoSqs", "QueueRef", "SqsMessage", "parse_queue_arn", "install_origin_tracking", "ORIGIN_ATTR"]

ORIGIN_ATTR = "_relay_dead_letter_source_arn"



@dataclass(frozen=True)
class QueueRef:
    """A queue named by its ARN parts."""

    region: str
    account: str
    name: str

    @property
    def arn(self) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account}:{self.name}"


@dataclass(frozen=True)
class SqsMessage:
    """What the mover needs to re-send a message faithfully."""

    receipt_handle: str
    body: str
    message_attributes: dict[str, Any]
    origin_arn: str | None
    group_id: str | None = None
    deduplication_id: str | None = None


def parse_queue_arn(arn: str) -> QueueRef | None:
    """``arn:aws:sqs:<region>:<account>:<name>`` → :class:`QueueRef` (``None`` if not that shape)."""
    parts = str(arn or "").split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not all(parts[3:]):
        return None
    return QueueRef(region=parts[3], account=parts[4], name=parts[5])


@once
def install_origin_tracking() -> None:
    """Stamp the source queue's ARN on every message moto dead-letters (idempotent, process-wide)."""
    from moto.sqs.models import SQSBackend

    original = SQSBackend.receive_message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.queues.get(queue_name)
        dlq = getattr(queue, "dead_letter_queue", None) if queue is not None else None
        if dlq is None:
            return original(self, queue_name, *args, **kwargs)
        before = len(dlq._messages)
        result = original(self, queue_name, *args, **kwargs)
        if len(dlq._messages) != before:
            for message in dlq._messages:
                if not hasattr(message, ORIGIN_ATTR):
                    setattr(message, ORIGIN_ATTR, queue.queue_arn)
        return result

    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]


class MotoSqs:
    """Queue operations on moto's backend, addressed by queue ARN."""

    def _backend(self, ref: QueueRef) -> Any:
        from moto.sqs.models import sqs_backends

        return sqs_backends[ref.account][ref.region]

    def _queue(self, ref: QueueRef) -> Any:
        return self._backend(ref).queues.get(ref.name)

    def exists(self, ref: QueueRef) -> bool:
        return self._queue(ref) is not None

    def dead_letter_sources(self, ref: QueueRef) -> list[str]:
        """ARNs of the queues whose redrive policy targets ``ref``."""
        out = []
        for q in list(self._backend(ref).queues.values()):
            target = (q.redrive_policy or {}).get("deadLetterTargetArn") if isinstance(q.redrive_policy, dict) else None
            if target == ref.arn:
                out.append(q.queue_arn)
        return out

    def depth(self, ref: QueueRef) -> int:
        """Messages stored in the queue, visible or in flight."""
        q = self._queue(ref)
        return len(q._messages) if q is not None else 0

    def receive(self, ref: QueueRef, count: int, visibility_timeout: int) -> list[SqsMessage]:
        msgs = self._backend(ref).receive_message(ref.name, count, 0, visibility_timeout, ["All"])
        return [SqsMessage(receipt_handle=m.receipt_handle, body=m.body,
                           message_attributes=copy.deepcopy(m.message_attributes or {}),
                           origin_arn=getattr(m, ORIGIN_ATTR, None), group_id=m.group_id,
                           deduplication_id=m.deduplication_id) for m in msgs]

    def send(self, ref: QueueRef, message: SqsMessage) -> None:
        backend = self._backend(ref)
        fifo = ref.name.endswith(".fifo")
        backend.send_message(ref.name, message.body,
                             message_attributes=copy.deepcopy(message.message_attributes) or None,
                             group_id=message.group_id if fifo else None,
                             deduplication_id=message.deduplication_id if fifo else None)

    def delete(self, ref: QueueRef, receipt_handle: str) -> None:
        self._backend(ref).delete_message(ref.name, receipt_handle)

    def release(self, ref: QueueRef, receipt_handle: str) -> None:
        """Make a received message visible again at once."""
        self._backend(ref).change_message_visibility(ref.name, receipt_handle, 0)
