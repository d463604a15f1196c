"""Redrive all: SQS message-move tasks from a DLQ back to its source queue (no streamlit)."""
from __future__ import annotations

from typing import Any

from dashboard.errors import InvalidRate, NoSourceQueue

__all__ = ["MAX_REDRIVE_RATE", "check_rate", "start_redrive_all", "redrive_tasks", "cancel_redrive"]

MAX_REDRIVE_RATE = 500  # StartMessageMoveTask's MaxNumberOfMessagesPerSecond limit


def check_rate(rate: int) -> int:
    """Raise :class:`InvalidRate` unless 1 <= rate <= 500 messages/s."""
    if not isinstance(rate, int) or isinstance(rate, bool) or not 1 <= rate <= MAX_REDRIVE_RATE:
        raise InvalidRate(f"redrive rate {rate!r} messages/s is out of range: SQS moves 1 to {MAX_REDRIVE_RATE} "
                          "messages per second (StartMessageMoveTask). Nothing was started.")
    return rate


def start_redrive_all(sqs: Any, dlq_arn: str, source_arn: str, rate: int) -> str:
    """Start moving every message in the DLQ back to ``source_arn`` at ``rate`` messages/s.

    Returns the task handle (for :func:`cancel_redrive`).
    """
    check_rate(rate)
    if not source_arn:
        raise NoSourceQueue("this DLQ has no source queue ARN in the stage outputs; nothing was started")
    return sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=source_arn,
                                       MaxNumberOfMessagesPerSecond=rate)["TaskHandle"]


def redrive_tasks(sqs: Any, dlq_arn: str) -> list[dict[str, Any]]:
    """The DLQ's recent message-move tasks, newest first (status, moved / to move, handle if running)."""
    return list(sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10).get("Results", []))


def cancel_redrive(sqs: Any, task_handle: str) -> int:
    """Cancel a running move task; returns how many messages it had moved."""
    return int(sqs.cancel_message_move_task(TaskHandle=task_handle).get("ApproximateNumberOfMessagesMoved", 0))
