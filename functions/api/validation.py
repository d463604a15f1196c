"""Body validation with pydantic; every bad field becomes one entry of the error's ``details``.

Imports pydantic and the schemas, so the handler imports this module only on the POST paths.
"""
from __future__ import annotations

from typing import Any

from functions.api.events import ApiError

__all__ = ["validate_send", "validate_invoke", "validate_model", "details_of", "reserved_key_details"]


def details_of(exc: Any) -> list[dict[str, str]]:
    """pydantic ``ValidationError`` → ``[{"field": "message.to.0.email", "message": ..., "type": ...}]``.

    Union/validator wrapper names in ``loc`` are dropped so the field is the path a client wrote.
    The input value is never echoed back (it may be huge or hostile).
    """
    out: list[dict[str, str]] = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        parts = [str(p) for p in err.get("loc", ()) if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]
        msg = str(err.get("msg", "invalid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        out.append({"field": ".".join(parts) or "(body)", "message": msg, "type": str(err.get("type", ""))})
    return out


def reserved_key_details(body: Any) -> list[dict[str, str]]:
    """One ``details`` entry per ``"$ref"`` key anywhere in ``body``.

    ``{"$ref": "s3://…"}`` is how the platform stores an offloaded payload, and the workers resolve it
    when they read a run: no user value may carry that key, or it could make a worker read an object of
    the user's choosing.
    """
    from functions.shared.payloads import reserved_ref_paths

    return [{"field": path, "message": "'$ref' is reserved for payloads the platform stores; rename the key",
             "type": "reserved_key"} for path in reserved_ref_paths(body)]


def _validate(model: Any, body: Any, what: str) -> Any:
    from pydantic import ValidationError

    if not isinstance(body, dict):
        raise ApiError(422, "validation_error", f"{what} must be a JSON object",
                       [{"field": "(body)", "message": "must be a JSON object", "type": "model_type"}])
    details = reserved_key_details(body)
    try:
        validated = model.model_validate(body)
    except ValidationError as exc:
        details += details_of(exc)
    except RecursionError:
        raise ApiError(400, "malformed_json", "request body is nested too deeply") from None
    if details:
        fields = ", ".join(dict.fromkeys(d["field"] for d in details))
        raise ApiError(422, "validation_error", f"{what} is invalid: {fields}", details)
    return validated


def validate_send(body: Any) -> dict[str, Any]:
    """Validate a ``POST /send`` body; returns the ``message`` dict to store (delay and expiry still relative)."""
    from functions.shared.send_schema import SendRequest

    model = _validate(SendRequest, body, "send request")
    return model.message.model_dump(mode="json", by_alias=True, exclude_none=True)


def validate_invoke(body: Any) -> tuple[dict[str, Any], list[str]]:
    """Validate a ``POST /automations/invoke`` body; the normalised invoke dict to store, and its warnings."""
    from functions.automations.schema import InvokeRequest
    from functions.shared.send_warnings import invoke_warnings

    model = _validate(InvokeRequest, body, "automation invoke")
    doc = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return doc, invoke_warnings(doc)


def validate_model(model: Any, body: Any, what: str) -> Any:
    """Validate ``body`` with a pydantic ``model``; the 422 names every bad field (and every ``$ref`` key)."""
    return _validate(model, body, what)
