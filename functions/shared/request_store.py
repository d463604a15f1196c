"""The request store (S3): where accepted requests are written before anyone answers 202.

The API and the job worker's ``send`` step both call :func:`put_send_request`, so a send from an
automation travels exactly the same path as one from ``POST /send``.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from functions.shared import aws

__all__ = ["put_send_request", "put_automation_request", "get_json", "send_key", "automation_key", "utc_now_iso",
           "named_key", "get_named", "put_named", "put_json", "NAME_PATTERN", "NAMED_PREFIXES"]


def utc_now_iso() -> str:
    """Current UTC time as ISO 8601 with milliseconds and a ``Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def send_key(request_id: str) -> str:
    """``send/<requestId>.json``."""
    return f"send/{request_id}.json"


def automation_key(run_id: str) -> str:
    """``automations/<runId>.json``."""
    return f"automations/{run_id}.json"


def _put(bucket: str, key: str, doc: dict[str, Any]) -> None:
    aws.client("s3").put_object(
        Bucket=bucket, Key=key, Body=json.dumps(doc, separators=(",", ":"), default=str).encode(),
        ContentType="application/json",
    )


def put_json(bucket: str, key: str, doc: dict[str, Any]) -> None:
    """Write ``doc`` at ``key`` as it is (a delayed send's release re-stores its request this way)."""
    _put(bucket, key, doc)


def put_send_request(bucket: str, request_id: str, message: dict[str, Any],
                     source: dict[str, Any] | None = None) -> str:
    """Store a validated send request; the S3 ObjectCreated event starts the send worker.

    Parameters
    ----------
    bucket
        The request store bucket (``Settings.request_bucket``).
    request_id
        ``req_<ulid>``.
    message
        The validated ``SendMessage`` as a plain dict (``model_dump(exclude_none=True)``).
    source
        ``{"runId", "step"}`` when an automation step sends; ``None`` from the API.

    Returns
    -------
    str
        The object key written.
    """
    key = send_key(request_id)
    _put(bucket, key, {"requestId": request_id, "receivedAt": utc_now_iso(), "message": message,
                       "source": dict(source or {})})
    return key


def put_automation_request(bucket: str, run_id: str, invoke: dict[str, Any]) -> str:
    """Store a validated automation invoke at ``automations/<runId>.json`` (starts the request worker)."""
    key = automation_key(run_id)
    _put(bucket, key, {"runId": run_id, "receivedAt": utc_now_iso(), **invoke})
    return key


def get_json(bucket: str, key: str) -> dict[str, Any]:
    """Read a JSON object from the request store (raises botocore's ``NoSuchKey`` when absent)."""
    body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return json.loads(body)


# Named documents: notification templates (``templates/``) and automation templates (``automation-templates/``).
NAMED_PREFIXES = ("templates", "automation-templates")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$"


def named_key(prefix: str, name: str) -> str | None:
    """``<prefix>/<name>.json``, or None for a name that is not one safe path segment."""
    import re

    if prefix not in NAMED_PREFIXES or not re.match(NAME_PATTERN, name) or ".." in name:
        return None
    return f"{prefix}/{name}.json"


def get_named(bucket: str, prefix: str, name: str) -> dict[str, Any] | None:
    """The named document, or None when it is absent or not a JSON object."""
    key = named_key(prefix, name)
    if key is None:
        return None
    try:
        doc = get_json(bucket, key)
    except ValueError:  # not JSON: nothing usable is stored under that name
        return None
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    return doc if isinstance(doc, dict) else None


def put_named(bucket: str, prefix: str, name: str, doc: dict[str, Any]) -> str:
    """Store a named document; returns its key.

    Raises
    ------
    ValueError
        For a name that is not one safe path segment.
    """
    key = named_key(prefix, name)
    if key is None:
        raise ValueError(f"name {name!r} must be 1-200 letters, digits, '_', '-' or '.', starting with a letter or digit")
    _put(bucket, key, doc)
    return key
