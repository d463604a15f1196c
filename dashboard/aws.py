"""The console's one boto3 client cache (no streamlit here).

:func:`clients` hands out one :class:`Aws` per endpoint and region, shared by every session; an
:class:`Aws` creates each service's client on first use. boto3 honours ``AWS_ENDPOINT_URL``,
``AWS_PROFILE`` and ``AWS_REGION``/``AWS_DEFAULT_REGION`` from the environment, so the same console talks
to the local stage's emulator, dev or prod unchanged.
"""
from __future__ import annotations

import ipaddress
import os
import threading
from typing import Any
from urllib.parse import urlparse

__all__ = ["Aws", "clients", "endpoint_url", "is_local_endpoint"]


def endpoint_url() -> str:
    """The endpoint override in effect (empty string: real AWS)."""
    return os.environ.get("AWS_ENDPOINT_URL", "")


def is_local_endpoint(url: str | None = None) -> bool:
    """True when the endpoint is on loopback: the local stage, which needs no login."""
    url = endpoint_url() if url is None else url
    if not url:
        return False
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Aws:
    """A bag of boto3 clients created on first use (one per service), safe across threads."""

    def __init__(self, region: str | None = None) -> None:
        self._region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        """The session's client for ``service`` (``sqs``, ``ssm``, ``lambda`` …)."""
        found = self._clients.get(service)
        if found is None:
            with self._lock:
                found = self._clients.get(service)
                if found is None:
                    import boto3  # imported lazily: the pure pages and the tests of pure code never pay for it

                    found = self._clients[service] = boto3.session.Session(region_name=self._region).client(service)
        return found

    @property
    def sqs(self) -> Any:
        return self.client("sqs")

    @property
    def ssm(self) -> Any:
        return self.client("ssm")

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @property
    def lambda_(self) -> Any:
        return self.client("lambda")

    @property
    def cloudwatch(self) -> Any:
        return self.client("cloudwatch")

    @property
    def streams(self) -> Any:
        return self.client("dynamodbstreams")


_by_endpoint: dict[tuple[str, str], Aws] = {}
_by_endpoint_lock = threading.Lock()


def clients(region: str = "us-east-1") -> Aws:
    """The clients for the current endpoint and ``region`` (one set per pair, shared by every session)."""
    key = (endpoint_url(), region)
    with _by_endpoint_lock:
        found = _by_endpoint.get(key)
        if found is None:
            found = _by_endpoint[key] = Aws(region)
    return found
