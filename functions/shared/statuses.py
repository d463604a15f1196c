"""Message and run statuses (issue 2)."""
from __future__ import annotations

from enum import Enum

__all__ = ["MessageStatus", "RunStatus", "STATUS_RANK", "TERMINAL_MESSAGE_STATUSES"]


class MessageStatus(str, Enum):
    """Status events a message goes through; the log indexer keeps the newest."""

    ENQUEUED = "ENQUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    UNDELIVERABLE = "UNDELIVERABLE"
    UNROUTABLE = "UNROUTABLE"
    CANCELED = "CANCELED"

    def __str__(self) -> str:
        return self.value


class RunStatus(str, Enum):
    """Status of an automation run."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value


# Tie-break when two events carry the same ts: the later stage of the life cycle wins.
STATUS_RANK: dict[str, int] = {
    "ENQUEUED": 0, "SENT": 1, "DELIVERED": 2, "UNDELIVERABLE": 2, "UNROUTABLE": 2, "CANCELED": 2,
}

TERMINAL_MESSAGE_STATUSES = frozenset(
    {MessageStatus.DELIVERED, MessageStatus.UNDELIVERABLE, MessageStatus.UNROUTABLE, MessageStatus.CANCELED}
)
