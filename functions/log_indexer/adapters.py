"""The message-log table (views and timeline) on DynamoDB: conditional writes make replays harmless."""
from __future__ import annotations

from typing import Any, Mapping

from functions.shared import aws
from functions.shared.dynamo_values import plain_to_item

__all__ = ["DynamoLogStore"]

# The VIEW is replaced only by a strictly newer event: (ts, statusRank, eventSk) compared in order.
_NEWER = ("attribute_not_exists(pk) OR #ts < :ts OR (#ts = :ts AND statusRank < :rank) "
          "OR (#ts = :ts AND statusRank = :rank AND eventSk < :esk)")


class DynamoLogStore:
    """Writes VIEW and timeline items to ``LOG_TABLE``."""

    def __init__(self, table: str) -> None:
        self.table = table

    def put_timeline(self, item: Mapping[str, Any]) -> None:
        """Idempotent: the same event always has the same keys and attributes."""
        aws.client("dynamodb").put_item(TableName=self.table, Item=plain_to_item(item))

    def put_view_if_newer(self, view: Mapping[str, Any]) -> bool:
        """Write the VIEW unless a newer (or the same) event is already there; ``True`` if written."""
        ddb = aws.client("dynamodb")
        try:
            ddb.put_item(
                TableName=self.table, Item=plain_to_item(view), ConditionExpression=_NEWER,
                ExpressionAttributeNames={"#ts": "ts"},
                ExpressionAttributeValues=plain_to_item({":ts": view["ts"], ":rank": view["statusRank"],
                                                      ":esk": view["eventSk"]}))
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True
