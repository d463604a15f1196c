"""SES events (in the shape SES publishes them, with the send's tags) → the message's next status event and the
suppression list: the pure rules, then the whole path on moto (send worker → SES → event → feedback handler)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest

from functions.ses_feedback.core import (Feedback, NotSesEvent, apply_feedback, next_event, parse_event,
                                         suppression_entry)
from functions.ses_feedback.ports import MessageEvents, SuppressionWriter
from functions.shared.suppression import SuppressionEntry
from relay.local.ses_events import SentMail, simulated_events
from relay.local.sns_triggers import lambda_event

T0 = datetime(2026, 12, 1, 10, 0, 0, tzinfo=timezone.utc)
T0_MS = int(T0.timestamp() * 1000)


def _mail(address: str, message_id: str = "msg_abc", **kw: Any) -> SentMail:
    return SentMail(message_id="ses-0001", source="notifications@relay.test", destinations=[address],
                    subject="Hi", tags={"relay_message_id": [message_id], "relay_delivery_id": ["dlv_1"],
                                        "relay_stage": ["test"]},
                    account="123456789012", region="us-east-1", configuration_set="relay-test-email", sent_at=T0, **kw)


def _verdicts(address: str) -> list[Feedback]:
    return [fb for event in simulated_events(_mail(address), now=T0) for fb in parse_event(event)]


def test_delivery_event_is_delivered_with_ses_time_and_tags() -> None:
    (fb,) = _verdicts("success@simulator.amazonses.com")
    assert (fb.status, fb.reason, fb.suppress) == ("DELIVERED", None, False)
    assert (fb.message_id, fb.delivery_id, fb.stage, fb.provider_message_id) == ("msg_abc", "dlv_1", "test", "ses-0001")
    assert fb.ts_ms == T0_MS + 2 and fb.detail == "250 2.6.0 Message received"


def test_hard_bounce_is_undeliverable_bounced_and_suppresses() -> None:
    (fb,) = _verdicts("bounce@simulator.amazonses.com")
    assert (fb.status, fb.reason, fb.suppress) == ("UNDELIVERABLE", "BOUNCED", True)
    assert fb.detail == "Permanent/General: smtp; 550 5.1.1 user unknown"
    entry = suppression_entry(fb, "2026-12-01T10:00:01.000Z")
    assert (entry.address, entry.reason, entry.message_id) == ("bounce@simulator.amazonses.com", "BOUNCED", "msg_abc")


def test_complaint_follows_delivery_and_suppresses() -> None:
    delivered, complained = _verdicts("complaint@simulator.amazonses.com")
    assert (delivered.status, complained.status, complained.reason) == ("DELIVERED", "UNDELIVERABLE", "COMPLAINT")
    assert complained.suppress and complained.ts_ms > delivered.ts_ms and complained.seq > delivered.seq
    assert complained.detail == "complaint (abuse) reported by Amazon SES Mailbox Simulator"


def test_on_account_suppression_list_bounce_is_suppressed_reason() -> None:
    (fb,) = _verdicts("suppressionlist@simulator.amazonses.com")
    assert (fb.status, fb.reason, fb.suppress) == ("UNDELIVERABLE", "SUPPRESSED", True)


def test_soft_bounce_reject_and_rendering_failure_do_not_suppress() -> None:
    mail = simulated_events(_mail("bounce@simulator.amazonses.com"), now=T0)[0]["mail"]
    soft = {"eventType": "Bounce", "mail": mail, "bounce": {
        "bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": "2026-12-01T10:00:00.500Z",
        "bouncedRecipients": [{"emailAddress": "bounce@simulator.amazonses.com", "status": "4.2.2"}]}}
    reject = {"eventType": "Reject", "mail": mail, "reject": {"reason": "Bad content"}}
    rendering = {"eventType": "Rendering Failure", "mail": mail,
                 "failure": {"errorMessage": "Attribute 'name' is not present", "templateName": "t"}}
    (s,), (r,), (f,) = parse_event(soft), parse_event(reject), parse_event(rendering)
    assert (s.reason, s.suppress, s.detail) == ("BOUNCED", False, "Transient/MailboxFull: 4.2.2")
    assert (r.reason, r.suppress, r.detail) == ("REJECTED", False, "Bad content")
    assert (f.reason, f.suppress) == ("RENDERING_FAILURE", False)


@pytest.mark.parametrize("doc", [None, [], {"eventType": "Delivery"}, {"mail": {}}, {"mail": {}, "eventType": ""}])
def test_not_an_ses_event_is_refused(doc: Any) -> None:
    with pytest.raises(NotSesEvent):
        parse_event(doc)


def test_send_and_open_events_and_untagged_mail_are_ignored() -> None:
    event = simulated_events(_mail("success@simulator.amazonses.com"), now=T0)[0]
    assert parse_event({**event, "eventType": "Send", "send": {}}) == []
    assert parse_event({**event, "eventType": "Open"}) == []
    untagged = {**event, "mail": {**event["mail"], "tags": {"ses:configuration-set": ["x"]}}}
    assert parse_event(untagged) == []


def _existing(ts_sent: int) -> list[dict[str, Any]]:
    base = {"pk": "MSG#msg_abc", "messageId": "msg_abc", "requestId": "req_1", "recipient": "u-1", "channel": "email"}
    return [{**base, "sk": f"EVT#{ts_sent - 5:013d}#00#ENQUEUED", "status": "ENQUEUED", "ts": ts_sent - 5},
            {**base, "sk": f"EVT#{ts_sent:013d}#01#SENT", "status": "SENT", "ts": ts_sent, "deliveryId": "dlv_1"}]


def test_next_event_copies_the_message_and_never_sorts_before_sent() -> None:
    (fb,) = _verdicts("success@simulator.amazonses.com")
    item = next_event(fb, _existing(T0_MS + 50), retention_days=7)
    # SES's clock said earlier than SENT: the verdict is still the newest event
    assert item["ts"] == T0_MS + 50 and item["sk"] == f"EVT#{T0_MS + 50:013d}#02#DELIVERED"
    assert (item["requestId"], item["recipient"], item["channel"], item["provider"]) == ("req_1", "u-1", "email", "ses")
    assert item["feedbackId"] == "Delivery:ses-0001:success@simulator.amazonses.com"
    item = next_event(fb, _existing(T0_MS - 100), retention_days=7)
    assert item["ts"] == T0_MS + 2  # SES's own time when it is later


def test_next_event_is_none_for_a_redelivery_and_raises_for_an_unknown_message() -> None:
    (fb,) = _verdicts("success@simulator.amazonses.com")
    existing = _existing(T0_MS)
    existing.append(next_event(fb, existing, 7))
    assert next_event(fb, existing, 7) is None
    with pytest.raises(LookupError):
        next_event(fb, [], 7)


class FakeEvents(MessageEvents):
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = {(i["pk"], i["sk"]): i for i in items}

    def events(self, message_id: str) -> list[dict[str, Any]]:
        return [v for (pk, _), v in sorted(self.items.items()) if pk == f"MSG#{message_id}"]

    def put(self, item: dict[str, Any]) -> None:
        self.items[(item["pk"], item["sk"])] = item


class FakeSuppressions(SuppressionWriter):
    def __init__(self) -> None:
        self.entries: list[SuppressionEntry] = []

    def suppress(self, entry: SuppressionEntry) -> None:
        self.entries.append(entry)


def test_apply_twice_writes_one_event_and_one_suppression() -> None:
    (fb,) = _verdicts("bounce@simulator.amazonses.com")
    events, suppressions = FakeEvents(_existing(T0_MS)), FakeSuppressions()
    outcomes = [apply_feedback(fb, events, suppressions, now_iso="2026-12-01T10:00:01.000Z", retention_days=7,
                               stage="test") for _ in range(2)]
    assert outcomes == ["recorded", "duplicate"]
    assert [e["status"] for e in events.events("msg_abc")] == ["ENQUEUED", "SENT", "UNDELIVERABLE"]
    assert len(suppressions.entries) == 1


def test_apply_ignores_another_stage_and_an_unknown_message() -> None:
    (fb,) = _verdicts("success@simulator.amazonses.com")
    events, suppressions = FakeEvents(_existing(T0_MS)), FakeSuppressions()
    assert apply_feedback(fb, events, suppressions, now_iso="x", retention_days=7, stage="prod") == "other-stage"
    assert apply_feedback(fb, FakeEvents([]), suppressions, now_iso="x", retention_days=7, stage="test") == "unknown-message"
    assert len(events.items) == 2


# ---- the whole path on moto ---------------------------------------------------------------------------
def _sns_event(doc: dict[str, Any], message_id: str = "sns-1") -> dict[str, Any]:
    return lambda_event(topic_arn="arn:aws:sns:us-east-1:123456789012:relay-test-email-events",
                        subscription_arn="arn:aws:sns:us-east-1:123456789012:relay-test-email-events:sub",
                        message_id=message_id, message=json.dumps(doc))


def _send(stage: Any, request_id: str, address: str) -> None:
    from functions.send_worker import handler as send_handler
    from functions.shared.request_store import put_send_request
    from tests.functions.shared.relay_aws import s3_put_event

    key = put_send_request(stage.bucket, request_id, {"to": {"email": address},
                                                      "content": {"title": "Hi", "body": "Hello"}})
    send_handler.lambda_handler(s3_put_event(stage.bucket, key), None)


def _last_ses_message_id() -> str:
    """SES's id of the last mail moto accepted (what SES's events name in ``mail.messageId``)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages[-1].id


def test_bounce_then_next_send_is_suppressed_without_calling_ses() -> None:
    from functions.ses_feedback import handler as feedback_handler
    from functions.shared.ids import message_id
    from tests.functions.shared.relay_aws import relay_stage

    env = {"PROVIDERS": json.dumps({"email": "ses"}), "EMAIL_FROM": "notifications@relay.test",
           "EMAIL_CONFIGURATION_SET": "relay-test-email"}
    bounce = "bounce@simulator.amazonses.com"
    with relay_stage(env) as stage:
        feedback_handler.reset_ports()
        ses = boto3.client("ses")
        boto3.client("sesv2").create_email_identity(EmailIdentity="notifications@relay.test")
        # GIVEN a send to the bounce simulator, accepted by SES (SENT)
        _send(stage, "req_b1", bounce)
        mid = message_id("req_b1", bounce, "email")
        ses_id = _last_ses_message_id()
        # WHEN SES's Bounce event arrives (twice: SNS delivers at least once)
        (event,) = simulated_events(SentMail(
            message_id=ses_id, source="notifications@relay.test", destinations=[bounce], subject="Hi",
            tags={"relay_message_id": [mid], "relay_delivery_id": ["dlv_x"], "relay_stage": ["test"]},
            account="123456789012", region="us-east-1", configuration_set="relay-test-email"))
        first = feedback_handler.lambda_handler(_sns_event(event), None)
        again = feedback_handler.lambda_handler(_sns_event(event, "sns-2"), None)
        # AND the address is mailed again
        _send(stage, "req_b2", bounce)
        events = sorted((i for i in stage.items(stage.messages)), key=lambda i: (i["pk"], i["sk"]))
        state = stage.items(stage.state)
        sent_total = ses.get_send_quota()["SentLast24Hours"]
        feedback_handler.reset_ports()
    # THEN the first message ends UNDELIVERABLE/BOUNCED once, the address is suppressed, the second is never sent
    assert first["outcomes"] == ["recorded"] and again["outcomes"] == ["duplicate"]
    first_msg = [(i["status"], i.get("reason")) for i in events if i["pk"] == f"MSG#{mid}"]
    assert first_msg == [("ENQUEUED", None), ("SENT", None), ("UNDELIVERABLE", "BOUNCED")]
    mid2 = message_id("req_b2", bounce, "email")
    second = [(i["status"], i.get("reason")) for i in events if i["pk"] == f"MSG#{mid2}"]
    assert second == [("ENQUEUED", None), ("UNDELIVERABLE", "SUPPRESSED")]
    (entry,) = [i for i in state if i["pk"] == "SUPPRESSION#email"]
    assert (entry["sk"], entry["reason"], entry["messageId"]) == (bounce, "BOUNCED", mid)
    assert sent_total == 1


def test_handler_skips_what_is_not_an_ses_event() -> None:
    from functions.ses_feedback import handler as feedback_handler

    event = lambda_event(topic_arn="arn:aws:sns:us-east-1:123456789012:t", subscription_arn="s",
                         message_id="m", message="not json")
    assert feedback_handler.lambda_handler(event, None) == {"records": 1, "outcomes": ["invalid"]}
