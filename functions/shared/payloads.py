"""Large bodies go to S3 first; messages and items keep ``{"$ref": "s3://bucket/key"}``.

SQS bodies are limited to 256 KB and DynamoDB items to 400 KB. There is no transaction across S3
and the queue/table, so the object is written first, and a reader that finds it missing raises
:class:`~functions.shared.errors.MissingPayload` (retryable) instead of guessing.
"""
from __future__ import annotations

import json
from typing import Any

from functions.shared import aws
from functions.shared.errors import MissingPayload

__all__ = ["SQS_LIMIT", "DYNAMODB_LIMIT", "INLINE_LIMIT", "payload_key", "offload", "is_ref", "resolve", "parse_ref"]

SQS_LIMIT = 256 * 1024
DYNAMODB_LIMIT = 400 * 1024
# What stays inline: well under both limits, leaving room for the other attributes of an item.
INLINE_LIMIT = 200 * 1024


def payload_key(kind: str, payload_id: str) -> str:
    """``payloads/<kind>/<id>.json``."""
    return f"payloads/{kind}/{payload_id}.json"


def is_ref(value: Any) -> bool:
    """True for ``{"$ref": "s3://…"}``."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$ref"), str)


def parse_ref(ref: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``; ``ValueError`` for anything else."""
    if not ref.startswith("s3://") or "/" not in ref[5:]:
        raise ValueError(f"not an s3:// reference: {ref!r}")
    bucket, key = ref[5:].split("/", 1)
    return bucket, key


def offload(value: Any, *, bucket: str, kind: str, payload_id: str, limit: int = INLINE_LIMIT) -> Any:
    """Return ``value`` unchanged if its JSON fits in ``limit`` bytes, else store it and return a ref.

    Parameters
    ----------
    value
        Any JSON-serialisable value (run data, a response body, …).
    bucket, kind, payload_id
        Where it goes: ``s3://<bucket>/payloads/<kind>/<payload_id>.json``.
    limit
        Inline size limit in bytes of the JSON encoding.
    """
    raw = json.dumps(value, separators=(",", ":"), default=str).encode()
    if len(raw) <= limit:
        return value
    key = payload_key(kind, payload_id)
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=raw, ContentType="application/json")
    return {"$ref": f"s3://{bucket}/{key}"}


def resolve(value: Any) -> Any:
    """The value itself, or the object a ``$ref`` points to.

    Raises
    ------
    MissingPayload
        When the referenced object does not exist (retryable; the message names the reference).
    """
    if not is_ref(value):
        return value
    ref = value["$ref"]
    bucket, key = parse_ref(ref)
    s3 = aws.client("s3")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey as exc:
        raise MissingPayload(ref, "NoSuchKey") from exc
    except Exception as exc:  # botocore ClientError 404 on some emulators / access paths
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in ("NoSuchKey", "404", "NotFound"):
            raise MissingPayload(ref, str(code)) from exc
        raise
    return json.loads(body)
