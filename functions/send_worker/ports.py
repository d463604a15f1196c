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
    """The settled result of one message: what its events say, so a replay repeats it instead of delivering.

    ``events`` are ``(ts_ms, seq, status)`` triples in the order they were written. The message's own final
    events in the messages table record it (:meth:`from_events`); claims settled by versions before that
    carry it as ``outcome`` (:meth:`from_item`), still honoured.
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

    @classmethod
    def from_events(cls, items: list[dict[str, Any]]) -> "Outcome | None":
        """The outcome a message's event items record, or None while it is not settled.

        The send worker writes events other than ENQUEUED only when it settles a delivery (all of them in
        one request), so any such event of its own means settled; a dead attempt leaves ENQUEUED alone. An
        event from the provider's feedback (``feedbackId``) without one of the worker's own still proves
        the provider took the message (the worker died before writing SENT): settled as SENT, so it is
        never sent again.
        """
        def order(e: dict[str, Any]) -> tuple[int, int]:
            return int(e.get("ts", 0)), _seq(e)

        own = sorted((e for e in items if not e.get("feedbackId")), key=order)
        finals = [e for e in own if e.get("status") != MessageStatus.ENQUEUED]
        feedback = sorted((e for e in items if e.get("feedbackId")), key=order)
        if not finals and not feedback:
            return None
        first_final_ts = int(finals[0]["ts"]) if finals else int(feedback[0]["ts"])
        enqueued = [e for e in own if e.get("status") == MessageStatus.ENQUEUED and int(e.get("ts", 0)) <= first_final_ts]
        enq = enqueued[-1] if enqueued else None
        events: list[tuple[int, int, MessageStatus]] = [(int(enq["ts"]), 0, MessageStatus.ENQUEUED)] if enq else []
        if not finals:  # only the provider's feedback: the worker's SENT never landed
            fb = feedback[0]
            sent_ts = int(enq["ts"]) if enq else int(fb["ts"])
            return cls(MessageStatus.SENT, None, fb.get("provider"), fb.get("deliveryId"),
                       (*events, (sent_ts, 1, MessageStatus.SENT)), provider_message_id=fb.get("providerMessageId"))
        last = finals[-1]
        events += [(int(e["ts"]), _seq(e), MessageStatus(e["status"])) for e in finals]
        return cls(MessageStatus(last["status"]), last.get("reason"),
                   next((e["provider"] for e in reversed(finals) if e.get("provider")), None),
                   next((e["deliveryId"] for e in reversed(finals) if e.get("deliveryId")), None), tuple(events),
                   detail=last.get("detail"),
                   provider_message_id=next((e["providerMessageId"] for e in reversed(finals)
                                             if e.get("providerMessageId")), None))


def _seq(event: dict[str, Any]) -> int:
    """The sequence number in ``EVT#<ts>#<seq>#<status>`` (0 when the key is not in that shape)."""
    parts = str(event.get("sk", "")).split("#")
    return int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else 0


@dataclass(frozen=True)
class ClaimResult:
    """``acquired``: this invocation owns the message; else another attempt's ENQUEUED event holds it.

    ``enqueued_ts``: the ``ts`` the ENQUEUED event carries once acquired (the first attempt's, when taken over).
    ``outcome``: only from :meth:`ClaimStore.legacy` — a claim an earlier version settled.
    """

    acquired: bool
    outcome: Outcome | None = None
    lease_until_ms: int | None = None
    enqueued_ts: int | None = None


class ClaimStore(ABC):
    """The delivery claim: at most one delivery per message id.

    The claim is the message's ENQUEUED event itself, at a key its request fixes (``enqueued_sk``): the first
    attempt writes it with a lease in one conditional write. The claim is not written again when the delivery
    settles — the message's final events are the settlement (:meth:`Outcome.from_events`) — and a later attempt
    reads them before it may take an unsettled claim over.
    """

    @abstractmethod
    def acquire(self, enqueued: dict[str, Any], delivery_id: str, *, now_ms: int, lease_ms: int) -> ClaimResult:
        """Write the ENQUEUED event ``enqueued`` holding the claim, unless the event is there already."""

    @abstractmethod
    def take_over(self, enqueued: dict[str, Any], delivery_id: str, *, now_ms: int, lease_ms: int) -> ClaimResult:
        """Move the claim of the existing ENQUEUED event to this attempt if its lease ran out or was given up.

        The event keeps the attributes the first attempt wrote (its ``ts``: when the message was enqueued).
        """

    @abstractmethod
    def release(self, enqueued: dict[str, Any], delivery_id: str) -> None:
        """Give the claim up after a transient failure, so a retry can claim it at once (the event stays)."""

    def legacy(self, message_id: str) -> ClaimResult | None:
        """The claim an earlier version kept for the message (``DELIVERY#<id>/CLAIM``), or None."""
        return None


class EventLog(ABC):
    """The messages table: one item per status event (idempotent put by key)."""

    @abstractmethod
    def put(self, item: dict[str, Any]) -> None:
        """Write one event item."""

    def put_all(self, items: list[dict[str, Any]]) -> None:
        """Write several event items, all or (raising) not known to be all; one request where the store can."""
        for item in items:
            self.put(item)

    @abstractmethod
    def events(self, message_id: str) -> list[dict[str, Any]]:
        """Every ``MSG#<message_id>/EVT#…`` item, read consistently."""


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
