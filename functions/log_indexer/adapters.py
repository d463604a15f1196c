"""The message-log table's VIEWs on DynamoDB: conditional writes make replays harmless."""
from __future__ import annotations

from typing import Any, Mapping

from functions.shared.dynamo_values import plain_to_item

__all__ = ["DynamoLogStore", "NEWER_CONDITION"]

# The VIEW is replaced only by a strictly newer event: (ts, statusRank, eventSk) compared in order.
NEWER_CONDITION = ("attribute_not_exists(pk) OR #ts < :ts OR (#ts = :ts AND statusRank < :rank) "
                   "OR (#ts = :ts AND statusRank = :rank AND eventSk < :esk)")


class DynamoLogStore:
    """Writes VIEW items to ``LOG_TABLE``.

    ``max_connections`` sizes the client's connection pool for the indexer's concurrent writes (botocore
    keeps 10 by default and would open, then discard, a connection per extra call).
    """

    def __init__(self, table: str, max_connections: int = 10) -> None:
        self.table = table
        self._max_connections = max_connections
        self._client: Any = None

    def client(self) -> Any:
        """The DynamoDB client, created on the handler's thread before any worker thread uses it.

        Its own session (boto3's default one is not safe to build clients from in parallel) and a
        connection pool as large as the writes in flight; boto3 clients are thread-safe once built.
        """
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.session.Session().client(
                "dynamodb", config=Config(max_pool_connections=max(10, self._max_connections)))
        return self._client

    def put_view_if_newer(self, view: Mapping[str, Any]) -> bool:
        """Write the VIEW unless a newer (or the same) event is already there; ``True`` if written."""
        ddb = self.client()
        try:
            ddb.put_item(
                TableName=self.table, Item=plain_to_item(view), ConditionExpression=NEWER_CONDITION,
                ExpressionAttributeNames={"#ts": "ts"},
                ExpressionAttributeValues=plain_to_item({":ts": view["ts"], ":rank": view["statusRank"],
                                                      ":esk": view["eventSk"]}))
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True
