"""Every status relay stores or answers with, as ``StrEnum``s.

A member *is* its string (``RunStatus.FAILED == "FAILED"``, ``json.dumps`` and f-strings give
``FAILED``), so items written before the enums existed read back unchanged and nothing stored moves.
Write ``RunStatus.FAILED``, never the literal: the enum is the one list of what a status may be.
"""
from __future__ import annotations

from enum import StrEnum

__all__ = [
    "MessageStatus", "RunStatus", "StepStatus", "RequestStatus", "IdempotencyStatus", "ClaimStatus", "DeliveryReason",
    "STATUS_RANK", "TERMINAL_MESSAGE_STATUSES",
    "TERMINAL_RUN_STATUSES", "RUNNABLE_RUN_STATUSES",
]


class MessageStatus(StrEnum):
    """Status events a message goes through; the log indexer keeps the newest."""

    ENQUEUED = "ENQUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    UNDELIVERABLE = "UNDELIVERABLE"
    UNROUTABLE = "UNROUTABLE"
    CANCELED = "CANCELED"


class DeliveryReason(StrEnum):
    """Why a message delivered through a provider with receipts (ses, sns) is ``UNDELIVERABLE``.

    The message's ``reason`` is exactly one of these; the provider's own words (a bounce's diagnostic
    code, SES's error message) go in the event's ``detail``. docs/providers.md says what each means.
    """

    BOUNCED = "BOUNCED"                    # the receiving server refused the mail (SES Bounce event)
    COMPLAINT = "COMPLAINT"                # the recipient marked it as spam (SES Complaint event)
    REJECTED = "REJECTED"                  # SES refused the message (Reject event, MessageRejected, a bad request)
    RENDERING_FAILURE = "RENDERING_FAILURE"  # SES could not render a template (Rendering Failure event)
    SUPPRESSED = "SUPPRESSED"              # the address is on relay's (or SES's) suppression list: not sent
    INVALID_ADDRESS = "INVALID_ADDRESS"    # the provider refused the address itself (e.g. not E.164)
    EXPIRED = "EXPIRED"                    # the message's expiry (or timeout.message) passed before delivery


class RunStatus(StrEnum):
    """Status of an automation run (``RUN#<runId>/RUN``)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"


class StepStatus(StrEnum):
    """Status of one step of a run (``RUN#<runId>/STEP#<index>``)."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class RequestStatus(StrEnum):
    """``GET /requests/{id}``: stored but no message yet / some message still moving / all settled."""

    ACCEPTED = "ACCEPTED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"


class IdempotencyStatus(StrEnum):
    """``IDEMP#<key>/API``: the first request with a key is being stored / has its answer recorded."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


class ClaimStatus(StrEnum):
    """``DELIVERY#<messageId>/CLAIM``: a delivery in flight (with a lease) / settled with its outcome."""

    CLAIMED = "CLAIMED"
    DONE = "DONE"


# Tie-break when two events carry the same ts: the later stage of the life cycle wins.
STATUS_RANK: dict[str, int] = {
    MessageStatus.ENQUEUED: 0, MessageStatus.SENT: 1, MessageStatus.DELIVERED: 2, MessageStatus.UNDELIVERABLE: 2,
    MessageStatus.UNROUTABLE: 2, MessageStatus.CANCELED: 2,
}

TERMINAL_MESSAGE_STATUSES = frozenset(
    {MessageStatus.DELIVERED, MessageStatus.UNDELIVERABLE, MessageStatus.UNROUTABLE, MessageStatus.CANCELED}
)
# A job of a run in one of these does nothing; a FAILED run may still be redriven back to RUNNING.
TERMINAL_RUN_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.CANCELED})
RUNNABLE_RUN_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING, RunStatus.FAILED)
