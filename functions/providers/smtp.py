"""The SMTP provider (smtplib): email delivery to a relay host, with STARTTLS and credentials.

STARTTLS (certificate and host name verified against the system's trust store) is on unless the
stage turns it off; credentials are only ever sent after it, and a server that does not offer it is
refused rather than spoken to in clear. The password comes from SSM Parameter Store (SecureString) or
Secrets Manager (:mod:`functions.providers.secrets`), never from the repo or the environment.

A 5xx reply for the recipient or the data is permanent (UNDELIVERABLE); connection failures and 4xx
replies are transient: retried with backoff within the send worker's budget, then raised as
retryable. A refused login is retryable too (the password is read again: it may have been rotated).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from functions.providers.base import Delivery, DeliveryResult, Provider
from functions.providers.retry import DEFAULT_BACKOFF, Backoff, call_with_backoff
from functions.shared.errors import RetryableError

if TYPE_CHECKING:  # pragma: no cover
    import ssl

    from functions.providers.secrets import SecretValue

__all__ = ["SmtpProvider"]


class _Transient(Exception):
    """One attempt failed in a way another attempt may not (connection, 4xx)."""


class SmtpProvider(Provider):
    """Sends one email per delivery through ``host:port``.

    Parameters
    ----------
    host, port
        The relay (``relay:smtpHost``, ``relay:smtpPort``).
    sender
        The From address (``relay:emailFrom``).
    starttls
        Upgrade the connection with STARTTLS before anything else is sent (``relay:smtpStarttls``).
    username, password
        Credentials for ``AUTH`` (only after STARTTLS); ``password`` is read on first use.
    tls_context
        The TLS settings (default: ``ssl.create_default_context()``, which verifies the certificate and
        the host name against the system's CAs, or ``SSL_CERT_FILE``).
    """

    name = "smtp"
    checks_suppression = True

    def __init__(self, host: str, port: int, sender: str = "relay@localhost", timeout: float = 10.0, *,
                 starttls: bool = False, username: str = "", password: "SecretValue | None" = None,
                 tls_context: "ssl.SSLContext | None" = None, backoff: Backoff = DEFAULT_BACKOFF,
                 sleep: Callable[[float], None] | None = None) -> None:
        self._host, self._port, self._sender, self._timeout = host, port, sender or "relay@localhost", timeout
        self._starttls, self._username, self._password = starttls, username, password
        self._tls_context, self._backoff, self._sleep = tls_context, backoff, sleep
        if username and password is None:
            raise ValueError("smtp: a username needs a password source (SSM or Secrets Manager)")
        if username and not starttls:
            raise ValueError("smtp: credentials are only sent over STARTTLS")

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        if not self._host:
            return DeliveryResult(self.name, False, "SMTP_HOST is not configured")
        message = self._message(delivery)
        extra = {"sleep": self._sleep} if self._sleep is not None else {}
        return call_with_backoff(
            lambda: self._attempt(message, delivery.address), transient=lambda e: isinstance(e, _Transient),
            describe=lambda e: str(e), deadline_ms=delivery.deadline_ms, backoff=self._backoff, **extra)

    def _message(self, delivery: Delivery) -> Any:
        from email.message import EmailMessage

        msg = EmailMessage()
        msg["From"] = self._sender
        msg["To"] = delivery.address
        msg["Subject"] = delivery.title.replace("\r", " ").replace("\n", " ")
        msg["Message-ID"] = f"<{delivery.delivery_id}@relay>"
        msg["X-Relay-Message-Id"] = delivery.message_id
        msg.set_content(delivery.body)
        if delivery.html:  # Elemental content: the text part first, then its HTML alternative
            msg.add_alternative(delivery.html, subtype="html")
        return msg

    def _context(self) -> "ssl.SSLContext":
        if self._tls_context is None:
            import ssl

            self._tls_context = ssl.create_default_context()
        return self._tls_context

    def _attempt(self, message: Any, address: str) -> DeliveryResult:
        import smtplib  # only email deliveries pay for it

        where = f"smtp {self._host}:{self._port}"
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.ehlo()
                    if not smtp.has_extn("starttls"):
                        # never fall back to clear text: the server (or someone in between) refused TLS
                        raise RetryableError(f"{where} does not offer STARTTLS; nothing was sent")
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if self._username and self._password is not None:
                    try:
                        smtp.login(self._username, self._password.get())
                    except smtplib.SMTPAuthenticationError as exc:
                        self._password.forget()  # rotated? read it again on the next attempt
                        raise RetryableError(f"{where} refused the login of {self._username!r}: "
                                             f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return self._refused(code, text)
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            return self._refused(exc.smtp_code, exc.smtp_error)
        except RetryableError:
            raise
        except (OSError, smtplib.SMTPException) as exc:  # connection refused, timeouts, disconnects, TLS errors
            raise _Transient(f"{where}: {exc}") from exc
        return DeliveryResult(self.name, True)

    def _refused(self, code: int, text: bytes | str) -> DeliveryResult:
        detail = _text(text)
        if 400 <= code < 500:
            raise _Transient(f"smtp {code} {detail}")
        return DeliveryResult(self.name, False, f"smtp {code} {detail}")


def _text(text: bytes | str) -> str:
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)
