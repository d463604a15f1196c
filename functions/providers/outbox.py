"""The outbox provider: every delivery becomes ``outbox/<channel>/<messageId>/<deliveryId>.json``.

The local default for every channel. A new ``deliveryId`` per delivery means a duplicate delivery
shows up as a second object under the same message id.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable

from functions.providers.base import Delivery, DeliveryResult, Provider

__all__ = ["OutboxProvider", "outbox_key"]


def outbox_key(channel: str, message_id: str, delivery_id: str) -> str:
    """``outbox/<channel>/<messageId>/<deliveryId>.json``."""
    return f"outbox/{channel}/{message_id}/{delivery_id}.json"


class OutboxProvider(Provider):
    """Writes each delivery to the request store bucket."""

    name = "outbox"

    def __init__(self, bucket: str, s3: Callable[[], Any] | None = None) -> None:
        self._bucket = bucket
        self._s3 = s3

    def _client(self) -> Any:
        if self._s3 is not None:
            return self._s3()
        from functions.shared import aws

        return aws.client("s3")

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        doc = {
            "messageId": delivery.message_id, "deliveryId": delivery.delivery_id,
            "requestId": delivery.request_id, "channel": delivery.channel, "address": delivery.address,
            "title": delivery.title, "body": delivery.body, "recipient": delivery.recipient,
            "deliveredAt": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        }
        if delivery.html is not None:
            doc["html"] = delivery.html
        self._client().put_object(
            Bucket=self._bucket, Key=outbox_key(delivery.channel, delivery.message_id, delivery.delivery_id),
            Body=json.dumps(doc, default=str).encode(), ContentType="application/json",
        )
        return DeliveryResult(provider=self.name, delivered=True)
