"""A message's timeline: its status event items in the messages table, read the one way every reader needs.

The messages table is the timeline (``MSG#<messageId>/EVT#…``, docs/CONTRACTS.md); the send worker (its claim),
the SES feedback function and the API's message history all read it — consistently, every page, oldest first.
"""
from __future__ import annotations

from typing import Any

from functions.shared import aws
from functions.shared.dynamo_values import to_plain

__all__ = ["read_events"]


def read_events(table_name: str, message_id: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Every event item of ``message_id`` (plain values), oldest first; at most about ``limit`` when given."""
    from boto3.dynamodb.conditions import Key

    table = aws.resource("dynamodb").Table(table_name)
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(f"MSG#{message_id}") & Key("sk").begins_with("EVT#"),
                              "ConsistentRead": True}
    items: list[dict[str, Any]] = []
    while limit is None or len(items) < limit:
        page = table.query(**kwargs)
        items += [to_plain(i) for i in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return items
