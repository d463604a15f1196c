"""API keys: the auth rule with a fake store and clock, the key verbs and the handler on moto."""
from __future__ import annotations

import json

import pytest

from functions.api import handler, keys
from functions.api.auth import ApiKey, KeyAuthenticator, bearer_token, hash_key, new_key, parse_scopes
from functions.api.events import ApiError
from functions.api.ports import ApiKeyStore
from tests.functions.shared.relay_aws import READ_API_KEY, SEND_API_KEY, TEST_API_KEY, http_event

SEND = {"message": {"to": {"email": "ann@example.com"}, "content": {"title": "Hi", "body": "Hello"}}}


class FakeKeys(ApiKeyStore):
    def __init__(self, *stored: ApiKey) -> None:
        self.keys = {k.key_hash: k for k in stored}
        self.finds = 0
        self.marks: list[tuple[str, str]] = []
        self.fail_marks = False

    def find(self, key_hash):
        self.finds += 1
        return self.keys.get(key_hash)

    def mark_used(self, key_hash, at):
        if self.fail_marks:
            raise RuntimeError("throttled")
        self.marks.append((key_hash, at))


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _key(secret: str, name: str = "ci", scopes=("send", "read"), **kw) -> ApiKey:
    return ApiKey(name=name, scopes=tuple(scopes), key_hash=hash_key(secret), created_at="2026-01-01T00:00:00.000Z", **kw)


def _auth(store: FakeKeys, clock: Clock, **kw) -> KeyAuthenticator:
    return KeyAuthenticator(store, clock=clock, wall=clock, **kw)


def _status(fn) -> tuple[int, str, dict]:
    with pytest.raises(ApiError) as exc:
        fn()
    return exc.value.status, exc.value.message, exc.value.headers


# ---- the pure rule ----------------------------------------------------------------------------------
def test_new_key_is_prefixed_random_and_stored_only_as_sha256():
    a, b = new_key(), new_key()
    assert a.startswith("relay_") and len(a) == len("relay_") + 43 and a != b
    assert hash_key(a) == __import__("hashlib").sha256(a.encode()).hexdigest() and a not in hash_key(a)


@pytest.mark.parametrize("header, message, challenge", [
    (None, "missing API key: send Authorization: Bearer <key>", "Bearer"),
    ("   ", "missing API key: send Authorization: Bearer <key>", "Bearer"),
    ("Basic dXNlcjpwdw==", "Authorization must be 'Bearer <key>'", 'Bearer error="invalid_token"'),
    ("Bearer", "Authorization must be 'Bearer <key>'", 'Bearer error="invalid_token"'),
    ("Bearer a b", "Authorization must be 'Bearer <key>'", 'Bearer error="invalid_token"'),
])
def test_missing_or_malformed_authorization_is_401_with_bearer_challenge(header, message, challenge):
    assert _status(lambda: bearer_token(header)) == (401, message, {"www-authenticate": challenge})


def test_bearer_scheme_is_case_insensitive():
    assert bearer_token("bearer relay_abc") == "relay_abc"


@pytest.mark.parametrize("raw, scopes", [("send,read", ("send", "read")), ("read", ("read",)),
                                         (" READ , send ", ("send", "read")), (["read", "read"], ("read",))])
def test_scopes_parse_to_canonical_order(raw, scopes):
    assert parse_scopes(raw) == scopes


@pytest.mark.parametrize("raw", ["", "admin", "send,write", []])
def test_unknown_or_empty_scopes_are_refused(raw):
    with pytest.raises(ValueError) as exc:
        parse_scopes(raw)
    assert "scopes must be a non-empty list of send, read" in str(exc.value)


def test_unknown_and_revoked_keys_are_401():
    store = FakeKeys(_key("relay_old", name="old", revoked_at="2026-01-02T00:00:00.000Z"))
    auth = _auth(store, Clock())
    assert _status(lambda: auth.authenticate("Bearer relay_nope"))[:2] == (401, "API key is not valid")
    assert _status(lambda: auth.authenticate("Bearer relay_old"))[:2] == (401, "API key 'old' was revoked")


def test_key_without_the_routes_scope_is_403_naming_it():
    reader = _key("relay_r", name="dash", scopes=("read",))
    status, message, headers = _status(lambda: KeyAuthenticator.authorize(reader, "send", "POST /send"))
    assert (status, message) == (403, "API key 'dash' lacks the 'send' scope that POST /send needs")
    assert headers == {"www-authenticate": 'Bearer error="insufficient_scope", scope="send"'}
    KeyAuthenticator.authorize(reader, "read", "GET /messages")  # no error


def test_lookup_is_cached_so_revocation_takes_effect_after_the_ttl():
    clock, store = Clock(), FakeKeys(_key("relay_k"))
    auth = _auth(store, clock, cache_ttl_s=30)
    for _ in range(5):
        assert auth.authenticate("Bearer relay_k").name == "ci"
    assert store.finds == 1
    store.keys[hash_key("relay_k")] = _key("relay_k", revoked_at="2026-01-03T00:00:00.000Z")
    clock.t += 29
    assert auth.authenticate("Bearer relay_k").name == "ci"  # still cached
    clock.t += 1
    assert _status(lambda: auth.authenticate("Bearer relay_k"))[0] == 401
    assert store.finds == 2


def test_unknown_key_miss_is_cached_too_and_the_cache_is_bounded():
    store = FakeKeys()
    auth = _auth(store, Clock(), cache_entries=3)
    for _ in range(3):
        _status(lambda: auth.authenticate("Bearer relay_guess"))
    assert store.finds == 1
    for i in range(10):
        _status(lambda i=i: auth.authenticate(f"Bearer relay_guess{i}"))
    assert len(auth._cache) == 3


def test_last_used_is_written_at_most_once_a_minute_per_key():
    clock, store = Clock(), FakeKeys(_key("relay_k"))
    auth = _auth(store, clock, cache_ttl_s=30)
    for _ in range(100):
        auth.authenticate("Bearer relay_k")
        clock.t += 0.5  # 100 requests over 50 s
    assert len(store.marks) == 1
    clock.t += 10
    auth.authenticate("Bearer relay_k")
    assert len(store.marks) == 2 and store.marks[1][1] == "2027-01-15T08:01:00.000Z"


def test_recent_stored_last_used_skips_the_write():
    clock = Clock()
    store = FakeKeys(_key("relay_k", last_used_at="2027-01-15T07:59:30.000Z"))  # 30 s before clock
    _auth(store, clock).authenticate("Bearer relay_k")
    assert store.marks == []


def test_failed_last_used_write_never_fails_the_request_and_is_retried():
    clock, store = Clock(), FakeKeys(_key("relay_k"))
    warnings: list[str] = []
    auth = _auth(store, clock, warn=warnings.append)
    store.fail_marks = True
    assert auth.authenticate("Bearer relay_k").name == "ci"
    assert warnings == ["could not record lastUsedAt of API key 'ci': RuntimeError: throttled"]
    store.fail_marks = False
    auth.authenticate("Bearer relay_k")
    assert len(store.marks) == 1


# ---- the key verbs on moto ----------------------------------------------------------------------------


def test_create_stores_only_the_hash_and_lists_without_secrets(stage):
    secret, stored = keys.create_key(stage.ddb, stage.state, "billing", "send")
    items = [i for i in stage.items(stage.state) if "billing" in json.dumps(i, default=str)]
    assert len(items) == 2 and secret not in json.dumps(items, default=str)
    assert {i["pk"] for i in items} == {"APIKEYS", f"APIKEY#{hash_key(secret)}"}
    listed = {k.name: k for k in keys.list_keys(stage.ddb, stage.state)}
    assert set(listed) == {"billing", "test-all", "test-read", "test-send"}
    assert (listed["billing"].scopes, listed["billing"].key_hash, listed["billing"].revoked) == (("send",), stored.key_hash, False)


def test_taken_name_is_refused_until_revoked(stage):
    keys.create_key(stage.ddb, stage.state, "ci")
    with pytest.raises(keys.KeyNameTaken) as exc:
        keys.create_key(stage.ddb, stage.state, "ci")
    assert str(exc.value) == "an API key named 'ci' exists; revoke it first or choose another name"
    old = keys.revoke_key(stage.ddb, stage.state, "ci")
    assert old.revoked
    assert keys.revoke_key(stage.ddb, stage.state, "ci").revoked_at == old.revoked_at  # twice: no change
    _, new = keys.create_key(stage.ddb, stage.state, "ci")
    assert new.key_hash != old.key_hash


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 65, "ä"])
def test_bad_key_name_is_refused(stage, name):
    with pytest.raises(keys.InvalidKeyName):
        keys.create_key(stage.ddb, stage.state, name)


def test_revoke_unknown_name_is_key_not_found(stage):
    with pytest.raises(keys.KeyNotFound) as exc:
        keys.revoke_key(stage.ddb, stage.state, "nobody")
    assert str(exc.value) == "no API key named 'nobody'"


# ---- the handler on moto ----------------------------------------------------------------------------
def _call(method: str, path: str, body=None, key: str | None = TEST_API_KEY, **kw) -> tuple[int, dict, dict]:
    headers = {"authorization": f"Bearer {key}" if key else None, **kw.pop("headers", {})}
    resp = handler.lambda_handler(http_event(method, path, body, headers=headers, **kw), None)
    return resp["statusCode"], json.loads(resp["body"]), resp["headers"]


def test_no_key_is_401_before_routing_and_stores_nothing(stage):
    for method, path in (("POST", "/send"), ("GET", "/messages"), ("GET", "/nope")):
        status, body, headers = _call(method, path, SEND if method == "POST" else None, key=None)
        assert (status, headers["www-authenticate"]) == (401, "Bearer")
        assert body == {"error": {"code": "unauthorized", "message": "missing API key: send Authorization: Bearer <key>"}}
    assert stage.keys("send/") == []


def test_wrong_and_revoked_keys_are_401(stage):
    status, body, headers = _call("POST", "/send", SEND, key="relay_wrong")
    assert (status, body["error"]["code"], headers["www-authenticate"]) == (401, "unauthorized", 'Bearer error="invalid_token"')
    secret, _ = keys.create_key(stage.ddb, stage.state, "leaked")
    keys.revoke_key(stage.ddb, stage.state, "leaked")
    status, body, _ = _call("POST", "/send", SEND, key=secret)
    assert (status, body["error"]["message"]) == (401, "API key 'leaked' was revoked")
    assert stage.keys("send/") == []


def test_read_key_on_post_is_403_and_send_key_on_get_is_403(stage):
    status, body, _ = _call("POST", "/send", SEND, key=READ_API_KEY)
    assert (status, body["error"]) == (403, {"code": "forbidden",
                                             "message": "API key 'test-read' lacks the 'send' scope that POST /send needs"})
    status, body, _ = _call("GET", "/messages", key=SEND_API_KEY, query={"recipient": "x"})
    assert (status, body["error"]["message"]) == (403, "API key 'test-send' lacks the 'read' scope that GET /messages needs")
    assert _call("POST", "/automations/invoke", {}, key=READ_API_KEY)[0] == 403
    assert stage.keys("send/") == []


def test_send_key_is_202_read_key_reads_and_last_used_is_recorded(stage):
    status, body, _ = _call("POST", "/send", SEND, key=SEND_API_KEY)
    assert status == 202
    assert _call("GET", f"/requests/{body['requestId']}", key=READ_API_KEY)[0] == 200
    used = {k.name: k.last_used_at for k in keys.list_keys(stage.ddb, stage.state)}
    assert used["test-send"] and used["test-read"] and used["test-all"] is None


def test_new_key_works_at_once(stage):
    secret, _ = keys.create_key(stage.ddb, stage.state, "fresh", "send")
    assert _call("POST", "/send", SEND, key=secret)[0] == 202


def test_iam_mode_needs_no_key(stage, monkeypatch):
    from functions.shared.settings import reset_settings

    monkeypatch.setenv("API_AUTH", "iam")
    reset_settings()
    handler.reset_ports()
    try:
        status, _, _ = _call("POST", "/send", SEND, key=None)
    finally:
        monkeypatch.delenv("API_AUTH")
        reset_settings()
        handler.reset_ports()
    assert status == 202
    assert _call("POST", "/send", SEND, key=None)[0] == 401  # back to keys once the setting is gone


def test_bad_api_auth_setting_is_refused_naming_it():
    from functions.shared.settings import Settings, SettingsError

    with pytest.raises(SettingsError) as exc:
        Settings.from_env({"API_AUTH": "open"})
    assert str(exc.value) == "API_AUTH='open': must be one of keys, iam"
    assert Settings.from_env({}).api_auth == "keys"


def test_every_route_names_a_scope_by_what_it_does():
    from functions.api.routes import ROUTES

    assert {(r.method, r.scope) for r in ROUTES} == {("POST", "send"), ("PUT", "send"), ("PATCH", "send"),
                                                     ("DELETE", "send"), ("GET", "read")}
    assert all(r.scope == ("read" if r.method in ("GET", "HEAD") else "send") for r in ROUTES)
