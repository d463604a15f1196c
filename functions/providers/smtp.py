"""The SMTP provider (smtplib): email delivery to a relay host.

A 5xx reply for the recipient or the data is permanent (UNDELIVERABLE); connection failures and 4xx
replies are transient (retried).
"""
from __future__ import annotations

from functions.providers.base import Delivery, DeliveryResult, Provider
from functions.shared.errors import RetryableError

__all__ = ["SmtpProvider"]


class SmtpProvider(Provider):
    """Sends one email per delivery through ``host:port``."""

    name = "smtp"

    def __init__(self, host: str, port: int, sender: str = "relay@localhost", timeout: float = 10.0) -> None:
        self._host, self._port, self._sender, self._timeout = host, port, sender, timeout

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        import smtplib  # only email deliveries pay for it
        from email.message import EmailMessage

        if not self._host:
            return DeliveryResult(self.name, False, "SMTP_HOST is not configured")
        msg = EmailMessage()
        msg["From"] = self._sender
        msg["To"] = delivery.address
        msg["Subject"] = delivery.title.replace("\r", " ").replace("\n", " ")
        msg["Message-ID"] = f"<{delivery.delivery_id}@relay>"
        msg["X-Relay-Message-Id"] = delivery.message_id
        msg.set_content(delivery.body)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return self._refused(code, text)
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            return self._refused(exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:  # connection refused, timeouts, disconnects
            raise RetryableError(f"smtp {self._host}:{self._port}: {exc}") from exc
        return DeliveryResult(self.name, True)

    def _refused(self, code: int, text: bytes | str) -> DeliveryResult:
        detail = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        if 400 <= code < 500:
            raise RetryableError(f"smtp {code} {detail}")
        return DeliveryResult(self.name, False, f"smtp {code} {detail}")
