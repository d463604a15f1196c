"""Identifiers: sortable request/run ids and the deterministic message id (docs/CONTRACTS.md)."""
from __future__ import annotations

import hashlib
import os
import time

__all__ = ["new_request_id", "new_run_id", "new_delivery_id", "new_ulid", "message_id", "ulid_ms"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(now_ms: int | None = None) -> str:
    """A 26-character ULID-like id: 48-bit millisecond time then 80 random bits, Crockford base32.

    Ids created later sort after earlier ones (to the millisecond), which keeps S3 listings and
    DynamoDB keys in arrival order.
    """
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_request_id() -> str:
    """``req_<ulid>``."""
    return "req_" + new_ulid()


def new_run_id() -> str:
    """``run_<ulid>``."""
    return "run_" + new_ulid()


def new_delivery_id() -> str:
    """``dlv_<ulid>``: new for every delivery attempt, so a duplicate delivery is visible."""
    return "dlv_" + new_ulid()


def message_id(request_id: str, recipient_key: str, channel: str) -> str:
    """``msg_`` + first 32 hex of sha256(``requestId|recipientKey|channel``).

    Deterministic: a redelivered S3 event computes the same id, which is what the delivery claim keys on.
    """
    digest = hashlib.sha256(f"{request_id}|{recipient_key}|{channel}".encode()).hexdigest()
    return "msg_" + digest[:32]


def ulid_ms(prefixed_id: str) -> int | None:
    """The millisecond time a ``<prefix>_<ULID>`` id carries (its first 10 characters), or None if it has none.

    A step's send request id (run time + hash) carries its run's time.
    """
    _, sep, ulid = prefixed_id.partition("_")
    if not sep or len(ulid) != 26 or any(c not in _CROCKFORD for c in ulid):
        return None
    value = 0
    for c in ulid[:10]:
        value = value * 32 + _CROCKFORD.index(c)
    return value if value < 10 ** 13 else None

