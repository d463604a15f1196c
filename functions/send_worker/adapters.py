"""boto3 adapters behind the send worker's ports (clients created lazily through ``shared.aws``)."""
from __future__ import annotations

import json
from typing import Any

from functions.automations.core import run_is_canceled
from functions.send_worker.ports import (ClaimResult, ClaimStore, DelayedSends, EventLog, Outcome, RunState,
                                         SuppressionList, TemplateStore)
from functions.shared import aws
from functions.shared.message_events import read_events
from functions.shared.dynamo_values import to_plain
from functions.shared.statuses import ClaimStatus
from functions.shared.suppression import SuppressionEntry, suppression_key

__all__ = ["DynamoClaimStore", "DynamoEventLog", "DynamoRunState", "DynamoSuppressionList", "S3TemplateStore",
           "SqsDelayedSends", "template_key"]


def _table(name: str) -> Any:
    return aws.resource("dynamodb").Table(name)


def _is_conditional_failure(exc: Exception) -> bool:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoClaimStore(ClaimStore):
    """The claim on the message's ENQUEUED event in the messages table; earlier versions' in the state table.

    ``claimedBy`` (the delivery id) and ``leaseUntil`` (ms) ride on the ENQUEUED item: a lease that ran out
    (its invocation crashed) or was given up (no ``leaseUntil``) can be taken over by a conditional update
    that leaves the event as it was. The delivery's final events settle the message; the claim is not
    written again. ``DELIVERY#<messageId>/CLAIM`` in the state table is
    what versions before kept (``CLAIMED`` with ``leaseUntil``, or ``DONE`` with the outcome): read, never written.
    """

    def __init__(self, message_table: str, state_table: str) -> None:
        self._messages, self._state = message_table, state_table

    def acquire(self, enqueued: dict[str, Any], delivery_id: str, *, now_ms: int, lease_ms: int) -> ClaimResult:
        try:  # the ENQUEUED event written with the claim: one write, one stream record
            _table(self._messages).put_item(Item={**enqueued, "claimedBy": delivery_id, "leaseUntil": now_ms + lease_ms},
                                            ConditionExpression="attribute_not_exists(pk)")
        except Exception as exc:
            if not _is_conditional_failure(exc):
                raise
            return ClaimResult(acquired=False)
        return ClaimResult(acquired=True, enqueued_ts=int(enqueued["ts"]))

    def take_over(self, enqueued: dict[str, Any], delivery_id: str, *, now_ms: int, lease_ms: int) -> ClaimResult:
        try:  # only the lease moves; the event stays as the first attempt wrote it
            old = _table(self._messages).update_item(
                Key={"pk": enqueued["pk"], "sk": enqueued["sk"]}, UpdateExpression="SET #by = :did, #lease = :until",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(#lease) OR #lease < :now)",
                ExpressionAttributeNames={"#by": "claimedBy", "#lease": "leaseUntil"},
                ExpressionAttributeValues={":did": delivery_id, ":until": now_ms + lease_ms, ":now": now_ms},
                ReturnValues="ALL_OLD").get("Attributes", {})
        except Exception as exc:
            if not _is_conditional_failure(exc):
                raise
            return ClaimResult(acquired=False)
        return ClaimResult(acquired=True, enqueued_ts=int(old.get("ts", enqueued["ts"])))

    def release(self, enqueued: dict[str, Any], delivery_id: str) -> None:
        try:
            _table(self._messages).update_item(
                Key={"pk": enqueued["pk"], "sk": enqueued["sk"]}, UpdateExpression="REMOVE #lease, #by",
                ConditionExpression="#by = :did AND attribute_exists(#lease)",
                ExpressionAttributeNames={"#by": "claimedBy", "#lease": "leaseUntil"},
                ExpressionAttributeValues={":did": delivery_id})
        except Exception as exc:
            if not _is_conditional_failure(exc):
                raise

    def legacy(self, message_id: str) -> ClaimResult | None:
        item = _table(self._state).get_item(Key={"pk": f"DELIVERY#{message_id}", "sk": "CLAIM"},
                                            ConsistentRead=True).get("Item")
        if not item:
            return None
        item = to_plain(item)
        if item.get("status") == ClaimStatus.DONE and "outcome" in item:
            return ClaimResult(acquired=False, outcome=Outcome.from_item(item["outcome"]))
        return ClaimResult(acquired=False, lease_until_ms=item.get("leaseUntil"))


class DynamoEventLog(EventLog):
    """Status events in the messages table (the stream source of the log indexer)."""

    def __init__(self, table_name: str) -> None:
        self._name = table_name

    def put(self, item: dict[str, Any]) -> None:
        _table(self._name).put_item(Item=item)

    def put_all(self, items: list[dict[str, Any]]) -> None:
        """One BatchWriteItem (boto3's batch writer resends what DynamoDB leaves unprocessed)."""
        if len(items) == 1:
            self.put(items[0])
            return
        with _table(self._name).batch_writer() as batch:
            for item in items:
                batch.put_item(Item=item)

    def events(self, message_id: str) -> list[dict[str, Any]]:
        return read_events(self._name, message_id)


class DynamoRunState(RunState):
    """Reads ``RUN#<runId>/RUN``, ``TOKEN#<token>/CANCELED`` and ``PROFILE#<id>/PROFILE``."""

    def __init__(self, table_name: str) -> None:
        self._name = table_name

    def is_canceled(self, run_id: str) -> bool:
        table = _table(self._name)
        run = table.get_item(Key={"pk": f"RUN#{run_id}", "sk": "RUN"}, ConsistentRead=True).get("Item")
        if not run:
            return False
        token = run.get("cancelation_token")
        fired = table.get_item(Key={"pk": f"TOKEN#{token}", "sk": "CANCELED"},
                               ConsistentRead=True).get("Item") if token else None
        # the job worker's rule: a later reuse of the token does not cancel this run
        return run_is_canceled(run.get("status"), (fired or {}).get("canceledAt"), run.get("createdAt"))

    def request_canceled(self, request_id: str) -> bool:
        item = _table(self._name).get_item(Key={"pk": f"CANCEL#{request_id}", "sk": "CANCEL"},
                                           ConsistentRead=True).get("Item")
        return item is not None

    def profile(self, user_id: str) -> dict[str, Any] | None:
        item = _table(self._name).get_item(Key={"pk": f"PROFILE#{user_id}", "sk": "PROFILE"}).get("Item")
        if not item:
            return None
        item = to_plain(item)
        # the profile may be stored flat or under "profile"
        inner = item.get("profile")
        return inner if isinstance(inner, dict) else {k: v for k, v in item.items() if k not in ("pk", "sk")}


class DynamoSuppressionList(SuppressionList):
    """Reads ``SUPPRESSION#<channel>/<address>`` from the state table (written by the feedback function)."""

    def __init__(self, table_name: str) -> None:
        self._name = table_name

    def find(self, channel: str, address: str) -> SuppressionEntry | None:
        # consistent: a bounce recorded a moment ago must stop the very next send
        item = _table(self._name).get_item(Key=suppression_key(channel, address), ConsistentRead=True).get("Item")
        return SuppressionEntry.from_item(to_plain(item)) if item else None


class SqsDelayedSends(DelayedSends):
    """Release jobs on the job queue (:mod:`functions.shared.delayed_send`)."""

    def __init__(self, queue_url: str) -> None:
        self._url = queue_url

    def schedule(self, request_id: str, until: Any) -> None:
        from datetime import datetime, timezone

        from functions.automations.delays import next_hop_seconds
        from functions.shared.delayed_send import release_job

        aws.client("sqs").send_message(QueueUrl=self._url, MessageBody=json.dumps(release_job(request_id, until)),
                                       DelaySeconds=next_hop_seconds(until, datetime.now(timezone.utc)))


def template_key(name: str) -> str:
    """``templates/<name>.json`` in the request store."""
    return f"templates/{name}.json"


class S3TemplateStore(TemplateStore):
    """Named templates at ``templates/<name>.json`` in the request store (cached per invocation)."""

    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def get(self, name: str) -> dict[str, Any] | None:
        if "/" in name or name.startswith("."):
            return None  # a name is one path segment; nothing outside templates/
        s3 = aws.client("s3")
        try:
            body = s3.get_object(Bucket=self._bucket, Key=template_key(name))["Body"].read()
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        try:
            doc = json.loads(body)
        except json.JSONDecodeError:
            return None
        return doc if isinstance(doc, dict) else None
