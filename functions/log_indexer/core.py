"""Message-log views from message events (pure).

Each event item ``MSG#<id>/EVT#<ts:013d>#<seq:02d>#<status>`` yields a candidate VIEW item. The VIEW
keeps the newest event: greater ``ts`` wins, then the later status in the life cycle (``STATUS_RANK``),
then the greater event sort key — a total order, so replays and out-of-order retries converge on the
same VIEW whatever order they arrive in.

The events themselves are the message's timeline: readers query the messages table's ``MSG#<id>``
partition (no copy is kept in the message-log table). Within one stream batch the events of a message
are coalesced first (:func:`plan_batch`): only the newest candidate is written, since the conditional
write of any older one would be refused (or overwritten) anyway. The maximum of a batch's maximum and
the stored VIEW is the maximum of everything seen, so coalescing keeps the convergence.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable, Iterable, Mapping

from functions.shared.message_meta import META_ATTRIBUTES
from functions.shared.statuses import STATUS_RANK

__all__ = ["VIEW_SK", "is_event", "view_item", "newer", "view_order", "VIEW_ATTRIBUTES", "BatchPlan",
           "plan_batch"]

VIEW_SK = "VIEW"
# copied from the event onto the VIEW; the GSI keys (recipient, status, runId, requestId, traceId) must be
# non-empty; the send's metadata (tags, traceId, event, template, enqueuedAt) serves GET /messages' filters
VIEW_ATTRIBUTES = ("messageId", "requestId", "runId", "recipient", "channel", "status", "reason", "provider",
                   "deliveryId", "ts", "expiresAt", *META_ATTRIBUTES)
_GSI_KEYS = ("recipient", "status", "runId", "requestId", "traceId")


def is_event(image: Mapping[str, Any] | None) -> bool:
    """True for a message status event item (the only items the indexer reads)."""
    return bool(image) and str(image.get("pk", "")).startswith("MSG#") and str(image.get("sk", "")).startswith("EVT#")


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


def view_order(view: Mapping[str, Any]) -> tuple[int, int, str]:
    """The total order of VIEWs: ``(ts, statusRank, eventSk)`` (what the conditional write compares)."""
    return int(view["ts"]), int(view["statusRank"]), str(view["eventSk"])


def newer(candidate: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether ``candidate`` should replace ``current`` (the same order the conditional write enforces)."""
    return current is None or view_order(candidate) > view_order(current)


@dataclass(frozen=True)
class BatchPlan:
    """What one stream batch writes: the newest VIEW per message, and which records each write answers for.

    Attributes
    ----------
    views
        One VIEW candidate per message, the newest of the batch's events for it.
    records_of
        Message key (``pk``) → the ids of the records folded into its VIEW: if that write fails, every
        one of them is reported failed (Lambda resumes the shard from the lowest).
    malformed
        ``(record id, reason)`` of event records that cannot become a VIEW (no ``ts`` or ``status``).
    ignored
        Records with nothing to index (REMOVE records of the TTL, items that are not events).
    """

    views: tuple[dict[str, Any], ...]
    records_of: Mapping[str, tuple[Hashable, ...]]
    malformed: tuple[tuple[Hashable, str], ...]
    ignored: int


def plan_batch(records: Iterable[tuple[Hashable, Mapping[str, Any] | None]]) -> BatchPlan:
    """Coalesce a batch: ``(record id, NEW_IMAGE or None)`` pairs → the newest VIEW of each message.

    Messages keep the order in which the batch first mentions them, so the plan is deterministic.
    """
    newest: dict[str, dict[str, Any]] = {}
    folded: dict[str, list[Hashable]] = {}
    malformed: list[tuple[Hashable, str]] = []
    ignored = 0
    for record_id, image in records:
        if not is_event(image):
            ignored += 1  # REMOVE (TTL) records and non-event items carry nothing to index
            continue
        assert image is not None
        try:
            candidate = view_item(image)
        except ValueError as exc:
            malformed.append((record_id, str(exc)))
            continue
        pk = str(candidate["pk"])
        folded.setdefault(pk, []).append(record_id)
        if newer(candidate, newest.get(pk)):
            newest[pk] = candidate
    return BatchPlan(views=tuple(newest.values()), records_of={pk: tuple(ids) for pk, ids in folded.items()},
                     malformed=tuple(malformed), ignored=ignored)
