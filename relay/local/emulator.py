"""Emulated AWS for the local stage: moto's server, in-process, with its Lambda triggers taken over.

Usage::

    with Emulator(port=0) as emu:           # port 0 → a free loopback port
        s3 = emu.client("s3")
        emu.on_s3_notification(lambda fn_arn, event: queue.put((fn_arn, event)))

While an emulator runs, moto never "invokes" a function by itself (see :mod:`relay.local.triggers`):
S3 notifications go to the registered callbacks, SQS messages stay in their queue and DynamoDB stream
records stay in their shard until the local data plane reads them through the public APIs.
Event source mappings are checked against AWS's limits (:mod:`relay.local.esm_rules`), and SQS gains
the message-move API (:mod:`relay.local.message_move`).

moto keeps its backends per *process*: two emulators in one process share one state. Tests use
unique names (or :meth:`Emulator.reset`).
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable

from relay.local import inprocess_transport, sns_triggers, triggers

__all__ = ["Emulator", "DEFAULT_REGION", "DEFAULT_PORT", "LOCAL_CREDENTIALS"]

DEFAULT_PORT = 4566
DEFAULT_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict, Callable], Any]


def _install_moto_patches() -> None:
    """relay's changes to moto: triggers taken over, AWS's mapping rules, the SQS clock and locks, SES's events,
    and the start-up savings of :mod:`relay.local.patches` (each installed once per process)."""
    from relay.local import esm_rules, moto_speedups, moto_sqs, moto_thread_safety, patches, ses_events, sns_triggers

    patches.share_botocore_loaders()  # first: before moto or relay creates a botocore session
    patches.defer_ec2_for_ssm()
    patches.defer_kms_key_pairs()
    patches.defer_werkzeug_url_builders()
    triggers.install()
    sns_triggers.install()
    ses_events.install()
    esm_rules.install()
    moto_speedups.install()
    moto_thread_safety.install()
    moto_sqs.install_origin_tracking()


class _Server:
    """moto's ``ThreadedMotoServer`` with one change: the WSGI app can be wrapped (message-move API)."""

    def __init__(self, host: str, port: int, wrap: Callable[[WsgiApp], WsgiApp]) -> None:
        self._host, self._port, self._wrap = host, port, wrap
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.app: WsgiApp | None = None

    def start(self) -> tuple[str, int]:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = self.app = self._wrap(DomainDispatcherApplication(create_backend_app))
        # bind here (not in the thread) so a busy port fails start() instead of a background thread
        self._server = make_server(self._host, self._port, app, threaded=True,
                                   request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="relay-emulator",
                                        daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None


class Emulator:
    """moto server on loopback with relay's trigger takeover, message-move API and optional state dir.

    Parameters
    ----------
    host
        Address to bind; loopback by default (the local stage never listens elsewhere).
    port
        TCP port; ``0`` picks a free one (read :attr:`endpoint_url` after :meth:`start`).
    state_dir
        If given, :meth:`stop` snapshots queues with their messages (DLQ contents above all), buckets
        with their objects and tables with their items there, and :meth:`start` restores them; the
        rest is deployed again from the program (see :mod:`relay.local.snapshot`). Without it the
        local stage starts empty.
    region
        Region the helpers (:meth:`client`) use.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state_dir: str | Path | None = None,
                 region: str = DEFAULT_REGION) -> None:
        self.host = host
        self.port = port
        self.region = region
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self._server: _Server | None = None
        self._endpoint_url: str | None = None
        self._listeners: list[triggers.S3NotificationCallback] = []
        self._sns_listeners: list[sns_triggers.SnsNotificationCallback] = []
        self._invoke_handler: triggers.InvokeHandler | None = None
        self._mover: Any = None
        self.restored: dict[str, int] | None = None   # what start() restored from state_dir
        self.saved: dict[str, int] | None = None      # what stop() wrote to state_dir

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> str:
        """Start serving; return the endpoint URL (``http://127.0.0.1:<port>``)."""
        if self._server is not None:
            return self.endpoint_url
        _install_moto_patches()
        # werkzeug logs every request at INFO; the local stage serves thousands per second
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        from relay.local.message_move import MessageMoveService
        from relay.local.message_move_http import MessageMoveMiddleware

        mover = self._mover = MessageMoveService()
        # WSGI middleware answering the message-move actions, passing everything else to moto
        self._server = _Server(self.host, self.port, lambda app: MessageMoveMiddleware(app, mover))
        try:
            host, port = self._server.start()
        except BaseException:
            self._server = None
            raise
        self._endpoint_url = f"http://{host}:{port}"
        # calls from this process skip the socket (see relay.local.inprocess_transport)
        inprocess_transport.register(self._endpoint_url, self._server.app)
        if self.state_dir is not None:
            from relay.local import snapshot

            # before any listener is registered: restoring objects must not fire notifications
            self.restored = snapshot.restore(self.state_dir, self.client)
        for cb in self._listeners:
            triggers.add_s3_listener(cb)
        for sns_cb in self._sns_listeners:
            sns_triggers.add_sns_listener(sns_cb)
        if self._invoke_handler is not None:
            triggers.set_invoke_handler(self._invoke_handler)
        return self._endpoint_url

    def stop(self) -> None:
        """Stop serving (and snapshot to ``state_dir`` if one was given). Safe to call twice."""
        if self._server is None:
            return
        for cb in self._listeners:
            triggers.remove_s3_listener(cb)
        for sns_cb in self._sns_listeners:
            sns_triggers.remove_sns_listener(sns_cb)
        if self._invoke_handler is not None:
            triggers.clear_invoke_handler(self._invoke_handler)
        if self._mover is not None:
            self._mover.shutdown()
        try:
            if self.state_dir is not None:
                from relay.local import snapshot

                # while the server still answers: the snapshot reads S3 and DynamoDB through their APIs
                self.saved = snapshot.save(self.state_dir, self.client)
        finally:
            inprocess_transport.unregister(self._endpoint_url or "")
            self._server.stop()
            self._server = None

    def __enter__(self) -> "Emulator":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def endpoint_url(self) -> str:
        """``http://host:port`` of the running emulator."""
        if self._endpoint_url is None:
            raise RuntimeError("Emulator is not started: call start() first")
        return self._endpoint_url

    # ---- hooks --------------------------------------------------------------------------------
    def on_s3_notification(self, callback: triggers.S3NotificationCallback) -> None:
        """Register ``callback(function_arn, event)`` for every S3 event aimed at a Lambda function.

        ``event`` is the JSON AWS sends to Lambda (``Records[0].s3.object.key`` URL-encoded). The
        callback runs inside the S3 request, before the PutObject response is sent; it should only
        enqueue. Exceptions are logged and never fail the S3 call.
        """
        self._listeners.append(callback)
        if self._server is not None:
            triggers.add_s3_listener(callback)

    def on_sns_notification(self, callback: sns_triggers.SnsNotificationCallback) -> None:
        """Register ``callback(function_arn, event)`` for every SNS message to a Lambda subscription.

        ``event`` is the JSON SNS sends to Lambda (``Records[0].Sns``); only functions whose policy lets
        ``sns.amazonaws.com`` invoke them from the topic are called (see :mod:`relay.local.sns_triggers`).
        The callback runs inside the ``Publish`` request (or the ``SendEmail`` whose events SES
        publishes); it should only enqueue.
        """
        self._sns_listeners.append(callback)
        if self._server is not None:
            sns_triggers.add_sns_listener(callback)

    def on_lambda_invoke(self, handler: triggers.InvokeHandler) -> None:
        """Route the Lambda ``Invoke`` API to ``handler(function_arn, event, invocation_type)``.

        For ``RequestResponse`` the handler's return value is the response payload (JSON); raise
        :class:`relay.local.dataplane.invoker.FunctionError` for a function error. For ``Event`` (what the
        console's async-DLQ redrive sends) the call returns 202 at once: the handler should only
        enqueue. Without a handler, moto answers as it does without Docker (runs nothing).
        """
        self._invoke_handler = handler
        if self._server is not None:
            triggers.set_invoke_handler(handler)

    # ---- helpers ------------------------------------------------------------------------------
    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` pointed at this emulator (local credentials)."""
        import boto3

        opts: dict[str, Any] = {"endpoint_url": self.endpoint_url, "region_name": self.region,
                                **LOCAL_CREDENTIALS}
        opts.update(kwargs)
        return boto3.client(service, **opts)

    def reset(self) -> None:
        """Forget every emulated resource (moto's ``/moto-api/reset``)."""
        from moto.moto_api._internal.models import moto_api_backend

        if self._mover is not None:
            self._mover.shutdown()
        moto_api_backend.reset()
