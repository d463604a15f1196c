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

__all__ = ["Endpoint", "post_send", "post_invoke", "post_invoke_template", "get_request", "get_run", "list_runs",
           "run_steps", "list_messages", "get_message", "message_history", "cancel_message", "resend_message",
           "get_profile", "merge_profile", "replace_profile", "patch_profile", "delete_profile"]

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
    """``GET /messages`` with Courier's query (and relay's ``limit`` / ``next``)."""
    from functions.api import messages

    return messages.list_messages(req.query, ports)


def get_message(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``GET /messages/{messageId}``."""
    from functions.api import message_actions

    return message_actions.get_message(params["messageId"], ports)


def message_history(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``GET /messages/{messageId}/history``."""
    from functions.api import message_actions

    return message_actions.message_history(params["messageId"], req.query, ports)


def cancel_message(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``POST /messages/{messageId}/cancel`` (no body)."""
    from functions.api import message_actions

    return message_actions.cancel_message(params["messageId"], ports)


def resend_message(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``POST /messages/{messageId}/resend`` (no body)."""
    from functions.api import message_actions

    return message_actions.resend_message(params["messageId"], ports)


def list_runs(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``GET /automations/runs``."""
    from functions.api import runs

    return runs.list_runs(req.query, ports)


def run_steps(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``GET /automations/runs/{runId}/steps``."""
    from functions.api import runs

    return runs.run_steps(params["runId"], ports)


def post_invoke_template(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``POST /automations/{templateId}/invoke`` → 202 ``{"runId"}``: a stored automation template."""
    from functions.api.courier_bodies import InvokeTemplateBody
    from functions.api.events import ApiError

    key = service.idempotency_key(req.header("idempotency-key"))
    body = validation.validate_model(InvokeTemplateBody, json_body(req), "automation invoke")
    assert ports.courier is not None
    automation = ports.courier.named("automation-templates", params["templateId"])
    if automation is None:
        raise ApiError(404, "not_found", f"no automation template {params['templateId'][:80]!r} "
                       "(relay automations put --stage <stage> NAME FILE)")
    doc, warnings = validation.validate_invoke({"automation": automation, **body.model_dump(exclude_none=True)})
    return accept_with("invoke", doc, warnings, req, ports, key)


def _profile_body(req: HttpRequest) -> dict[str, Any]:
    from functions.api.courier_bodies import ProfileBody

    return validation.validate_model(ProfileBody, json_body(req), "profile").profile


def get_profile(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``GET /profiles/{userId}``."""
    from functions.api import profiles

    return profiles.get_profile(params["userId"], ports)


def merge_profile(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``POST /profiles/{userId}``: merge."""
    from functions.api import profiles

    return profiles.write_profile(params["userId"], _profile_body(req), ports, merge=True)


def replace_profile(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``PUT /profiles/{userId}``: replace."""
    from functions.api import profiles

    return profiles.write_profile(params["userId"], _profile_body(req), ports, merge=False)


def patch_profile(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``PATCH /profiles/{userId}``: JSON-Patch operations."""
    from functions.api import profiles
    from functions.api.courier_bodies import PatchBody

    body = validation.validate_model(PatchBody, json_body(req), "profile patch")
    return profiles.patch_profile(params["userId"], [op.model_dump() for op in body.patch], ports)


def delete_profile(req: HttpRequest, params: dict[str, str], ports: ApiPorts) -> Reply:
    """``DELETE /profiles/{userId}``."""
    from functions.api import profiles

    return profiles.delete_profile(params["userId"], ports)
