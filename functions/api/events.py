"""HTTP API payload v2 events in, responses out (pure; no boto3, no pydantic).

Errors are :class:`ApiError` and always render as ``{"error": {"code", "message", "details"?}}``.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "HttpRequest", "parse_event", "json_response", "error_response", "parse_json_body"]


class ApiError(Exception):
    """A client-visible error: HTTP ``status``, machine ``code``, human ``message``, optional ``details``."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


@dataclass(frozen=True)
class HttpRequest:
    """The parts of a payload v2 event the API uses. ``headers`` keys are lower-case."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    is_base64: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def parse_event(event: dict[str, Any]) -> HttpRequest:
    """Read method, path (without a named stage prefix), headers, query and body from a v2 event."""
    ctx = event.get("requestContext") or {}
    http = ctx.get("http") or {}
    method = str(http.get("method") or event.get("httpMethod") or "GET").upper()
    path = str(event.get("rawPath") or http.get("path") or "/")
    stage = ctx.get("stage")
    # API Gateway puts a named stage in the path ("/prod/send"); Function URLs and $default do not
    if stage and stage != "$default" and (path == f"/{stage}" or path.startswith(f"/{stage}/")):
        path = path[len(stage) + 1:] or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    query = {str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()}
    body = event.get("body")
    return HttpRequest(method, path, headers, query, body if isinstance(body, str) else None,
                       bool(event.get("isBase64Encoded")))


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A v2 response with a JSON body (204: none)."""
    return {"statusCode": status, "headers": {"content-type": "application/json", **(headers or {})},
            "body": "" if status == 204 else json.dumps(body, separators=(",", ":"), default=str)}


def error_response(err: ApiError) -> dict[str, Any]:
    """``{"error": {"code", "message", "details"?}}`` with the error's status."""
    payload: dict[str, Any] = {"code": err.code, "message": err.message}
    if err.details:
        payload["details"] = err.details
    return json_response(err.status, {"error": payload}, err.headers)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(req: HttpRequest, max_bytes: int) -> Any:
    """Decode and parse a JSON request body, in the order a client would want the errors.

    Raises
    ------
    ApiError
        415 ``unsupported_media_type`` unless the content type is JSON; 413 ``payload_too_large`` over
        ``max_bytes``; 400 ``malformed_body`` for bad base64; 400 ``malformed_json`` for bad JSON.
    """
    ctype = (req.header("content-type") or "").split(";", 1)[0].strip().lower()
    if ctype != "application/json" and not (ctype.startswith("application/") and ctype.endswith("+json")):
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type must be application/json, got {ctype or 'none'!r}")
    raw = req.body or ""
    # cheap early refusal before decoding anything big (base64 is 4/3 the size)
    too_large = ApiError(413, "payload_too_large", f"request body is larger than the limit of {max_bytes} bytes")
    # every character is at least one byte, and base64 is 4/3 the size: refuse before decoding
    if len(raw) > (max_bytes * 4 // 3 + 4 if req.is_base64 else max_bytes):
        raise too_large
    if req.is_base64:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "malformed_body", "body is marked base64 but is not valid base64") from None
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > max_bytes:
        raise too_large
    if not data.strip():
        raise ApiError(400, "malformed_json", "request body is empty; expected a JSON object")
    try:
        text = data.decode("utf-8")
        doc = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError(400, "malformed_json", "request body is nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed_json", f"request body is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json",
                       f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # NaN/Infinity, integers with too many digits
        raise ApiError(400, "malformed_json", f"request body is not valid JSON: {exc}") from None
    if _depth_exceeds(doc, MAX_JSON_DEPTH):
        # every later step (validation, the $ref check, templates) walks the body: a bound here keeps
        # them all clear of Python's recursion limit, which a 3.13 json.loads no longer hits first
        raise ApiError(400, "malformed_json", f"request body is nested more than {MAX_JSON_DEPTH} levels deep")
    return doc


MAX_JSON_DEPTH = 64


def _depth_exceeds(doc: object, limit: int) -> bool:
    """True when ``doc`` nests objects/arrays deeper than ``limit`` (iterative: no recursion of its own)."""
    stack: list[tuple[object, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
