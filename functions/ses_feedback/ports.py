"""The feedback function's ports (boto3 adapters in ``adapters.py``, fakes in the tests)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from functions.shared.suppression import SuppressionEntry

__all__ = ["MessageEvents", "SuppressionWriter"]


class MessageEvents(ABC):
    """The messages table: a message's status events, and one more."""

    @abstractmethod
    def events(self, message_id: str) -> list[dict[str, Any]]:
        """Every ``MSG#<message_id>/EVT#…`` item (read consistently), oldest first."""

    @abstractmethod
    def put(self, item: dict[str, Any]) -> None:
        """Write one event item (idempotent by key)."""


class SuppressionWriter(ABC):
    """``SUPPRESSION#<channel>/<address>`` in the state table."""

    @abstractmethod
    def suppress(self, entry: SuppressionEntry) -> None:
        """Add (or refresh) the entry; the first ``createdAt`` is kept."""
