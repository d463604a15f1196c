"""The send worker's pure core, driven through fakes that subclass its ports."""
from __future__ import annotations

import hashlib

import pytest

from functions.send_worker.core import BadRequest, expand, process_request
from functions.shared.errors import RetryableError
from functions.shared.ids import message_id
from tests.functions.send_worker.fakes import Clock, FakeClaims, FakeRuns, FakeTemplates, RecordingProvider, make_ports


def doc(message: dict, request_id: str = "req_01TEST", source: dict | None = None) -> dict:
    return {"requestId": request_id, "receivedAt": "2026-11-27T08:00:00Z", "message": message, "source": source or {}}


CONTENT = {"title": "Hello {{ name }}", "body": "Your code is {{ code }}"}


def test_message_id_matches_contract_formula():
    expected = "msg_" + hashlib.sha256(b"req_1|ann@example.com|email").hexdigest()[:32]
    assert message_id("req_1", "ann@example.com", "email") == expected
    assert message_id("req_1", "ann@example.com", "sms") != expected


def test_routing_all_delivers_every_recipient_on_every_channel():
    provider = RecordingProvider()
    ports = make_ports(provider)
    msg = {"to": [{"email": "a@x.io", "phone_number": "+15550001"}, {"email": "b@x.io", "phone_number": "+15550002"}],
           "content": CONTENT, "data": {"name": "Ann", "code": 42}, "routing": {"method": "all", "channels": ["email", "sms"]}}
    settled = process_request(doc(msg), ports)
    assert [(p.recipient, p.channel, p.outcome.status) for p in settled] == [
        ("a@x.io", "email", "DELIVERED"), ("a@x.io", "sms", "DELIVERED"),
        ("b@x.io", "email", "DELIVERED"), ("b@x.io", "sms", "DELIVERED")]
    assert sorted(d.address for d in provider.deliveries) == ["+15550001", "+15550002", "a@x.io", "b@x.io"]
    assert provider.deliveries[0].title == "Hello Ann" and provider.deliveries[0].body == "Your code is 42"
    assert ports.events.statuses(settled[0].message_id) == ["ENQUEUED", "SENT", "DELIVERED"]


def test_routing_all_unaddressable_channel_is_unroutable_with_reason():
    ports = make_ports()
    settled = process_request(doc({"to": {"email": "a@x.io"}, "content": CONTENT, "data": {"name": "A", "code": 1},
                                   "channels": ["email", "sms"]}), ports)
    assert [p.outcome.status for p in settled] == ["DELIVERED", "UNROUTABLE"]
    assert settled[1].outcome.reason == "recipient a@x.io has no phone_number for channel sms"


def test_routing_single_fails_over_after_permanent_provider_failure():
    provider = RecordingProvider(refuse={"email"})
    ports = make_ports(provider)
    msg = {"to": {"email": "a@x.io", "phone_number": "+1555"}, "content": CONTENT, "data": {"name": "A", "code": 1},
           "routing": {"method": "single", "channels": ["email", "sms", "push"]}}
    settled = process_request(doc(msg), ports)
    assert [(p.channel, p.outcome.status) for p in settled] == [("email", "UNDELIVERABLE"), ("sms", "DELIVERED")]
    assert settled[0].outcome.reason == "a@x.io refused"
    assert [d.channel for d in provider.deliveries] == ["sms"]


def test_routing_single_skips_channels_without_address():
    provider = RecordingProvider()
    settled = process_request(doc({"to": {"phone_number": "+1555"}, "content": CONTENT, "data": {"name": "A", "code": 1},
                                   "routing": {"method": "single", "channels": ["email", "sms"]}}), make_ports(provider))
    assert [(p.channel, p.outcome.status) for p in settled] == [("sms", "DELIVERED")]


def test_routing_single_without_any_address_is_one_unroutable_message():
    settled = process_request(doc({"to": {"email": "a@x.io"}, "content": CONTENT,
                                   "routing": {"method": "single", "channels": ["sms", "webhook"]}}), make_ports())
    assert [(p.channel, p.outcome.status, p.outcome.reason) for p in settled] == [
        ("sms", "UNROUTABLE", "no addressable channel among sms, webhook")]


def test_user_id_recipient_gets_address_from_profile():
    provider = RecordingProvider()
    ports = make_ports(provider, runs=FakeRuns(profiles={"u1": {"email": "u1@x.io"}}))
    settled = process_request(doc({"to": {"user_id": "u1"}, "content": {"body": "hi {{ profile.email }}"},
                                   "channels": ["email"]}), ports)
    assert settled[0].outcome.status == "DELIVERED" and settled[0].recipient == "u1"
    assert provider.deliveries[0].address == "u1@x.io" and provider.deliveries[0].body == "hi u1@x.io"


def test_missing_variable_is_unroutable_with_reason():
    provider = RecordingProvider()
    settled = process_request(doc({"to": {"email": "a@x.io"}, "content": CONTENT, "data": {"name": "A"}}),
                              make_ports(provider))
    assert settled[0].outcome.status == "UNROUTABLE"
    assert settled[0].outcome.reason == "body: UndefinedError: 'code' is undefined"
    assert provider.deliveries == []


def test_missing_named_template_is_unroutable_with_reason():
    settled = process_request(doc({"to": {"email": "a@x.io"}, "template": "welcome"}), make_ports())
    assert (settled[0].outcome.status, settled[0].outcome.reason) == ("UNROUTABLE", "template 'welcome' not found")


def test_unknown_channel_and_missing_content_are_unroutable_with_reason():
    settled = process_request(doc({"to": {"email": "a@x.io"}, "channels": ["fax", "email"]}), make_ports())
    assert [(p.channel, p.outcome.status, p.outcome.reason) for p in settled] == [
        ("fax", "UNROUTABLE", "unknown channel 'fax'"),
        ("email", "UNROUTABLE", "message has neither content nor a template name")]


def test_named_template_channel_override_is_rendered():
    provider = RecordingProvider()
    templates = FakeTemplates({"welcome": {"title": "Hi", "body": "generic", "channels": {"email": {"body": "mail {{ n }}"}}}})
    process_request(doc({"to": {"email": "a@x.io"}, "template": "welcome", "data": {"n": 7}}),
                    make_ports(provider, templates=templates))
    assert (provider.deliveries[0].title, provider.deliveries[0].body) == ("Hi", "mail 7")


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}",
    "{{ self._TemplateReference__context }}",
    "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
    "{{ 'a' * 999999999999 }}",
    "{{ [1] * 999999999999 }}",
    "{{ 9 ** 999999999 }}",
])
def test_template_injection_is_unroutable_not_executed(source, tmp_path):
    provider = RecordingProvider()
    source = source.replace("PWNED", str(tmp_path / "pwned"))
    settled = process_request(doc({"to": {"email": "a@x.io"}, "content": {"body": source}}), make_ports(provider))
    assert not (tmp_path / "pwned").exists()
    assert settled[0].outcome.status == "UNROUTABLE"
    assert settled[0].outcome.reason.startswith("body: ")
    assert provider.deliveries == []


def test_injection_in_data_is_inert_text():
    provider = RecordingProvider()
    process_request(doc({"to": {"email": "a@x.io"}, "content": {"body": "hello {{ name }}"},
                         "data": {"name": "{{ ''.__class__ }}"}}), make_ports(provider))
    assert provider.deliveries[0].body == "hello {{ ''.__class__ }}"


def test_canceled_run_is_canceled_without_delivery():
    provider = RecordingProvider()
    ports = make_ports(provider, runs=FakeRuns(canceled={"run_1"}))
    settled = process_request(doc({"to": {"email": "a@x.io"}, "content": CONTENT}, source={"runId": "run_1", "step": 2}), ports)
    assert (settled[0].outcome.status, settled[0].outcome.reason) == ("CANCELED", "run run_1 was canceled")
    assert provider.deliveries == []
    assert all(i["runId"] == "run_1" for i in ports.events.items.values())


def test_replayed_request_does_not_deliver_twice_and_rewrites_same_events():
    provider = RecordingProvider()
    ports = make_ports(provider)
    d = doc({"to": [{"email": "a@x.io"}, {"email": "b@x.io"}], "content": {"body": "hi"}})
    first = process_request(d, ports)
    keys_before = set(ports.events.items)
    second = process_request(d, ports)
    assert len(provider.deliveries) == 2
    assert [p.outcome for p in second] == [p.outcome for p in first]
    assert set(ports.events.items) == keys_before  # same keys: the replay's puts are idempotent


def _enqueued(mid: str, request_id: str = "req_01TEST") -> dict:
    from functions.send_worker.core import enqueued_sk

    return {"pk": f"MSG#{mid}", "sk": enqueued_sk(request_id), "messageId": mid, "status": "ENQUEUED", "ts": 1}


def test_live_claim_of_another_invocation_raises_retryable():
    claims = FakeClaims()
    clock = Clock()
    mid = message_id("req_01TEST", "a@x.io", "email")
    claims.acquire(_enqueued(mid), "dlv_other", now_ms=clock.now, lease_ms=60_000)
    provider = RecordingProvider()
    with pytest.raises(RetryableError, match=f"message {mid} is claimed by another invocation"):
        process_request(doc({"to": {"email": "a@x.io"}, "content": {"body": "hi"}}),
                        make_ports(provider, claims=claims, now_ms=clock))
    assert provider.deliveries == []


def test_expired_claim_of_crashed_invocation_is_taken_over():
    claims = FakeClaims()
    clock = Clock()
    mid = message_id("req_01TEST", "a@x.io", "email")
    claims.acquire(_enqueued(mid), "dlv_crashed", now_ms=clock.now - 120_000, lease_ms=60_000)  # and it died
    provider = RecordingProvider()
    settled = process_request(doc({"to": {"email": "a@x.io"}, "content": {"body": "hi"}}),
                              make_ports(provider, claims=claims, now_ms=clock))
    assert settled[0].outcome.status == "DELIVERED" and len(provider.deliveries) == 1


def test_transient_provider_failure_releases_claim_and_retry_delivers():
    claims = FakeClaims()
    down = RecordingProvider(transient={"email"})
    d = doc({"to": {"email": "a@x.io"}, "content": {"body": "hi"}})
    with pytest.raises(RetryableError, match="email provider is down"):
        process_request(d, make_ports(down, claims=claims))
    mid = message_id("req_01TEST", "a@x.io", "email")
    assert claims.holder(mid) is None, "given up: a retry may claim it at once"
    up = RecordingProvider()
    assert process_request(d, make_ports(up, claims=claims))[0].outcome.status == "DELIVERED"
    assert len(up.deliveries) == 1


def test_duplicate_recipients_collapse_to_one_message():
    plans = expand({"to": [{"email": "a@x.io"}, {"email": "a@x.io"}], "channels": ["email"]})
    assert len(plans) == 1


@pytest.mark.parametrize("bad, reason", [
    ({"requestId": "req_1"}, "document has no requestId or no message"),
    ({"requestId": "req_1", "message": {"to": []}}, "message.to has no recipients"),
    ({"requestId": "req_1", "message": {"to": ["x"]}}, "message.to holds a recipient that is not an object"),
    ({"requestId": "req_1", "message": {"to": {"email": "a@x.io"}, "channels": 5}},
     "message channels must be a list of channel names"),
    ({"requestId": "req_1", "message": {"to": {"email": "a@x.io"}, "routing": {"channels": [None]}}},
     "message channels must be a list of channel names"),
])
def test_bad_document_raises_bad_request(bad, reason):
    with pytest.raises(BadRequest) as exc:
        process_request(bad, make_ports())
    assert str(exc.value) == reason


def test_silent_loop_bomb_is_unroutable_within_the_render_budget() -> None:
    import time

    from functions.send_worker.render import MAX_RENDER_SECONDS, RenderError, render

    bomb = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    t0 = time.monotonic()
    with pytest.raises(RenderError) as err:
        render({"title": "hi", "body": bomb}, {})
    assert "ran longer than" in str(err.value) and "body" in str(err.value)
    assert time.monotonic() - t0 < MAX_RENDER_SECONDS + 2
    # the budget is per render: ordinary loops right after still render
    assert render({"title": "t", "body": "{% for i in range(3) %}{{ i }}{% endfor %}"}, {}).body == "012"


def test_lease_for_remaining_time_adds_margin_and_defaults_without_context() -> None:
    from functions.send_worker.core import DEFAULT_LEASE_MS, LEASE_MARGIN_MS, lease_for

    assert lease_for(2_000) == 2_000 + LEASE_MARGIN_MS
    assert lease_for(None) == DEFAULT_LEASE_MS


def test_bad_request_is_bad_content_never_retried() -> None:
    from functions.shared.errors import BadContent

    assert issubclass(BadRequest, BadContent) and not issubclass(BadRequest, RetryableError)
