"""One message, Courier's way: retrieve, history, cancel, resend (pure: ports in, replies out).

relay's message ids are one per recipient and channel (``msg_…``); Courier's clients also pass the
``requestId`` of a send as a message id. For a ``req_…`` id relay answers for that request's message: the
one message of a one-recipient, one-channel send; of several channels of one recipient, the one that got
furthest (delivered over sent over the rest, then the newest). A request that has no message yet (it is
delayed, or the send worker has not run) answers as ``ENQUEUED`` — or ``CANCELED`` once canceled.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping

from functions.api.events import ApiError
from functions.api.messages import details
from functions.shared.statuses import TERMINAL_MESSAGE_STATUSES, MessageStatus

if TYPE_CHECKING:  # pragma: no cover
    from functions.api.service import ApiPorts, Reply

__all__ = ["get_message", "message_history", "cancel_message", "resend_message"]

_MESSAGE_ID = re.compile(r"^msg_[0-9a-f]{32}$")
_REQUEST_ID = re.compile(r"^req_[0-9A-Za-z_\-]{1,64}$")
_PROGRESS = {MessageStatus.DELIVERED: 3, MessageStatus.SENT: 2}


def _not_found(message_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no message {message_id[:80]!r}")


def _now_iso(ports: "ApiPorts") -> str:
    return datetime.fromtimestamp(ports.now_s(), timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _resolve(message_id: str, ports: "ApiPorts") -> tuple[dict[str, Any] | None, str | None]:
    """(the message's VIEW or None, the request id) — 404 when the id names nothing."""
    store = ports.courier
    assert store is not None
    if _MESSAGE_ID.match(message_id):
        view = store.view(message_id)
        if view is None:
            raise _not_found(message_id)
        return view, str(view.get("requestId") or "") or None
    if not _REQUEST_ID.match(message_id):
        raise _not_found(message_id)
    views = ports.reads.request_messages(message_id)
    if views:
        recipients = {v.get("recipient") for v in views}
        if len(recipients) > 1:
            raise ApiError(404, "not_found", f"request {message_id} has messages to {len(recipients)} recipients; "
                           "ask for one of their message ids (GET /messages?message_id= or GET /requests/{id})")
        best = max(views, key=lambda v: (_PROGRESS.get(str(v.get("status")), 1), int(v.get("updatedAt") or 0)))
        return best, message_id
    if store.get_send(message_id) is None:
        raise _not_found(message_id)
    return None, message_id


def _pending(request_id: str, ports: "ApiPorts") -> dict[str, Any]:
    """A request with no message yet, as Courier's details."""
    store = ports.courier
    assert store is not None
    doc = store.get_send(request_id) or {}
    message = doc.get("message") if isinstance(doc.get("message"), dict) else {}
    to = (message.get("to") or [{}])[0] if isinstance(message.get("to"), list) else {}
    from functions.shared.channels import recipient_key

    received = doc.get("receivedAt")
    enqueued = int(datetime.fromisoformat(str(received).replace("Z", "+00:00")).timestamp() * 1000) if received else 0
    status = MessageStatus.CANCELED if store.canceled(request_id) else MessageStatus.ENQUEUED
    out = {"id": request_id, "status": status, "enqueued": enqueued, "recipient": recipient_key(to),
           "event": ((message.get("metadata") or {}).get("event") or message.get("template") or ""),
           "notification": message.get("template") or "", "requestId": request_id}
    if isinstance(message.get("delay"), dict) and message["delay"].get("until"):
        out["scheduledFor"] = message["delay"]["until"]
    return out


def get_message(message_id: str, ports: "ApiPorts") -> "Reply":
    """``GET /messages/{message_id}`` → Courier's ``MessageDetails`` with ``providers``."""
    view, request_id = _resolve(message_id, ports)
    if view is None:
        assert request_id is not None
        return 200, {**_pending(request_id, ports), "providers": []}, {}
    assert ports.courier is not None
    return 200, details(view, ports.courier.timeline(str(view["messageId"]))), {}


def message_history(message_id: str, query: Mapping[str, str], ports: "ApiPorts") -> "Reply":
    """``GET /messages/{message_id}/history[?type=]`` → ``{"results": [events]}``, oldest first."""
    view, request_id = _resolve(message_id, ports)
    assert ports.courier is not None
    if view is None:
        pending = _pending(str(request_id), ports)
        events = [{"type": MessageStatus.ENQUEUED, "ts": pending["enqueued"]}]
        if pending["status"] == MessageStatus.CANCELED:
            events.append({"type": MessageStatus.CANCELED, "ts": pending["enqueued"]})
    else:
        events = []
        for e in ports.courier.timeline(str(view["messageId"])):
            event = {"type": e.get("status"), "ts": int(e.get("ts", 0)), "channel": e.get("channel")}
            event.update({k: e[k] for k in ("provider", "reason", "detail", "deliveryId") if e.get(k)})
            events.append(event)
    wanted = query.get("type")
    return 200, {"results": [e for e in events if not wanted or e["type"] == wanted]}, {}


def cancel_message(message_id: str, ports: "ApiPorts") -> "Reply":
    """``POST /messages/{message_id}/cancel``: a delayed send not yet delivered ends CANCELED.

    Raises
    ------
    ApiError
        409 ``not_cancelable`` when the message is not a delayed one still waiting (it is delivered, or on
        its way: relay cancels only what has not started).
    """
    view, request_id = _resolve(message_id, ports)
    store = ports.courier
    assert store is not None and request_id is not None
    doc = store.get_send(request_id) or {}
    message = doc.get("message") if isinstance(doc.get("message"), dict) else {}
    delayed = isinstance(message.get("delay"), dict) and not doc.get("released")
    if view is not None and str(view.get("status")) in TERMINAL_MESSAGE_STATUSES:
        raise ApiError(409, "not_cancelable", f"message {message_id} is already {view.get('status')}")
    if not delayed:
        raise ApiError(409, "not_cancelable", f"message {message_id} is not delayed: it is being delivered and "
                       "cannot be canceled")
    store.cancel(request_id, _now_iso(ports))
    return 200, _pending(request_id, ports), {}


def resend_message(message_id: str, ports: "ApiPorts") -> "Reply":
    """``POST /messages/{message_id}/resend`` → 202 ``{"messageId", "requestId"}``: the same content to the
    same recipient on the same channel, as a new send (no delay, no expiry)."""
    from functions.api import service
    from functions.shared.channels import recipient_key
    from functions.shared.ids import message_id as make_message_id

    view, request_id = _resolve(message_id, ports)
    store = ports.courier
    assert store is not None
    if view is None:
        raise ApiError(409, "not_resendable", f"message {message_id} has not been sent yet")
    doc = store.get_send(str(request_id)) or {}
    original = doc.get("message") if isinstance(doc.get("message"), dict) else None
    if original is None:
        raise ApiError(409, "not_resendable", f"the request of message {message_id} is no longer stored")
    to = [r for r in original.get("to") or [] if isinstance(r, dict) and recipient_key(r) == view.get("recipient")]
    if not to:
        raise ApiError(409, "not_resendable", f"message {message_id}'s recipient is not in its stored request")
    message = {k: v for k, v in original.items() if k not in ("to", "delay", "expiry", "routing", "channels")}
    if isinstance(original.get("channels"), dict):
        message["channels"] = original["channels"]
    message.update(to=to[:1], routing={"method": "single", "channels": [view.get("channel")]})
    _, body, headers = service.accept("send", message, None, ports)
    new_request = body["requestId"]
    return 202, {"messageId": make_message_id(new_request, str(view.get("recipient")), str(view.get("channel"))),
                 "requestId": new_request}, headers
