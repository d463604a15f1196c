"""boto3 adapters behind the feedback function's ports (clients through ``shared.aws``)."""
from __future__ import annotations

from typing import Any

from functions.ses_feedback.ports import MessageEvents, SuppressionWriter
from functions.shared import aws
from functions.shared.dynamo_values import to_plain
from functions.shared.suppression import SuppressionEntry

__all__ = ["DynamoMessageEvents", "DynamoSuppressionWriter"]


def _table(name: str) -> Any:
    return aws.resource("dynamodb").Table(name)


class DynamoMessageEvents(MessageEvents):
    """Status events in the messages table (the stream source of the log indexer)."""

    def __init__(self, table_name: str) -> None:
        self._name = table_name

    def events(self, message_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        table, items, start = _table(self._name), [], None
        while True:
            kw: dict[str, Any] = {
                "KeyConditionExpression": Key("pk").eq(f"MSG#{message_id}") & Key("sk").begins_with("EVT#"),
                "ConsistentRead": True}
            if start:
                kw["ExclusiveStartKey"] = start
            page = table.query(**kw)
            items += [to_plain(i) for i in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def put(self, item: dict[str, Any]) -> None:
        _table(self._name).put_item(Item=item)


class DynamoSuppressionWriter(SuppressionWriter):
    """``SUPPRESSION#<channel>/<address>`` items in the state table."""

    def __init__(self, table_name: str) -> None:
        self._name = table_name

    def suppress(self, entry: SuppressionEntry) -> None:
        item = entry.as_item()
        key = {"pk": item.pop("pk"), "sk": item.pop("sk")}
        created = item.pop("createdAt", entry.updated_at)
        names = {f"#{k}": k for k in item}
        values = {f":{k}": v for k, v in item.items()}
        sets = [f"#{k} = :{k}" for k in item] + ["#createdAt = if_not_exists(#createdAt, :createdAt)"]
        _table(self._name).update_item(
            Key=key, UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames={**names, "#createdAt": "createdAt"},
            ExpressionAttributeValues={**values, ":createdAt": created})
