"""What each route does with a request: read the parts it needs, then call its use case in ``service``.

Every endpoint has the same signature, so the route table maps method + path to one of them. POST
errors come in the order a client fixes them: the ``Idempotency-Key`` header (400), the body's media
type, size and syntax (415, 413, 400), its fields (422), then the key's earlier use (409 or a replay).
"""
from __future__ import annotations

from typing import Any, Callable

from functions.api import service, validation
from functions.api.events import HttpRequest, parse_json_body
from functions.api.service import ApiPorts, Reply

__all__ = ["Endpoint", "post_send", "post_invoke", "get_request", "get_run", "list_messages"]

Endpoint = Callable[[HttpRequest, dict[str, str], ApiPorts], Reply]


def json_body(req: HttpRequest) -> Any:
    """The request's JSON body, size-checked against the stage's limit (415/413/400 before anything else)."""
    from functions.shared.settings import get_settings  # read per request: the limit is the stage's setting

    return parse_json_body(req, get_settings().api_max_body_bytes)


def accept_with(route: str, doc: dict[str, Any], warnings: list[str], req: HttpRequest, ports: ApiPorts,
                key: str | None) -> Reply:
    """Store a validated request under the request's ``Idempotency-Key`` (and its expiration)."""
    ttl = service.idempotency_ttl(req.header("x-idempotency-expiration"), ports.now_s())
    return service.accept(route, doc, key, ports, ttl_s=ttl, warnings=warnings)


def post_send(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``POST /send`` → 202 ``{"requestId", "warnings"?}``."""
    from functions.shared.send_warnings import send_warnings

    key = service.idempotency_key(req.header("idempotency-key"))
    message = validation.validate_send(json_body(req))
    return accept_with("send", message, send_warnings(message), req, ports, key)


def post_invoke(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``POST /automations/invoke`` → 202 ``{"runId", "warnings"?}``."""
    key = service.idempotency_key(req.header("idempotency-key"))
    doc, warnings = validation.validate_invoke(json_body(req))
    return accept_with("invoke", doc, warnings, req, ports, key)


def get_request(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``GET /requests/{requestId}``."""
    return service.get_request(params["requestId"], ports)


def get_run(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``GET /automations/runs/{runId}``."""
    return service.get_run(params["runId"], ports)


def list_messages(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``GET /messages?recipient=&status=&limit=&next=``."""
    return service.list_messages(req.query, ports)
