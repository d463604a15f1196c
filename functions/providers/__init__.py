"""Channel providers behind one interface (:class:`~functions.providers.base.Provider`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from functions.providers.base import Delivery, DeliveryResult, Provider

if TYPE_CHECKING:
    from functions.providers.secrets import SecretValue
    from functions.shared.settings import Settings

__all__ = ["Delivery", "DeliveryResult", "Provider", "build_provider", "PROVIDER_NAMES"]

PROVIDER_NAMES = frozenset({"outbox", "smtp", "webhook", "ses", "sns"})


def build_provider(name: str, settings: "Settings") -> Provider:
    """The provider called ``name``, configured from ``settings``.

    Raises
    ------
    ValueError
        For an unknown provider name (a configuration error: the message names it).
    """
    if name == "outbox":
        from functions.providers.outbox import OutboxProvider

        return OutboxProvider(settings.request_bucket)
    if name == "smtp":
        from functions.providers.smtp import SmtpProvider

        return SmtpProvider(settings.smtp_host, settings.smtp_port, settings.email_from or "relay@localhost",
                            starttls=settings.smtp_starttls, username=settings.smtp_username,
                            password=_smtp_password(settings))
    if name == "ses":
        from functions.providers.ses import SesProvider

        return SesProvider(settings.email_from, settings.email_configuration_set, settings.email_reply_to,
                           stage=settings.stage)
    if name == "sns":
        from functions.providers.sns_sms import SnsSmsProvider

        return SnsSmsProvider(settings.sms_sender_id, settings.sms_type)
    if name == "webhook":
        from functions.providers.webhook import WebhookProvider

        return WebhookProvider(settings.fetch_allow)
    raise ValueError(f"unknown provider {name!r} (known: {', '.join(sorted(PROVIDER_NAMES))})")


def _smtp_password(settings: "Settings") -> "SecretValue | None":
    """Where the SMTP password lives: an SSM SecureString or a Secrets Manager secret (never the repo)."""
    from functions.providers.secrets import secrets_manager_secret, ssm_secure_string

    if settings.smtp_password_parameter:
        return ssm_secure_string(settings.smtp_password_parameter)
    if settings.smtp_password_secret:
        return secrets_manager_secret(settings.smtp_password_secret)
    return None
