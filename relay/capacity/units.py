"""What one AWS API call is billed as: S3 request tier, SQS 64 KB chunks, DynamoDB request units.

Pure functions of the operation name, its parameters and (for reads) the parsed response, so
:mod:`relay.capacity.measure` can price every call a handler makes. DynamoDB sizes follow AWS's item
size rules (attribute name bytes + value bytes, numbers about 1 byte per 2 digits + 1).
"""
from __future__ import annotations

import base64
import math
from typing import Any, Iterable, Mapping, Sequence

from relay.capacity.prices import SQS_REQUEST_CHUNK_BYTES

__all__ = ["S3_PUT_TIER", "S3_FREE", "s3_tier", "sqs_requests", "item_size", "write_units", "read_units",
           "gsi_keys_touched"]

# PUT, COPY, POST, LIST requests (and the multipart calls that make up a PUT)
S3_PUT_TIER = frozenset({"PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2", "ListBuckets",
                         "ListObjectVersions", "ListMultipartUploads", "CreateMultipartUpload", "UploadPart",
                         "UploadPartCopy", "CompleteMultipartUpload", "PutObjectTagging", "PutObjectAcl"})
S3_FREE = frozenset({"DeleteObject", "DeleteObjects", "AbortMultipartUpload"})


def s3_tier(operation: str) -> str:
    """``"put"``, ``"get"`` or ``"free"``: the S3 request price tier of an operation."""
    if operation in S3_FREE:
        return "free"
    if operation in S3_PUT_TIER or operation.startswith(("Put", "Create", "Copy", "List", "Post", "Complete", "Upload")):
        return "put"
    return "get"


def _utf8(s: str) -> int:
    return len(s.encode("utf-8"))


def sqs_requests(operation: str, params: Mapping[str, Any]) -> int:
    """Billed SQS requests: each started 64 KB of a send's payload (bodies + attributes) counts as one."""
    if operation == "SendMessage":
        size = _utf8(str(params.get("MessageBody", ""))) + _attributes_size(params.get("MessageAttributes"))
        return max(1, math.ceil(size / SQS_REQUEST_CHUNK_BYTES))
    if operation == "SendMessageBatch":
        size = sum(_utf8(str(e.get("MessageBody", ""))) + _attributes_size(e.get("MessageAttributes"))
                   for e in params.get("Entries", []))
        return max(1, math.ceil(size / SQS_REQUEST_CHUNK_BYTES))
    return 1


def _attributes_size(attrs: Mapping[str, Any] | None) -> int:
    if not attrs:
        return 0
    total = 0
    for name, value in attrs.items():
        total += _utf8(name) + _utf8(str(value.get("DataType", "")))
        total += _utf8(str(value.get("StringValue", ""))) + len(value.get("BinaryValue", b"") or b"")
    return total


_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"})


def _native_size(v: Any) -> int:
    """Size of a plain Python value (what boto3's resource layer passes before serialising)."""
    if v is None or isinstance(v, bool):
        return 1
    if isinstance(v, str):
        return _utf8(v)
    if isinstance(v, (bytes, bytearray)):
        return len(v)
    if isinstance(v, (int, float)) or type(v).__name__ == "Decimal":
        digits = len(str(v).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if isinstance(v, Mapping):
        return 3 + sum(1 + _utf8(str(k)) + _value_size(x) for k, x in v.items())
    if isinstance(v, (set, frozenset)):
        return sum(_native_size(x) for x in v)
    if isinstance(v, (list, tuple)):
        return 3 + sum(1 + _value_size(x) for x in v)
    return _utf8(str(v))


def _value_size(value: Any) -> int:
    """Size of one attribute value, in DynamoDB JSON (``{"S": "x"}``, ``{"M": {...}}``) or plain Python."""
    if not (isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in _TAGS):
        return _native_size(value)
    (kind, v), = value.items()
    if kind == "S":
        return _utf8(v)
    if kind == "N":
        return _native_size(float(v) if "." in str(v) else int(v))
    if kind == "B":
        return len(v) if isinstance(v, (bytes, bytearray)) else len(base64.b64decode(v))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: x}) for x in v)
    if kind == "L":
        return 3 + sum(1 + _value_size(x) for x in v)
    return 3 + sum(1 + _utf8(k) + _value_size(x) for k, x in v.items())


def item_size(item: Mapping[str, Any] | None) -> int:
    """Bytes of an item in DynamoDB JSON as DynamoDB sizes it."""
    return sum(_utf8(name) + _value_size(v) for name, v in (item or {}).items())


def gsi_keys_touched(operation: str, params: Mapping[str, Any], gsi_keys: Iterable[Sequence[str] | str]) -> int:
    """How many GSIs a write updates.

    ``gsi_keys`` lists each GSI's key attributes (partition key, and sort key if any). A put reaches
    an index only when the item carries all of that index's key attributes (DynamoDB leaves the
    others out: a sparse index); an update reaches it when it sets one of them. A lower bound: an
    update that changes an index key costs two index writes (delete + put); we count one.
    """
    indexes = [(k,) if isinstance(k, str) else tuple(k) for k in gsi_keys]
    if not indexes:
        return 0
    if operation == "PutItem":
        names = set((params.get("Item") or {}).keys())
        return sum(1 for keys in indexes if all(k in names for k in keys))
    if operation == "UpdateItem":
        names = set((params.get("ExpressionAttributeNames") or {}).values())
        expr = str(params.get("UpdateExpression", ""))
        names |= {k for keys in indexes for k in keys if k in expr}
        names |= set((params.get("AttributeUpdates") or {}).keys())
        return sum(1 for keys in indexes if any(k in names for k in keys))
    if operation == "DeleteItem":
        return len(indexes)  # the item leaves every index it was in; assume all
    return 0


def write_units(operation: str, params: Mapping[str, Any],
                gsis: Mapping[str, Sequence[Sequence[str] | str]] | None = None) -> float:
    """Write request units of one DynamoDB write (``gsis``: table → each GSI's key attributes).

    1 unit per started KB of the written item (at least 1), plus one per GSI the write reaches;
    transactional writes cost double. For UpdateItem/DeleteItem the item is not in the request, so
    the key and the new values stand in for it (a lower bound for large items).
    """
    gsis = gsis or {}

    def one(op: str, p: Mapping[str, Any], table: str) -> float:
        if op == "PutItem":
            size = item_size(p.get("Item"))
        elif op == "UpdateItem":
            size = item_size(p.get("Key")) + sum(_value_size(v) for v in (p.get("ExpressionAttributeValues") or {}).values())
        else:  # DeleteItem, ConditionCheck
            size = item_size(p.get("Key"))
        return max(1, math.ceil(size / 1024)) + gsi_keys_touched(op, p, gsis.get(table, []))

    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return float(one(operation, params, str(params.get("TableName", ""))))
    if operation == "BatchWriteItem":
        total = 0.0
        for table, requests in (params.get("RequestItems") or {}).items():
            for r in requests:
                if "PutRequest" in r:
                    total += one("PutItem", r["PutRequest"], table)
                elif "DeleteRequest" in r:
                    total += one("DeleteItem", r["DeleteRequest"], table)
        return total
    if operation == "TransactWriteItems":
        total = 0.0
        names = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheck"}
        for entry in params.get("TransactItems", []):
            for kind, p in entry.items():
                total += 2 * one(names.get(kind, kind), p, str(p.get("TableName", "")))
        return total
    return 0.0


def read_units(operation: str, params: Mapping[str, Any], response: Mapping[str, Any] | None) -> float:
    """Read request units of one DynamoDB read, from the returned items' size.

    4 KB per unit for a strongly consistent read, half for an eventually consistent one (the default);
    Query and Scan round the total returned size, GetItem/BatchGetItem each item; transactions double.
    """
    response = response or {}
    factor = 1.0 if params.get("ConsistentRead") else 0.5
    if operation == "GetItem":
        return factor * max(1, math.ceil(item_size(response.get("Item")) / 4096))
    if operation in ("Query", "Scan"):
        size = sum(item_size(i) for i in response.get("Items", []))
        return factor * max(1, math.ceil(size / 4096))
    if operation == "BatchGetItem":
        items = [i for table_items in (response.get("Responses") or {}).values() for i in table_items]
        return 0.5 * sum(max(1, math.ceil(item_size(i) / 4096)) for i in items) if items else 0.0
    if operation == "TransactGetItems":
        items = [r.get("Item") for r in response.get("Responses", [])]
        return 2.0 * sum(max(1, math.ceil(item_size(i) / 4096)) for i in items)
    return 0.0
