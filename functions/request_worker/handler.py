"""Request worker: S3 ObjectCreated on ``automations/`` → create the run (once) → enqueue step 0.

Invoked asynchronously by S3: an exception makes Lambda retry twice, then the event goes to the
async DLQ. A redelivered event creates nothing twice (conditional run create, see core.start_run).
A stored request that fails validation is recorded as a FAILED run with the reason (retrying cannot
fix it), never silently dropped.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger

logger = Logger(service="request-worker")
PREFIX = "automations/"


def handle_object(bucket: str, key: str) -> dict[str, str]:
    """Start the run stored at ``key``; returns ``{"key", "runId"?, "outcome"}``."""
    from functions.automations.bootstrap import get_deps
    from functions.automations.core import new_run_record, start_run
    from functions.automations.ports import RunRecord
    from functions.shared.request_store import utc_now_iso

    if not key.startswith(PREFIX) or not key.endswith(".json"):
        return {"key": key, "outcome": "ignored"}
    deps = get_deps()
    doc = deps.requests.get_automation_request(key)
    run_id = key[len(PREFIX):-len(".json")]
    now = utc_now_iso()
    error = _invalid(doc, run_id)
    if error is not None:
        failed = RunRecord(run_id=run_id, status="FAILED", steps=[], created_at=now, updated_at=now,
                           recipient=str(doc.get("recipient", "")) if isinstance(doc, dict) else "",
                           start_enqueued=True, error=error)
        deps.runs.create_run(failed)
        logger.warning("stored automation request is invalid", extra={"key": key, "error": error})
        return {"key": key, "runId": run_id, "outcome": "invalid"}
    outcome = start_run(new_run_record(doc, now), deps.runs, deps.queue)
    logger.info("run started", extra={"runId": run_id, "outcome": outcome})
    return {"key": key, "runId": run_id, "outcome": outcome}


def _invalid(doc: Any, run_id: str) -> str | None:
    from pydantic import ValidationError

    from functions.automations.schema import InvokeRequest

    if not isinstance(doc, dict):
        return "stored request is not a JSON object"
    if doc.get("runId") != run_id:
        return f"stored runId {doc.get('runId')!r} does not match the key's {run_id!r}"
    body = {k: v for k, v in doc.items() if k not in ("runId", "receivedAt")}
    try:
        InvokeRequest.model_validate(body)
    except ValidationError as exc:
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())[:2000]
    return None



def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """S3 event → one run per ``automations/<runId>.json`` object (keys arrive URL-encoded)."""
    results = []
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        results.append(handle_object(bucket, key))
    return {"runs": results}
