"""Property test: random malformed bodies and headers never give a 5xx and never store a request."""
from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.api import handler
from tests.functions.shared.relay_aws import http_event, relay_stage

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
                           max_leaves=20)
# bodies that look like a send but are broken in one or more places
near_miss = st.fixed_dictionaries({"message": st.fixed_dictionaries({}, optional={
    "to": json_values | st.fixed_dictionaries({}, optional={"email": json_values, "user_id": json_values}),
    "template": json_values, "content": json_values | st.fixed_dictionaries({"body": json_values}),
    "data": json_values, "channels": json_values,
    "routing": json_values | st.fixed_dictionaries({"method": json_values, "channels": json_values}),
})})
bodies = st.one_of(
    st.binary(max_size=300).map(lambda b: ("raw-bytes", b)),
    st.text(max_size=300).map(lambda t: ("raw-text", t)),
    json_values.map(lambda v: ("json", v)),
    near_miss.map(lambda v: ("json", v)),
    st.sampled_from(["{", "[" * 5000, '{"message": NaN}', '{"message": 1e999999}', "\ud800", '{"a":' + "9" * 5000 + "}",
                     '{"message": {"to": {"email": "a@x.io"}, "content": {"body": "{{ \'\'.__class__ }}"}, "x": 1}}']
                    ).map(lambda t: ("raw-text", t)),
)
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", "", None,
                                 "application/x-www-form-urlencoded", "APPLICATION/JSON", "application/problem+json"])
idempotency = st.none() | st.text(max_size=300) | st.sampled_from(["", " ", "k" * 256, "ok-key"])
routes = st.sampled_from([("POST", "/send"), ("POST", "/automations/invoke"), ("GET", "/messages"),
                          ("PUT", "/send"), ("DELETE", "/requests/req_1"), ("GET", "/requests/%00"),
                          ("GET", "/automations/runs/run_" + "x" * 500), ("POST", "/send/"), ("GET", "/")])


# bounded in `make test`; RELAY_LONG=1 runs the long mode (2,000 hostile requests)
EXAMPLES = 2_000 if os.environ.get("RELAY_LONG") else 200


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=routes, body=bodies, ctype=content_types, key=idempotency, b64=st.booleans(),
       query=st.dictionaries(st.sampled_from(["recipient", "status", "limit", "next", "x"]), st.text(max_size=40), max_size=4))
def test_random_malformed_requests_never_5xx_never_stored(stage_for_hypothesis, route, body, ctype, key, b64, query):
    stage = stage_for_hypothesis
    method, path = route
    kind, value = body
    headers = {"content-type": ctype}
    if key is not None:
        headers["idempotency-key"] = key
    if kind == "json":
        event = http_event(method, path, value, headers=headers, query=query, base64_body=b64)
    else:
        event = http_event(method, path, value, headers=headers, query=query, base64_body=b64, raw=True)
    before = stage.count()
    resp = handler.lambda_handler(event, None)
    assert resp["statusCode"] < 500, resp["body"]
    err = json.loads(resp["body"])
    if resp["statusCode"] >= 400:
        assert set(err["error"]) <= {"code", "message", "details"} and err["error"]["code"] and err["error"]["message"]
        assert stage.count() == before
    else:
        assert resp["statusCode"] in (200, 202)


class _Counted:
    def __init__(self, st) -> None:
        self.st = st

    def count(self) -> int:
        return len(self.st.keys("send/")) + len(self.st.keys("automations/"))


import pytest  # noqa: E402


@pytest.fixture(scope="module")
def stage_for_hypothesis():
    with relay_stage({"API_MAX_BODY_BYTES": "8192"}) as st_:
        handler.reset_ports()
        yield _Counted(st_)
        handler.reset_ports()
