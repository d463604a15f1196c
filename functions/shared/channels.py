"""Channels and the recipient field that addresses each (pure; no pydantic, no boto3)."""
from __future__ import annotations

__all__ = ["CHANNELS", "ADDRESS_FIELD", "DEFAULT_CHANNELS", "recipient_key", "address_for"]

# channel -> the recipient (or profile) field that addresses it
ADDRESS_FIELD: dict[str, str] = {
    "email": "email",
    "sms": "phone_number",
    "webhook": "webhook_url",
    "push": "user_id",
    "inbox": "user_id",
}
CHANNELS = frozenset(ADDRESS_FIELD)
DEFAULT_CHANNELS: tuple[str, ...] = ("email",)


def recipient_key(recipient: dict) -> str:
    """The stable key of a recipient: its user id, else its first address.

    It goes into the message id (so it must not change between replays) and into the message log's
    ``recipient`` attribute (what ``GET /messages?recipient=`` matches).
    """
    for field in ("user_id", "email", "phone_number", "webhook_url"):
        value = recipient.get(field)
        if value:
            return str(value)
    return ""


def address_for(channel: str, recipient: dict, profile: dict | None = None) -> str | None:
    """The address of ``recipient`` on ``channel`` (the recipient's own field first, then its profile)."""
    field = ADDRESS_FIELD.get(channel)
    if field is None:
        return None
    value = recipient.get(field) or (profile or {}).get(field)
    return str(value) if value else None
