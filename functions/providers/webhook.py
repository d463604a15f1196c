"""The webhook provider: an HTTP POST through the address guard.

The guard (``functions.shared.address_guard``: policy + pinned client, shared with fetch-data) refuses loopback, private,
link-local and metadata addresses unless the stage allows that host and port. A refusal or a 4xx is
permanent; a 5xx, 429 or a network failure is transient.
"""
from __future__ import annotations

from functions.providers.base import Delivery, DeliveryResult, Provider
from functions.shared.errors import RetryableError

__all__ = ["WebhookProvider"]


class WebhookProvider(Provider):
    """POSTs ``{messageId, deliveryId, requestId, channel, title, body, data}`` as JSON."""

    name = "webhook"

    def __init__(self, allow: frozenset[tuple[str, int]] = frozenset(), timeout: float = 5.0) -> None:
        self._allow, self._timeout = allow, timeout

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        from functions.shared import address_guard  # only webhook deliveries pay for the HTTP client

        payload = {
            "messageId": delivery.message_id, "deliveryId": delivery.delivery_id,
            "requestId": delivery.request_id, "channel": delivery.channel,
            "title": delivery.title, "body": delivery.body, "data": delivery.data,
        }
        try:
            result = address_guard.fetch(
                "POST", delivery.address, json_body=payload,
                headers={"Idempotency-Key": delivery.message_id}, timeout=self._timeout,
                max_bytes=65_536, allow=self._allow,
            )
        except address_guard.AddressRefused as exc:
            return DeliveryResult(self.name, False, f"webhook refused by the address guard: {exc}")
        except address_guard.FetchTooLarge:
            # the POST reached the endpoint; retrying would deliver twice, so report what we know
            return DeliveryResult(self.name, False, "webhook response exceeded 64 KiB; delivery unconfirmed")
        except (address_guard.FetchError, OSError) as exc:  # timeouts, refused connections
            raise RetryableError(f"webhook {delivery.address}: {exc}") from exc
        status = int(result.status)
        if 200 <= status < 300:
            return DeliveryResult(self.name, True)
        if status == 429 or status >= 500:
            raise RetryableError(f"webhook {delivery.address}: HTTP {status}")
        return DeliveryResult(self.name, False, f"webhook {delivery.address}: HTTP {status}")
