"""boto3 adapters behind the API's ports (clients created lazily through ``shared.aws``)."""
from __future__ import annotations

import json
from typing import Any

from functions.api.events import ApiError
from functions.api.ports import AcceptedRequestStore, ApiKeyStore, IdempotencyRecord, IdempotencyStore, StatusReader
from functions.shared import aws
from functions.shared.dynamo_values import to_plain
from functions.shared.statuses import IdempotencyStatus

__all__ = ["S3AcceptedRequestStore", "DynamoIdempotencyStore", "DynamoStatusReader", "DynamoApiKeyStore"]


def _code(exc: Exception) -> str | None:
    return getattr(exc, "response", {}).get("Error", {}).get("Code")


class S3AcceptedRequestStore(AcceptedRequestStore):
    """Accepted requests in the request store bucket (the writer the job worker's send step uses too)."""

    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def put_send(self, request_id: str, message: dict[str, Any]) -> None:
        from functions.shared.request_store import put_send_request

        put_send_request(self._bucket, request_id, message, None)

    def put_invoke(self, run_id: str, invoke: dict[str, Any]) -> None:
        from functions.shared.request_store import put_automation_request

        put_automation_request(self._bucket, run_id, invoke)

    def _exists(self, key: str) -> bool:
        try:
            aws.client("s3").head_object(Bucket=self._bucket, Key=key)
            return True
        except Exception as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def has_send(self, request_id: str) -> bool:
        return self._exists(f"send/{request_id}.json")

    def has_invoke(self, run_id: str) -> bool:
        return self._exists(f"automations/{run_id}.json")


class DynamoIdempotencyStore(IdempotencyStore):
    """``IDEMP#<key>/API`` items in the state table (expired ones are treated as absent)."""

    def __init__(self, table_name: str) -> None:
        self._name = table_name

    def _table(self) -> Any:
        return aws.resource("dynamodb").Table(self._name)

    def begin(self, key: str, body_hash: str, resource_id: str, *, now_s: int, ttl_s: int) -> IdempotencyRecord | None:
        table = self._table()
        pk = {"pk": f"IDEMP#{key}", "sk": "API"}
        try:
            table.put_item(
                Item={**pk, "bodyHash": body_hash, "status": IdempotencyStatus.IN_PROGRESS, "resourceId": resource_id,
                      "createdAt": now_s, "expiresAt": now_s + ttl_s},
                # TTL deletion lags by up to days: an expired record must not block the key
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now",
                ExpressionAttributeValues={":now": now_s},
            )
            return None
        except Exception as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
        item = to_plain(table.get_item(Key=pk, ConsistentRead=True).get("Item") or {})
        response = json.loads(item["response"]) if isinstance(item.get("response"), str) else None
        return IdempotencyRecord(body_hash=str(item.get("bodyHash", "")), status=str(item.get("status", "")),
                                 resource_id=str(item.get("resourceId", resource_id)), response=response)

    def complete(self, key: str, response: dict[str, Any]) -> None:
        self._table().update_item(
            Key={"pk": f"IDEMP#{key}", "sk": "API"},
            UpdateExpression="SET #s = :done, #r = :resp",
            ExpressionAttributeNames={"#s": "status", "#r": "response"},
            ExpressionAttributeValues={":done": IdempotencyStatus.COMPLETED, ":resp": json.dumps(response, separators=(",", ":"))},
        )


class DynamoStatusReader(StatusReader):
    """Reads the message-log views (GSIs) and the run items in the state table."""

    def __init__(self, log_table: str, state_table: str) -> None:
        self._log, self._state = log_table, state_table

    def request_messages(self, request_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        table = aws.resource("dynamodb").Table(self._log)
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"IndexName": "by_request", "KeyConditionExpression": Key("requestId").eq(request_id)}
        while True:
            page = table.query(**kwargs)
            items += [i for i in page.get("Items", []) if i.get("sk") == "VIEW"]
            if "LastEvaluatedKey" not in page or len(items) >= 1000:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return to_plain(items)

    def run(self, run_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        from boto3.dynamodb.conditions import Key

        table = aws.resource("dynamodb").Table(self._state)
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(f"RUN#{run_id}"), "ConsistentRead": True}
        while True:
            page = table.query(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        items = to_plain(items)
        run = next((i for i in items if i["sk"] == "RUN"), None)
        return run, [i for i in items if str(i["sk"]).startswith("STEP#")]

    def messages(self, *, recipient: str | None, status: str | None, limit: int,
                 start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        from boto3.dynamodb.conditions import Attr, Key

        table = aws.resource("dynamodb").Table(self._log)
        kwargs: dict[str, Any] = {"Limit": limit, "ScanIndexForward": False}
        if recipient is not None:
            kwargs.update(IndexName="by_recipient", KeyConditionExpression=Key("recipient").eq(recipient))
            if status is not None:
                kwargs["FilterExpression"] = Attr("status").eq(status)
        else:
            kwargs.update(IndexName="by_status", KeyConditionExpression=Key("status").eq(status))
        if start:
            kwargs["ExclusiveStartKey"] = start
        try:
            page = table.query(**kwargs)
        except Exception as exc:
            if _code(exc) == "ValidationException" and start:
                raise ApiError(422, "validation_error", "query is invalid: next",
                               [{"field": "next", "message": "not a pagination token from this API",
                                 "type": "value_error"}]) from None
            raise
        return to_plain(page.get("Items", [])), to_plain(page.get("LastEvaluatedKey"))


class DynamoApiKeyStore(ApiKeyStore):
    """``APIKEY#<sha256>/KEY`` items in the state table (layout in :mod:`functions.api.keys`)."""

    def __init__(self, table_name: str) -> None:
        self._name = table_name

    def find(self, key_hash: str) -> Any:
        from functions.api.keys import key_from_item, key_item_key
        from functions.shared.dynamo_values import item_to_plain

        # consistent: a key used right after `relay keys create` must be found (a miss is cached too)
        item = aws.client("dynamodb").get_item(TableName=self._name, Key=key_item_key(key_hash),
                                               ConsistentRead=True).get("Item")
        return key_from_item(item_to_plain(item), key_hash) if item else None

    def mark_used(self, key_hash: str, at: str) -> None:
        from functions.api.keys import key_item_key

        try:
            aws.client("dynamodb").update_item(
                TableName=self._name, Key=key_item_key(key_hash), UpdateExpression="SET lastUsedAt = :at",
                ExpressionAttributeValues={":at": {"S": at}}, ConditionExpression="attribute_exists(pk)")
        except Exception as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
