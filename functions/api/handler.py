"""API entry point: payload v2 event → route → validation → service → response.

Module-level imports are the standard library only: pydantic, boto3 and the schemas load on the
paths that use them (cold start is what users pay for). Bad input is always a 4xx; an unexpected
failure of our own is a 500 with a generic message (details go to the log, not to the client).
"""
from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.logging import Logger  # the submodule: the package root pulls in far more

from functions.api.events import ApiError, error_response, json_response, parse_event, parse_json_body
from functions.api.routes import match

__all__ = ["lambda_handler", "build_ports", "reset_ports"]

logger = Logger(service="api")  # structured JSON; level from LOG_LEVEL
_ports: Any = None


def build_ports() -> Any:
    """Wire the service to the boto3 adapters (once per container)."""
    global _ports
    if _ports is None:
        from functions.api.adapters import DynamoIdempotencyStore, DynamoStatusReader, S3RequestStore
        from functions.api.service import ApiPorts
        from functions.shared.ids import new_request_id, new_run_id
        from functions.shared.settings import get_settings

        s = get_settings()
        _ports = ApiPorts(
            store=S3RequestStore(s.request_bucket), idempotency=DynamoIdempotencyStore(s.state_table),
            reads=DynamoStatusReader(s.log_table, s.state_table), now_s=lambda: int(time.time()),
            new_request_id=new_request_id, new_run_id=new_run_id,
        )
    return _ports


def reset_ports() -> None:
    """Forget the wired ports (tests change settings between cases)."""
    global _ports
    _ports = None


def _dispatch(event: dict[str, Any]) -> dict[str, Any]:
    from functions.api import service
    from functions.shared.settings import get_settings

    req = parse_event(event)
    route, params = match(req.method, req.path)
    if route in ("send", "invoke"):
        from functions.api import validation

        key = service.idempotency_key(req.header("idempotency-key"))
        body = parse_json_body(req, get_settings().api_max_body_bytes)
        doc = validation.validate_send(body) if route == "send" else validation.validate_invoke(body)
        status, payload, headers = service.accept(route, doc, key, build_ports())
    elif route == "get_request":
        status, payload, headers = service.get_request(params["requestId"], build_ports())
    elif route == "get_run":
        status, payload, headers = service.get_run(params["runId"], build_ports())
    else:
        status, payload, headers = service.list_messages(req.query, build_ports())
    return json_response(status, payload, headers)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """HTTP API payload v2 handler."""
    try:
        return _dispatch(event if isinstance(event, dict) else {})
    except ApiError as err:
        if err.status >= 500:
            logger.error("api error", extra={"code": err.code, "error": err.message})
        return error_response(err)
    except Exception:
        logger.exception("unhandled error in the api", extra={"path": str((event or {}).get("rawPath"))[:200]})
        return error_response(ApiError(500, "internal_error", "the request could not be processed; retry later"))
