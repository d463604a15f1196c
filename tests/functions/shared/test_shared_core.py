"""Shared modules: settings from the environment, ids, payload references, the request store."""
from __future__ import annotations

import json
import re

import pytest

from functions.shared import payloads
from functions.shared.errors import MissingPayload, RetryableError
from functions.shared.ids import message_id, new_request_id, new_run_id, new_ulid
from functions.shared.request_store import put_send_request
from functions.shared.settings import Settings, SettingsError, get_settings, reset_settings
from tests.functions.shared.relay_aws import relay_stage


def test_settings_from_env_reads_every_contract_variable():
    s = Settings.from_env({
        "STAGE": "dev", "REQUEST_BUCKET": "b", "MESSAGE_TABLE": "m", "LOG_TABLE": "l", "STATE_TABLE": "s",
        "JOB_QUEUE_URL": "http://q", "PROVIDERS": '{"email": "smtp"}', "SMTP_HOST": "mail", "SMTP_PORT": "2525",
        "FETCH_ALLOW": "127.0.0.1:8080, [::1]:9000,Api.Local:443", "API_MAX_BODY_BYTES": "1000",
        "MESSAGE_RETENTION_DAYS": "7"})
    assert (s.stage, s.request_bucket, s.message_table, s.log_table, s.state_table, s.job_queue_url) == \
        ("dev", "b", "m", "l", "s", "http://q")
    assert s.providers == {"email": "smtp"} and s.provider_for("email") == "smtp" and s.provider_for("sms") == "outbox"
    assert (s.smtp_host, s.smtp_port, s.api_max_body_bytes, s.message_retention_days) == ("mail", 2525, 1000, 7)
    assert s.fetch_allow == frozenset({("127.0.0.1", 8080), ("::1", 9000), ("api.local", 443)})


def test_settings_defaults_follow_stage_names():
    s = Settings.from_env({"STAGE": "prod"})
    assert (s.message_table, s.log_table, s.state_table) == ("relay-prod-messages", "relay-prod-message-log", "relay-prod-state")
    assert s.providers == {} and s.fetch_allow == frozenset() and s.api_max_body_bytes == 262_144


@pytest.mark.parametrize("env, message", [
    ({"SMTP_PORT": "25x"}, "SMTP_PORT='25x': must be an integer"),
    ({"PROVIDERS": "[1]"}, "PROVIDERS='[1]': must be a JSON object channel -> provider"),
    ({"PROVIDERS": "{bad"}, "PROVIDERS='{bad': must be a JSON object channel -> provider"),
    ({"FETCH_ALLOW": "localhost"}, "FETCH_ALLOW entry 'localhost': must be 'host:port'"),
    ({"FETCH_ALLOW": "h:¹"}, "FETCH_ALLOW entry 'h:¹': must be 'host:port'"),
])
def test_settings_bad_value_raises_naming_variable(env, message):
    with pytest.raises(SettingsError) as exc:
        Settings.from_env(env)
    assert str(exc.value) == message


def test_get_settings_is_cached_until_reset(monkeypatch):
    monkeypatch.setenv("STAGE", "one")
    reset_settings()
    assert get_settings().stage == "one"
    monkeypatch.setenv("STAGE", "two")
    assert get_settings().stage == "one"
    reset_settings()
    assert get_settings().stage == "two"
    reset_settings()


def test_ids_are_prefixed_sortable_and_unique():
    assert re.fullmatch(r"req_[0-9A-HJKMNP-TV-Z]{26}", new_request_id())
    assert re.fullmatch(r"run_[0-9A-HJKMNP-TV-Z]{26}", new_run_id())
    assert new_ulid(1_000)[:10] < new_ulid(2_000)[:10]
    assert len({new_request_id() for _ in range(1000)}) == 1000
    assert message_id("r", "k", "email") == message_id("r", "k", "email") != message_id("r", "k2", "email")


@pytest.fixture(scope="module")
def stage():
    with relay_stage() as st:
        yield st


def test_small_payload_stays_inline_large_goes_to_s3_and_back(stage):
    small = {"a": 1}
    assert payloads.offload(small, bucket=stage.bucket, kind="run-data", payload_id="run_1") is small
    big = {"blob": "x" * (payloads.INLINE_LIMIT + 1)}
    ref = payloads.offload(big, bucket=stage.bucket, kind="run-data", payload_id="run_1")
    assert ref == {"$ref": f"s3://{stage.bucket}/payloads/run-data/run_1.json"}
    assert payloads.resolve(ref) == big
    assert payloads.resolve(small) == small


def test_missing_payload_is_a_clear_retryable_error(stage):
    ref = {"$ref": f"s3://{stage.bucket}/payloads/run-data/gone.json"}
    with pytest.raises(MissingPayload) as exc:
        payloads.resolve(ref)
    assert isinstance(exc.value, RetryableError)
    assert str(exc.value) == f"payload s3://{stage.bucket}/payloads/run-data/gone.json is missing: NoSuchKey (retryable)"


def test_parse_ref_rejects_non_s3_reference():
    with pytest.raises(ValueError, match="not an s3:// reference: 'http://x/y'"):
        payloads.parse_ref("http://x/y")


def test_put_send_request_writes_contract_document(stage):
    key = put_send_request(stage.bucket, "req_X", {"to": [{"email": "a@x.io"}]}, {"runId": "run_1", "step": 3})
    assert key == "send/req_X.json"
    doc = json.loads(stage.s3.get_object(Bucket=stage.bucket, Key=key)["Body"].read())
    assert set(doc) == {"requestId", "receivedAt", "message", "source"}
    assert doc["source"] == {"runId": "run_1", "step": 3} and doc["receivedAt"].endswith("Z")
