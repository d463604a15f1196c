"""The SES provider: email through Amazon SES (SESv2 ``SendEmail``), with IAM and no secrets.

Each delivery is one ``SendEmail`` from the stage's verified identity through its configuration set,
with a text and an HTML part, the stage's reply-to addresses and tags that carry relay's message and
delivery ids. SES accepting the mail makes the message ``SENT``; what happens next — delivered,
bounced, complained, rejected — comes back as SES events through the configuration set's event
destination (SNS → ``functions.ses_feedback``), matched by those tags.

Errors: throttling and server errors are retried with backoff within the send worker's budget
(:mod:`functions.providers.retry`), then raised as retryable; ``MessageRejected`` and a bad request end
the message at once (``UNDELIVERABLE``, reason ``REJECTED``, SES's words in ``detail``); a stage
problem (sending paused, account suspended, a missing configuration set, missing permission) is
retryable, so the work waits in the async DLQ until an operator fixes the stage.
"""
from __future__ import annotations

import html
from typing import Any, Callable, Sequence

from functions.providers.aws_errors import error_code, error_message, is_transient
from functions.providers.base import Delivery, DeliveryResult, Provider
from functions.providers.retry import DEFAULT_BACKOFF, Backoff, call_with_backoff
from functions.shared.errors import RetryableError
from functions.shared.statuses import DeliveryReason

__all__ = ["SesProvider", "MESSAGE_ID_TAG", "DELIVERY_ID_TAG", "STAGE_TAG", "ses_tags", "html_part"]

# SES message tags (names and values: letters, digits, '_' and '-' only; relay's ids fit)
MESSAGE_ID_TAG = "relay_message_id"
DELIVERY_ID_TAG = "relay_delivery_id"
STAGE_TAG = "relay_stage"
# Quota errors clear with time: another attempt (now, or after Lambda's retry) may go through.
_SES_TRANSIENT = frozenset({"LimitExceededException"})
# The message itself is refused: retrying sends nothing new.
_SES_PERMANENT = frozenset({"MessageRejected", "BadRequestException", "InvalidParameterValue"})


def ses_tags(delivery: Delivery, stage: str) -> list[dict[str, str]]:
    """The ``EmailTags`` of one delivery: what SES's events carry back to relay."""
    tags = [{"Name": MESSAGE_ID_TAG, "Value": delivery.message_id},
            {"Name": DELIVERY_ID_TAG, "Value": delivery.delivery_id}]
    if stage:
        tags.append({"Name": STAGE_TAG, "Value": stage})
    return tags


def html_part(title: str, body: str) -> str:
    """The HTML part: the rendered text, escaped, paragraphs and line breaks kept.

    Templates render plain text (autoescape is off so providers choose the format); escaping here is
    what keeps a recipient's data from becoming markup in the mail.
    """
    paragraphs = [p for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    inner = "\n".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f"<body>{inner}</body></html>")


class SesProvider(Provider):
    """Sends one email per delivery through SES.

    Parameters
    ----------
    sender
        ``FromEmailAddress`` (``relay:emailFrom``): an address of the stage's verified identity.
    configuration_set
        The stage's configuration set; its event destination publishes the feedback relay reads.
    reply_to
        ``ReplyToAddresses`` (``relay:emailReplyTo``).
    stage
        Carried as a tag so feedback of another stage sharing the account is recognisable.
    client
        Returns the ``sesv2`` client (default: one attempt per call; this provider backs off itself).
    """

    name = "ses"
    checks_suppression = True

    def __init__(self, sender: str, configuration_set: str = "", reply_to: Sequence[str] = (), stage: str = "",
                 client: Callable[[], Any] | None = None, backoff: Backoff = DEFAULT_BACKOFF,
                 sleep: Callable[[float], None] | None = None) -> None:
        self._sender, self._configuration_set = sender, configuration_set
        self._reply_to, self._stage = tuple(reply_to), stage
        self._client, self._backoff, self._sleep = client, backoff, sleep

    def _ses(self) -> Any:
        if self._client is not None:
            return self._client()
        from functions.shared import aws

        return aws.client("sesv2", single_attempt=True)

    def request(self, delivery: Delivery) -> dict[str, Any]:
        """The ``SendEmail`` parameters for ``delivery``."""
        subject = delivery.title.replace("\r", " ").replace("\n", " ")
        params: dict[str, Any] = {
            "FromEmailAddress": self._sender,
            "Destination": {"ToAddresses": [delivery.address]},
            "Content": {"Simple": {
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": delivery.body, "Charset": "UTF-8"},
                         "Html": {"Data": delivery.html or html_part(subject, delivery.body), "Charset": "UTF-8"}},
            }},
            "EmailTags": ses_tags(delivery, self._stage),
        }
        if self._reply_to:
            params["ReplyToAddresses"] = list(self._reply_to)
        if self._configuration_set:
            params["ConfigurationSetName"] = self._configuration_set
        return params

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        if not self._sender:
            raise RetryableError("ses: EMAIL_FROM is not configured (relay:emailFrom)")
        params = self.request(delivery)
        ses = self._ses()
        extra = {"sleep": self._sleep} if self._sleep is not None else {}
        try:
            response = call_with_backoff(
                lambda: ses.send_email(**params), transient=lambda e: is_transient(e, _SES_TRANSIENT),
                describe=lambda e: f"ses SendEmail to {delivery.address}: {error_message(e)}",
                deadline_ms=delivery.deadline_ms, backoff=self._backoff, **extra)
        except RetryableError:
            raise
        except Exception as exc:  # noqa: BLE001 - SES's refusals are sorted below
            if error_code(exc) in _SES_PERMANENT:
                return DeliveryResult(self.name, False, DeliveryReason.REJECTED, detail=error_message(exc))
            # paused sending, a suspended account, a missing configuration set or permission: the
            # stage is wrong, not the message; keep it (retry, then the async DLQ) until it is fixed
            raise RetryableError(f"ses SendEmail to {delivery.address}: {error_message(exc)}") from exc
        return DeliveryResult(self.name, True, accepted_only=True,
                              provider_message_id=str(response.get("MessageId", "")))
