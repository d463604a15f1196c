"""The local stage's API key: created once with every scope, kept in SSM as a SecureString, replaced when lost."""
from __future__ import annotations

import boto3
import pytest

from functions.api import keys
from functions.api.auth import hash_key
from relay.local.api_key import api_key_parameter, ensure_api_key
from tests.functions.shared.relay_aws import STATE, relay_stage


@pytest.fixture
def clients():
    with relay_stage():
        yield boto3.client("ssm"), boto3.client("dynamodb")


def _local_keys(ddb) -> list:
    return [k for k in keys.list_keys(ddb, STATE) if k.name == "local"]


def test_first_start_creates_one_key_with_every_scope_as_securestring(clients):
    ssm, ddb = clients
    secret = ensure_api_key(ssm, ddb, "test", STATE)
    param = ssm.get_parameter(Name="/relay/test/api-key", WithDecryption=True)["Parameter"]
    assert (param["Type"], param["Value"]) == ("SecureString", secret)
    [key] = _local_keys(ddb)
    assert (key.scopes, key.key_hash, key.revoked) == (("send", "read"), hash_key(secret), False)
    assert api_key_parameter("prod") == "/relay/prod/api-key"


def test_second_start_keeps_the_key(clients):
    ssm, ddb = clients
    first = ensure_api_key(ssm, ddb, "test", STATE)
    assert ensure_api_key(ssm, ddb, "test", STATE) == first
    assert len(_local_keys(ddb)) == 1


def test_start_without_the_parameter_revokes_the_old_key_and_stores_a_new_one(clients):
    ssm, ddb = clients
    first = ensure_api_key(ssm, ddb, "test", STATE)
    ssm.delete_parameter(Name="/relay/test/api-key")  # a restart: tables restored, parameters not
    second = ensure_api_key(ssm, ddb, "test", STATE)
    assert second != first
    assert ssm.get_parameter(Name="/relay/test/api-key", WithDecryption=True)["Parameter"]["Value"] == second
    [key] = _local_keys(ddb)
    assert key.key_hash == hash_key(second) and not key.revoked


def test_parameter_with_a_revoked_key_is_replaced(clients):
    ssm, ddb = clients
    first = ensure_api_key(ssm, ddb, "test", STATE)
    keys.revoke_key(ddb, STATE, "local")
    assert ensure_api_key(ssm, ddb, "test", STATE) not in (first, "")
