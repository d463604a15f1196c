"""The message-log table (views and timeline) on DynamoDB: conditional writes make replays harmless."""
from __future__ import annotations

from typing import Any, Mapping

from functions.shared import aws

__all__ = ["DynamoLogStore"]

# The VIEW is replaced only by a strictly newer event: (ts, statusRank, eventSk) compared in order.
_NEWER = ("attribute_not_exists(pk) OR #ts < :ts OR (#ts = :ts AND statusRank < :rank) "
          "OR (#ts = :ts AND statusRank = :rank AND eventSk < :esk)")


class DynamoLogStore:
    """Writes VIEW and timeline items to ``LOG_TABLE``."""

    def __init__(self, table: str) -> None:
        self.table = table
        self._ser: Any = None

    def _dump(self, item: Mapping[str, Any]) -> dict[str, Any]:
        if self._ser is None:
            from boto3.dynamodb.types import TypeSerializer

            self._ser = TypeSerializer()
        return {k: self._ser.serialize(v) for k, v in item.items()}

    def put_timeline(self, item: Mapping[str, Any]) -> None:
        """Idempotent: the same event always has the same keys and attributes."""
        aws.client("dynamodb").put_item(TableName=self.table, Item=self._dump(item))

    def put_view_if_newer(self, view: Mapping[str, Any]) -> bool:
        """Write the VIEW unless a newer (or the same) event is already there; ``True`` if written."""
        ddb = aws.client("dynamodb")
        try:
            ddb.put_item(
                TableName=self.table, Item=self._dump(view), ConditionExpression=_NEWER,
                ExpressionAttributeNames={"#ts": "ts"},
                ExpressionAttributeValues=self._dump({":ts": view["ts"], ":rank": view["statusRank"],
                                                      ":esk": view["eventSk"]}))
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True
