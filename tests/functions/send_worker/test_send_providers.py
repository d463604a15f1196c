"""Providers against real servers on loopback: SMTP (aiosmtpd) and webhook (http.server via the guard)."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from functions.providers.base import Delivery
from functions.providers.smtp import SmtpProvider
from functions.providers.webhook import WebhookProvider
from functions.shared.errors import RetryableError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def delivery(address: str, channel: str = "email") -> Delivery:
    return Delivery(message_id="msg_1", delivery_id="dlv_1", request_id="req_1", channel=channel, address=address,
                    title="Hello", body="Body text", data={"k": 1})


class Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce@"):
            return "550 5.1.1 no such user"
        if address.startswith("later@"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def test_smtp_delivers_to_real_server(smtp_server):
    controller, collected = smtp_server
    result = SmtpProvider("127.0.0.1", controller.port).deliver(delivery("ann@example.com"))
    assert result.delivered and result.provider == "smtp"
    [(rcpts, content)] = collected.messages
    assert rcpts == ["ann@example.com"]
    assert b"Subject: Hello" in content and b"Body text" in content and b"X-Relay-Message-Id: msg_1" in content


def test_smtp_permanent_refusal_is_undeliverable(smtp_server):
    controller, collected = smtp_server
    result = SmtpProvider("127.0.0.1", controller.port).deliver(delivery("bounce@example.com"))
    assert (result.delivered, result.reason) == (False, "smtp 550 5.1.1 no such user")
    assert collected.messages == []


def test_smtp_temporary_refusal_raises_retryable(smtp_server):
    controller, _ = smtp_server
    with pytest.raises(RetryableError, match="smtp 451 4.3.0 try again later"):
        SmtpProvider("127.0.0.1", controller.port).deliver(delivery("later@example.com"))


def test_smtp_connection_refused_raises_retryable():
    port = free_port()  # nothing listens there
    with pytest.raises(RetryableError, match=f"smtp 127.0.0.1:{port}"):
        SmtpProvider("127.0.0.1", port, timeout=2).deliver(delivery("ann@example.com"))


@pytest.fixture
def hook_server():
    received: list[dict] = []
    status = {"code": 200}

    class H(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            n = int(self.headers.get("content-length", 0))
            received.append({"body": json.loads(self.rfile.read(n)), "key": self.headers.get("Idempotency-Key")})
            self.send_response(status["code"])
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield server.server_address[1], received, status
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_allowed_loopback_target_is_delivered(hook_server):
    port, received, _ = hook_server
    result = WebhookProvider(frozenset({("127.0.0.1", port)})).deliver(
        delivery(f"http://127.0.0.1:{port}/hook", "webhook"))
    assert result.delivered
    assert received[0]["body"]["messageId"] == "msg_1" and received[0]["key"] == "msg_1"


def test_webhook_loopback_not_allowed_is_refused_before_connecting(hook_server):
    port, received, _ = hook_server
    result = WebhookProvider(frozenset()).deliver(delivery(f"http://127.0.0.1:{port}/hook", "webhook"))
    assert not result.delivered
    assert result.reason.startswith("webhook refused by the address guard")
    assert received == []


def test_webhook_4xx_is_undeliverable_and_5xx_is_retryable(hook_server):
    port, _, status = hook_server
    provider = WebhookProvider(frozenset({("127.0.0.1", port)}))
    status["code"] = 410
    result = provider.deliver(delivery(f"http://127.0.0.1:{port}/hook", "webhook"))
    assert (result.delivered, result.reason) == (False, f"webhook http://127.0.0.1:{port}/hook: HTTP 410")
    status["code"] = 503
    with pytest.raises(RetryableError, match="HTTP 503"):
        provider.deliver(delivery(f"http://127.0.0.1:{port}/hook", "webhook"))


def test_smtp_provider_through_handler_settings(smtp_server):
    """PROVIDERS={"email": "smtp"} routes the send worker's email channel to the SMTP server."""
    from functions.send_worker import handler
    from functions.shared.request_store import put_send_request
    from tests.functions.shared.relay_aws import relay_stage, s3_put_event

    controller, collected = smtp_server
    # this test server speaks plain SMTP: the stage turns STARTTLS (on by default) off
    env = {"PROVIDERS": json.dumps({"email": "smtp"}), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(controller.port),
           "SMTP_STARTTLS": "false"}
    with relay_stage(env) as stage:
        key = put_send_request(stage.bucket, "req_smtp", {"to": [{"email": "a@x.io"}, {"email": "bounce@x.io"}],
                                                          "content": {"title": "S", "body": "b"}})
        handler.lambda_handler(s3_put_event(stage.bucket, key), None)
        final = {i["recipient"]: i for i in stage.items(stage.messages) if i["sk"].endswith(("DELIVERED", "UNDELIVERABLE"))}
    assert [m[0] for m in collected.messages] == [["a@x.io"]]
    assert final["a@x.io"]["status"] == "DELIVERED" and final["a@x.io"]["provider"] == "smtp"
    assert (final["bounce@x.io"]["status"], final["bounce@x.io"]["reason"]) == ("UNDELIVERABLE", "smtp 550 5.1.1 no such user")
