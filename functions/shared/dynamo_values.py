"""DynamoDB values back to plain JSON types: one converter for every adapter (and the console).

boto3 returns every number as ``Decimal`` (and string/number sets as ``set``); handlers, API responses
and the core want ints, floats and lists. The low-level client's typed items (``{"S": ...}``) are
deserialized first (:func:`item_to_plain`) and written with :func:`plain_to_item`. boto3's
(de)serializers are created once, on first use, so importing this module costs nothing.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

__all__ = ["to_plain", "item_to_plain", "plain_to_item"]

_deserializer: Any = None
_serializer: Any = None


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


def item_to_plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A low-level client item (``{"name": {"S": "x"}, ...}``) as plain values, via :func:`to_plain`."""
    global _deserializer
    if _deserializer is None:
        from boto3.dynamodb.types import TypeDeserializer  # boto3 loads on first use, not at import

        _deserializer = TypeDeserializer()
    return {k: to_plain(_deserializer.deserialize(v)) for k, v in item.items()}


def plain_to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values DynamoDB accepts (``Decimal``, not float) as a low-level client item (``{"name": {"S": "x"}}``)."""
    global _serializer
    if _serializer is None:
        from boto3.dynamodb.types import TypeSerializer

        _serializer = TypeSerializer()
    return {k: _serializer.serialize(v) for k, v in values.items()}
