"""The send worker's ports: small ABCs the core talks to (boto3 adapters in ``adapters.py``,
in-memory fakes in the tests)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from functions.providers.base import Provider
from functions.shared.statuses import MessageStatus
from functions.shared.suppression import SuppressionEntry

__all__ = ["Outcome", "ClaimResult", "ClaimStore", "EventLog", "RunState", "SuppressionList", "TemplateStore",
           "ProviderRegistry", "DelayedSends"]


@dataclass(frozen=True)
class Outcome:
    """The settled result of one message, stored on its delivery claim so a replay repeats it.

    ``events`` are ``(ts_ms, seq, status)`` triples in the order they were written.
    """

    status: MessageStatus
    reason: str | None = None
    provider: str | None = None
    delivery_id: str | None = None
    events: tuple[tuple[int, int, MessageStatus], ...] = ()
    detail: str | None = None                 # the provider's words for a refusal or a suppression
    provider_message_id: str | None = None    # the provider's id for the message (SES, SNS)

    def as_item(self) -> dict[str, Any]:
        """Plain dict for storage (no None values)."""
        out: dict[str, Any] = {"status": self.status, "events": [list(e) for e in self.events]}
        for k, v in (("reason", self.reason), ("provider", self.provider), ("deliveryId", self.delivery_id),
                     ("detail", self.detail), ("providerMessageId", self.provider_message_id)):
            if v is not None:
                out[k] = v
        return out

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "Outcome":
        """Inverse of :meth:`as_item` (numbers may arrive as ``Decimal`` from DynamoDB)."""
        return cls(
            status=MessageStatus(item["status"]), reason=item.get("reason"), provider=item.get("provider"),
            delivery_id=item.get("deliveryId"),
            events=tuple((int(ts), int(seq), MessageStatus(st)) for ts, seq, st in item.get("events", [])),
            detail=item.get("detail"), provider_message_id=item.get("providerMessageId"),
        )


@dataclass(frozen=True)
class ClaimResult:
    """``acquired``: this invocation owns the message; else ``outcome`` (settled) or a live lease."""

    acquired: bool
    outcome: Outcome | None = None
    lease_until_ms: int | None = None


class ClaimStore(ABC):
    """``DELIVERY#<messageId>/CLAIM``: at most one delivery per message id."""

    @abstractmethod
    def acquire(self, message_id: str, delivery_id: str, *, now_ms: int, lease_ms: int) -> ClaimResult:
        """Claim the message unless it is settled or another invocation's lease is still live."""

    @abstractmethod
    def finish(self, message_id: str, delivery_id: str, outcome: Outcome) -> None:
        """Settle the claim with ``outcome`` (only if this delivery still holds it)."""

    @abstractmethod
    def release(self, message_id: str, delivery_id: str) -> None:
        """Give the claim up after a transient failure, so a retry can claim it at once."""


class EventLog(ABC):
    """The messages table: one item per status event (idempotent put by key)."""

    @abstractmethod
    def put(self, item: dict[str, Any]) -> None:
        """Write one event item."""


class RunState(ABC):
    """What the send worker reads from the state table."""

    @abstractmethod
    def is_canceled(self, run_id: str) -> bool:
        """True when the run is CANCELED or its cancelation token has fired."""

    @abstractmethod
    def profile(self, user_id: str) -> dict[str, Any] | None:
        """``PROFILE#<user_id>/PROFILE`` (addresses for a recipient given by user id), or None."""

    def request_canceled(self, request_id: str) -> bool:
        """Whether ``CANCEL#<requestId>`` was written (``POST /messages/{id}/cancel`` of a delayed send)."""
        return False


class DelayedSends(ABC):
    """Where a delayed send waits: a job on the job queue that re-stores it, released, when it is due."""

    @abstractmethod
    def schedule(self, request_id: str, until: Any) -> None:
        """Enqueue the release of ``send/<requestId>.json`` at ``until`` (an aware datetime)."""


class SuppressionList(ABC):
    """``SUPPRESSION#<channel>/<address>`` in the state table (:mod:`functions.shared.suppression`)."""

    @abstractmethod
    def find(self, channel: str, address: str) -> SuppressionEntry | None:
        """The entry that suppresses ``address`` on ``channel``, or None."""


class TemplateStore(ABC):
    """Named templates: ``{"title", "body", "channels"?: {channel: {"title"?, "body"?}}}``."""

    @abstractmethod
    def get(self, name: str) -> dict[str, Any] | None:
        """The template called ``name``, or None when there is none."""


@dataclass
class ProviderRegistry:
    """channel → provider name → provider instance (created on first use)."""

    by_channel: dict[str, str]
    factory: Any  # Callable[[str], Provider]
    default: str = "outbox"
    _made: dict[str, Provider] = field(default_factory=dict)

    def for_channel(self, channel: str) -> Provider:
        """The provider that delivers ``channel``."""
        name = self.by_channel.get(channel, self.default)
        found = self._made.get(name)
        if found is None:
            found = self._made[name] = self.factory(name)
        return found
