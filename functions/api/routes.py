"""The route table: (method, path template) → endpoint and the API key scope it needs, and the match that
answers 404 / 405 (pure).

Scopes (:mod:`functions.api.auth`): ``send`` for every route that changes something (POST, PUT, DELETE,
actions), ``read`` for every route that only reads. A new route names its scope here, next to its endpoint.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from functions.api import endpoints
from functions.api.auth import SCOPE_READ, SCOPE_SEND
from functions.api.endpoints import Endpoint
from functions.api.events import ApiError

__all__ = ["ROUTES", "Route", "match"]


@dataclass(frozen=True)
class Route:
    """``method`` + ``template`` (``{name}`` is one path segment, handed to the endpoint) → ``endpoint``;
    ``scope`` is what an API key must carry to call it."""

    method: str
    template: str
    name: str
    endpoint: Endpoint = field(compare=False)
    scope: str  # no default: a route that forgot its scope must not pass as read-only

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template) + "$")


ROUTES: tuple[Route, ...] = (
    Route("POST", "/send", "send", endpoints.post_send, SCOPE_SEND),
    Route("POST", "/automations/invoke", "invoke", endpoints.post_invoke, SCOPE_SEND),
    Route("POST", "/automations/{templateId}/invoke", "invoke_template", endpoints.post_invoke_template, SCOPE_SEND),
    Route("GET", "/automations/runs", "list_runs", endpoints.list_runs, SCOPE_READ),
    Route("GET", "/automations/runs/{runId}", "get_run", endpoints.get_run, SCOPE_READ),
    Route("GET", "/automations/runs/{runId}/steps", "run_steps", endpoints.run_steps, SCOPE_READ),
    Route("GET", "/requests/{requestId}", "get_request", endpoints.get_request, SCOPE_READ),
    Route("GET", "/messages", "list_messages", endpoints.list_messages, SCOPE_READ),
    Route("GET", "/messages/{messageId}", "get_message", endpoints.get_message, SCOPE_READ),
    Route("GET", "/messages/{messageId}/history", "message_history", endpoints.message_history, SCOPE_READ),
    Route("POST", "/messages/{messageId}/cancel", "cancel_message", endpoints.cancel_message, SCOPE_SEND),
    Route("POST", "/messages/{messageId}/resend", "resend_message", endpoints.resend_message, SCOPE_SEND),
    Route("GET", "/profiles/{userId}", "get_profile", endpoints.get_profile, SCOPE_READ),
    Route("POST", "/profiles/{userId}", "merge_profile", endpoints.merge_profile, SCOPE_SEND),
    Route("PUT", "/profiles/{userId}", "replace_profile", endpoints.replace_profile, SCOPE_SEND),
    Route("PATCH", "/profiles/{userId}", "patch_profile", endpoints.patch_profile, SCOPE_SEND),
    Route("DELETE", "/profiles/{userId}", "delete_profile", endpoints.delete_profile, SCOPE_SEND),
)
_COMPILED = [(r, r.pattern) for r in ROUTES]


def match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for ``method`` and ``path``, and its path parameters.

    Raises
    ------
    ApiError
        404 ``not_found`` for an unknown path; 405 ``method_not_allowed`` (with ``Allow``) for a known
        path with another method.
    """
    allowed: list[str] = []
    for route, pattern in _COMPILED:
        m = pattern.match(path)
        if m is None:
            continue
        if route.method == method:
            from urllib.parse import unquote

            return route, {k: unquote(v) for k, v in m.groupdict().items()}
        allowed.append(route.method)
    if allowed:
        raise ApiError(405, "method_not_allowed", f"{method} is not allowed on {path}; use {', '.join(allowed)}",
                       headers={"allow": ", ".join(allowed)})
    raise ApiError(404, "not_found", f"no route for {path[:200]}")
