"""SES's event publishing and mailbox simulator, in the emulator: what moto's SES leaves out.

moto accepts ``SendEmail`` (and counts it: ``GetSendQuota``'s ``SentLast24Hours``) but ignores the
configuration set and the message tags, so a configuration set's event destination never hears of
a message. After moto has accepted a SESv2 ``SendEmail`` naming a configuration set, this module
publishes — to the SNS topic of that set's enabled event destination, through moto's SNS, so it
travels the same topic → subscription → function path as in AWS — the events SES would, in the
shape SES publishes them (``eventType``, ``mail`` with the send's tags, and the event's own object):

| recipient | events (as SES's mailbox simulator produces them) |
|---|---|
| ``success@simulator.amazonses.com`` | Delivery |
| ``bounce@simulator.amazonses.com`` | Bounce (Permanent, General, ``smtp; 550 5.1.1 user unknown``) |
| ``complaint@simulator.amazonses.com`` | Delivery, then Complaint (abuse) |
| ``suppressionlist@simulator.amazonses.com`` | Bounce (Permanent, OnAccountSuppressionList) |
| ``ooto@simulator.amazonses.com`` | Delivery (the out-of-office reply is not an event) |
| any other address | Delivery (the local stage plays an account out of the SES sandbox) |

Labels work as in SES (``bounce+order-7@simulator.amazonses.com``). Only the event types the
destination matches are published. Events are published inside the ``SendEmail`` request, after moto
accepted it; the subscription hands them to the data plane's async queue, so the function runs as SNS
invokes it in AWS — asynchronously, with the function's retries and on-failure destination.
"""
from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["SIMULATOR_DOMAIN", "SentMail", "simulated_events", "event_type_names", "install", "is_installed"]

log = logging.getLogger(__name__)

SIMULATOR_DOMAIN = "simulator.amazonses.com"
# SESv2 event type names (the Pulumi program's matchingEventTypes) → the eventType SES publishes, and
# the SES v1 names moto stores for a configuration set's event destination
_EVENT_TYPES = {"DELIVERY": "Delivery", "BOUNCE": "Bounce", "COMPLAINT": "Complaint", "REJECT": "Reject",
                "RENDERING_FAILURE": "Rendering Failure", "SEND": "Send", "DELIVERY_DELAY": "DeliveryDelay",
                "OPEN": "Open", "CLICK": "Click", "SUBSCRIPTION": "Subscription"}
_V1_NAMES = {"delivery": "Delivery", "bounce": "Bounce", "complaint": "Complaint", "reject": "Reject",
             "renderingFailure": "Rendering Failure", "send": "Send", "deliveryDelay": "DeliveryDelay",
             "open": "Open", "click": "Click", "subscription": "Subscription"}
_REPORTING_MTA = "a8-70.smtp-out.amazonses.com"


def event_type_names(matching: list[str]) -> set[str]:
    """The ``eventType`` values a destination matching ``matching`` (v1 or v2 spellings) publishes."""
    out = set()
    for name in matching:
        out.add(_EVENT_TYPES.get(str(name).upper(), _V1_NAMES.get(str(name), str(name))))
    return out


@dataclass(frozen=True)
class SentMail:
    """One accepted ``SendEmail``: what SES's events repeat in their ``mail`` object."""

    message_id: str
    source: str
    destinations: list[str]
    subject: str
    tags: dict[str, list[str]]
    account: str
    region: str
    configuration_set: str = ""
    sent_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _simulated(address: str) -> str:
    """``bounce`` for ``bounce+label@simulator.amazonses.com``; ``""`` for any other address."""
    local, _, domain = address.strip().lower().rpartition("@")
    return local.split("+", 1)[0] if domain == SIMULATOR_DOMAIN else ""


def _mail(mail: SentMail) -> dict[str, Any]:
    domain = mail.source.rpartition("@")[2].rstrip(">")
    tags = {"ses:operation": ["SendEmail"], "ses:source-ip": ["127.0.0.1"], "ses:from-domain": [domain],
            "ses:caller-identity": ["testing"], "ses:outgoing-ip": ["127.0.0.1"], **mail.tags}
    if mail.configuration_set:
        tags["ses:configuration-set"] = [mail.configuration_set]
    return {
        "timestamp": _iso(mail.sent_at), "source": mail.source,
        "sourceArn": f"arn:aws:ses:{mail.region}:{mail.account}:identity/{domain}",
        "sendingAccountId": mail.account, "messageId": mail.message_id, "destination": list(mail.destinations),
        "headersTruncated": False,
        "headers": [{"name": "From", "value": mail.source}, {"name": "To", "value": ", ".join(mail.destinations)},
                    {"name": "Subject", "value": mail.subject}],
        "commonHeaders": {"from": [mail.source], "to": list(mail.destinations), "messageId": mail.message_id,
                          "subject": mail.subject},
        "tags": tags,
    }


def _delivery(mail: SentMail, address: str, at: datetime) -> dict[str, Any]:
    return {"eventType": "Delivery", "mail": _mail(mail), "delivery": {
        "timestamp": _iso(at), "processingTimeMillis": max(0, int((at - mail.sent_at).total_seconds() * 1000)),
        "recipients": [address], "smtpResponse": "250 2.6.0 Message received", "reportingMTA": _REPORTING_MTA}}


def _bounce(mail: SentMail, address: str, at: datetime, subtype: str) -> dict[str, Any]:
    recipient: dict[str, Any] = {"emailAddress": address, "action": "failed", "status": "5.1.1",
                                 "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
    if subtype == "OnAccountSuppressionList":
        recipient = {"emailAddress": address, "action": "failed", "status": "5.1.1",
                     "diagnosticCode": "Amazon SES did not send the message to this address because it is on the "
                                       "suppression list for your account."}
    return {"eventType": "Bounce", "mail": _mail(mail), "bounce": {
        "feedbackId": f"{uuid.uuid4().hex}-000000", "bounceType": "Permanent", "bounceSubType": subtype,
        "bouncedRecipients": [recipient], "timestamp": _iso(at), "reportingMTA": "dns; amazonses.com"}}


def _complaint(mail: SentMail, address: str, at: datetime) -> dict[str, Any]:
    return {"eventType": "Complaint", "mail": _mail(mail), "complaint": {
        "feedbackId": f"{uuid.uuid4().hex}-000000", "complaintSubType": None,
        "complainedRecipients": [{"emailAddress": address}], "timestamp": _iso(at),
        "userAgent": "Amazon SES Mailbox Simulator", "complaintFeedbackType": "abuse",
        "arrivalDate": _iso(at)}}


def simulated_events(mail: SentMail, now: datetime | None = None) -> list[dict[str, Any]]:
    """The events SES publishes for ``mail``, recipient by recipient, in the order SES sends them.

    Event times follow the send by a few ms (SES's processing time), each later than the one before.
    """
    at = (now or datetime.now(timezone.utc))
    events: list[dict[str, Any]] = []
    for address in mail.destinations:
        kind = _simulated(address)
        if kind == "bounce":
            events.append(_bounce(mail, address, at + timedelta(milliseconds=3), "General"))
        elif kind == "suppressionlist":
            events.append(_bounce(mail, address, at + timedelta(milliseconds=1), "OnAccountSuppressionList"))
        elif kind == "complaint":
            events.append(_delivery(mail, address, at + timedelta(milliseconds=2)))
            events.append(_complaint(mail, address, at + timedelta(milliseconds=5)))
        else:  # success, ooto, any other address
            events.append(_delivery(mail, address, at + timedelta(milliseconds=2)))
    return events


# ---- moto: publish after SendEmail --------------------------------------------------------------
_lock = threading.Lock()
_installed = False


def _destination(account: str, region: str, configuration_set: str) -> dict[str, Any] | None:
    from moto.ses.models import ses_backends

    destination = ses_backends[account][region].config_set_event_destination.get(configuration_set)
    if not destination or str(destination.get("Enabled", "true")).lower() == "false":
        return None
    return destination


def _matching(destination: dict[str, Any]) -> list[str]:
    matching = destination.get("MatchingEventTypes") or []
    if isinstance(matching, dict):  # moto's query-protocol parsing keeps list members under "member"
        matching = matching.get("member") or list(matching.values())
    return [str(m) for m in (matching if isinstance(matching, list) else [matching])]


def publish_events(mail: SentMail) -> int:
    """Publish ``mail``'s simulated events to its configuration set's SNS destination; returns how many."""
    if not mail.configuration_set:
        return 0
    destination = _destination(mail.account, mail.region, mail.configuration_set)
    topic = ((destination or {}).get("SNSDestination") or {}).get("TopicARN")
    if not destination or not topic:
        return 0
    wanted = event_type_names(_matching(destination))
    from moto.sns.models import sns_backends

    sns = sns_backends[mail.account][mail.region]
    published = 0
    for event in simulated_events(mail):
        if event["eventType"] in wanted:
            sns.publish(json.dumps(event), arn=topic)
            published += 1
    return published


def _sent_mail(account: str, region: str, params: dict[str, Any], message_id: str) -> SentMail:
    destination = params.get("Destination") or {}
    addresses = [*destination.get("ToAddresses", []), *destination.get("CcAddresses", []),
                 *destination.get("BccAddresses", [])]
    simple = (params.get("Content") or {}).get("Simple") or {}
    tags: dict[str, list[str]] = {}
    for tag in params.get("EmailTags") or []:
        tags.setdefault(str(tag.get("Name")), []).append(str(tag.get("Value", "")))
    return SentMail(message_id=message_id, source=str(params.get("FromEmailAddress") or ""),
                    destinations=[str(a) for a in addresses], subject=str((simple.get("Subject") or {}).get("Data", "")),
                    tags=tags, account=account, region=region,
                    configuration_set=str(params.get("ConfigurationSetName") or ""))


def install() -> None:
    """Wrap moto's SESv2 ``SendEmail`` so an accepted send publishes its events (once per process)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.sesv2.responses import SESV2Response

        original = SESV2Response.send_email

        def send_email(self: Any) -> str:
            answer = original(self)  # moto's checks first: an unverified sender is refused, nothing published
            try:
                params = json.loads(self.body)
                mail = _sent_mail(self.current_account, self.region, params, json.loads(answer)["MessageId"])
                publish_events(mail)
            except Exception:  # noqa: BLE001 - SES accepted the mail; a lost event must not fail the send
                log.exception("local SES: publishing the events of a sent mail failed")
            return answer

        SESV2Response.send_email = send_email  # type: ignore[method-assign]
        _installed = True


def is_installed() -> bool:
    """True once :func:`install` has run in this process."""
    return _installed
