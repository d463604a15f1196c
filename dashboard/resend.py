"""Send a message again: a new request with the same content to the same recipient, linked to the original.

Until the API has a resend route (``POST /messages/{id}/resend``, planned with the Courier-API work), the
console writes the new request through the path the API itself uses: the API's body validation
(:func:`functions.api.validation.validate_send`) and the request store's writer
(:func:`functions.shared.request_store.put_send_request`), whose S3 notification starts the send worker.
Nothing here copies those rules; :func:`resend_message` is the one place to switch to the API route.

The new request's ``source`` is ``{"resendOf": "<messageId>"}`` (docs/CONTRACTS.md), so the request
store says which message it repeats; its message goes to the original message's recipient only, on
the original's channel only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboard.errors import NothingToResend
from functions.shared.channels import recipient_key
from functions.shared.dynamo_values import item_to_plain

__all__ = ["Resent", "resend_message", "resend_source"]


@dataclass(frozen=True)
class Resent:
    """The new request and the message id the send worker will give its one message."""

    request_id: str
    message_id: str
    original: str

    def summary(self) -> str:
        """What the confirm dialog and the audit record say."""
        return f"sent again as request {self.request_id} (message {self.message_id}), a resend of {self.original}"


def resend_message(ddb: Any, log_table: str, bucket: str, message_id: str) -> Resent:
    """Store a new send request repeating ``message_id`` (same content, same recipient, same channel).

    Raises
    ------
    NothingToResend
        The message is not in the message log, its request is no longer in the request store, or its
        recipient cannot be found in that request.
    """
    from functions.api.events import ApiError
    from functions.api.validation import validate_send
    from functions.shared.ids import message_id as message_id_of, new_request_id
    from functions.shared.request_store import get_json, put_send_request, send_key

    item = ddb.get_item(TableName=log_table, Key={"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": "VIEW"}},
                        ConsistentRead=True).get("Item")
    if not item:
        raise NothingToResend(f"message {message_id} is not in the message log; nothing was sent")
    view = item_to_plain(item)
    recipient, channel = str(view.get("recipient", "")), str(view.get("channel", ""))
    try:
        stored = get_json(bucket, send_key(str(view.get("requestId", ""))))
    except Exception as err:  # noqa: BLE001 - NoSuchKey and friends: the request store lost it (or never had it)
        raise NothingToResend(f"request {view.get('requestId')} of message {message_id} is not in the request store "
                              f"({type(err).__name__}); nothing was sent") from None
    message = dict(stored.get("message") or {})
    to = [r for r in message.get("to") or [] if isinstance(r, dict) and recipient_key(r) == recipient]
    if not to:
        raise NothingToResend(f"recipient {recipient!r} is not in request {view.get('requestId')}; nothing was sent")
    again = {k: v for k, v in message.items() if k not in ("to", "channels", "routing")}
    again.update({"to": to[:1], "routing": {"method": "single", "channels": [channel]}})
    try:
        validated = validate_send({"message": again})
    except ApiError as err:
        raise NothingToResend(f"the stored request no longer passes the API's validation: {err}") from None
    request_id = new_request_id()
    put_send_request(bucket, request_id, validated, source={"resendOf": message_id})
    return Resent(request_id, message_id_of(request_id, recipient, channel), message_id)


def resend_source(bucket: str, request_id: str) -> str | None:
    """The message a request repeats (its ``source.resendOf``), if it is a resend."""
    from functions.shared.request_store import get_json, send_key

    try:
        source = get_json(bucket, send_key(request_id)).get("source") or {}
    except Exception:  # noqa: BLE001 - an unreadable request is simply not shown as a resend
        return None
    value = source.get("resendOf") if isinstance(source, dict) else None
    return value if isinstance(value, str) else None
