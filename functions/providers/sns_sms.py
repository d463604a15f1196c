"""The SNS SMS provider: a text message through Amazon SNS ``Publish`` to a phone number.

SNS accepting the message makes it ``SENT``: SNS reports SMS delivery only to CloudWatch Logs (when
delivery status logging is on), not to relay, so ``DELIVERED`` is never claimed for SMS. The sender id
and the SMS type (``Transactional`` — delivery optimised for reliability — or ``Promotional`` —
cheapest) come from the stage config. The body is the rendered template body (a per-channel template
``channels.sms.body`` keeps it short).

Errors: throttling and server errors are retried with backoff within the send worker's budget; an
address SNS refuses (not E.164) ends the message at once (``UNDELIVERABLE``, ``INVALID_ADDRESS``);
anything else (permissions, KMS, spend limit) is retryable, kept in the async DLQ until fixed.
"""
from __future__ import annotations

from typing import Any, Callable

from functions.providers.aws_errors import error_code, error_message, is_transient
from functions.providers.base import Delivery, DeliveryResult, Provider
from functions.providers.retry import DEFAULT_BACKOFF, Backoff, call_with_backoff
from functions.shared.errors import RetryableError
from functions.shared.statuses import DeliveryReason

__all__ = ["SnsSmsProvider", "SMS_TYPES"]

SMS_TYPES = ("Transactional", "Promotional")
_SNS_TRANSIENT = frozenset({"KMSThrottlingException"})
_INVALID_ADDRESS = frozenset({"InvalidParameter", "InvalidParameterValue", "InvalidParameterException"})


class SnsSmsProvider(Provider):
    """Publishes one SMS per delivery to ``delivery.address`` (an E.164 phone number).

    Parameters
    ----------
    sender_id
        ``AWS.SNS.SMS.SenderID`` (``relay:smsSenderId``; empty: SNS's default). Not every country
        supports sender ids; where one is required it must be registered.
    sms_type
        ``AWS.SNS.SMS.SMSType`` (``relay:smsType``).
    client
        Returns the ``sns`` client (default: one attempt per call; this provider backs off itself).
    """

    name = "sns"

    def __init__(self, sender_id: str = "", sms_type: str = "Transactional", client: Callable[[], Any] | None = None,
                 backoff: Backoff = DEFAULT_BACKOFF, sleep: Callable[[float], None] | None = None) -> None:
        self._sender_id, self._sms_type = sender_id, sms_type
        self._client, self._backoff, self._sleep = client, backoff, sleep

    def _sns(self) -> Any:
        if self._client is not None:
            return self._client()
        from functions.shared import aws

        return aws.client("sns", single_attempt=True)

    def request(self, delivery: Delivery) -> dict[str, Any]:
        """The ``Publish`` parameters for ``delivery`` (a phone number, never a topic)."""
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": self._sms_type}}
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sender_id}
        return {"PhoneNumber": delivery.address, "Message": delivery.body, "MessageAttributes": attributes}

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        params = self.request(delivery)
        sns = self._sns()
        extra = {"sleep": self._sleep} if self._sleep is not None else {}
        try:
            response = call_with_backoff(
                lambda: sns.publish(**params), transient=lambda e: is_transient(e, _SNS_TRANSIENT),
                describe=lambda e: f"sns Publish to {delivery.address}: {error_message(e)}",
                deadline_ms=delivery.deadline_ms, backoff=self._backoff, **extra)
        except RetryableError:
            raise
        except Exception as exc:  # noqa: BLE001 - SNS's refusals are sorted below
            if error_code(exc) in _INVALID_ADDRESS:
                return DeliveryResult(self.name, False, DeliveryReason.INVALID_ADDRESS, detail=error_message(exc))
            raise RetryableError(f"sns Publish to {delivery.address}: {error_message(exc)}") from exc
        return DeliveryResult(self.name, True, accepted_only=True,
                              provider_message_id=str(response.get("MessageId", "")))
