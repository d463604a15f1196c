"""boto3 adapters behind the feedback function's ports (clients through ``shared.aws``)."""
from __future__ import annotations

from typing import Any

from functions.ses_feedback.ports import MessageEvents, SuppressionWriter
from functions.shared import aws
from functions.shared.message_events import read_events
from functions.shared.suppression import SuppressionEntry

__all__ = ["DynamoMessageEvents", "DynamoSuppressionWriter"]


def _table(name: str) -> Any:
    return aws.resource("dynamodb").Table(name)


class DynamoMessageEvents(MessageEvents):
    """Status events in the messages table (the stream source of the log indexer)."""

    def __init__(self, table_name: str) -> None:
        self._name = table_name

    def events(self, message_id: str) -> list[dict[str, Any]]:
        return read_events(self._name, message_id)

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
