"""The suppression list for the console: addresses relay no longer sends to, and clearing one.

The layout is the send worker's and the feedback function's (:mod:`functions.shared.suppression`):
``SUPPRESSION#<channel>`` / ``<address>`` in the state table. A hard bounce or a complaint reported by SES
adds an entry; an operator clears it (through the confirm dialog, audited) once the address is known to
work again — the next send to it is attempted (and, should it bounce again, suppressed again).
"""
from __future__ import annotations

from typing import Any

from functions.shared.dynamo_values import item_to_plain
from functions.shared.suppression import SuppressionEntry, channel_partition, suppression_key

__all__ = ["list_suppressions", "clear_suppressions", "SUPPRESSION_COLUMNS"]

SUPPRESSION_COLUMNS = ("address", "reason", "since", "message", "detail")


def list_suppressions(ddb: Any, state_table: str, channel: str = "email", limit: int = 1000) -> list[dict[str, Any]]:
    """One row per suppressed address of ``channel`` (address order), at most ``limit``."""
    rows: list[dict[str, Any]] = []
    kw: dict[str, Any] = {"TableName": state_table, "KeyConditionExpression": "pk = :p", "ConsistentRead": True,
                          "ExpressionAttributeValues": {":p": {"S": channel_partition(channel)}}}
    while len(rows) < limit:
        page = ddb.query(**kw, Limit=min(500, limit - len(rows)))
        for item in page.get("Items", []):
            e = SuppressionEntry.from_item(item_to_plain(item))
            rows.append({"address": e.address, "reason": e.reason, "since": e.created_at,
                         "message": e.message_id, "detail": e.detail})
        if not page.get("LastEvaluatedKey"):
            break
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return rows


def clear_suppressions(ddb: Any, state_table: str, channel: str, addresses: list[str]) -> str:
    """Remove ``addresses`` from ``channel``'s list; returns what happened (flash message and audit record)."""
    removed, absent = [], []
    for address in addresses:
        key = {k: {"S": v} for k, v in suppression_key(channel, address).items()}
        old = ddb.delete_item(TableName=state_table, Key=key, ReturnValues="ALL_OLD").get("Attributes")
        (removed if old else absent).append(address)
    said = f"{len(removed)} address(es) removed from the {channel} suppression list"
    return said + (f"; not on it: {', '.join(absent)}" if absent else "")
