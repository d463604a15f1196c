"""The state and audit tables (runs, steps, tokens, idempotency, claims; console audit records)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi

from infra.components.tables import TableSettings, key_value_table

__all__ = ["StateStore", "StateStoreArgs"]


@dataclass
class StateStoreArgs:
    state_table_name: str
    audit_table_name: str
    settings: TableSettings
    tags: Mapping[str, str]


class StateStore(pulumi.ComponentResource):
    """``relay-<stage>-state`` (TTL ``expiresAt``) and ``relay-<stage>-audit`` (kept; no TTL)."""

    def __init__(self, name: str, args: StateStoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:StateStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.state_table = key_value_table(f"{name}-state", args.state_table_name, args.settings, args.tags,
                                           child, ttl=True)
        self.audit_table = key_value_table(f"{name}-audit", args.audit_table_name, args.settings, args.tags,
                                           child, ttl=False)
        self.register_outputs({"state_table": self.state_table.name, "audit_table": self.audit_table.name})
