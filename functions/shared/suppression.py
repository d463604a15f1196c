"""The suppression list: addresses relay no longer sends to (pure layout; no boto3).

A hard bounce or a complaint reported by the email provider puts the address here; the send worker
checks it before a provider that honours it is called, and a suppressed message ends UNDELIVERABLE
with reason ``SUPPRESSED``. The console lists and clears entries (audited).

Layout in the state table (docs/CONTRACTS.md): ``pk = "SUPPRESSION#<channel>"``, ``sk = <address>``
(normalised by :func:`normalize_address`), so one ``Query`` lists a channel's list and one
``GetItem`` answers a send.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["SUPPRESSION_PREFIX", "SUPPRESSING_REASONS", "SuppressionEntry", "normalize_address", "suppression_key",
           "channel_partition"]

SUPPRESSION_PREFIX = "SUPPRESSION#"
# what puts an address on the list; a soft bounce or a rejected message does not
SUPPRESSING_REASONS = ("BOUNCED", "COMPLAINT")


def normalize_address(channel: str, address: str) -> str:
    """The form an address is stored and looked up in: email case-folded, others stripped.

    Mailbox providers and SES treat an address case-insensitively, so ``Ada@Example.com`` and
    ``ada@example.com`` must hit one entry.
    """
    value = address.strip()
    return value.lower() if channel == "email" else value


def channel_partition(channel: str) -> str:
    """``SUPPRESSION#<channel>``: the partition that holds one channel's list."""
    return f"{SUPPRESSION_PREFIX}{channel}"


def suppression_key(channel: str, address: str) -> dict[str, str]:
    """``{"pk": "SUPPRESSION#<channel>", "sk": <normalised address>}``."""
    return {"pk": channel_partition(channel), "sk": normalize_address(channel, address)}


@dataclass(frozen=True)
class SuppressionEntry:
    """One suppressed address and why: the provider's verdict on one message."""

    channel: str
    address: str
    reason: str                 # BOUNCED | COMPLAINT
    message_id: str = ""        # the message whose feedback suppressed the address
    detail: str = ""            # the provider's words (bounce type, diagnostic code, feedback type)
    provider: str = ""
    created_at: str = ""        # ISO ms Z of the first suppression; kept when a later event refreshes it
    updated_at: str = ""

    def as_item(self) -> dict[str, Any]:
        """The state-table item (plain values; empty strings left out)."""
        item: dict[str, Any] = {**suppression_key(self.channel, self.address), "channel": self.channel,
                                "address": normalize_address(self.channel, self.address), "reason": self.reason}
        for name, value in (("messageId", self.message_id), ("detail", self.detail), ("provider", self.provider),
                            ("createdAt", self.created_at), ("updatedAt", self.updated_at)):
            if value:
                item[name] = value
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> "SuppressionEntry":
        """Inverse of :meth:`as_item`."""
        return cls(channel=str(item.get("channel") or str(item.get("pk", "")).removeprefix(SUPPRESSION_PREFIX)),
                   address=str(item.get("address") or item.get("sk", "")), reason=str(item.get("reason", "")),
                   message_id=str(item.get("messageId", "")), detail=str(item.get("detail", "")),
                   provider=str(item.get("provider", "")), created_at=str(item.get("createdAt", "")),
                   updated_at=str(item.get("updatedAt", "")))
