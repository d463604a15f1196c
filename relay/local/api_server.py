"""The local stage's HTTP front door: what a Lambda Function URL does in AWS.

Each HTTP request on loopback becomes an HTTP API payload v2 event and is handed to ``invoke`` (the data
plane's synchronous invoke of the api function), and the handler's response dict becomes the HTTP
response, with Function URL's rules: a dict with ``statusCode`` is used as is; anything else is returned
as JSON with 200. Requests over Function URL's 6 MB payload limit get 413 without an invoke, as in AWS —
as an HTTP answer the client can read: the front door answers at once, then reads and discards the rest
of the body (up to :data:`MAX_DISCARD_BYTES`, for at most :data:`DISCARD_TIMEOUT_S`) before closing, because
closing a socket with unread data makes the kernel reset the connection, and a client still sending its
body then sees a broken pipe instead of the 413. A client that asks first (``Expect: 100-continue``, as
curl does for large bodies) gets the 413 instead of the go-ahead and never sends the body.
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

__all__ = ["ApiServer", "build_event", "MAX_PAYLOAD_BYTES", "MAX_DISCARD_BYTES"]

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# how much of an oversized body is read and thrown away so the client can read its 413 (bounded: a
# client declaring a huge body does not get to keep a thread busy for long)
MAX_DISCARD_BYTES = 64 * 1024 * 1024
DISCARD_TIMEOUT_S = 10.0
_TOO_LARGE = b'{"error": {"code": "PayloadTooLarge", "message": "request body over 6 MB"}}'
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")

Invoke = Callable[[dict], Any]


def build_event(method: str, target: str, headers: list[tuple[str, str]], body: bytes,
                source_ip: str = "127.0.0.1", domain: str = "localhost") -> dict:
    """Build the HTTP API v2 / Function URL event AWS would deliver for this request."""
    parts = urlsplit(target)
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        # AWS joins repeated headers with commas
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    query: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        query[k] = f"{query[k]},{v}" if k in query else v
    content_type = merged.get("content-type", "")
    is_text = not body or content_type.startswith(TEXT_TYPES)
    if is_text:
        try:
            text = body.decode("utf-8")
            encoded, is_b64 = text, False
        except UnicodeDecodeError:
            encoded, is_b64 = base64.b64encode(body).decode(), True
    else:
        encoded, is_b64 = base64.b64encode(body).decode(), True
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": merged,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "relay-local",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {"method": method.upper(), "path": parts.path or "/", "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": merged.get("user-agent", "")},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body:
        event["body"] = encoded
    return event


def _response_parts(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Translate a handler result into status, headers and body as Function URLs do."""
    if isinstance(result, dict) and "statusCode" in result:
        status = int(result["statusCode"])
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        for cookie in result.get("cookies") or []:
            headers.setdefault("set-cookie", cookie)
        return status, headers, body
    return 200, {"content-type": "application/json"}, json.dumps(result).encode()


class _Handler(BaseHTTPRequestHandler):
    server_version = "relay-local"
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        invoke: Invoke = self.server.invoke  # type: ignore[attr-defined]
        length = self.headers.get("content-length")
        try:
            size = int(length) if length else 0
        except ValueError:
            return self._send(400, {"content-type": "application/json"},
                              b'{"error": {"code": "BadRequest", "message": "invalid Content-Length"}}')
        if size > MAX_PAYLOAD_BYTES:
            self._send_too_large()
            return self._discard(size)
        body = self.rfile.read(size) if size else b""
        event = build_event(self.command, self.path, list(self.headers.items()), body,
                            source_ip=self.client_address[0], domain=self.headers.get("host", "localhost"))
        try:
            result = invoke(event)
        except Exception as exc:  # noqa: BLE001 - a crashed function is a 502 from the front door, as in AWS
            return self._send(502, {"content-type": "application/json"},
                              json.dumps({"error": {"code": "FunctionError", "message": str(exc)[:500]}}).encode())
        self._send(*_response_parts(result))

    def handle_expect_100(self) -> bool:
        """Refuse an oversized body before the client sends it; otherwise the usual ``100 Continue``."""
        try:
            size = int(self.headers.get("content-length") or 0)
        except ValueError:
            size = 0
        if size > MAX_PAYLOAD_BYTES:
            self._send_too_large()
            return False  # the request ends here: no body follows a refused expectation
        return super().handle_expect_100()

    def _send_too_large(self) -> None:
        self._send(413, {"content-type": "application/json"}, _TOO_LARGE, close=True)

    def _discard(self, size: int) -> None:
        """Read and drop what the client is still sending (bounded), so closing does not reset the connection."""
        left = min(size, MAX_DISCARD_BYTES)
        deadline = time.monotonic() + DISCARD_TIMEOUT_S
        try:
            self.connection.settimeout(DISCARD_TIMEOUT_S)
            while left > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read1(min(left, 256 * 1024))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:  # the client gave up (reset, timeout): nothing left to protect
            pass

    def _send(self, status: int, headers: dict[str, str], body: bytes, close: bool = False) -> None:
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "connection"):
                self.send_header(k, v)
        if close:
            self.send_header("connection", "close")  # also makes the server close after this answer
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

    def __getattr__(self, name: str) -> Any:
        # any other method (TRACE, QUERY, …) reaches the function too, which answers 405 for a route that
        # lacks it: http.server's own answer would be a 501, a 5xx the API never gives
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: the data plane logs invocations
        pass


class ApiServer:
    """A threaded HTTP server on loopback that forwards every request to ``invoke``."""

    def __init__(self, invoke: Invoke | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.invoke = invoke or self._not_ready  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @staticmethod
    def _not_ready(event: dict) -> dict:
        return {"statusCode": 503, "headers": {"content-type": "application/json"},
                "body": json.dumps({"error": {"code": "NotReady", "message": "the local stage is starting"}})}

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def set_invoke(self, invoke: Invoke) -> None:
        """Bind the api function once the data plane is up (the URL must exist before the deploy)."""
        self._httpd.invoke = invoke  # type: ignore[attr-defined]

    def start(self) -> str:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="relay-api", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving (idempotent: the stage stops it before the data plane, and again on the way out)."""
        if self._thread is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._thread = None
