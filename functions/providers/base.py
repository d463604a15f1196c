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
    # epoch ms by which a provider must stop retrying transient errors itself (the invocation's budget
    # less what the worker needs to settle); None: no deadline, the provider's attempt limit applies
    deadline_ms: int | None = None
    # the HTML body when the content has one (Elemental for email); else providers derive it from the text
    html: str | None = None


@dataclass(frozen=True)
class DeliveryResult:
    """What a provider did: ``delivered`` or a permanent refusal with ``reason``.

    Transient failures are not results: providers raise
    :class:`~functions.shared.errors.RetryableError` so the invocation is retried.

    ``accepted_only``: the provider took the message but its verdict comes later or never (SES reports
    delivery, bounces and complaints through its feedback events; SNS accepts an SMS). The message
    is then ``SENT``, not ``DELIVERED``. ``detail`` carries the provider's own words for a refusal and
    ``provider_message_id`` the provider's id for the message (SES's MessageId, SNS's MessageId).
    """

    provider: str
    delivered: bool
    reason: str | None = None
    accepted_only: bool = False
    detail: str | None = None
    provider_message_id: str | None = None


class Provider(ABC):
    """A channel provider: ``deliver`` performs one delivery, at most once per call."""

    name: str = "provider"
    # whether the send worker checks the suppression list before calling it (email providers do: an
    # address that bounced hard or complained is not mailed again, whichever provider is configured)
    checks_suppression: bool = False

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
