"""API entry point: payload v2 event → API key → route table → scope → endpoint → response.

The handler only translates: :mod:`~functions.api.auth` checks the caller's key (401 before anything
else, so a stranger learns nothing about routes or ids) and, once the route is known, its scope (403);
:mod:`~functions.api.routes` picks the endpoint, the endpoint calls its use case in
:mod:`~functions.api.service`, :mod:`~functions.api.bootstrap` wires the adapters.
Module-level imports are light: pydantic, boto3 and the schemas load on the paths that use them (cold
start is what users pay for). Bad input is always a 4xx; an unexpected failure of our own is a 500
with a generic message (details go to the log, not to the client).
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import Logger  # the submodule: the package root pulls in far more

from functions.api.bootstrap import build_ports, reset_ports
from functions.api.events import ApiError, error_response, json_response, parse_event
from functions.api.routes import match

__all__ = ["lambda_handler", "build_ports", "reset_ports"]

logger = Logger(service="api")  # structured JSON; level from LOG_LEVEL


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """HTTP API payload v2 handler."""
    try:
        req = parse_event(event if isinstance(event, dict) else {})
        if req.method == "GET" and req.path == "/openapi.json":
            # public: the same document the repository publishes (docs/openapi.json); tools read it before
            # they hold a key, and it says nothing about this stage's data
            from functions.api.openapi import document

            return json_response(200, document())
        ports = build_ports()
        caller = ports.keys.authenticate(req.header("authorization")) if ports.keys is not None else None
        route, params = match(req.method, req.path)
        if caller is not None:
            ports.keys.authorize(caller, route.scope, f"{route.method} {route.template}")  # type: ignore[union-attr]
        return json_response(*route.endpoint(req, params, ports))
    except ApiError as err:
        if err.status >= 500:
            logger.error("api error", extra={"code": err.code, "error": err.message})
        return error_response(err)
    except Exception:
        path = str(event.get("rawPath"))[:200] if isinstance(event, dict) else ""
        logger.exception("unhandled error in the api", extra={"path": path})
        return error_response(ApiError(500, "internal_error", "the request could not be processed; retry later"))
