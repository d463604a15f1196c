"""Generators of hostile HTTP requests (raw bytes over a socket, so nothing is normalised on the way)."""
from __future__ import annotations

import json
import random
import socket
from dataclasses import dataclass

__all__ = ["Bad", "generate", "send_raw"]

ROUTES = ("/send", "/automations/invoke")


@dataclass(frozen=True)
class Bad:
    kind: str
    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
    method: str = "POST"
    # False: the request brings its own (missing or bad) Authorization instead of the stage's key
    authorized: bool = True


def send_raw(host: str, port: int, req: Bad, timeout: float = 30, api_key: str = "") -> int:
    """Send ``req`` byte for byte (with ``Authorization: Bearer <api_key>`` when it is ``authorized``); return
    the HTTP status (0 when the server closed without an answer)."""
    head = f"{req.method} {req.path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
    if req.authorized and api_key:
        head += f"Authorization: Bearer {api_key}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in req.headers)
    head += f"Content-Length: {len(req.body)}\r\n\r\n"
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(head.encode("utf-8", "surrogateescape") + req.body)
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            return 0
    if not data.startswith(b"HTTP/"):
        return 0
    return int(data.split(b" ", 2)[1])


def _valid_send() -> dict:
    return {"message": {"to": {"email": "h@example.com"}, "content": {"title": "t", "body": "b"}}}


def _valid_run() -> dict:
    return {"automation": {"steps": [{"action": "delay", "duration": "1 second"}]}, "data": {}, "profile": {},
            "recipient": "r"}


def _wrong_types(rng: random.Random) -> list[tuple[str, dict]]:
    # (``routing: null`` is the default routing: not junk; a ``$ref`` key anywhere has its own kind below)
    junk = [None, 0, -1, 1.5, True, "", "x" * 300, [], {}, [1, "a"]]
    out = []
    for _ in range(12):
        for field in ("message", "to", "content", "routing", "data", "channels", "method"):
            body = _valid_send()
            v = rng.choice(junk)
            if field == "message":
                body["message"] = v
            elif field in ("to", "content", "routing", "data"):
                body["message"][field] = v if (v is not None or field != "routing") else "all"
            elif field == "channels":
                body["message"]["routing"] = {"method": "all", "channels": v}
            else:
                body["message"]["routing"] = {"method": v, "channels": ["email"]}
            if v == {} and field in ("data",):
                body["message"]["data"] = 5  # {} would be valid data
            out.append(("/send", body))
        for field in ("automation", "steps", "step", "action", "duration", "data", "recipient"):
            body = _valid_run()
            v = rng.choice(junk)
            if field == "automation":
                body["automation"] = v
            elif field == "steps":
                body["automation"]["steps"] = v if v != [] else [{"action": "nope"}]
            elif field == "step":
                body["automation"]["steps"] = [v]
            elif field == "action":
                body["automation"]["steps"] = [{"action": v if v is not None else 7}]
            elif field == "duration":
                body["automation"]["steps"] = [{"action": "delay", "duration": v if v is not None else "soon"}]
            elif field == "data":
                body["data"] = v if not isinstance(v, dict) else [v]
            else:
                body["recipient"] = v if v not in ("", None) else {"a": 1}
            out.append(("/automations/invoke", body))
    return out


def generate(seed: int = 6, max_body: int = 262_144) -> list[Bad]:
    """At least 1,000 requests that must all be refused with a 4xx (none is stored)."""
    rng = random.Random(seed)
    out: list[Bad] = []
    valid = [json.dumps(_valid_send()).encode(), json.dumps(_valid_run()).encode()]
    # malformed JSON: truncations, garbage, trailing commas, NaN, single quotes, bare values, empty
    for i in range(360):
        path = ROUTES[i % 2]
        src = valid[i % 2]
        choice = i % 6
        if choice == 0:
            body = src[: rng.randrange(1, len(src) - 1)]
        elif choice == 1:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        elif choice == 2:
            body = src[:-1] + b",}"
        elif choice == 3:
            body = src.replace(b'"', b"'")
        elif choice == 4:
            body = rng.choice([b"", b"null", b"[]", b"42", b"\"str\"", b"NaN", b"{", b"}"])
        else:
            body = b'{"message": ' + b"Infinity" + b"}"
        out.append(Bad("malformed_json", path, body))
    # wrong types (valid JSON, invalid shapes)
    for path, body in _wrong_types(rng):
        out.append(Bad("wrong_types", path, json.dumps(body).encode()))
    # huge and deeply nested
    for i in range(20):
        out.append(Bad("huge", ROUTES[i % 2], b'{"pad": "' + b"a" * (max_body + 1 + i * 1000) + b'"}'))
    for depth in (1_000, 10_000, 100_000):
        for path in ROUTES:
            out.append(Bad("nested", path, b"[" * depth + b"]" * depth))
            out.append(Bad("nested", path, b'{"a":' * depth + b"1" + b"}" * depth))
            nested = b'{"message": {"to": {"email": "h@example.com"}, "content": {"body": "b"}, "data": '
            out.append(Bad("nested", path, nested + b'{"a":' * depth + b"1" + b"}" * depth + b"}}"))
    # unicode edge cases: lone surrogates, NUL, RTL, overlong UTF-8, invalid bytes — in keys and values
    samples = [b'"\\ud800"', b'"\\udfff"', b'"\\u0000"', b'"\xc0\xaf"', b'"\xe0\x80\xaf"', b'"\xed\xa0\x80"',
               b'"\xff\xfe"', "\"\u202eevil\"".encode(), b'"\\u202e\\u0000"', b'"\xf4\x90\x80\x80"']
    for i in range(150):
        s = samples[i % len(samples)]
        if i % 3 == 0:
            body = b'{"message": {"to": {"email": ' + s + b'}, "content": {"body": "b"}}}'
        elif i % 3 == 1:
            body = b'{"message": {"to": {"user_id": "u"}, "content": {"body": "b"}, "routing": {"channels": [' + s + b"]}}}"
        else:
            body = b'{' + s + b': 1, "automation": {"steps": [{"action": ' + s + b'}]}}'
        out.append(Bad("unicode", ROUTES[i % 3 == 2], body))
    # header abuse: content types, huge headers, duplicate Idempotency-Key, bad keys, CRLF smuggling
    ctypes = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
              "application/jsonx", "json", "", "application/xml", "text/json", "application/json\x00"]
    for i in range(90):
        out.append(Bad("content_type", ROUTES[i % 2], valid[i % 2], (("content-type", ctypes[i % len(ctypes)]),)))
    for i in range(30):
        h = (("content-type", "application/json"), ("x-pad", "a" * (8_000 * (1 + i % 10))))
        # a valid body: the huge header alone must be refused, or the request accepted and stored: count both
        out.append(Bad("huge_header_invalid_body", ROUTES[i % 2], b"{", h))
    bad_keys = ["", " ", "k" * 256, "ключ", "a\tb", "a b", "\x7f"]
    for i in range(60):
        key = bad_keys[i % len(bad_keys)]
        headers = (("content-type", "application/json"), ("Idempotency-Key", key))
        out.append(Bad("idempotency_key", ROUTES[i % 2], valid[i % 2], headers))
    for i in range(40):
        headers = (("content-type", "application/json"), ("Idempotency-Key", f"dup-a-{i}"),
                   ("Idempotency-Key", f"dup-b-{i}"))
        out.append(Bad("duplicate_idempotency_key", ROUTES[i % 2], b"{" if i % 2 else b"[]", headers))
    for i in range(30):
        headers = (("content-type", "application/json\r\nX-Injected: 1"),)
        out.append(Bad("crlf", ROUTES[i % 2], b"{", headers))
    # no key, a wrong key, another scheme: refused (401) before anything is read
    ctype = ("content-type", "application/json")
    for i, auth in enumerate([None, "", "Bearer", "Bearer relay_not-a-key", "Basic dXNlcjpwYXNz", "bearer  ",
                              "Bearer relay_a relay_b", "Token relay_x", "Bearer " + "k" * 4000, "Bearer \x7f"] * 3):
        headers = (ctype,) if auth is None else (ctype, ("Authorization", auth))
        out.append(Bad("unauthenticated", ROUTES[i % 2], valid[i % 2], headers, authorized=False))
    # a user-supplied payload reference anywhere in a valid body (the internal shape of an offloaded payload)
    ref = {"$ref": "s3://relay-local-requests/send/req_someone-else.json"}
    for i in range(20):
        body = _valid_send() if i % 2 == 0 else _valid_run()
        if i % 4 == 0:
            body["message"]["data"] = ref
        elif i % 4 == 2:
            body["message"]["to"] = {"email": "h@example.com", "nested": [ref]}
        elif i % 4 == 1:
            body["data"] = {"deep": {"er": ref}}
        else:
            body["automation"]["steps"].append({"action": "update-profile", "profile": ref})
        out.append(Bad("reserved_ref", ROUTES[i % 2], json.dumps(body).encode()))
    # methods and paths
    for i, (m, p) in enumerate([("GET", "/send"), ("PUT", "/send"), ("DELETE", "/automations/invoke"),
                                ("POST", "/send/../automations/invoke"), ("POST", "/%00"), ("POST", "/requests/x")] * 10):
        out.append(Bad("method_path", p, valid[i % 2], method=m))
    return out
