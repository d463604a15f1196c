"""Reading SQS queues without consuming them: depth, paging receives, peek, the oldest message's age.

Every receive here hides what it got for :data:`PEEK_HIDE_SECONDS`, so repeated receives page through
the whole queue instead of returning the same ten messages; whatever the caller does not keep is made
visible again at once (``VisibilityTimeout=0``). If the console dies half-way, SQS shows the messages
again after the hide time anyway: nothing is ever consumed by reading.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from dashboard.letters import DeadLetter, decode
from dashboard.scan import QueueScan, release

__all__ = ["QueueDepth", "PEEK_HIDE_SECONDS", "queue_depth", "release", "receive_through", "take", "peek",
           "oldest_sample_age"]

PEEK_HIDE_SECONDS = 30


@dataclass(frozen=True)
class QueueDepth:
    """``ApproximateNumberOfMessages{,NotVisible,Delayed}`` of one queue."""

    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        """Every message the queue holds."""
        return self.visible + self.in_flight + self.delayed


def queue_depth(sqs: Any, url: str) -> QueueDepth:
    """Visible, in-flight and delayed counts of one queue."""
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
    ])["Attributes"]
    return QueueDepth(int(a.get("ApproximateNumberOfMessages", 0)), int(a.get("ApproximateNumberOfMessagesNotVisible", 0)),
                      int(a.get("ApproximateNumberOfMessagesDelayed", 0)))


def receive_through(sqs: Any, url: str, want: Callable[[dict], bool], limit: int | None,
                    hide_s: int = PEEK_HIDE_SECONDS) -> dict[str, dict]:
    """Receive through the whole queue; keep hidden the messages ``want`` picks, release the others.

    Returns ``{message_id: message}`` of the kept messages (still hidden, for the caller to release or
    delete); ``limit`` stops after that many. If anything fails half-way, every message is released.
    """
    kept: dict[str, dict] = {}
    with QueueScan(sqs, url, hide_s) as scan:
        for batch in scan.batches(stop=lambda: limit is not None and len(kept) >= limit):
            for m in batch:
                if want(m) and (limit is None or len(kept) < limit):
                    kept[m["MessageId"]] = m
        scan.forget(kept)  # handed to the caller, still hidden
    return kept


def take(sqs: Any, url: str, ids: Iterable[str]) -> tuple[dict[str, dict], list[str]]:
    """Receive the named messages with fresh receipt handles (kept hidden); and the ids not found."""
    wanted = set(ids)
    kept = receive_through(sqs, url, lambda m: m["MessageId"] in wanted, len(wanted))
    return kept, sorted(wanted - set(kept))


def peek(sqs: Any, url: str, kind: str, max_messages: int = 200) -> list[DeadLetter]:
    """Read up to ``max_messages`` dead letters without consuming any, oldest first.

    Receiving increments ``ApproximateReceiveCount``, as with any SQS peek; a DLQ has no redrive policy
    of its own, so this moves nothing.
    """
    kept = receive_through(sqs, url, lambda m: True, max_messages)
    try:
        letters = [decode(kind, m) for m in kept.values()]
    finally:
        release(sqs, url, [m["ReceiptHandle"] for m in kept.values()])
    return sorted(letters, key=lambda x: x.sent_at)


def oldest_sample_age(sqs: Any, url: str, now: datetime | None = None) -> float | None:
    """Age (s) of the oldest message in one receive of up to 10, released at once; None if empty.

    A lower bound only (SQS does not return oldest-first); the overview uses it where CloudWatch has
    no ``ApproximateAgeOfOldestMessage`` (the local stage publishes only Lambda metrics).
    """
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=PEEK_HIDE_SECONDS,
                               WaitTimeSeconds=0, AttributeNames=["SentTimestamp"]).get("Messages", [])
    release(sqs, url, [m["ReceiptHandle"] for m in msgs])
    if not msgs:
        return None
    now = now or datetime.now(timezone.utc)
    first = min(int(m["Attributes"]["SentTimestamp"]) for m in msgs)
    return max(0.0, now.timestamp() - first / 1000)
