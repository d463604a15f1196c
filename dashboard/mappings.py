"""The log indexer's event source mapping: read it, and change its parallelization factor (no streamlit).

Validation an operator can get wrong happens before any AWS call and raises a :mod:`dashboard.errors`
exception with a stable code and a readable message.
"""
from __future__ import annotations

from typing import Any

from dashboard.errors import InvalidFactor, NotAStreamSource

__all__ = ["check_factor", "event_source_mapping", "set_parallelization_factor"]


def check_factor(factor: int) -> int:
    """Raise :class:`InvalidFactor` unless 1 <= factor <= 10."""
    if not isinstance(factor, int) or isinstance(factor, bool) or not 1 <= factor <= 10:
        raise InvalidFactor(f"parallelization factor {factor!r} is out of range: a stream mapping takes 1 to 10 "
                            "concurrent batches per shard. The mapping was not changed.")
    return factor


def event_source_mapping(lam: Any, uuid: str) -> dict[str, Any]:
    """The mapping's current settings and state."""
    m = lam.get_event_source_mapping(UUID=uuid)
    m.pop("ResponseMetadata", None)
    return m


def set_parallelization_factor(lam: Any, uuid: str, factor: int) -> tuple[int, int]:
    """Update the stream mapping's ParallelizationFactor; returns ``(before, after)`` as AWS reports them."""
    check_factor(factor)
    current = event_source_mapping(lam, uuid)
    source = str(current.get("EventSourceArn", ""))
    if ":dynamodb:" not in source and ":kinesis:" not in source:
        raise NotAStreamSource(f"mapping {uuid} reads {source or 'an unknown source'}: ParallelizationFactor "
                               "applies to DynamoDB and Kinesis stream sources only. Nothing was changed.")
    before = int(current.get("ParallelizationFactor", 1))
    after = lam.update_event_source_mapping(UUID=uuid, ParallelizationFactor=factor)
    return before, int(after.get("ParallelizationFactor", factor))
