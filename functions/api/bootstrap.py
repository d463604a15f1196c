"""Wire the API's service to its boto3 adapters from the function's settings (once per container)."""
from __future__ import annotations

import time

from functions.shared.warm import cached
from functions.api.service import ApiPorts

__all__ = ["build_ports", "reset_ports"]


@cached
def build_ports() -> ApiPorts:
    """The adapters for the current settings (cached; tests call :func:`reset_ports`)."""
    from functions.api.adapters import (
        DynamoApiKeyStore, DynamoIdempotencyStore, DynamoStatusReader, S3AcceptedRequestStore,
    )
    from functions.api.auth import KeyAuthenticator
    from functions.api.courier_adapters import AwsCourierStore
    from functions.shared.ids import new_request_id, new_run_id
    from functions.shared.settings import get_settings

    s = get_settings()
    # the authenticator lives as long as the container: its lookup cache is what keeps auth to one read
    # per key per CACHE_TTL_S
    keys = (KeyAuthenticator(DynamoApiKeyStore(s.state_table), warn=_warn) if s.api_auth == "keys" else None)
    return ApiPorts(
        store=S3AcceptedRequestStore(s.request_bucket), idempotency=DynamoIdempotencyStore(s.state_table),
        reads=DynamoStatusReader(s.log_table, s.state_table), now_s=lambda: int(time.time()),
        new_request_id=new_request_id, new_run_id=new_run_id, keys=keys,
        courier=AwsCourierStore(s.request_bucket, s.log_table, s.message_table, s.state_table),
    )


def _warn(message: str) -> None:
    from aws_lambda_powertools.logging import Logger

    Logger(service="api").warning(message)


def reset_ports() -> None:
    """Forget the wired ports (tests change settings between cases)."""
    build_ports.cache_clear()
