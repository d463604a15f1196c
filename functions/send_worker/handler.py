"""Send worker entry point: S3 ObjectCreated on ``send/`` → core → adapters.

Invoked asynchronously by S3: an exception means "retry me" (twice, then the async DLQ), so only
retryable problems raise. Bad content is logged and dropped: retrying cannot fix it.
"""
from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.logging import Logger  # the submodule: the package root pulls in far more

__all__ = ["lambda_handler", "record_handler", "build_ports"]

logger = Logger(service="send-worker")  # structured JSON; level from LOG_LEVEL
_ports: Any = None
LEASE_MARGIN_MS = 5_000


def build_ports() -> Any:
    """Wire the core to the boto3 adapters and providers named by the settings (once per container)."""
    global _ports
    if _ports is None:
        from functions.providers import build_provider
        from functions.send_worker.adapters import DynamoClaimStore, DynamoEventLog, DynamoRunState, S3TemplateStore
        from functions.send_worker.core import SendPorts
        from functions.send_worker.ports import ProviderRegistry
        from functions.shared.ids import new_delivery_id
        from functions.shared.settings import get_settings

        s = get_settings()
        _ports = SendPorts(
            claims=DynamoClaimStore(s.state_table, s.message_retention_days),
            events=DynamoEventLog(s.message_table),
            runs=DynamoRunState(s.state_table),
            templates=S3TemplateStore(s.request_bucket),
            providers=ProviderRegistry(dict(s.providers), lambda name: build_provider(name, s)),
            now_ms=lambda: int(time.time() * 1000),
            new_delivery_id=new_delivery_id,
            retention_days=s.message_retention_days,
        )
    return _ports


def reset_ports() -> None:
    """Forget the wired ports (tests change settings between cases)."""
    global _ports
    _ports = None


def record_handler(record: dict[str, Any]) -> int:
    """Process one S3 record; returns the number of messages settled."""
    from functions.send_worker.core import BadRequest, process_request
    from functions.shared.payloads import resolve

    s3 = record.get("s3") or {}
    bucket = (s3.get("bucket") or {}).get("name", "")
    key = unquote_plus((s3.get("object") or {}).get("key", ""))  # S3 event keys are URL-encoded
    if not key.startswith("send/") or not key.endswith(".json"):
        logger.warning("ignored object", extra={"bucket": bucket, "key": key})
        return 0
    # a missing object raises MissingPayload: retryable, as for every S3-first reference
    try:
        doc = resolve({"$ref": f"s3://{bucket}/{key}"})
    except ValueError as exc:  # not JSON (MissingPayload is not a ValueError: it propagates, retryable)
        logger.error("send request is not JSON", extra={"key": key, "reason": str(exc)})
        return 0
    if not isinstance(doc, dict):
        logger.error("send request is not an object", extra={"key": key})
        return 0
    try:
        settled = process_request(doc, build_ports())
    except BadRequest as exc:
        logger.error("bad send request dropped", extra={"key": key, "reason": str(exc)})
        return 0
    logger.info("send request processed", extra={"requestId": doc.get("requestId"),
                            "messages": [[p.message_id, p.channel, p.outcome.status] for p in settled]})
    return len(settled)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """S3 event → every record processed; the first retryable error is raised after all records ran."""
    from functions.send_worker.core import DEFAULT_LEASE_MS
    from functions.shared.errors import RetryableError

    # A claim only has to outlive this invocation: once Lambda has killed it (timeout, crash), the next
    # attempt may take the message over. Without a context (tests, tools) fall back to the default.
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    build_ports().lease_ms = int(remaining()) + LEASE_MARGIN_MS if callable(remaining) else DEFAULT_LEASE_MS
    settled, failure = 0, None
    for record in event.get("Records") or []:
        try:
            settled += record_handler(record)
        except RetryableError as exc:
            logger.warning("retryable failure", extra={"error": str(exc)})
            failure = failure or exc
    if failure is not None:
        raise failure
    return {"settled": settled}
