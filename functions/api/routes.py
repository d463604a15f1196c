"""A tiny router: (method, path template) → route name and path parameters (pure)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from functions.api.events import ApiError

__all__ = ["ROUTES", "Route", "match"]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    name: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template) + "$")


ROUTES: tuple[Route, ...] = (
    Route("POST", "/send", "send"),
    Route("POST", "/automations/invoke", "invoke"),
    Route("GET", "/requests/{requestId}", "get_request"),
    Route("GET", "/automations/runs/{runId}", "get_run"),
    Route("GET", "/messages", "list_messages"),
)
_COMPILED = [(r, r.pattern) for r in ROUTES]


def match(method: str, path: str) -> tuple[str, dict[str, str]]:
    """The route name and its path parameters.

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
            return route.name, m.groupdict()
        allowed.append(route.method)
    if allowed:
        raise ApiError(405, "method_not_allowed", f"{method} is not allowed on {path}; use {', '.join(allowed)}",
                       headers={"allow": ", ".join(allowed)})
    raise ApiError(404, "not_found", f"no route for {path[:200]}")
