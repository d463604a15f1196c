"""The messages table's event items as the send worker writes them (pure; shape in docs/CONTRACTS.md)."""
from __future__ import annotations

from typing import Any

from functions.shared.ids import ulid_ms
from functions.shared.statuses import MessageStatus as S

__all__ = ["event_item", "enqueued_sk"]


def event_item(*, message_id: str, request_id: str, run_id: str | None, recipient: str, channel: str,
               status: S, ts: int, seq: int, reason: str | None = None, provider: str | None = None,
               delivery_id: str | None = None, retention_days: int = 30) -> dict[str, Any]:
    """The messages-table item for one status event (shape in docs/CONTRACTS.md)."""
    item: dict[str, Any] = {
        "pk": f"MSG#{message_id}", "sk": f"EVT#{ts:013d}#{seq:02d}#{status}",
        "messageId": message_id, "requestId": request_id, "recipient": recipient, "channel": channel,
        "status": status, "ts": ts, "expiresAt": ts // 1000 + retention_days * 86_400,
    }
    for k, v in (("runId", run_id), ("reason", reason), ("provider", provider), ("deliveryId", delivery_id)):
        if v:
            item[k] = v
    return item


def enqueued_sk(request_id: str) -> str:
    """The ENQUEUED event's sort key, the same for every attempt: its request's time (the request id's ULID ms).

    Deterministic, so one conditional write on it can be the delivery claim; the event's ``ts`` stays the time
    the message was first claimed. A request id without a ULID keys it at time 0 (still first in the timeline).
    """
    return f"EVT#{ulid_ms(request_id) or 0:013d}#00#{S.ENQUEUED}"
