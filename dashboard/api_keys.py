"""A stage's API keys for the console: list them (never a key, never its hash) and revoke one.

The item layout and the verbs are the API's own (:mod:`functions.api.keys`), as ``relay keys`` uses them;
this module only chooses what an operator sees. Creating a key is left to ``relay keys create``: a key is
shown once, and a browser page (its history, a screen share) is the wrong place to show it.
"""
from __future__ import annotations

from typing import Any

from functions.api.auth import CACHE_TTL_S

__all__ = ["list_api_keys", "revoke_api_key", "KEY_COLUMNS"]

KEY_COLUMNS = ("name", "scopes", "created", "last used", "status")


def list_api_keys(ddb: Any, state_table: str) -> list[dict[str, Any]]:
    """One row per key: name, scopes, created, last used, status (``live`` or ``revoked <when>``)."""
    from functions.api.keys import list_keys

    return [{"name": k.name, "scopes": ", ".join(k.scopes), "created": k.created_at,
             "last used": k.last_used_at or "never", "status": f"revoked {k.revoked_at}" if k.revoked else "live"}
            for k in list_keys(ddb, state_table)]


def revoke_api_key(ddb: Any, state_table: str, name: str) -> str:
    """Revoke the key named ``name``; returns what happened, for the flash message and the audit record."""
    from functions.api.keys import revoke_key

    key = revoke_key(ddb, state_table, name)
    return f"API key {key.name!r} revoked at {key.revoked_at}; the API refuses it within {CACHE_TTL_S:.0f} s"
