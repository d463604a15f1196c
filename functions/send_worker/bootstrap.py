"""Wire the send worker's core to its boto3 adapters and providers (once per container).

The only place that knows which adapter stands behind which port; tests build :class:`SendPorts`
from fakes instead (``tests/functions/send_worker/fakes.py``).
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from functions.shared.warm import cached
from functions.send_worker.core import SendPorts, lease_for

__all__ = ["build_ports", "reset_ports", "ports_for", "SETTLE_MARGIN_MS"]

@cached
def build_ports() -> SendPorts:
    """The adapters and providers named by the settings (cached; tests call :func:`reset_ports`)."""
    from functions.providers import build_provider
    from functions.send_worker.adapters import (DynamoClaimStore, DynamoEventLog, DynamoRunState,
                                                DynamoSuppressionList, S3TemplateStore, SqsDelayedSends)
    from functions.send_worker.ports import ProviderRegistry
    from functions.shared.ids import new_delivery_id
    from functions.shared.settings import get_settings

    s = get_settings()
    return SendPorts(
        claims=DynamoClaimStore(s.message_table, s.state_table),
        events=DynamoEventLog(s.message_table),
        runs=DynamoRunState(s.state_table),
        templates=S3TemplateStore(s.request_bucket),
        providers=ProviderRegistry(dict(s.providers), lambda name: build_provider(name, s)),
        now_ms=lambda: int(time.time() * 1000),
        new_delivery_id=new_delivery_id,
        retention_days=s.message_retention_days,
        suppressions=DynamoSuppressionList(s.state_table),
        delayed=SqsDelayedSends(s.job_queue_url) if s.job_queue_url else None,
    )


def reset_ports() -> None:
    """Forget the wired ports (tests change settings between cases)."""
    build_ports.cache_clear()


# Kept free at the end of an invocation for what follows a delivery: settling the claim, writing the events.
SETTLE_MARGIN_MS = 2_000


def ports_for(context: Any) -> SendPorts:
    """The container's ports with the claim lease this invocation needs (:func:`~functions.send_worker.core.lease_for`)
    and the deadline providers retry within (the time left less :data:`SETTLE_MARGIN_MS`).

    A copy per invocation: the local stage may run two invocations of one container at once.
    """
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    left = int(remaining()) if callable(remaining) else None
    deadline = None if left is None else int(time.time() * 1000) + max(0, left - SETTLE_MARGIN_MS)
    return replace(build_ports(), lease_ms=lease_for(left), deadline_ms=deadline)
