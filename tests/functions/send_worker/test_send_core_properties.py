"""Property: whatever a stored send request holds, the core settles it or rejects it as bad content.

It never raises anything else (a crash would be retried and then dead-lettered for content that can
never succeed), and every message it settles ends in a status the issue defines.
"""
from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.send_worker.core import BadRequest, process_request
from tests.functions.send_worker.fakes import RecordingProvider, make_ports

FINAL = {"DELIVERED", "UNDELIVERABLE", "UNROUTABLE", "CANCELED"}
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                      max_leaves=10)
template_text = st.text(alphabet="{}%#ab_. ()'\"|x0123[]-+*/~", max_size=40) | st.sampled_from([
    "{{ x }}", "{{ x.y }}", "{{ x|length }}", "{% for i in x %}{{ i }}{% endfor %}", "{{ x[0] }}", "{{ 1/x }}",
    "{{ x.__class__ }}", "{{ x.items() }}", "{{ range(10**7)|list }}", "{{ x * 1000000000 }}", "{{ x ~ x }}",
    "{{ lipsum(5) }}", "{{ cycler(1,2).next() }}", "{% set y = x %}{{ y }}", "{% macro m() %}{% endmacro %}{{ m() }}",
])
recipients = st.fixed_dictionaries({}, optional={"email": values | st.just("a@x.io"), "user_id": values,
                                                 "phone_number": values, "webhook_url": values})
# "to" is usually usable, so the generated messages get past expansion and exercise routing and rendering
messages = st.fixed_dictionaries({"to": st.one_of(st.just({"email": "a@x.io", "user_id": "u1"}), recipients,
                                                  st.lists(recipients, max_size=3), values)}, optional={
    "content": values | st.fixed_dictionaries({"body": template_text}, optional={"title": template_text}),
    "template": values, "data": values | st.dictionaries(st.sampled_from(["x", "y", "name"]), values, max_size=3),
    "channels": values | st.text(max_size=6) | st.lists(st.sampled_from(["email", "sms", "push", "webhook", "fax", ""]), max_size=3),
    "routing": values | st.fixed_dictionaries({"method": st.sampled_from(["all", "single", "x"]),
                                               "channels": st.lists(st.sampled_from(["email", "sms", "zzz"]), max_size=3)}),
})


@settings(max_examples=2_000 if os.environ.get("RELAY_LONG") else 200, deadline=None)
@given(message=messages, source=values)
def test_any_stored_request_settles_or_is_bad_content(message, source):
    provider = RecordingProvider()
    ports = make_ports(provider)
    try:
        settled = process_request({"requestId": "req_P", "message": message, "source": source}, ports)
    except BadRequest:
        assert provider.deliveries == []
        return
    assert all(p.outcome.status in FINAL for p in settled)
    assert len(provider.deliveries) == sum(p.outcome.status == "DELIVERED" for p in settled)
