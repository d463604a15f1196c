"""The API's use cases (pure: ports in, ``(status, body, headers)`` out).

Idempotency-Key: the key is recorded with a hash of the validated body *before* the request is
stored (conditional write), so two concurrent requests with one key cannot both be accepted under
different ids. Same key + same body → the first response is replayed (header
``idempotent-replayed: true``); same key + another body → 409. A first attempt that crashed between
recording the key and answering is completed by the retry under the id it recorded, so the client
always gets one id per key.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from functions.api.events import ApiError
from functions.api.ports import AcceptedRequestStore, CourierStore, IdempotencyStore, StatusReader
from functions.shared.statuses import (
    TERMINAL_MESSAGE_STATUSES, IdempotencyStatus, RequestStatus, RunStatus,
)

if TYPE_CHECKING:  # pragma: no cover
    from functions.api.auth import KeyAuthenticator

__all__ = ["ApiPorts", "Reply", "accept", "idempotency_ttl", "MAX_IDEMPOTENCY_TTL_S", "get_request", "get_run", "IDEMPOTENCY_TTL_S",
           "REQUEST_STATUSES", "MESSAGE_FIELDS", "RUN_FIELDS", "STEP_FIELDS"]

IDEMPOTENCY_TTL_S = 24 * 3600
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_REQUEST_ID = re.compile(r"^req_[0-9A-Za-z_\-]{1,64}$")
_RUN_ID = re.compile(r"^run_[0-9A-Za-z_\-]{1,64}$")
REQUEST_STATUSES = tuple(RequestStatus)
# What a response may carry of a stored item (docs/CONTRACTS.md "HTTP API"): an allow-list, so keys,
# tie-breaks, TTLs and bookkeeping flags (pk, sk, statusRank, eventSk, expiresAt, nextEnqueued) never leak.
# relay's GET /messages items (functions.api.messages keeps the list: one home per rule)
from functions.api.messages import RELAY_ITEM_FIELDS as MESSAGE_FIELDS  # noqa: E402
RUN_FIELDS = ("createdAt", "updatedAt", "recipient", "error")
STEP_FIELDS = ("status", "attempts", "result", "error", "startedAt", "endedAt", "failedAt")
Reply = tuple[int, Any, dict[str, str]]


@dataclass
class ApiPorts:
    """What the use cases need: the stores, the clock and the id sources; ``keys`` checks API keys
    (None when the Function URL's IAM auth is the gate, ``API_AUTH=iam``)."""

    store: AcceptedRequestStore
    idempotency: IdempotencyStore
    reads: StatusReader
    now_s: Callable[[], int]
    new_request_id: Callable[[], str]
    new_run_id: Callable[[], str]
    keys: "KeyAuthenticator | None" = None
    courier: "CourierStore | None" = None  # Courier's routes: message views, profiles, templates, run listing


def _body_hash(route: str, doc: dict[str, Any]) -> str:
    return hashlib.sha256((route + "\n" + json.dumps(doc, sort_keys=True, separators=(",", ":"))).encode()).hexdigest()


def idempotency_key(raw: str | None) -> str | None:
    """The ``Idempotency-Key`` header, checked: 1–255 visible ASCII characters.

    Raises
    ------
    ApiError
        400 ``invalid_idempotency_key``.
    """
    if raw is None:
        return None
    if not _KEY.match(raw):
        raise ApiError(400, "invalid_idempotency_key",
                       "Idempotency-Key must be 1 to 255 visible ASCII characters",
                       [{"field": "Idempotency-Key", "message": "1 to 255 visible ASCII characters", "type": "header"}])
    return raw


MAX_IDEMPOTENCY_TTL_S = 365 * 86_400  # Courier's limit for x-idempotency-expiration


def idempotency_ttl(raw: str | None, now_s: int) -> int:
    """Seconds an ``Idempotency-Key`` is kept: 24 h, or until ``x-idempotency-expiration``.

    The header is an epoch (seconds or ms), an ISO 8601 time, or a duration (``"1 Day"``, ``"PT6H"``), at
    most a year ahead.

    Raises
    ------
    ApiError
        400 ``invalid_idempotency_expiration``.
    """
    if raw is None or not raw.strip():
        return IDEMPOTENCY_TTL_S
    from functions.automations.delays import DelayError, parse_duration, parse_until

    text = raw.strip()
    try:
        if text.isdigit():
            number = int(text)
            ttl = (number // 1000 if number > 10**11 else number) - now_s
        elif text[:1].isdigit() and ("-" in text or "T" in text):
            ttl = int(parse_until(text).timestamp()) - now_s
        else:
            ttl = int(parse_duration(text))
    except (DelayError, ValueError, OverflowError):
        ttl = -1
    if not 0 < ttl <= MAX_IDEMPOTENCY_TTL_S:
        raise ApiError(400, "invalid_idempotency_expiration",
                       "x-idempotency-expiration must be a future epoch, ISO 8601 time or duration within a year",
                       [{"field": "x-idempotency-expiration", "message": "a time within a year", "type": "header"}])
    return ttl


def accept(route: str, doc: dict[str, Any], key: str | None, ports: ApiPorts, *, ttl_s: int = IDEMPOTENCY_TTL_S,
           warnings: list[str] | tuple[str, ...] = ()) -> Reply:
    """Store a validated send (``route="send"``) or invoke (``"invoke"``) and answer 202.

    A send's ``delay`` and ``expiry`` are made absolute here (after the body hash, so a replay of the same
    body still matches); ``warnings`` names what was accepted but is not acted on.
    """
    is_send = route == "send"
    resource_id = ports.new_request_id() if is_send else ports.new_run_id()
    id_field = "requestId" if is_send else "runId"
    if key is not None:
        digest = _body_hash(route, doc)
        earlier = ports.idempotency.begin(key, digest, resource_id, now_s=ports.now_s(), ttl_s=ttl_s)
        if earlier is not None:
            if earlier.body_hash != digest:
                raise ApiError(409, "idempotency_key_reused",
                               f"Idempotency-Key {key!r} was already used with a different request body",
                               [{"field": "Idempotency-Key", "message": "reused with a different body", "type": "conflict"}])
            if earlier.status == IdempotencyStatus.COMPLETED and earlier.response:
                return (int(earlier.response["status"]), earlier.response["body"], {"idempotent-replayed": "true"})
            resource_id = earlier.resource_id  # finish the first attempt under the id it recorded
    if is_send:
        from datetime import datetime, timezone

        from functions.shared.schedule import normalise_schedule

        ports.store.put_send(resource_id, normalise_schedule(doc, datetime.fromtimestamp(ports.now_s(), timezone.utc)))
    else:
        ports.store.put_invoke(resource_id, doc)
    body: dict[str, Any] = {id_field: resource_id}
    if warnings:
        body["warnings"] = list(warnings)
    if key is not None:
        ports.idempotency.complete(key, {"status": 202, "body": body})
    return 202, body, {}


def get_request(request_id: str, ports: ApiPorts) -> Reply:
    """``{"requestId", "status", "messages": [...]}``; 404 when the id was never accepted."""
    if not _REQUEST_ID.match(request_id):
        raise ApiError(404, "not_found", f"no request {request_id[:80]!r}")
    views = ports.reads.request_messages(request_id)
    if not views and not ports.store.has_send(request_id):
        raise ApiError(404, "not_found", f"no request {request_id!r}")
    messages = []
    for v in sorted(views, key=lambda v: (str(v.get("recipient")), str(v.get("channel")))):
        m = {k: v[k] for k in ("messageId", "recipient", "channel", "status") if k in v}
        if v.get("reason"):
            m["reason"] = v["reason"]
        messages.append(m)
    if not messages:
        status = RequestStatus.ACCEPTED
    elif all(m.get("status") in TERMINAL_MESSAGE_STATUSES for m in messages):
        status = RequestStatus.COMPLETED
    else:
        status = RequestStatus.PROCESSING
    return 200, {"requestId": request_id, "status": status, "messages": messages}, {}


def get_run(run_id: str, ports: ApiPorts) -> Reply:
    """``{"runId", "status", "steps": [...]}`` from the state table; PENDING before the worker ran."""
    if not _RUN_ID.match(run_id):
        raise ApiError(404, "not_found", f"no run {run_id[:80]!r}")
    run, steps = ports.reads.run(run_id)
    if run is None:
        if ports.store.has_invoke(run_id):
            return 200, {"runId": run_id, "status": RunStatus.PENDING, "steps": []}, {}
        raise ApiError(404, "not_found", f"no run {run_id!r}")
    out_steps = [{"index": int(str(item["sk"]).split("#", 1)[1]), **_only(item, STEP_FIELDS)}
                 for item in sorted(steps, key=lambda s: str(s.get("sk")))]
    body = {"runId": run_id, "status": run.get("status", RunStatus.PENDING), "steps": out_steps}
    body.update(_only(run, RUN_FIELDS))
    return 200, body, {}


def _only(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: item[k] for k in fields if k in item}
