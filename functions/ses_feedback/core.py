"""What an SES event means for relay (pure: no boto3, no environment).

SES publishes an event per message and recipient to the configuration set's event destination
(``eventType``: Delivery, Bounce, Complaint, Reject, Rendering Failure, …) with the tags the send
carried (``mail.tags``: ``relay_message_id``, ``relay_delivery_id``, ``relay_stage``). Each becomes the
message's next status event:

| SES event | status | reason | suppresses the address |
|---|---|---|---|
| Delivery | DELIVERED | – | no |
| Bounce, Permanent | UNDELIVERABLE | BOUNCED (SUPPRESSED when SES's own list held it) | yes |
| Bounce, Transient / Undetermined | UNDELIVERABLE | BOUNCED | no (a soft bounce may pass later) |
| Complaint | UNDELIVERABLE | COMPLAINT | yes |
| Reject | UNDELIVERABLE | REJECTED | no |
| Rendering Failure | UNDELIVERABLE | RENDERING_FAILURE | no |
| Send, Open, Click, DeliveryDelay, Subscription | – (ignored) | | |

**Idempotent.** An event's identity (``feedbackId`` = event type, SES message id, address) is stored on
the status event it writes; a redelivered SNS message finds it and writes nothing. The event's time
is SES's, but never earlier than the send worker's own events of the message (ENQUEUED, SENT), so the
newest-event-wins view ends on the provider's verdict even if clocks disagree by a few ms. Its
sequence number ranks a complaint above the delivery it follows at the same millisecond.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from functions.send_worker.core import event_item
from functions.shared.errors import BadContent
from functions.shared.message_meta import META_ATTRIBUTES
from functions.shared.statuses import DeliveryReason
from functions.shared.statuses import MessageStatus as S
from functions.shared.suppression import SuppressionEntry

if TYPE_CHECKING:  # pragma: no cover
    from functions.ses_feedback.ports import MessageEvents, SuppressionWriter

__all__ = ["Feedback", "NotSesEvent", "parse_event", "next_event", "suppression_entry", "apply_feedback",
           "IGNORED_EVENT_TYPES",
           "MESSAGE_ID_TAG", "DELIVERY_ID_TAG", "STAGE_TAG", "FEEDBACK_SEQ"]

MESSAGE_ID_TAG = "relay_message_id"     # the tags functions.providers.ses puts on every send
DELIVERY_ID_TAG = "relay_delivery_id"
STAGE_TAG = "relay_stage"
IGNORED_EVENT_TYPES = frozenset({"Send", "Open", "Click", "DeliveryDelay", "Subscription"})
# the send worker writes ENQUEUED with seq 0 and SENT with seq 1; a verdict at the same ms sorts after them
FEEDBACK_SEQ = {DeliveryReason.BOUNCED: 3, DeliveryReason.REJECTED: 3, DeliveryReason.RENDERING_FAILURE: 3,
                DeliveryReason.SUPPRESSED: 3, DeliveryReason.COMPLAINT: 4}
DELIVERED_SEQ = 2


class NotSesEvent(BadContent):
    """The SNS message is not an SES event (not JSON, no event type, no ``mail``): logged, never retried."""


@dataclass(frozen=True)
class Feedback:
    """One recipient's verdict in one SES event, addressed to a relay message."""

    message_id: str
    address: str
    event_type: str
    status: S
    ts_ms: int
    feedback_id: str                      # event type : SES message id : address — what makes it idempotent
    reason: str | None = None
    detail: str | None = None
    delivery_id: str | None = None
    provider_message_id: str | None = None
    suppress: bool = False                # a hard bounce or a complaint: the address goes on the list
    stage: str | None = None              # the stage tag of the send, when it carried one

    @property
    def seq(self) -> int:
        """Sequence number of the status event (ranks verdicts that share a millisecond)."""
        return DELIVERED_SEQ if self.status == S.DELIVERED else FEEDBACK_SEQ.get(DeliveryReason(self.reason), 3)


def _ms(iso: Any) -> int | None:
    if not isinstance(iso, str) or not iso:
        return None
    try:
        stamp = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return int(stamp.timestamp() * 1000)


def _tag(tags: Mapping[str, Any], name: str) -> str | None:
    value = tags.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value else None


def _addresses(entries: Any, key: str = "emailAddress") -> list[tuple[str, dict[str, Any]]]:
    out = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get(key):
            out.append((str(entry[key]), entry))
        elif isinstance(entry, str):
            out.append((entry, {}))
    return out


def _verdicts(event_type: str, doc: Mapping[str, Any], mail: Mapping[str, Any]) -> Iterable[
        tuple[str, S, str | None, str | None, bool, int | None]]:
    """(address, status, reason, detail, suppress, ts_ms) per recipient of the event."""
    mail_ts = _ms(mail.get("timestamp"))
    if event_type == "Delivery":
        d = doc.get("delivery") or {}
        for address, _ in _addresses(d.get("recipients"), key=""):
            yield address, S.DELIVERED, None, d.get("smtpResponse") or None, False, _ms(d.get("timestamp")) or mail_ts
    elif event_type == "Bounce":
        b = doc.get("bounce") or {}
        kind, sub = str(b.get("bounceType") or "Undetermined"), str(b.get("bounceSubType") or "General")
        hard = kind == "Permanent"
        # SES did not even try: the address is on the account's own suppression list
        reason = DeliveryReason.SUPPRESSED if sub == "OnAccountSuppressionList" else DeliveryReason.BOUNCED
        for address, entry in _addresses(b.get("bouncedRecipients")):
            said = entry.get("diagnosticCode") or entry.get("status") or entry.get("action") or ""
            detail = f"{kind}/{sub}" + (f": {said}" if said else "")
            yield address, S.UNDELIVERABLE, reason, detail, hard, _ms(b.get("timestamp")) or mail_ts
    elif event_type == "Complaint":
        c = doc.get("complaint") or {}
        kind = c.get("complaintFeedbackType") or c.get("complaintSubType") or "unspecified"
        agent = c.get("userAgent")
        detail = f"complaint ({kind})" + (f" reported by {agent}" if agent else "")
        for address, _ in _addresses(c.get("complainedRecipients")):
            yield address, S.UNDELIVERABLE, DeliveryReason.COMPLAINT, detail, True, _ms(c.get("timestamp")) or mail_ts
    elif event_type == "Reject":
        detail = str((doc.get("reject") or {}).get("reason") or "rejected by SES")
        for address, _ in _addresses(mail.get("destination"), key=""):
            yield address, S.UNDELIVERABLE, DeliveryReason.REJECTED, detail, False, mail_ts
    elif event_type == "Rendering Failure":
        detail = str((doc.get("failure") or {}).get("errorMessage") or "rendering failure")
        for address, _ in _addresses(mail.get("destination"), key=""):
            yield address, S.UNDELIVERABLE, DeliveryReason.RENDERING_FAILURE, detail, False, mail_ts


def parse_event(doc: Any) -> list[Feedback]:
    """The relay verdicts in one SES event (``[]``: an event relay does not act on, or not one of its sends).

    Raises
    ------
    NotSesEvent
        When ``doc`` is not an SES event at all.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("mail"), dict):
        raise NotSesEvent("not an SES event: no mail object")
    event_type = doc.get("eventType") or doc.get("notificationType")
    if not isinstance(event_type, str) or not event_type:
        raise NotSesEvent("not an SES event: no eventType")
    if event_type in IGNORED_EVENT_TYPES:
        return []
    mail = doc["mail"]
    tags = mail.get("tags") if isinstance(mail.get("tags"), dict) else {}
    message_id = _tag(tags, MESSAGE_ID_TAG)
    if not message_id:
        return []  # not sent by relay (no message id tag): nothing of ours to update
    ses_id = str(mail.get("messageId") or "")
    out = []
    for address, status, reason, detail, suppress, ts in _verdicts(event_type, doc, mail):
        if ts is None:
            raise NotSesEvent(f"{event_type} event for {message_id} has no timestamp")
        out.append(Feedback(
            message_id=message_id, address=address, event_type=event_type, status=status, ts_ms=ts,
            feedback_id=f"{event_type}:{ses_id}:{address.lower()}", reason=reason, detail=detail,
            delivery_id=_tag(tags, DELIVERY_ID_TAG), provider_message_id=ses_id or None, suppress=suppress,
            stage=_tag(tags, STAGE_TAG)))
    return out


def next_event(feedback: Feedback, existing: list[Mapping[str, Any]], retention_days: int,
               provider: str = "ses") -> dict[str, Any] | None:
    """The status event ``feedback`` adds to a message whose events are ``existing``; None when written already.

    Parameters
    ----------
    existing
        The message's event items (``MSG#<id>/EVT#…``); the send worker's ENQUEUED is always among them
        before SES is called, so an empty list means the message is not this stage's (or has expired).

    Raises
    ------
    LookupError
        When ``existing`` is empty: there is no message to update.
    """
    if not existing:
        raise LookupError(f"message {feedback.message_id} has no events in this stage")
    if any(e.get("feedbackId") == feedback.feedback_id for e in existing):
        return None  # a redelivered SNS message: its event is there already
    own = [e for e in existing if not e.get("feedbackId")]
    base = next((e for e in own if e.get("status") == S.ENQUEUED), (own or list(existing))[0])
    # SES's clock, but never before the send worker's own events: the verdict must be the newest
    ts = max(feedback.ts_ms, *(int(e.get("ts", 0)) for e in own)) if own else feedback.ts_ms
    item = event_item(
        message_id=feedback.message_id, request_id=str(base.get("requestId", "")), run_id=base.get("runId"),
        recipient=str(base.get("recipient", "")), channel=str(base.get("channel", "email")), status=feedback.status,
        ts=ts, seq=feedback.seq, reason=feedback.reason, provider=provider,
        delivery_id=feedback.delivery_id or base.get("deliveryId"), retention_days=retention_days)
    item["feedbackId"] = feedback.feedback_id
    # the send's metadata rides on every event, so the VIEW this one becomes keeps its tags and trace id
    item.update({k: base[k] for k in META_ATTRIBUTES if base.get(k) not in (None, "", [])})
    if feedback.detail:
        item["detail"] = feedback.detail
    if feedback.provider_message_id:
        item["providerMessageId"] = feedback.provider_message_id
    return item


def suppression_entry(feedback: Feedback, now_iso: str, channel: str = "email",
                      provider: str = "ses") -> SuppressionEntry | None:
    """The suppression-list entry a hard bounce or a complaint adds (None for any other verdict)."""
    if not feedback.suppress:
        return None
    reason = DeliveryReason.COMPLAINT if feedback.reason == DeliveryReason.COMPLAINT else DeliveryReason.BOUNCED
    return SuppressionEntry(channel=channel, address=feedback.address, reason=reason,
                            message_id=feedback.message_id, detail=feedback.detail or "", provider=provider,
                            created_at=now_iso, updated_at=now_iso)


def apply_feedback(feedback: Feedback, events: "MessageEvents", suppressions: "SuppressionWriter", *,
                   now_iso: str, retention_days: int, stage: str | None = None) -> str:
    """Record one verdict: the suppression entry first, then the event (a crash between them re-runs both).

    Returns
    -------
    str
        ``other-stage`` (tagged by another stage), ``unknown-message``, ``duplicate`` or ``recorded``.
    """
    if stage and feedback.stage and feedback.stage != stage:
        return "other-stage"
    existing = events.events(feedback.message_id)
    try:
        item = next_event(feedback, existing, retention_days)
    except LookupError:
        return "unknown-message"
    if item is None:
        # written before, and so was its suppression (it goes first): an operator who has cleared the
        # address since then is not overruled by a redelivered notification
        return "duplicate"
    channel = str(next((e.get("channel") for e in existing if e.get("channel")), "email"))
    entry = suppression_entry(feedback, now_iso, channel=channel)
    if entry is not None:
        suppressions.suppress(entry)
    events.put(item)
    return "recorded"
