"""``relay keys`` against a stage found from SSM (moto): create prints the key alone last, list and revoke."""
from __future__ import annotations

import io
import json

import boto3
import pytest

from functions.api import handler
from relay.cli import _parser
from tests.functions.shared.relay_aws import STATE, http_event, relay_stage


@pytest.fixture
def stage():
    with relay_stage() as st:
        boto3.client("ssm").put_parameter(Name="/relay/test/outputs", Type="String",
                                          Value=json.dumps({"stage": "test", "state_table": STATE}))
        yield st


def _run(*argv: str) -> tuple[int, str, str]:
    from relay.api_keys import run_keys

    args = _parser().parse_args(["keys", *argv])
    out, err = io.StringIO(), io.StringIO()
    return run_keys(args, out=out, err=err, clients=boto3.client), out.getvalue(), err.getvalue()


def _post(key: str) -> int:
    event = http_event("POST", "/send", {"message": {"to": {"email": "a@example.com"}, "content": {"body": "b"}}},
                       headers={"authorization": f"Bearer {key}"})
    return handler.lambda_handler(event, None)["statusCode"]


def test_create_prints_the_key_alone_on_its_last_line_and_it_works(stage):
    rc, out, err = _run("create", "--stage", "test", "--name", "billing", "--scopes", "send")
    assert (rc, err) == (0, "")
    *said, key = out.strip().splitlines()
    assert key.startswith("relay_") and key not in "\n".join(said)
    assert "created API key 'billing' for stage test (scopes send)" in said[0]
    assert _post(key) == 202


def test_list_shows_names_scopes_and_times_never_secrets(stage):
    _, created, _ = _run("create", "--stage", "test", "--name", "dash", "--scopes", "read")
    rc, out, _ = _run("list", "--stage", "test")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split() == ["name", "scopes", "created", "last", "used", "revoked"]
    dash = next(ln for ln in lines if ln.startswith("dash "))
    assert dash.split()[1:2] == ["read"] and dash.split()[-2:] == ["never", "-"]
    key = created.strip().splitlines()[-1]
    assert key not in out and "relay_" not in out
    rc, out, _ = _run("list", "--stage", "test", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["dash"]["scopes"] == ["read"] and set(rows["dash"]) == {"name", "scopes", "createdAt", "lastUsedAt",
                                                                      "revokedAt"}


def test_revoke_makes_the_key_refused(stage):
    _, created, _ = _run("create", "--stage", "test", "--name", "old")
    key = created.strip().splitlines()[-1]
    rc, out, _ = _run("revoke", "--stage", "test", "--name", "old")
    assert rc == 0 and out.startswith("revoked API key 'old' of stage test at ") and "within 30 s" in out
    handler.reset_ports()  # a fresh container: the revocation is seen at once (a warm one within 30 s)
    assert _post(key) == 401


@pytest.mark.parametrize("argv, message", [
    (("create", "--stage", "nope", "--name", "x"), "relay keys create: no stage 'nope': SSM parameter /relay/nope/outputs does not exist"),
    (("revoke", "--stage", "test", "--name", "ghost"), "relay keys revoke: no API key named 'ghost'"),
    (("create", "--stage", "test", "--name", "x", "--scopes", "admin"), "relay keys create: scopes must be a non-empty list of send, read; got admin"),
    (("create", "--stage", "test", "--name", "test-all"), "relay keys create: an API key named 'test-all' exists"),
])
def test_errors_exit_1_with_the_reason(stage, argv, message):
    rc, out, err = _run(*argv)
    assert (rc, out) == (1, "") and err.startswith(message)
