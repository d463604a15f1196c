"""Message-log views from message events (pure).

Each event item ``MSG#<id>/EVT#<ts:013d>#<seq:02d>#<status>`` yields a timeline copy (same keys) and a
candidate VIEW item. The VIEW keeps the newest event: greater ``ts`` wins, then the later status in the
life cycle (``STATUS_RANK``), then the greater event sort key — a total order, so replays and
out-of-order retries converge on the same VIEW whatever order they arrive in.
"""
from __future__ import annotations

from typing import Any, Mapping

from functions.shared.statuses import STATUS_RANK

__all__ = ["VIEW_SK", "is_event", "timeline_item", "view_item", "newer", "VIEW_ATTRIBUTES"]

VIEW_SK = "VIEW"
# copied from the event onto the VIEW; the GSI keys (recipient, status, runId, requestId) must be non-empty
VIEW_ATTRIBUTES = ("messageId", "requestId", "runId", "recipient", "channel", "status", "reason", "provider",
                   "deliveryId", "ts", "expiresAt")
_GSI_KEYS = ("recipient", "status", "runId", "requestId")


def is_event(image: Mapping[str, Any] | None) -> bool:
    """True for a message status event item (the only items the indexer reads)."""
    return bool(image) and str(image.get("pk", "")).startswith("MSG#") and str(image.get("sk", "")).startswith("EVT#")


def timeline_item(image: Mapping[str, Any]) -> dict[str, Any]:
    """The timeline copy: the event as it is (its keys make the put idempotent)."""
    return {k: v for k, v in image.items() if v is not None}


def view_item(image: Mapping[str, Any]) -> dict[str, Any]:
    """The VIEW candidate for one event.

    Raises
    ------
    ValueError
        When the event lacks ``ts`` or ``status`` (a malformed event must not become the newest).
    """
    if image.get("ts") is None or not image.get("status"):
        raise ValueError(f"event {image.get('pk')}/{image.get('sk')} has no ts or status")
    ts = int(image["ts"])
    view: dict[str, Any] = {"pk": image["pk"], "sk": VIEW_SK}
    for name in VIEW_ATTRIBUTES:
        value = image.get(name)
        if value is None or (name in _GSI_KEYS and value == ""):
            continue  # an empty string cannot be a GSI key; absent keeps the item out of that index
        view[name] = value
    view["ts"] = ts
    view["updatedAt"] = ts
    view["statusRank"] = STATUS_RANK.get(str(image["status"]), -1)
    view["eventSk"] = image["sk"]
    return view


def newer(candidate: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether ``candidate`` should replace ``current`` (the same order the conditional write enforces)."""
    if current is None:
        return True
    key = lambda v: (int(v["ts"]), int(v["statusRank"]), str(v["eventSk"]))  # noqa: E731
    return key(candidate) > key(current)
