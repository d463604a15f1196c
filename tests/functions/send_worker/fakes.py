"""In-memory fakes that subclass the send worker's ports (for the pure core's tests)."""
from __future__ import annotations

import itertools
from typing import Any

from functions.providers.base import Delivery, DeliveryResult, Provider
from functions.send_worker.core import SendPorts
from functions.send_worker.ports import ClaimResult, ClaimStore, EventLog, Outcome, ProviderRegistry, RunState, TemplateStore


class FakeClaims(ClaimStore):
    """The claim rule on the ENQUEUED item of ``events``; ``legacy`` holds claims an earlier version kept."""

    def __init__(self, events: "FakeEvents | None" = None) -> None:
        self.events = events if events is not None else FakeEvents()
        self.legacy_items: dict[str, dict[str, Any]] = {}
        self.writes = 0

    def acquire(self, enqueued: dict[str, Any], delivery_id: str, *, now_ms: int, lease_ms: int) -> ClaimResult:
        key = (enqueued["pk"], enqueued["sk"])
        self.writes += 1
        if key in self.events.items:
            return ClaimResult(False)
        self.events.items[key] = {**enqueued, "claimedBy": delivery_id, "leaseUntil": now_ms + lease_ms}
        return ClaimResult(True, enqueued_ts=int(enqueued["ts"]))

    def take_over(self, enqueued: dict[str, Any], delivery_id: str, *, now_ms: int, lease_ms: int) -> ClaimResult:
        cur = self.events.items.get((enqueued["pk"], enqueued["sk"]))
        self.writes += 1
        if cur is None or ("leaseUntil" in cur and cur["leaseUntil"] >= now_ms):
            return ClaimResult(False, lease_until_ms=(cur or {}).get("leaseUntil"))
        cur.update(claimedBy=delivery_id, leaseUntil=now_ms + lease_ms)  # the event keeps its attributes
        return ClaimResult(True, enqueued_ts=int(cur["ts"]))

    def release(self, enqueued: dict[str, Any], delivery_id: str) -> None:
        cur = self.events.items.get((enqueued["pk"], enqueued["sk"]))
        if cur and cur.get("claimedBy") == delivery_id and "leaseUntil" in cur:
            cur.pop("leaseUntil")
            cur.pop("claimedBy")

    def legacy(self, message_id: str) -> ClaimResult | None:
        cur = self.legacy_items.get(message_id)
        if cur is None:
            return None
        if cur["status"] == "DONE":
            return ClaimResult(False, outcome=Outcome.from_item(cur["outcome"]))
        return ClaimResult(False, lease_until_ms=cur["leaseUntil"])

    def settle_as_before(self, message_id: str, outcome: Outcome) -> None:
        """What an earlier version kept in the state table on settling (``DONE`` with the outcome)."""
        self.legacy_items[message_id] = {"status": "DONE", "outcome": outcome.as_item()}

    def claim_as_before(self, message_id: str, lease_until_ms: int) -> None:
        """An earlier version's claim still in flight (``CLAIMED`` with its lease)."""
        self.legacy_items[message_id] = {"status": "CLAIMED", "leaseUntil": lease_until_ms}

    def holder(self, message_id: str) -> dict[str, Any] | None:
        """The ENQUEUED item that carries the message's claim."""
        return next((v for (pk, _), v in self.events.items.items() if pk == f"MSG#{message_id}" and "claimedBy" in v),
                    None)


class FakeEvents(EventLog):
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.puts = 0
        self.requests = 0

    def put(self, item: dict[str, Any]) -> None:
        self.puts += 1
        self.requests += 1
        self.items[(item["pk"], item["sk"])] = item

    def put_all(self, items: list[dict[str, Any]]) -> None:
        self.requests += 1
        self.puts += len(items)
        for item in items:
            self.items[(item["pk"], item["sk"])] = item

    def events(self, message_id: str) -> list[dict[str, Any]]:
        return [dict(v) for (pk, sk), v in sorted(self.items.items()) if pk == f"MSG#{message_id}"]

    def statuses(self, message_id: str) -> list[str]:
        return [v["status"] for (pk, sk), v in sorted(self.items.items()) if pk == f"MSG#{message_id}"]


class FakeRuns(RunState):
    def __init__(self, canceled: set[str] | None = None, profiles: dict[str, dict] | None = None) -> None:
        self.canceled, self.profiles = canceled or set(), profiles or {}

    def is_canceled(self, run_id: str) -> bool:
        return run_id in self.canceled

    def profile(self, user_id: str) -> dict[str, Any] | None:
        return self.profiles.get(user_id)


class FakeTemplates(TemplateStore):
    def __init__(self, templates: dict[str, dict] | None = None) -> None:
        self.templates = templates or {}

    def get(self, name: str) -> dict[str, Any] | None:
        return self.templates.get(name)


class RecordingProvider(Provider):
    """Delivers into a list; ``refuse`` channels fail permanently; ``transient`` raises a retryable error."""

    name = "outbox"

    def __init__(self, refuse: set[str] | None = None, transient: set[str] | None = None) -> None:
        self.deliveries: list[Delivery] = []
        self.refuse, self.transient = refuse or set(), transient or set()

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        from functions.shared.errors import RetryableError

        if delivery.channel in self.transient:
            raise RetryableError(f"{delivery.channel} provider is down")
        if delivery.channel in self.refuse:
            return DeliveryResult(self.name, False, f"{delivery.address} refused")
        self.deliveries.append(delivery)
        return DeliveryResult(self.name, True)


class Clock:
    def __init__(self, start: int = 1_800_000_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        self.now += 1
        return self.now


def make_ports(provider: RecordingProvider | None = None, **kw: Any) -> SendPorts:
    provider = provider or RecordingProvider()
    counter = itertools.count(1)
    events = kw.pop("events", None)
    claims = kw.pop("claims", None)
    if claims is None:
        claims = FakeClaims(events)
    if events is None:
        events = claims.events
    return SendPorts(
        claims=claims, events=events,
        runs=kw.pop("runs", FakeRuns()), templates=kw.pop("templates", FakeTemplates()),
        providers=ProviderRegistry({}, lambda name: provider), now_ms=kw.pop("now_ms", Clock()),
        new_delivery_id=lambda: f"dlv_{next(counter):04d}", **kw,
    )
