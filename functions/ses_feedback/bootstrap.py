"""Wire the feedback function's core to its boto3 adapters (once per container)."""
from __future__ import annotations

from dataclasses import dataclass

from functions.shared.warm import cached
from functions.ses_feedback.ports import MessageEvents, SuppressionWriter

__all__ = ["FeedbackPorts", "build_ports", "reset_ports"]


@dataclass(frozen=True)
class FeedbackPorts:
    """What the feedback core needs, and the settings it applies."""

    events: MessageEvents
    suppressions: SuppressionWriter
    retention_days: int
    stage: str


@cached
def build_ports() -> FeedbackPorts:
    """The adapters named by the settings (cached; tests call :func:`reset_ports`)."""
    from functions.ses_feedback.adapters import DynamoMessageEvents, DynamoSuppressionWriter
    from functions.shared.settings import get_settings

    s = get_settings()
    return FeedbackPorts(events=DynamoMessageEvents(s.message_table),
                         suppressions=DynamoSuppressionWriter(s.state_table),
                         retention_days=s.message_retention_days, stage=s.stage)


def reset_ports() -> None:
    """Forget the wired ports (tests change settings between cases)."""
    build_ports.cache_clear()
