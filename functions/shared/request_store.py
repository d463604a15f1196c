"""The request store (S3): where accepted requests are written before anyone answers 202.

The API and the job worker's ``send`` step both call :func:`put_send_request`, so a send from an
automation travels exactly the same path as one from ``POST /send``.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from functions.shared import aws

__all__ = ["put_send_request", "put_automation_request", "get_json", "send_key", "automation_key", "utc_now_iso"]


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
