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

__all__ = ["SQS_LIMIT", "DYNAMODB_LIMIT", "INLINE_LIMIT", "REF_KEY", "payload_key", "offload", "is_ref", "resolve",
           "parse_ref", "reserved_ref_paths"]

SQS_LIMIT = 256 * 1024
DYNAMODB_LIMIT = 400 * 1024
# What stays inline: well under both limits, leaving room for the other attributes of an item.
INLINE_LIMIT = 200 * 1024
# The key of an offloaded payload's reference. It is ours alone: a user value that carried it could make a
# worker read an object of its choosing (see :func:`reserved_ref_paths`).
REF_KEY = "$ref"


def payload_key(kind: str, payload_id: str) -> str:
    """``payloads/<kind>/<id>.json``."""
    return f"payloads/{kind}/{payload_id}.json"


def is_ref(value: Any) -> bool:
    """True for ``{"$ref": "s3://…"}``."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$ref"), str)


def reserved_ref_paths(value: Any, prefix: str = "", limit: int = 20) -> list[str]:
    """Where ``value`` carries a ``"$ref"`` key, as dotted paths (``message.data.0.$ref``), at most ``limit``.

    A reference is the internal shape of an offloaded payload; readers resolve it wherever they find it
    at the top of a stored value. User input (a request body, a fetched response) must never carry one,
    so callers refuse the input when this list is not empty. The walk is iterative: a deeply nested body
    cannot exhaust the stack here.

    Parameters
    ----------
    value
        Parsed JSON.
    prefix
        The path of ``value`` itself (empty for a whole body).
    limit
        Stop after this many paths (a hostile body may carry thousands; naming a few is enough).
    """
    found: list[str] = []
    # paths are linked (parent, key) pairs, spelled out only for a hit: a deep body costs linear time.
    # Children are pushed in reverse so they pop in document order.
    stack: list[tuple[Any, Any]] = [(None, value)]
    while stack and len(found) < limit:
        link, node = stack.pop()
        if link is not None and link[1] == REF_KEY:
            found.append(_spell(prefix, link))
        if isinstance(node, dict):
            stack.extend(((link, k), v) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend(((link, i), v) for i, v in reversed(list(enumerate(node))))
    return found


def _spell(prefix: str, link: Any) -> str:
    keys: list[str] = []
    while link is not None:
        link, key = link
        keys.append(str(key))
    return ".".join(([prefix] if prefix else []) + keys[::-1])


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
