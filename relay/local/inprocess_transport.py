"""AWS calls from inside the local stage's process, served by the emulator without a socket.

The emulator is moto's server in this process: every call a handler, the data plane or the deploy makes
would otherwise be an HTTP round trip to ourselves — a socket, a request line and headers written and
parsed twice, a server thread per request — all of it CPU on the GIL that the handlers need. AWS's
latency is modelled separately (:mod:`relay.local.dataplane.latency`); this overhead is not AWS's, it
is the emulator's, and on two cores it was half of what a call cost (``bench/local.py``).

So a botocore ``before-send`` hook hands every request aimed at a running in-process emulator straight
to the emulator's WSGI application — the very app its HTTP server serves, message-move API included —
and returns its answer as botocore's response. Nothing else changes: the same routing by host and
headers, the same URLs in responses (the request keeps the emulator's host), the same S3 notification
callbacks (now on the caller's thread, where a PUT's event is queued before the PUT returns). Other
processes (the console, the AWS CLI, tests) still reach the emulator over HTTP.

``RELAY_INPROCESS_AWS=0`` turns it off (every call over HTTP, as before), for comparison.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable
from urllib.parse import urlsplit

from relay.local.patches import botocore_hook, once

__all__ = ["register", "unregister", "install", "ENV"]

ENV = "RELAY_INPROCESS_AWS"
WsgiApp = Callable[[dict, Callable], Any]

_lock = threading.Lock()
_apps: dict[str, WsgiApp] = {}  # "http://127.0.0.1:port" → the emulator's WSGI app


def _enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no")


def register(endpoint_url: str, app: WsgiApp) -> None:
    """Serve calls to ``endpoint_url`` (scheme://host:port) from ``app`` in this process."""
    install()
    with _lock:
        _apps[endpoint_url.rstrip("/")] = app


def unregister(endpoint_url: str) -> None:
    with _lock:
        _apps.pop(endpoint_url.rstrip("/"), None)


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    return b"".join(c.encode("utf-8") if isinstance(c, str) else c for c in body)  # an iterable of chunks


def _dispatch(request: Any = None, **_: Any) -> Any:
    if request is None or not _apps or not _enabled():
        return None
    parts = urlsplit(request.url)
    app = _apps.get(f"{parts.scheme}://{parts.netloc}")
    if app is None:
        return None
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders
    from moto.core.botocore_stubber import MockRawResponse
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    headers = {k: (v.decode("utf-8") if isinstance(v, bytes) else v) for k, v in request.headers.items()
               if k.lower() not in ("transfer-encoding", "content-length", "expect")}
    environ = EnvironBuilder(path=parts.path or "/", query_string=parts.query, method=request.method,
                             headers=headers, data=_body_bytes(request.body),
                             base_url=f"{parts.scheme}://{parts.netloc}").get_environ()
    app_iter, status, response_headers = run_wsgi_app(app, environ)
    try:
        body = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    out = HTTPHeaders()
    for key, value in response_headers.items():
        out[key] = value
    return AWSResponse(request.url, int(status.split(" ", 1)[0]), out, MockRawResponse(body))


@once
def install() -> None:
    """Register the hook for every botocore session created from now on (idempotent)."""
    botocore_hook("before-send", _dispatch)
