"""InvokeRequest: the body of POST /automations/invoke."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.automations.schema import MAX_STEPS, IfStep, InvokeRequest


def _req(*steps, **extra):
    body = {"automation": {"steps": list(steps)}, "recipient": "user-1", "template": "welcome"}
    body.update(extra)
    return body


def _errors(body):
    with pytest.raises(ValidationError) as exc:
        InvokeRequest.model_validate(body)
    return {(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.value.errors()}


def test_every_action_valid_request_accepted():
    body = _req(
        {"action": "send"},
        {"action": "send", "message": {"to": {"email": "a@example.com"}, "content": {"title": "t", "body": "b"}}},
        {"action": "delay", "duration": "5 minutes"},
        {"action": "delay", "until": "2030-01-01T00:00:00Z"},
        {"action": "fetch-data", "webhook": {"url": "https://api.example.com/x", "method": "POST", "body": {"a": 1}},
         "merge_strategy": "soft-merge", "timeout_ms": 1000, "max_bytes": 1000},
        {"action": "if", "condition": "data.total >= 100 and profile.tier == 'gold'",
         "then": [{"action": "send"}], "else": [{"action": "cancel", "cancelation_token": "tok"}]},
        {"action": "update-profile", "profile": {"tier": "gold"}, "merge": "replace"},
        {"action": "invoke", "automation": {"steps": [{"action": "send"}]}, "data": {"k": 1}},
        data={"total": 120}, profile={"tier": "gold"},
    )
    req = InvokeRequest.model_validate(body)
    assert [s.action for s in req.automation.steps][:3] == ["send", "send", "delay"]
    step = req.automation.steps[5]
    assert isinstance(step, IfStep) and step.else_[0].action == "cancel"
    # the alias survives a round trip, as the API stores model_dump(by_alias=True)
    dumped = req.model_dump(by_alias=True, exclude_none=True)
    assert "else" in dumped["automation"]["steps"][5]
    assert InvokeRequest.model_validate(dumped) == req


def test_many_bad_fields_every_one_reported():
    errors = _errors({
        "automation": {"steps": [
            {"action": "delay"},
            {"action": "delay", "duration": "5 parsecs"},
            {"action": "if", "condition": "__import__('os').system('x')"},
            {"action": "fetch-data", "webhook": {"url": "file:///etc/passwd"}, "extra": 1},
            {"action": "teleport"},
        ]},
        "recipient": "",
        "surprise": True,
    })
    locs = {loc for loc, _ in errors}
    assert "automation.steps.0.delay" in locs
    assert "automation.steps.1.delay.duration" in locs
    assert "automation.steps.2.if.condition" in locs
    assert "automation.steps.3.fetch-data.webhook.url" in locs
    assert "automation.steps.3.fetch-data.extra" in locs
    assert "automation.steps.4" in locs
    assert "recipient" in locs and "surprise" in locs
    messages = dict(errors)
    assert "exactly one of duration or until" in messages["automation.steps.0.delay"]
    assert "unknown unit 'parsecs'" in messages["automation.steps.1.delay.duration"]
    assert "Call is not allowed" in messages["automation.steps.2.if.condition"]


def test_no_steps_refused():
    errors = _errors(_req())
    assert any(loc == "automation.steps" and "at least 1" in msg for loc, msg in errors)


def test_too_many_nested_steps_refused():
    branch = [{"action": "delay", "duration": "1s"}] * 60
    errors = _errors(_req({"action": "if", "condition": "true", "then": branch, "else": branch}))
    assert any(f"limit is {MAX_STEPS}" in msg for _, msg in errors)


def test_send_without_any_template_refused():
    body = _req({"action": "send"})
    del body["template"]
    errors = _errors(body)
    assert any("send step 0 has no message and no template" in msg for _, msg in errors)


def test_get_with_body_refused():
    errors = _errors(_req({"action": "fetch-data", "webhook": {"url": "http://x.example/", "body": {"a": 1}}}))
    assert any("body is not allowed with method GET" in msg for _, msg in errors)


def test_message_and_defaults_together_refused():
    message = {"to": {"email": "a@example.com"}, "template": "t"}
    errors = _errors(_req({"action": "send", "message": message, "template": "x"}))
    assert any("either message, or template" in msg for _, msg in errors)


@pytest.mark.parametrize("headers,message", [
    ({"X-Ok": "a\r\nX-Injected: 1"}, "line break"),
    ({"Bad Name": "x"}, "not a valid HTTP header name"),
    ({"Host": "internal"}, "cannot be overridden"),
])
def test_unsafe_fetch_headers_refused(headers, message):
    errors = _errors(_req({"action": "fetch-data", "webhook": {"url": "https://x.example/", "headers": headers}}))
    assert any(message in msg for _, msg in errors)


def test_bad_send_message_reported_at_request_time():
    errors = _errors(_req({"action": "send", "message": {"to": {"email": "a@example.com"}, "channels": ["pigeon"],
                                                         "content": {"body": "x"}}}))
    assert any(loc.startswith("automation.steps.0.send.message.channels") and "unknown channel 'pigeon'" in msg
               for loc, msg in errors)


def test_unknown_step_channel_refused():
    errors = _errors(_req({"action": "send", "channels": ["pigeon"]}))
    assert any("unknown channel 'pigeon'" in msg for _, msg in errors)


def test_send_message_stored_in_normal_form():
    body = _req({"action": "send", "message": {"to": {"email": "a@example.com"}, "content": {"body": "x"}}})
    dumped = InvokeRequest.model_validate(body).model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dumped["automation"]["steps"][0]["message"]["to"] == [{"email": "a@example.com"}]


# the README's automation example ("The API"), as written there
README_INVOKE = {"automation": {"cancelation_token": "cart-42", "steps": [
    {"action": "delay", "duration": "5 minutes"},
    {"action": "send", "message": {"content": {"title": "Still thinking, {{ name }}?", "body": "Your cart misses you."},
                                   "routing": {"method": "single", "channels": ["email"]}}}]},
    "data": {"name": "Ada"}, "profile": {"email": "ada@example.com"}, "recipient": "u-1"}


def test_readme_automation_example_with_send_message_without_to_accepted():
    req = InvokeRequest.model_validate(README_INVOKE)
    stored = req.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert "to" not in stored["automation"]["steps"][1]["message"], "the run's recipient is filled in when it runs"


def test_send_step_message_with_bad_to_still_refused():
    errors = _errors(_req({"action": "send", "message": {"to": [], "content": {"body": "b"}}}))
    assert any(loc.startswith("automation.steps.0.send.message.to") for loc, _ in errors)
