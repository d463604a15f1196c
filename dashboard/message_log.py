"""Message log search over the log table's GSIs, and one message's timeline from the messages table (no streamlit)."""
from __future__ import annotations

from typing import Any

from functions.shared.dynamo_values import item_to_plain

__all__ = ["SEARCH_INDEXES", "search_message_log", "message_timeline"]

# search by → (GSI, its hash key)
SEARCH_INDEXES = {"recipient": ("by_recipient", "recipient"), "status": ("by_status", "status"),
                  "run": ("by_run", "runId"), "request": ("by_request", "requestId")}


def search_message_log(ddb: Any, table: str, by: str, value: str, limit: int = 100) -> list[dict[str, Any]]:
    """Messages by recipient, status, run or request (the log table's GSIs), newest first."""
    if by not in SEARCH_INDEXES:
        raise ValueError(f"search by one of {', '.join(SEARCH_INDEXES)}, not {by!r}")
    index, key = SEARCH_INDEXES[by]
    resp = ddb.query(TableName=table, IndexName=index, KeyConditionExpression="#k = :v",
                     ExpressionAttributeNames={"#k": key}, ExpressionAttributeValues={":v": {"S": value}},
                     ScanIndexForward=False, Limit=limit)
    return [item_to_plain(i) for i in resp.get("Items", [])]


def message_timeline(ddb: Any, message_table: str, message_id: str) -> list[dict[str, Any]]:
    """A message's status events, oldest first: the ``EVT#`` items of the messages table (its only copy).

    Every page is read: a message has a handful of events, but the feedback function may add more.
    """
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": message_table, "KeyConditionExpression": "pk = :p AND begins_with(sk, :e)",
                              "ExpressionAttributeValues": {":p": {"S": f"MSG#{message_id}"}, ":e": {"S": "EVT#"}}}
    while True:
        resp = ddb.query(**kwargs)
        items += [item_to_plain(i) for i in resp.get("Items", [])]
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
