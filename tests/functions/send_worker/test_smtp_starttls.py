"""The SMTP provider talks STARTTLS with credentials to a local aiosmtpd server with TLS; the password is read
from an SSM SecureString (moto), through the same settings the deployed send worker gets."""
from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest

from functions.providers.base import Delivery
from functions.shared.errors import RetryableError

PASSWORD = "s3cret-from-ssm"
USER = "relay-smtp"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def delivery(address: str = "ann@example.com") -> Delivery:
    return Delivery(message_id="msg_tls", delivery_id="dlv_tls", request_id="req_tls", channel="email",
                    address=address, title="Over TLS", body="Body text")


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (and localhost), written as PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.logins: list[tuple[str, bool]] = []   # (user, whether the session was TLS)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def tls_server(tmp_path: Path):
    """aiosmtpd requiring STARTTLS before AUTH, and AUTH before mail."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Collect()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == USER and data.password.decode() == PASSWORD
        handler.logins.append((data.login.decode() if isinstance(data, LoginPassword) else "?",
                               session.ssl is not None))
        return AuthResult(success=ok, handled=False)

    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True, auth_required=True, auth_require_tls=True,
                            authenticator=authenticator)
    controller.start()
    try:
        yield controller, handler, cert
    finally:
        controller.stop()


@pytest.fixture
def ssm_password(monkeypatch: pytest.MonkeyPatch):
    """moto SSM with the password as a SecureString, and the send worker's environment pointing at it."""
    from moto import mock_aws

    from functions.shared import aws
    from functions.shared.settings import reset_settings

    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.reset_clients()
    with mock_aws():
        import boto3

        boto3.client("ssm").put_parameter(Name="/relay/test/smtp-password", Value=PASSWORD, Type="SecureString")
        yield "/relay/test/smtp-password"
    aws.reset_clients()
    reset_settings()


def _provider(port: int, parameter: str, monkeypatch: pytest.MonkeyPatch, cert: Path, user: str = USER) -> Any:
    """The provider exactly as the send worker builds it from its environment."""
    from functions.providers import build_provider
    from functions.shared.settings import Settings

    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the default context trusts the throwaway CA
    settings = Settings.from_env({
        "PROVIDERS": '{"email": "smtp"}', "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
        "SMTP_USERNAME": user, "SMTP_PASSWORD_PARAMETER": parameter, "EMAIL_FROM": "notifications@relay.test"})
    assert settings.smtp_starttls is True  # the default: STARTTLS unless a stage turns it off
    return build_provider("smtp", settings)


def test_smtp_starttls_with_ssm_password_delivers(tls_server, ssm_password, monkeypatch) -> None:
    controller, collected, cert = tls_server
    result = _provider(controller.port, ssm_password, monkeypatch, cert).deliver(delivery())
    assert (result.delivered, result.provider) == (True, "smtp")
    assert collected.logins == [(USER, True)]  # logged in once, over TLS
    [(rcpts, content)] = collected.messages
    assert rcpts == ["ann@example.com"]
    assert b"From: notifications@relay.test" in content and b"X-Relay-Message-Id: msg_tls" in content


def test_smtp_wrong_login_is_retryable_and_nothing_is_sent(tls_server, ssm_password, monkeypatch) -> None:
    controller, collected, cert = tls_server
    provider = _provider(controller.port, ssm_password, monkeypatch, cert, user="someone-else")
    with pytest.raises(RetryableError, match="refused the login of 'someone-else'"):
        provider.deliver(delivery())
    assert collected.messages == [] and collected.logins and all(tls for _, tls in collected.logins)


def test_smtp_untrusted_certificate_is_never_sent_credentials(tls_server, ssm_password, monkeypatch) -> None:
    from functions.providers.retry import Backoff
    from functions.providers.secrets import ssm_secure_string
    from functions.providers.smtp import SmtpProvider

    controller, collected, _cert = tls_server
    provider = SmtpProvider("127.0.0.1", controller.port, "n@relay.test", starttls=True, username=USER,
                            password=ssm_secure_string(ssm_password), tls_context=ssl.create_default_context(),
                            backoff=Backoff(max_attempts=1))
    with pytest.raises(RetryableError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        provider.deliver(delivery())
    assert collected.logins == [] and collected.messages == []


def test_smtp_server_without_starttls_is_refused_rather_than_spoken_to_in_clear(ssm_password) -> None:
    from aiosmtpd.controller import Controller

    from functions.providers.secrets import ssm_secure_string
    from functions.providers.smtp import SmtpProvider

    plain = Collect()
    controller = Controller(plain, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        provider = SmtpProvider("127.0.0.1", controller.port, starttls=True, username=USER,
                                password=ssm_secure_string(ssm_password))
        with pytest.raises(RetryableError, match="does not offer STARTTLS; nothing was sent"):
            provider.deliver(delivery())
    finally:
        controller.stop()
    assert plain.messages == []


def test_smtp_credentials_without_starttls_are_refused_at_construction() -> None:
    from functions.providers.secrets import SecretValue
    from functions.providers.smtp import SmtpProvider

    with pytest.raises(ValueError, match="only sent over STARTTLS"):
        SmtpProvider("127.0.0.1", 25, username=USER, password=SecretValue("test", lambda: PASSWORD))
