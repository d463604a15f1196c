"""The one interface every channel provider implements (pure; no boto3, no network)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Delivery", "DeliveryResult", "Provider"]


@dataclass(frozen=True)
class Delivery:
    """One rendered message on its way to one address over one channel."""

    message_id: str
    delivery_id: str
    request_id: str
    channel: str
    address: str
    title: str
    body: str
    recipient: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryResult:
    """What a provider did: ``delivered`` or a permanent refusal with ``reason``.

    Transient failures are not results: providers raise
    :class:`~functions.shared.errors.RetryableError` so the invocation is retried.
    """

    provider: str
    delivered: bool
    reason: str | None = None


class Provider(ABC):
    """A channel provider: ``deliver`` performs one delivery, at most once per call."""

    name: str = "provider"

    @abstractmethod
    def deliver(self, delivery: Delivery) -> DeliveryResult:
        """Deliver ``delivery``.

        Returns
        -------
        DeliveryResult
            ``delivered=True``, or ``delivered=False`` with the reason for a permanent failure.

        Raises
        ------
        RetryableError
            For a transient failure (connection refused, 4xx SMTP reply, 5xx HTTP status, timeout).
        """
