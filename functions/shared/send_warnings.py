"""The ``warnings`` of an accepted send: Courier fields relay accepts but does not act on (pure).

A field lands here only when ignoring it cannot change who is reached or when: a brand, a tenant's context,
UTM parameters, per-provider overrides, styling. Fields whose loss would change delivery are refused by
the schema instead (:mod:`functions.shared.send_schema`).
"""
from __future__ import annotations

from typing import Any, Mapping

from functions.shared.channels import CHANNELS

__all__ = ["send_warnings", "invoke_warnings", "CONTENT_OVERRIDES"]

# what a channel's override may replace in relay (the rest of an override is a provider's raw payload)
CONTENT_OVERRIDES = ("title", "subject", "body", "html")
_RECIPIENT_IGNORED = {
    "locale": "relay sends the default content (no locales)",
    "preferences": "relay has no preference center; the message is sent",
    "context": "relay has no tenants; ignored",
    "tenant_id": "relay has no tenants; ignored",
    "account_id": "relay has no tenants; ignored",
    "timezone": "relay schedules in UTC",
}


def send_warnings(message: Mapping[str, Any]) -> list[str]:
    """One line per ignored field of a validated (plain) message, naming its path.

    Parameters
    ----------
    message
        The validated ``message`` as a plain dict (``model_dump``).
    """
    out: dict[str, None] = {}

    def add(text: str) -> None:
        out[text] = None

    if message.get("brand_id"):
        add("brand_id: relay has no brands; the message is sent unbranded")
    if (message.get("context") or {}).get("tenant_id"):
        add("context.tenant_id: relay has no tenants; ignored")
    if message.get("preferences"):
        add("preferences.subscription_topic_id: relay has no preference center; the message is sent")
    if (message.get("metadata") or {}).get("utm"):
        add("metadata.utm: relay does not add UTM parameters to links")
    for name in message.get("providers") or {}:
        add(f"providers.{name}: relay delivers each channel through the stage's configured provider")
    timeout = message.get("timeout") or {}
    for key in ("channel", "provider", "escalation", "criteria"):
        if timeout.get(key) is not None:
            add(f"timeout.{key}: not applied (timeout.message and expiry are)")
    channels = message.get("channels")
    if isinstance(channels, Mapping):
        for channel, settings in channels.items():
            _channel_warnings(str(channel), settings or {}, add)
    for i, recipient in enumerate(message.get("to") or []):
        for key, why in _RECIPIENT_IGNORED.items():
            if isinstance(recipient, Mapping) and recipient.get(key) not in (None, "", {}):
                add(f"to.*.{key}: {why}")
    content = message.get("content")
    if isinstance(content, Mapping) and "elements" in content:
        from functions.shared.elemental import elemental_warnings

        for text in elemental_warnings(content):
            add(text)
    return list(out)


def _channel_warnings(channel: str, settings: Mapping[str, Any], add: Any) -> None:
    if channel not in CHANNELS:
        add(f"channels.{channel}: not a relay channel ({', '.join(sorted(CHANNELS))}); its settings are ignored")
        return
    if settings.get("brand_id"):
        add(f"channels.{channel}.brand_id: relay has no brands; ignored")
    if settings.get("metadata"):
        add(f"channels.{channel}.metadata.utm: relay does not add UTM parameters to links")
    if settings.get("timeouts"):
        add(f"channels.{channel}.timeouts: not applied")
    if settings.get("providers"):
        add(f"channels.{channel}.providers: relay delivers {channel} through the stage's configured provider")
    for key in settings.get("override") or {}:
        if key not in CONTENT_OVERRIDES:
            add(f"channels.{channel}.override.{key}: relay overrides only {', '.join(CONTENT_OVERRIDES)}")


def invoke_warnings(invoke: Mapping[str, Any]) -> list[str]:
    """The ignored fields of a validated (plain) ``POST /automations/invoke`` body, by path."""
    out: dict[str, None] = {}
    if invoke.get("brand"):
        out["brand: relay has no brands; messages are sent unbranded"] = None

    def walk(steps: Any, path: str) -> None:
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(step, Mapping):
                continue
            here = f"{path}.{i}"
            if step.get("ref"):
                out[f"{here}.ref: recorded with the step; relay's conditions read data and profile, not refs"] = None
            if step.get("brand"):
                out[f"{here}.brand: relay has no brands; ignored"] = None
            if step.get("override"):
                out[f"{here}.override: relay's providers take no raw overrides; ignored"] = None
            if isinstance(step.get("message"), Mapping):
                for text in send_warnings({"to": [], **step["message"]}):
                    out[f"{here}.message.{text}"] = None
            walk(step.get("then"), f"{here}.then")
            walk(step.get("else"), f"{here}.else")
            if isinstance(step.get("automation"), Mapping):
                walk(step["automation"].get("steps"), f"{here}.automation.steps")

    walk((invoke.get("automation") or {}).get("steps"), "automation.steps")
    return list(out)
