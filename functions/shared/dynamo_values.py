"""DynamoDB values back to plain JSON types: one converter for every adapter.

boto3 returns every number as ``Decimal`` (and string/number sets as ``set``); handlers, API responses
and the core want ints, floats and lists.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["to_plain"]


def to_plain(value: Any) -> Any:
    """Decimals to int/float and sets to sorted lists, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, set):
        return sorted(to_plain(v) for v in value)
    return value
