"""In-memory fakes that subclass the send worker's ports (for the pure core's tests)."""
from __future__ import annotations

import itertools
from typing import Any

from functions.providers.base import Delivery, DeliveryResult, Provider
from functions.send_worker.core import SendPorts
from functions.send_worker.ports import ClaimResult, ClaimStore, EventLog, Outcome, ProviderRegistry, RunState, TemplateStore


class FakeClaims(ClaimStore):
    """The claim item's rule: taken when absent or its lease ran out; ``DONE`` items are earlier versions' settled claims."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.writes = 0

    def acquire(self, message_id: str, delivery_id: str, *, now_ms: int, lease_ms: int) -> ClaimResult:
        cur = self.items.get(message_id)
        self.writes += 1
        if cur is None or (cur["status"] == "CLAIMED" and cur["leaseUntil"] < now_ms):
            self.items[message_id] = {"status": "CLAIMED", "deliveryId": delivery_id, "leaseUntil": now_ms + lease_ms}
            return ClaimResult(True, taken_over=cur is not None)
        if cur["status"] == "DONE":
            return ClaimResult(False, outcome=Outcome.from_item(cur["outcome"]))
        return ClaimResult(False, lease_until_ms=cur["leaseUntil"])

    def settle_as_before(self, message_id: str, outcome: Outcome) -> None:
        """What an earlier version wrote on settling (``DONE`` with the outcome on the claim)."""
        self.items[message_id] = {"status": "DONE", "deliveryId": outcome.delivery_id, "outcome": outcome.as_item()}

    def release(self, message_id: str, delivery_id: str) -> None:
        cur = self.items.get(message_id)
        if cur and cur["deliveryId"] == delivery_id and cur["status"] == "CLAIMED":
            del self.items[message_id]


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
    return SendPorts(
        claims=kw.pop("claims", FakeClaims()), events=kw.pop("events", FakeEvents()),
        runs=kw.pop("runs", FakeRuns()), templates=kw.pop("templates", FakeTemplates()),
        providers=ProviderRegistry({}, lambda name: provider), now_ms=kw.pop("now_ms", Clock()),
        new_delivery_id=lambda: f"dlv_{next(counter):04d}", **kw,
    )
