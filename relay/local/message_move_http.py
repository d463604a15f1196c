"""The wire side of the message-move API: a WSGI middleware in front of moto's server.

Answers ``StartMessageMoveTask``, ``ListMessageMoveTasks`` and ``CancelMessageMoveTask`` in SQS's JSON
protocol (``X-Amz-Target: AmazonSQS.<Action>``, what boto3 ≥ 1.34 and the AWS CLI v2 send) and in the
older query protocol (``Action=<Action>`` form posts); every other request goes to moto untouched.
Errors carry ``x-amzn-query-error`` as SQS does, so botocore reports AWS's error code.
"""
from __future__ import annotations

import io
import json
import uuid
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from relay.local.message_move import InvalidParameterValue, MessageMoveError, MessageMoveService

__all__ = ["MessageMoveMiddleware", "ACTIONS"]

ACTIONS = ("StartMessageMoveTask", "ListMessageMoveTasks", "CancelMessageMoveTask")
_TARGETS = {f"AmazonSQS.{a}": a for a in ACTIONS}
_XMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"
_MAX_FORM_BYTES = 1 << 20


class MessageMoveMiddleware:
    """WSGI app: the three actions here, everything else to ``app`` (moto)."""

    def __init__(self, app: Callable, service: MessageMoveService) -> None:
        self.app = app
        self.service = service

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        action = _TARGETS.get(environ.get("HTTP_X_AMZ_TARGET", ""))
        if action is not None:
            return self._json(action, environ, start_response)
        query = self._query_params(environ)
        if query is not None:
            return self._query(query, start_response)
        return self.app(environ, start_response)

    # ---- JSON protocol --------------------------------------------------------------------------
    def _json(self, action: str, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        try:
            body = _read_body(environ)
            params = json.loads(body or b"{}")
            if not isinstance(params, dict):
                raise InvalidParameterValue("The request body must be a JSON object.")
            result = self._dispatch(action, params)
            status, payload = "200 OK", result
            headers = [("Content-Type", "application/x-amz-json-1.0")]
        except json.JSONDecodeError:
            status, payload = "400 Bad Request", {"__type": "com.amazonaws.sqs#InvalidParameterValue",
                                                  "message": "The request body is not valid JSON."}
            headers = [("Content-Type", "application/x-amz-json-1.0"),
                       ("x-amzn-query-error", "InvalidParameterValue;Sender")]
        except MessageMoveError as err:
            status = f"{err.status} {'Bad Request' if err.status == 400 else 'Error'}"
            payload = {"__type": f"com.amazonaws.sqs#{err.code}", "message": err.message}
            headers = [("Content-Type", "application/x-amz-json-1.0"),
                       ("x-amzn-query-error", f"{err.code};Sender")]
        data = json.dumps(payload).encode()
        start_response(status, headers + [("x-amzn-RequestId", request_id), ("Content-Length", str(len(data)))])
        return [data]

    def _dispatch(self, action: str, p: dict[str, Any]) -> dict[str, Any]:
        if action == "StartMessageMoveTask":
            if not p.get("SourceArn"):
                raise InvalidParameterValue("Value for parameter SourceArn is invalid. Reason: SourceArn is required.")
            return {"TaskHandle": self.service.start(p.get("SourceArn"), p.get("DestinationArn"),
                                                     p.get("MaxNumberOfMessagesPerSecond"))}
        if action == "ListMessageMoveTasks":
            if not p.get("SourceArn"):
                raise InvalidParameterValue("Value for parameter SourceArn is invalid. Reason: SourceArn is required.")
            return {"Results": self.service.list(p.get("SourceArn"), p.get("MaxResults"))}
        if not p.get("TaskHandle"):
            raise InvalidParameterValue("Value for parameter TaskHandle is invalid. Reason: TaskHandle is required.")
        return {"ApproximateNumberOfMessagesMoved": self.service.cancel(p.get("TaskHandle"))}

    # ---- query protocol -------------------------------------------------------------------------
    def _query_params(self, environ: dict) -> dict[str, str] | None:
        """The form/query parameters if this is one of our actions in the query protocol, else ``None``.

        A form body we read is put back on ``wsgi.input`` so moto still sees it.
        """
        qs = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if qs.get("Action") in ACTIONS:
            return qs
        ctype = environ.get("CONTENT_TYPE", "")
        if environ.get("REQUEST_METHOD") != "POST" or not ctype.startswith("application/x-www-form-urlencoded"):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= _MAX_FORM_BYTES:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        return form if form.get("Action") in ACTIONS else None

    def _query(self, p: dict[str, str], start_response: Callable) -> Iterable[bytes]:
        action = p["Action"]
        request_id = str(uuid.uuid4())
        try:
            params: dict[str, Any] = dict(p)
            for k in ("MaxNumberOfMessagesPerSecond", "MaxResults"):
                if k in params:
                    try:
                        params[k] = int(params[k])
                    except ValueError:
                        raise InvalidParameterValue(f"Value {params[k]} for parameter {k} is invalid.") from None
            result = self._dispatch(action, params)
            inner = "".join(_xml_value(k, v) for k, v in result.items())
            xml = (f'<{action}Response xmlns="{_XMLNS}"><{action}Result>{inner}</{action}Result>'
                   f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>")
            status = "200 OK"
        except MessageMoveError as err:
            xml = (f'<ErrorResponse xmlns="{_XMLNS}"><Error><Type>Sender</Type><Code>{err.code}</Code>'
                   f"<Message>{escape(err.message)}</Message><Detail/></Error>"
                   f"<RequestId>{request_id}</RequestId></ErrorResponse>")
            status = f"{err.status} Bad Request"
        data = xml.encode()
        start_response(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id),
                                ("Content-Length", str(len(data)))])
        return [data]


def _xml_value(name: str, value: Any) -> str:
    if isinstance(value, list):  # flattened list: the member repeats under the list's own name
        return "".join(_xml_value(name, v) for v in value)
    if isinstance(value, dict):
        return f"<{name}>{''.join(_xml_value(k, v) for k, v in value.items())}</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def _read_body(environ: dict) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""
