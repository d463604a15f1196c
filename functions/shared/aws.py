"""Lazily created, cached boto3 clients and resources.

boto3 itself is imported on first use, so a handler whose path never touches AWS pays nothing, and
a warm Lambda reuses its clients. boto3 honours ``AWS_ENDPOINT_URL`` natively (the local stage sets
it to the emulator). Tests call :func:`reset_clients` after changing the endpoint or credentials.
"""
from __future__ import annotations

import threading
from typing import Any

from functions.shared.warm import on_reset

__all__ = ["client", "resource", "reset_clients"]

_clients: dict[str, Any] = {}
_resources: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str, *, single_attempt: bool = False) -> Any:
    """A cached ``boto3.client(service)``.

    ``single_attempt=True`` gives a client that makes one attempt per call (botocore's own retries
    off), for a caller that retries itself: the providers back off within the send worker's time
    budget (:mod:`functions.providers.retry`), and two retry loops would multiply each other.
    """
    key = f"{service}#single" if single_attempt else service
    found = _clients.get(key)
    if found is None:
        with _lock:  # boto3's default session is not safe to create clients from in parallel
            found = _clients.get(key)
            if found is None:
                import boto3

                config = None
                if single_attempt:
                    from botocore.config import Config

                    config = Config(retries={"total_max_attempts": 1}, connect_timeout=3, read_timeout=10)
                found = _clients[key] = boto3.session.Session().client(service, config=config)
    return found


def resource(service: str) -> Any:
    """A cached ``boto3.resource(service)``."""
    found = _resources.get(service)
    if found is None:
        with _lock:
            found = _resources.get(service)
            if found is None:
                import boto3

                found = _resources[service] = boto3.session.Session().resource(service)
    return found


@on_reset
def reset_clients() -> None:
    """Drop every cached client (the next call creates one from the current environment)."""
    with _lock:
        _clients.clear()
        _resources.clear()
