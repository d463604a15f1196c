"""Channel providers behind one interface (:class:`~functions.providers.base.Provider`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from functions.providers.base import Delivery, DeliveryResult, Provider

if TYPE_CHECKING:
    from functions.shared.settings import Settings

__all__ = ["Delivery", "DeliveryResult", "Provider", "build_provider", "PROVIDER_NAMES"]

PROVIDER_NAMES = frozenset({"outbox", "smtp", "webhook"})


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

        return SmtpProvider(settings.smtp_host, settings.smtp_port)
    if name == "webhook":
        from functions.providers.webhook import WebhookProvider

        return WebhookProvider(settings.fetch_allow)
    raise ValueError(f"unknown provider {name!r} (known: {', '.join(sorted(PROVIDER_NAMES))})")
