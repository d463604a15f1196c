"""The local stage's API key: one key with every scope, kept in SSM ``/relay/<stage>/api-key`` (SecureString).

``make run``, the README's curl examples and the tests read it from there, so calling the local API needs
no step of its own::

    KEY=$(aws ssm get-parameter --name /relay/local/api-key --with-decryption --query Parameter.Value --output text)

It is created when the stage starts without one: on the first start, and on a restart from a saved state
dir (the snapshot keeps tables, not parameters), where the previous ``local`` key — whose secret is gone
with the parameter — is revoked and replaced. The key is never printed.
"""
from __future__ import annotations

from typing import Any

from functions.api.auth import SCOPES, hash_key

__all__ = ["ensure_api_key", "api_key_parameter", "KEY_NAME"]

KEY_NAME = "local"


def api_key_parameter(stage: str) -> str:
    """``/relay/<stage>/api-key``."""
    return f"/relay/{stage}/api-key"


def _stored_secret(ssm: Any, name: str) -> str | None:
    try:
        return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise


def ensure_api_key(ssm: Any, ddb: Any, stage: str, state_table: str) -> str:
    """The stage's key from SSM if it still works, else a new one with every scope, stored in SSM.

    Parameters
    ----------
    ssm, ddb
        boto3 clients for the emulator.
    stage
        The stage name (the parameter is ``/relay/<stage>/api-key``).
    state_table
        Where API keys live (the stage output ``state_table``).

    Returns
    -------
    str
        The key (for the harness in this process; never printed).
    """
    from functions.api import keys

    parameter = api_key_parameter(stage)
    secret = _stored_secret(ssm, parameter)
    if secret is not None:
        live = {k.key_hash for k in keys.list_keys(ddb, state_table) if not k.revoked}
        if hash_key(secret) in live:
            return secret
    try:
        secret, _ = keys.create_key(ddb, state_table, KEY_NAME, SCOPES)
    except keys.KeyNameTaken:
        # a restored table still has the previous start's key, whose secret went with the parameter
        keys.revoke_key(ddb, state_table, KEY_NAME)
        secret, _ = keys.create_key(ddb, state_table, KEY_NAME, SCOPES)
    ssm.put_parameter(Name=parameter, Value=secret, Type="SecureString", Overwrite=True,
                      Description=f"API key '{KEY_NAME}' of the {stage} stage (every scope)")
    return secret
