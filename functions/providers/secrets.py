"""Provider credentials read at run time from SSM Parameter Store or Secrets Manager, never from the repo.

The stage config names *where* a secret lives (``relay:smtpPasswordParameter`` — an SSM SecureString —
or ``relay:smtpPasswordSecret`` — a Secrets Manager secret); the value is fetched on the first
delivery that needs it and kept for the life of the container. :meth:`SecretValue.forget` drops it,
so a rotated password is read again after the server refuses the old one.
"""
from __future__ import annotations

import json
import threading
from typing import Any, Callable

from functions.shared.errors import RetryableError

__all__ = ["SecretValue", "ssm_secure_string", "secrets_manager_secret"]


class SecretValue:
    """A secret fetched once by ``fetch`` (thread-safe), described by ``where`` in errors (never the value)."""

    def __init__(self, where: str, fetch: Callable[[], str]) -> None:
        self.where = where
        self._fetch = fetch
        self._value: str | None = None
        self._lock = threading.Lock()

    def get(self) -> str:
        """The secret.

        Raises
        ------
        RetryableError
            When the store cannot be read (missing, denied, throttled): the delivery is retried and,
            failing that, kept in the async DLQ until an operator fixes the stage.
        """
        with self._lock:
            if self._value is None:
                try:
                    self._value = self._fetch()
                except RetryableError:
                    raise
                except Exception as exc:  # noqa: BLE001 - any store failure: retry, never deliver without it
                    raise RetryableError(f"cannot read {self.where}: {type(exc).__name__}: {exc}") from exc
            return self._value

    def forget(self) -> None:
        """Read the secret again next time (after the server refused it: it may have been rotated)."""
        with self._lock:
            self._value = None

    def __repr__(self) -> str:  # never the value, even in a traceback's locals
        return f"SecretValue({self.where!r})"


def ssm_secure_string(name: str, client: Callable[[], Any] | None = None) -> SecretValue:
    """The SSM parameter ``name`` (a SecureString), decrypted."""
    def fetch() -> str:
        from functions.shared import aws

        ssm = client() if client is not None else aws.client("ssm")
        return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])

    return SecretValue(f"SSM parameter {name}", fetch)


def secrets_manager_secret(secret_id: str, field: str = "password",
                           client: Callable[[], Any] | None = None) -> SecretValue:
    """The Secrets Manager secret ``secret_id``: its string, or ``field`` of it when it is a JSON object."""
    def fetch() -> str:
        from functions.shared import aws

        sm = client() if client is not None else aws.client("secretsmanager")
        raw = sm.get_secret_value(SecretId=secret_id).get("SecretString") or ""
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError:
            return raw
        if isinstance(doc, dict):
            if field not in doc:
                raise RetryableError(f"secret {secret_id} is a JSON object without a {field!r} key")
            return str(doc[field])
        return raw

    return SecretValue(f"Secrets Manager secret {secret_id}", fetch)
