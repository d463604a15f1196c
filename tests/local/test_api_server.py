"""The local Function URL front door turns HTTP into payload v2 events and handler results into HTTP."""
import base64
import json

import pytest
import requests

from relay.local.api_server import MAX_PAYLOAD_BYTES, ApiServer


@pytest.fixture()
def server():
    calls: list[dict] = []

    def invoke(event: dict):
        calls.append(event)
        if event["rawPath"] == "/plain":
            return {"ok": True}
        if event["rawPath"] == "/boom":
            raise RuntimeError("handler crashed")
        return {"statusCode": 202, "headers": {"content-type": "application/json", "x-relay": "1"},
                "body": json.dumps({"echo": event.get("body"), "b64": event["isBase64Encoded"]})}

    srv = ApiServer(invoke)
    srv.start()
    yield srv, calls
    srv.stop()


def test_post_json_becomes_payload_v2_event(server) -> None:
    srv, calls = server
    r = requests.post(f"{srv.url}/send?a=1&a=2&b=", json={"x": 1}, headers={"Idempotency-Key": "k1"}, timeout=5)
    assert r.status_code == 202 and r.headers["x-relay"] == "1"
    ev = calls[0]
    assert ev["version"] == "2.0" and ev["rawPath"] == "/send" and ev["rawQueryString"] == "a=1&a=2&b="
    assert ev["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert ev["headers"]["idempotency-key"] == "k1"
    assert ev["requestContext"]["http"]["method"] == "POST"
    assert json.loads(ev["body"]) == {"x": 1} and ev["isBase64Encoded"] is False


def test_binary_body_is_base64_encoded(server) -> None:
    srv, calls = server
    requests.post(f"{srv.url}/send", data=b"\xff\x00\x01", headers={"content-type": "application/octet-stream"},
                  timeout=5)
    assert calls[0]["isBase64Encoded"] is True
    assert base64.b64decode(calls[0]["body"]) == b"\xff\x00\x01"


def test_non_dict_result_is_json_200_and_crash_is_502(server) -> None:
    srv, _ = server
    assert requests.get(f"{srv.url}/plain", timeout=5).json() == {"ok": True}
    r = requests.get(f"{srv.url}/boom", timeout=5)
    assert r.status_code == 502 and r.json()["error"]["code"] == "FunctionError"


def test_body_over_function_url_limit_is_413_without_invoke(server) -> None:
    srv, calls = server
    r = requests.post(f"{srv.url}/send", data=b"x" * (MAX_PAYLOAD_BYTES + 1),
                      headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 413 and r.json()["error"]["code"] == "PayloadTooLarge"
    assert calls == []


def _raw_post(srv: ApiServer, size: int, headers: str = "", body_chunks: bool = True) -> tuple[int, Exception | None, bytes]:
    """POST a ``size``-byte body over a socket, 64 KiB at a time with a pause (a client on a slow link)."""
    import socket
    import time

    host, port = srv.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"POST /send HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nContent-Length: {size}\r\n"
                  f"{headers}\r\n".encode())
        sent, error = 0, None
        try:
            while body_chunks and sent < size:
                sent += s.send(b"x" * min(65536, size - sent))
                time.sleep(0.0005)
        except OSError as exc:
            error = exc
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return sent, error, answer


def test_slow_client_over_limit_reads_its_413_instead_of_a_broken_pipe(server) -> None:
    srv, calls = server
    sent, error, answer = _raw_post(srv, 7 * 1024 * 1024)
    assert (error, sent) == (None, 7 * 1024 * 1024), "the front door read the body instead of resetting the connection"
    assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()
    assert calls == []


def test_seven_mb_body_with_requests_gets_413_as_json(server) -> None:
    srv, calls = server
    r = requests.post(f"{srv.url}/send", data=b"x" * (7 * 1024 * 1024), headers={"content-type": "application/json"},
                      timeout=30)
    assert (r.status_code, r.json()["error"]["code"]) == (413, "PayloadTooLarge")
    assert calls == []


def test_expect_100_continue_over_limit_is_refused_before_the_body(server) -> None:
    srv, calls = server
    sent, error, answer = _raw_post(srv, MAX_PAYLOAD_BYTES + 1, headers="Expect: 100-continue\r\n", body_chunks=False)
    assert sent == 0 and error is None
    assert answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer
    assert calls == []
