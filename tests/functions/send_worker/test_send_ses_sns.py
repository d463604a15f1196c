"""The ses and sns providers against moto, their retries, and the send worker's SENT / SUPPRESSED outcomes."""
from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from functions.providers.base import Delivery, DeliveryResult, Provider
from functions.providers.retry import Backoff
from functions.providers.ses import SesProvider, html_part
from functions.providers.sns_sms import SnsSmsProvider
from functions.send_worker.core import process_request
from functions.send_worker.ports import ProviderRegistry, SuppressionList
from functions.shared.errors import RetryableError
from functions.shared.suppression import SuppressionEntry, normalize_address
from tests.functions.send_worker.fakes import FakeEvents, make_ports

SENDER = "Relay <notifications@relay.test>"


def delivery(address: str, channel: str = "email", **kw: Any) -> Delivery:
    return Delivery(message_id="msg_0123abcd", delivery_id="dlv_01ABC", request_id="req_1", channel=channel,
                    address=address, title="Your order", body="Hello <Ada>,\n\nshipped & on its way.", **kw)


def client_error(code: str, status: int = 400, message: str = "said no") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail")


class ScriptedClient:
    """Answers ``send_email`` / ``publish`` from a script: exceptions are raised, dicts returned."""

    def __init__(self, *answers: Any) -> None:
        self.answers, self.calls = list(answers), []

    def _next(self, **params: Any) -> Any:
        self.calls.append(params)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    send_email = publish = _next


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch):
    from moto import mock_aws

    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def test_ses_request_carries_sender_configuration_set_both_parts_reply_to_and_tags() -> None:
    params = SesProvider(SENDER, "relay-dev-email", ["support@relay.test"], stage="dev").request(
        delivery("ada@example.com"))
    assert params["FromEmailAddress"] == SENDER and params["ConfigurationSetName"] == "relay-dev-email"
    assert params["Destination"] == {"ToAddresses": ["ada@example.com"]}
    assert params["ReplyToAddresses"] == ["support@relay.test"]
    body = params["Content"]["Simple"]["Body"]
    assert body["Text"]["Data"] == "Hello <Ada>,\n\nshipped & on its way."
    # the HTML part escapes the recipient's data: it never becomes markup
    assert "<p>Hello &lt;Ada&gt;,</p>" in body["Html"]["Data"] and "shipped &amp; on its way." in body["Html"]["Data"]
    assert params["EmailTags"] == [{"Name": "relay_message_id", "Value": "msg_0123abcd"},
                                   {"Name": "relay_delivery_id", "Value": "dlv_01ABC"},
                                   {"Name": "relay_stage", "Value": "dev"}]


def test_html_part_keeps_line_breaks_and_escapes_the_title() -> None:
    html = html_part("a <b>", "one\ntwo")
    assert "<title>a &lt;b&gt;</title>" in html and "<p>one<br>two</p>" in html


def test_ses_accepted_send_is_sent_only_with_ses_message_id(moto_aws) -> None:
    boto3.client("sesv2").create_email_identity(EmailIdentity="notifications@relay.test")
    result = SesProvider(SENDER, "relay-dev-email").deliver(delivery("ada@example.com"))
    assert (result.delivered, result.accepted_only, result.provider) == (True, True, "ses")
    assert result.provider_message_id
    assert boto3.client("ses").get_send_quota()["SentLast24Hours"] == 1


def test_ses_unverified_sender_is_rejected_at_once_with_ses_reason(moto_aws) -> None:
    result = SesProvider("nobody@unverified.test").deliver(delivery("ada@example.com"))
    assert (result.delivered, result.reason) == (False, "REJECTED")
    assert result.detail == "MessageRejected: Email address not verified nobody@unverified.test"
    assert boto3.client("ses").get_send_quota()["SentLast24Hours"] == 0


def test_ses_throttling_is_retried_with_backoff_then_sent() -> None:
    ses = ScriptedClient(client_error("TooManyRequestsException", 429), client_error("InternalFailure", 500),
                         {"MessageId": "ses-1"})
    slept: list[float] = []
    provider = SesProvider(SENDER, client=lambda: ses, sleep=slept.append)
    result = provider.deliver(delivery("ada@example.com"))
    assert result.provider_message_id == "ses-1" and len(ses.calls) == 3
    assert len(slept) == 2 and all(0 <= s <= 2.0 for s in slept)


def test_ses_throttling_past_the_deadline_raises_retryable_for_lambda_to_retry() -> None:
    import time

    ses = ScriptedClient(*[client_error("TooManyRequestsException", 429)] * 10)
    provider = SesProvider(SENDER, client=lambda: ses, sleep=lambda s: None,
                           backoff=Backoff(max_attempts=10, reserve_s=1.0))
    # half a second left: no time for another attempt after the first
    with pytest.raises(RetryableError, match="TooManyRequestsException.*1 attempt.*time budget"):
        provider.deliver(delivery("ada@example.com", deadline_ms=int(time.time() * 1000) + 500))
    assert len(ses.calls) == 1


@pytest.mark.parametrize("code", ["SendingPausedException", "AccountSuspendedException", "NotFoundException",
                                  "AccessDeniedException"])
def test_ses_stage_problem_is_retryable_without_backoff(code: str) -> None:
    ses = ScriptedClient(client_error(code))
    with pytest.raises(RetryableError, match=code):
        SesProvider(SENDER, client=lambda: ses, sleep=lambda s: None).deliver(delivery("ada@example.com"))
    assert len(ses.calls) == 1


def test_ses_without_sender_is_retryable_never_sent() -> None:
    ses = ScriptedClient()
    with pytest.raises(RetryableError, match="EMAIL_FROM is not configured"):
        SesProvider("", client=lambda: ses).deliver(delivery("ada@example.com"))
    assert ses.calls == []


def test_sns_sms_publish_to_phone_number_with_sender_id_and_type(moto_aws) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns import sns_backends

    result = SnsSmsProvider("RELAY", "Promotional").deliver(delivery("+14155550100", "sms"))
    assert (result.delivered, result.accepted_only, result.provider) == (True, True, "sns")
    sent = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages
    assert sent[result.provider_message_id] == ("+14155550100", "Hello <Ada>,\n\nshipped & on its way.")
    params = SnsSmsProvider("RELAY", "Promotional").request(delivery("+14155550100", "sms"))
    assert params["MessageAttributes"] == {
        "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Promotional"},
        "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "RELAY"}}
    assert "TopicArn" not in params and "TargetArn" not in params


def test_sns_phone_number_not_e164_is_undeliverable_invalid_address(moto_aws) -> None:
    result = SnsSmsProvider().deliver(delivery("call me maybe", "sms"))
    assert (result.delivered, result.reason) == (False, "INVALID_ADDRESS")
    assert "E164" in (result.detail or "")


def test_sns_throttling_retried_then_permission_problem_retryable() -> None:
    sns = ScriptedClient(client_error("Throttling", 400), client_error("AuthorizationError", 403))
    with pytest.raises(RetryableError, match="AuthorizationError"):
        SnsSmsProvider(client=lambda: sns, sleep=lambda s: None).deliver(delivery("+14155550100", "sms"))
    assert len(sns.calls) == 2


# ---- the core: SENT for a provider with receipts, SUPPRESSED without calling it -----------------------
class AcceptingProvider(Provider):
    """Accepts every delivery like SES does (a verdict comes later)."""

    name = "ses"
    checks_suppression = True

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    def deliver(self, d: Delivery) -> DeliveryResult:
        self.deliveries.append(d)
        return DeliveryResult(self.name, True, accepted_only=True, provider_message_id=f"ses-{len(self.deliveries)}")


class FakeSuppressions(SuppressionList):
    def __init__(self, *entries: SuppressionEntry) -> None:
        self.entries = {(e.channel, normalize_address(e.channel, e.address)): e for e in entries}
        self.lookups = 0

    def find(self, channel: str, address: str) -> SuppressionEntry | None:
        self.lookups += 1
        return self.entries.get((channel, normalize_address(channel, address)))


def _doc(to: dict, request_id: str = "req_1") -> dict:
    return {"requestId": request_id, "message": {"to": to, "content": {"title": "T", "body": "B"},
                                                  "routing": {"method": "all", "channels": ["email"]}}}


def test_accepted_only_delivery_is_sent_with_the_provider_message_id() -> None:
    provider = AcceptingProvider()
    events = FakeEvents()
    ports = make_ports(events=events, suppressions=FakeSuppressions(), deadline_ms=123)
    ports.providers = ProviderRegistry({"email": "ses"}, lambda name: provider)
    (plan,) = process_request(_doc({"email": "ada@example.com"}), ports)
    assert plan.outcome.status == "SENT"
    assert events.statuses(plan.message_id) == ["ENQUEUED", "SENT"]
    sent = [i for i in events.items.values() if i["status"] == "SENT"][0]
    assert (sent["provider"], sent["providerMessageId"]) == ("ses", "ses-1")
    assert provider.deliveries[0].deadline_ms == 123


def test_suppressed_address_is_undeliverable_without_calling_the_provider() -> None:
    provider = AcceptingProvider()
    events = FakeEvents()
    entry = SuppressionEntry("email", "bounce@simulator.amazonses.com", "BOUNCED", message_id="msg_earlier",
                             created_at="2026-12-01T10:00:00.000Z")
    ports = make_ports(events=events, suppressions=FakeSuppressions(entry))
    ports.providers = ProviderRegistry({"email": "ses"}, lambda name: provider)
    (plan,) = process_request(_doc({"email": "Bounce@Simulator.AmazonSES.com"}), ports)
    assert (plan.outcome.status, plan.outcome.reason) == ("UNDELIVERABLE", "SUPPRESSED")
    assert provider.deliveries == []
    final = [i for i in events.items.values() if i["status"] == "UNDELIVERABLE"][0]
    assert final["detail"] == ("bounce@simulator.amazonses.com is on the suppression list since "
                               "2026-12-01T10:00:00.000Z: BOUNCED of message msg_earlier")


def test_provider_without_suppression_check_is_not_looked_up() -> None:
    from tests.functions.send_worker.fakes import RecordingProvider

    suppressions = FakeSuppressions(SuppressionEntry("email", "ada@example.com", "COMPLAINT"))
    ports = make_ports(RecordingProvider(), suppressions=suppressions)
    (plan,) = process_request(_doc({"email": "ada@example.com"}), ports)
    assert plan.outcome.status == "DELIVERED" and suppressions.lookups == 0


# ---- through the handler, on moto ---------------------------------------------------------------------
def test_send_worker_with_ses_and_sns_ends_email_and_sms_sent() -> None:
    from functions.send_worker import handler
    from functions.shared.request_store import put_send_request
    from tests.functions.shared.relay_aws import relay_stage, s3_put_event

    env = {"PROVIDERS": json.dumps({"email": "ses", "sms": "sns"}), "EMAIL_FROM": SENDER,
           "EMAIL_CONFIGURATION_SET": "relay-test-email", "SMS_SENDER_ID": "RELAY"}
    with relay_stage(env) as stage:
        boto3.client("sesv2").create_email_identity(EmailIdentity="notifications@relay.test")
        key = put_send_request(stage.bucket, "req_sessns", {
            "to": {"email": "ada@example.com", "phone_number": "+14155550100"},
            "content": {"title": "Hi", "body": "Hello"}, "routing": {"method": "all", "channels": ["email", "sms"]}})
        handler.lambda_handler(s3_put_event(stage.bucket, key), None)
        handler.lambda_handler(s3_put_event(stage.bucket, key), None)  # a replayed S3 event sends nothing twice
        events = stage.items(stage.messages)
        sent_count = boto3.client("ses").get_send_quota()["SentLast24Hours"]
    final = {i["channel"]: i for i in events if i["status"] == "SENT"}
    assert set(final) == {"email", "sms"} and {i["provider"] for i in final.values()} == {"ses", "sns"}
    assert not [i for i in events if i["status"] in ("DELIVERED", "UNDELIVERABLE")]
    assert sent_count == 1
