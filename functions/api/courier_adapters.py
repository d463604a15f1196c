"""boto3 adapter behind :class:`~functions.api.ports.CourierStore` (clients through ``shared.aws``)."""
from __future__ import annotations

from typing import Any

from functions.api.ports import CourierStore
from functions.shared import aws
from functions.shared.message_events import read_events
from functions.shared.dynamo_values import to_plain

__all__ = ["AwsCourierStore"]


def _code(exc: Exception) -> str | None:
    return getattr(exc, "response", {}).get("Error", {}).get("Code")


def _unstorable(why: str) -> Exception:
    from functions.api.events import ApiError

    return ApiError(422, "validation_error", "profile cannot be stored: " + why,
                    [{"field": "profile", "message": f"cannot be stored: {why}", "type": "value_error"}])


class AwsCourierStore(CourierStore):
    """The message-log and messages tables, the state table and the request store bucket of one stage."""

    def __init__(self, bucket: str, log_table: str, message_table: str, state_table: str) -> None:
        self._bucket, self._log, self._messages, self._state = bucket, log_table, message_table, state_table

    def _table(self, name: str) -> Any:
        return aws.resource("dynamodb").Table(name)

    def view(self, message_id: str) -> dict[str, Any] | None:
        item = self._table(self._log).get_item(Key={"pk": f"MSG#{message_id}", "sk": "VIEW"}).get("Item")
        return to_plain(item) if item else None

    def timeline(self, message_id: str) -> list[dict[str, Any]]:
        return read_events(self._messages, message_id, limit=500)

    def query_views(self, index: str, key: str, value: str, *, limit: int, start: dict[str, Any] | None,
                    after_ms: int | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        from boto3.dynamodb.conditions import Key

        condition = Key(key).eq(value)
        if after_ms is not None:
            condition = condition & Key("updatedAt").gt(after_ms)
        kwargs: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": condition, "Limit": limit,
                                  "ScanIndexForward": False}
        if start:
            kwargs["ExclusiveStartKey"] = start
        try:
            page = self._table(self._log).query(**kwargs)
        except Exception as exc:
            if _code(exc) == "ValidationException" and start:
                from functions.api.messages import bad_cursor

                raise bad_cursor() from None
            raise
        return to_plain(page.get("Items", [])), to_plain(page.get("LastEvaluatedKey"))

    def get_send(self, request_id: str) -> dict[str, Any] | None:
        from functions.shared.request_store import get_json, send_key

        try:
            doc = get_json(self._bucket, send_key(request_id))
        except ValueError:
            return None
        except Exception as exc:
            if _code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return doc if isinstance(doc, dict) else None

    def cancel(self, request_id: str, now_iso: str) -> None:
        self._table(self._state).put_item(Item={"pk": f"CANCEL#{request_id}", "sk": "CANCEL", "requestId": request_id,
                                                "canceledAt": now_iso})

    def canceled(self, request_id: str) -> bool:
        return "Item" in self._table(self._state).get_item(Key={"pk": f"CANCEL#{request_id}", "sk": "CANCEL"},
                                                           ConsistentRead=True)

    def get_profile(self, user_id: str) -> dict[str, Any] | None:
        item = self._table(self._state).get_item(Key={"pk": f"PROFILE#{user_id}", "sk": "PROFILE"},
                                                 ConsistentRead=True).get("Item")
        if not item:
            return None
        profile = to_plain(item).get("profile")
        return profile if isinstance(profile, dict) else {}

    def put_profile(self, user_id: str, profile: dict[str, Any], now_iso: str) -> None:
        import json
        from decimal import Decimal

        # the same item the update-profile step writes (functions.automations.adapters.DynamoRunStore)
        try:
            plain = json.loads(json.dumps(profile), parse_float=Decimal)
            self._table(self._state).put_item(Item={"pk": f"PROFILE#{user_id}", "sk": "PROFILE", "userId": user_id,
                                                    "profile": plain, "updatedAt": now_iso})
        except (UnicodeEncodeError, ValueError, ArithmeticError) as exc:
            raise _unstorable(f"{type(exc).__name__}: {str(exc)[:200]}") from None
        except Exception as exc:
            # DynamoDB refuses what it cannot hold (a number beyond 1E+126, an empty map key): the client's to fix
            if _code(exc) == "ValidationException":
                raise _unstorable(str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))[:200]) from None
            raise

    def delete_profile(self, user_id: str) -> None:
        self._table(self._state).delete_item(Key={"pk": f"PROFILE#{user_id}", "sk": "PROFILE"})

    def named(self, prefix: str, name: str) -> dict[str, Any] | None:
        from functions.shared.request_store import get_named

        return get_named(self._bucket, prefix, name)

    def run_keys(self, start_after: str, end_before: str, max_keys: int) -> tuple[list[str], bool]:
        resp = aws.client("s3").list_objects_v2(Bucket=self._bucket, Prefix="automations/run_",
                                                StartAfter=f"automations/{start_after}", MaxKeys=max_keys)
        ids = [o["Key"][len("automations/"):-len(".json")] for o in resp.get("Contents", [])
               if o["Key"].endswith(".json")]
        within = [i for i in ids if i < end_before]
        return within, bool(resp.get("IsTruncated")) and len(within) == len(ids)

    def run_items(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(run_ids), 100):
            keys = [{"pk": f"RUN#{r}", "sk": "RUN"} for r in run_ids[i:i + 100]]
            request: dict[str, Any] = {self._state: {"Keys": keys, "ProjectionExpression":
                                                     "runId, #s, createdAt, updatedAt, template, recipient",
                                                     "ExpressionAttributeNames": {"#s": "status"}}}
            while request:
                resp = aws.resource("dynamodb").batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(self._state, []):
                    out[str(item["runId"])] = to_plain(item)
                request = resp.get("UnprocessedKeys") or {}
        return out
