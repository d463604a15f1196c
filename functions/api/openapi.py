"""The OpenAPI 3.1 document of the whole API, generated from the pydantic models of its requests and responses.

``GET /openapi.json`` serves it (without a key: it is the document the repository publishes as
``docs/openapi.json``), and ``python -m functions.api.openapi docs/openapi.json`` writes that file; a test keeps
the two equal. The paths come from the route table, so a route cannot be missing from the document.
"""
from __future__ import annotations

import json
import sys
from functools import cache
from typing import Any

__all__ = ["document", "main"]

_ERRORS = {"400": "malformed JSON, a bad header", "401": "no API key, or an unknown or revoked one",
           "403": "the key lacks the route's scope", "404": "unknown route or id", "405": "wrong method",
           "409": "Idempotency-Key reused with another body; a message that cannot be canceled or resent",
           "413": "body over the stage's limit", "415": "content type other than JSON",
           "422": "invalid fields, every one named in details"}
_QUERY = {
    "list_messages": ["recipient", "status", "message_id", "messageId", "tag", "tags", "trace_id", "traceId",
                      "enqueued_after", "event", "notification", "provider", "list", "tenant_id", "archived", "cursor",
                      "next", "limit"],
    "message_history": ["type"],
    "list_runs": ["cursor", "limit", "status", "template_id", "start_date", "end_date"],
}
# route name → (request body model, response status, response model)
_SHAPES: dict[str, tuple[str | None, str, str | None]] = {
    "send": ("SendRequest", "202", "SendAccepted"), "invoke": ("InvokeRequest", "202", "InvokeAccepted"),
    "invoke_template": ("InvokeTemplateBody", "202", "InvokeAccepted"), "list_runs": (None, "200", "RunList"),
    "get_run": (None, "200", "RunView"), "run_steps": (None, "200", "RunSteps"),
    "get_request": (None, "200", "RequestView"), "list_messages": (None, "200", "MessageList"),
    "get_message": (None, "200", "MessageDetails"), "message_history": (None, "200", "MessageHistory"),
    "cancel_message": (None, "200", "MessageDetails"), "resend_message": (None, "202", "Resent"),
    "get_profile": (None, "200", "ProfileView"), "merge_profile": ("ProfileBody", "200", "ProfileWritten"),
    "replace_profile": ("ProfileBody", "200", "ProfileWritten"), "patch_profile": ("PatchBody", "204", None),
    "delete_profile": (None, "204", None),
}


def _models() -> tuple[list[Any], list[Any]]:
    from functions.api import api_models as r
    from functions.api.courier_bodies import InvokeTemplateBody, PatchBody, ProfileBody
    from functions.automations.schema import InvokeRequest
    from functions.shared.send_schema import SendRequest

    requests = [SendRequest, InvokeRequest, InvokeTemplateBody, ProfileBody, PatchBody]
    responses = [r.ErrorBody, r.SendAccepted, r.InvokeAccepted, r.RequestView, r.RunView, r.MessageDetails,
                 r.MessageList, r.MessageHistory, r.Resent, r.ProfileView, r.ProfileWritten, r.RunList, r.RunSteps]
    return requests, responses


def _operation(route: Any) -> dict[str, Any]:
    body, status, response = _SHAPES[route.name]
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
              for n in _path_names(route.template)]
    params += [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
               for n in _QUERY.get(route.name, [])]
    if body is not None:
        params += [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}},
                   {"name": "x-idempotency-expiration", "in": "header", "required": False, "schema": {"type": "string"}}
                   ] if route.name in ("send", "invoke", "invoke_template") else []
    op: dict[str, Any] = {"operationId": route.name, "security": [{"bearer": [route.scope]}], "parameters": params,
                          "responses": {}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body}"}}}}
    ok: dict[str, Any] = {"description": "success"}
    if response is not None:
        ok["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{response}"}}}
    op["responses"][status] = ok
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    for code, why in _ERRORS.items():
        op["responses"][code] = {"description": why, **error}
    op["responses"]["500"] = {"description": "a fault of relay's own (generic message)", **error}
    return op


def _path_names(template: str) -> list[str]:
    import re

    return re.findall(r"\{(\w+)\}", template)


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document (built once per container)."""
    from pydantic.json_schema import models_json_schema

    from functions.api.routes import ROUTES

    requests, responses = _models()
    _, schemas = models_json_schema([(m, "validation") for m in requests] + [(m, "serialization") for m in responses],
                                    ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {}
    for route in ROUTES:
        paths.setdefault(route.template, {})[route.method.lower()] = _operation(route)
    paths["/openapi.json"] = {"get": {"operationId": "openapi", "security": [], "responses": {
        "200": {"description": "this document", "content": {"application/json": {"schema": {"type": "object"}}}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "relay", "version": "1", "description":
                 "relay's HTTP API: Courier's send, messages, profiles and automations routes, and relay's own. "
                 "Every route but this document wants `Authorization: Bearer <key>` (scopes: send, read)."},
        "paths": paths,
        "components": {"schemas": schemas.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def main(argv: list[str] | None = None) -> int:
    """Write the document to the path given (stdout without one)."""
    args = sys.argv[1:] if argv is None else argv
    text = json.dumps(document(), indent=1, sort_keys=True) + "\n"
    if args:
        with open(args[0], "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
