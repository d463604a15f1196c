"""Courier's send message through relay's schema: accepted fields, clear refusals, warnings (pure)."""
from __future__ import annotations

from typing import Any

import pytest

from functions.api.events import ApiError
from functions.api.validation import validate_send
from functions.shared.send_warnings import send_warnings


def _refusal(body: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(ApiError) as exc:
        validate_send(body)
    assert exc.value.status == 422
    return exc.value.details or []


def test_courier_message_with_documented_fields_accepted_with_warnings() -> None:
    message = validate_send({"message": {
        "to": {"user_id": "u-1", "email": "ada@example.com", "locale": "en", "data": {"plan": "pro"}},
        "content": {"title": "Welcome!", "body": "Thanks for signing up, {{name}}"},
        "data": {"name": "Ada"}, "brand_id": "brand-1", "context": {"tenant_id": "t-1"},
        "channels": {"email": {"override": {"subject": "Hi", "headers": {"x": "y"}}, "routing_method": "single",
                               "providers": ["sendgrid"]}},
        "providers": {"sendgrid": {"override": {}}},
        "metadata": {"tags": ["onboarding"], "trace_id": "t-42", "event": "welcome", "utm": {"source": "x"}},
        "routing": {"method": "single", "channels": ["email"]},
        "timeout": {"message": 60000, "escalation": 10}, "expiry": {"expires_in": "P1D"},
        "delay": {"duration": 120000}, "preferences": {"subscription_topic_id": "news"}}})
    assert message["to"][0]["user_id"] == "u-1" and message["delay"] == {"duration": 120000}
    warnings = send_warnings(message)
    for field in ("brand_id", "context.tenant_id", "metadata.utm", "providers.sendgrid", "timeout.escalation",
                  "channels.email.override.headers", "channels.email.providers", "preferences", "to.*.locale"):
        assert any(w.startswith(field) for w in warnings), (field, warnings)
    assert not any(w.startswith("metadata.tags") or w.startswith("delay") for w in warnings)


@pytest.mark.parametrize("to, field", [
    ({"list_id": "beta-users"}, "list_id"), ({"list_pattern": "eng.*"}, "list_pattern"),
    ({"audience_id": "aud-1"}, "audience_id"), ({"tenant_id": "acme"}, "tenant_id"),
])
def test_list_audience_tenant_recipients_refused_as_unsupported(to: dict[str, Any], field: str) -> None:
    details = _refusal({"message": {"to": to, "template": "welcome"}})
    assert any(d["type"] == "unsupported" and field in d["message"] and "does not support" in d["message"]
               for d in details), details


def test_channel_if_refused_because_it_changes_who_is_reached() -> None:
    details = _refusal({"message": {"to": {"email": "a@example.com"}, "template": "t",
                                    "channels": {"email": {"if": "data.vip"}}}})
    assert [d["field"] for d in details] == ["message.channels.email.if"]
    assert details[0]["type"] == "unsupported" and "who is reached" in details[0]["message"]


def test_unknown_fields_named_in_the_refusal() -> None:
    details = _refusal({"message": {"to": {"email": "a@example.com"}, "template": "t", "priority": "high",
                                    "metadata": {"tags": ["a"], "colour": "red"}}})
    assert {d["field"] for d in details} == {"message.priority", "message.metadata.colour"}


def test_relay_channels_list_form_still_accepted() -> None:
    message = validate_send({"message": {"to": {"email": "a@example.com"}, "content": {"body": "hi"},
                                         "channels": ["email", "sms"]}})
    assert message["channels"] == ["email", "sms"]


def test_elemental_content_accepted_and_bad_elements_named() -> None:
    ok = validate_send({"message": {"to": {"email": "a@example.com"}, "content": {"version": "2022-01-01", "elements": [
        {"type": "meta", "title": "Hi"}, {"type": "text", "content": "Hello **{{name}}**", "align": "center"},
        {"type": "action", "content": "Open", "href": "https://example.com"}, {"type": "divider"},
        {"type": "image", "src": "https://example.com/a.png", "alt_text": "logo"}, {"type": "quote", "content": "q"},
    ]}, "data": {"name": "Ada"}}})
    assert ok["content"]["elements"][0] == {"type": "meta", "title": "Hi"}
    assert any("align" in w for w in send_warnings(ok))
    details = _refusal({"message": {"to": {"email": "a@example.com"}, "content": {"version": "2022-01-01", "elements": [
        {"type": "text", "content": "x", "if": "data.vip"}, {"type": "list", "elements": []},
        {"type": "text", "content": "y", "shout": True}]}}})
    text = " ".join(d["message"] for d in details)
    assert "elements.0.if" in text and "'list' elements" in text and "elements.2.shout" in text


@pytest.mark.parametrize("delay, words", [
    ({"until": "Mo-Fr 09:00-17:00"}, "opening hours"), ({"duration": 1, "until": "2030-01-01"}, "exactly one"),
    ({"until": "2030-01-01T09:00:00", "timezone": "America/New_York"}, "UTC only"),
])
def test_delay_relay_cannot_honour_refused(delay: dict[str, Any], words: str) -> None:
    details = _refusal({"message": {"to": {"email": "a@example.com"}, "template": "t", "delay": delay}})
    assert any(words in d["message"] for d in details), details


def test_nested_routing_refused_as_unsupported() -> None:
    details = _refusal({"message": {"to": {"email": "a@example.com"}, "template": "t",
                                    "routing": {"method": "single", "channels": [{"method": "all", "channels": ["sms"]}]}}})
    assert details[0]["type"] == "unsupported" and "nested routing" in details[0]["message"]


def test_courier_webhook_recipient_becomes_webhook_url() -> None:
    message = validate_send({"message": {"to": {"webhook": {"url": "https://hooks.example.com/a"}},
                                         "content": {"body": "x"}, "routing": {"method": "all", "channels": ["webhook"]}}})
    assert message["to"][0]["webhook_url"] == "https://hooks.example.com/a" and "webhook" not in message["to"][0]
