"""The send worker on Courier's messages: Elemental per channel, {variable}s, overrides, expiry, delays (fakes)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from functions.send_worker.core import process_request
from functions.send_worker.ports import DelayedSends
from functions.shared.ids import message_id
from tests.functions.send_worker.fakes import FakeEvents, FakeRuns, FakeTemplates, RecordingProvider, make_ports

ELEMENTAL = {"version": "2022-01-01", "elements": [
    {"type": "meta", "title": "Order {order}"},
    {"type": "text", "content": "Hi **{{ name }}** <b>", "channels": ["email", "sms"]},
    {"type": "action", "content": "Track", "href": "https://example.com/t/{order}"},
    {"type": "image", "src": "https://example.com/logo.png", "alt_text": "Logo", "channels": ["email"]},
    {"type": "divider"}, {"type": "quote", "content": "Thanks", "channels": ["email"]},
]}


class RecordingDelays(DelayedSends):
    def __init__(self) -> None:
        self.scheduled: list[tuple[str, datetime]] = []

    def schedule(self, request_id: str, until: Any) -> None:
        self.scheduled.append((request_id, until))


def _doc(message: dict[str, Any], request_id: str = "req_A", **extra: Any) -> dict[str, Any]:
    return {"requestId": request_id, "message": message, **extra}


def test_elemental_renders_email_html_and_text_and_sms_text() -> None:
    provider = RecordingProvider()
    process_request(_doc({"to": [{"email": "a@example.com", "phone_number": "+15550100"}], "content": ELEMENTAL,
                          "data": {"name": "Ada", "order": "#7"}, "routing": {"method": "all", "channels": ["email", "sms"]}}),
                    make_ports(provider))
    email, sms = sorted(provider.deliveries, key=lambda d: d.channel)
    assert email.title == "Order #7" and "Hi Ada <b>" in email.body and "Track: https://example.com/t/#7" in email.body
    assert "<strong>Ada</strong> &lt;b&gt;" in email.html and '<a href="https://example.com/t/#7">Track</a>' in email.html
    assert "<img" in email.html and "<blockquote>Thanks</blockquote>" in email.html
    assert sms.html is None and "Logo" not in sms.body and sms.body.startswith("Hi Ada <b>")


def test_channel_elements_pick_the_channel_or_default() -> None:
    provider = RecordingProvider()
    content = {"version": "2022-01-01", "elements": [
        {"type": "channel", "channel": "sms", "elements": [{"type": "text", "content": "short {code}"}]},
        {"type": "channel", "channel": "default", "raw": {"subject": "Code", "text": "long {code}"}}]}
    process_request(_doc({"to": [{"email": "a@example.com", "phone_number": "+15550100"}], "content": content,
                          "data": {"code": "123"}, "routing": {"method": "all", "channels": ["email", "sms"]}}),
                    make_ports(provider))
    by = {d.channel: d for d in provider.deliveries}
    assert by["sms"].body == "short 123" and by["email"].title == "Code" and by["email"].body == "long 123"


def test_channel_override_replaces_title_and_recipient_data_reaches_template() -> None:
    provider = RecordingProvider()
    process_request(_doc({"to": [{"email": "a@example.com", "data": {"name": "Bo"}}], "template": "welcome",
                          "data": {"name": "Ada"}, "channels": {"email": {"override": {"subject": "Hey {name}"}}}}),
                    make_ports(provider, templates=FakeTemplates({"welcome": {"title": "t", "body": "Hi {name}"}})))
    assert [(d.title, d.body) for d in provider.deliveries] == [("Hey Bo", "Hi Bo")]


def test_expired_message_is_undeliverable_with_reason() -> None:
    events = FakeEvents()
    provider = RecordingProvider()
    plans = process_request(_doc({"to": [{"email": "a@example.com"}], "content": {"body": "x"},
                                  "expiry": {"expires_at": "2020-01-01T00:00:00.000Z"}}), make_ports(provider, events=events))
    assert [(p.outcome.status, p.outcome.reason) for p in plans] == [("UNDELIVERABLE", "EXPIRED")]
    assert provider.deliveries == [] and "expired" in (plans[0].outcome.detail or "")


def test_delayed_send_waits_then_delivers_once_released() -> None:
    provider, delays, events = RecordingProvider(), RecordingDelays(), FakeEvents()
    ports = make_ports(provider, delayed=delays, events=events)
    message = {"to": [{"email": "a@example.com"}], "content": {"body": "x"}, "metadata": {"tags": ["t1"], "trace_id": "tr"},
               "delay": {"until": "2090-01-01T00:00:00.000Z"}}
    assert process_request(_doc(message), ports) == [] and provider.deliveries == []
    assert delays.scheduled == [("req_A", datetime(2090, 1, 1, tzinfo=timezone.utc))]
    plans = process_request(_doc(message, released=True), ports)
    assert [p.outcome.status for p in plans] == ["DELIVERED"] and len(provider.deliveries) == 1
    item = next(v for v in events.items.values() if v["status"] == "DELIVERED")
    assert item["tags"] == ["t1"] and item["traceId"] == "tr" and item["enqueuedAt"] <= item["ts"]


def test_canceled_delayed_send_ends_canceled() -> None:
    class CanceledRuns(FakeRuns):
        def request_canceled(self, request_id: str) -> bool:
            return request_id == "req_A"

    provider = RecordingProvider()
    plans = process_request(_doc({"to": [{"email": "a@example.com"}], "content": {"body": "x"},
                                  "delay": {"until": "2020-01-01T00:00:00.000Z"}}, released=True),
                            make_ports(provider, runs=CanceledRuns()))
    assert [(p.outcome.status, p.outcome.reason) for p in plans] == [("CANCELED", "request req_A was canceled")]
    assert provider.deliveries == [] and plans[0].message_id == message_id("req_A", "a@example.com", "email")


def test_user_id_alone_resolves_addresses_from_the_profile() -> None:
    provider = RecordingProvider()
    process_request(_doc({"to": {"user_id": "u-1"}, "content": {"title": "T", "body": "B"},
                          "routing": {"method": "single", "channels": ["sms", "email"]}}),
                    make_ports(provider, runs=FakeRuns(profiles={"u-1": {"email": "u1@example.com"}})))
    assert [(d.channel, d.address) for d in provider.deliveries] == [("email", "u1@example.com")]
