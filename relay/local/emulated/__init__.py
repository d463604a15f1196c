"""Create (or update in place) one Pulumi resource in the emulator, and answer Pulumi data sources.

Each handler takes the resource's Pulumi inputs (camelCase, as the pulumi-aws schema names them) and
returns ``(id, outputs)`` with the real ids, ARNs and URLs the emulator assigned. Every handler looks
the resource up by its physical name first, so deploying twice converges instead of duplicating.

Only what the relay program uses is mapped; an unknown type is reported (``unmapped``) and given its
inputs back so the program can still finish.

One module per service (``s3``, ``sqs``, ``dynamodb``, ``iam_logs``, ``lambda_``, ``sns_cloudwatch_ssm``, ``ses``),
each with a ``HANDLERS`` table from Pulumi type token to handler, as moto keeps one package per service.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from relay.local.emulated.base import PLACEHOLDER_CODE_ZIP, Handler, Outputs, ints

__all__ = ["EmulatedResources", "PLACEHOLDER_CODE_ZIP"]

log = logging.getLogger(__name__)


class EmulatedResources:
    """boto3 against the emulator, one handler per Pulumi type token.

    Parameters
    ----------
    endpoint_url, region
        Where the emulator is.
    api_url
        The local HTTP API's URL: what a ``FunctionUrl`` resolves to in the local stage.
    """

    def __init__(self, endpoint_url: str, region: str, api_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.api_url = api_url
        self.unmapped: list[str] = []
        self._clients: dict[str, Any] = {}
        self._session: Any = None
        self._lock = threading.Lock()
        self._account: str | None = None

    # ---- plumbing -------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is not None:
            return client
        # Pulumi registers resources from a thread pool, and creating clients from one session is not
        # thread-safe: create each client once, under the lock. One session for all of them: a session
        # registers ~150 event handlers when it is made (~5 ms each, a dozen times per deploy otherwise).
        with self._lock:
            if service not in self._clients:
                if self._session is None:
                    import boto3

                    self._session = boto3.session.Session()
                self._clients[service] = self._session.client(
                    service, endpoint_url=self.endpoint_url, region_name=self.region,
                    aws_access_key_id="testing", aws_secret_access_key="testing")
            return self._clients[service]

    @property
    def account(self) -> str:
        if self._account is None:
            self._account = self.client("sts").get_caller_identity()["Account"]
        return self._account

    def create(self, typ: str, name: str, inputs: dict) -> tuple[str, Outputs]:
        """Create or update the resource ``typ`` named ``name`` (Pulumi's logical name)."""
        handler = _handlers().get(typ)
        if handler is None:
            log.warning("local deploy: %s (%s) has no emulator mapping; its inputs are passed through", typ, name)
            self.unmapped.append(typ)
            return name, dict(inputs)
        rid, outputs = handler(self, name, ints(inputs))
        return rid, {**inputs, **outputs, "id": rid}

    def call(self, token: str, args: dict) -> dict:
        """Answer a data source (``aws:index/getCallerIdentity:getCallerIdentity`` …)."""
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            ident = self.client("sts").get_caller_identity()
            return {"accountId": ident["Account"], "arn": ident["Arn"], "userId": ident["UserId"],
                    "id": ident["Account"]}
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com", "description": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws",
                    "reverseDnsPrefix": "com.amazonaws"}
        log.warning("local deploy: data source %s has no emulator mapping", token)
        self.unmapped.append(token)
        return {}

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"


_table: dict[str, Handler] = {}


def _handlers() -> dict[str, Handler]:
    """Every service module's handlers (imported on first use: they import this module for typing)."""
    if not _table:
        from relay.local.emulated import dynamodb, iam_logs, lambda_, s3, ses, sns_cloudwatch_ssm, sqs

        for module in (s3, sqs, dynamodb, iam_logs, lambda_, sns_cloudwatch_ssm, ses):
            _table.update(module.HANDLERS)
    return _table
