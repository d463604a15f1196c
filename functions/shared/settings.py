"""Handler settings, read from the environment in exactly one place.

Infra hands settings to handlers only through UPPER_SNAKE environment variables (docs/CONTRACTS.md).
Every other module asks :func:`get_settings` and never reads ``os.environ`` itself, so tests can set
the environment, call :func:`reset_settings` and see the new values.
"""
from __future__ import annotations

from functions.shared.warm import on_reset

import json
import os
from dataclasses import dataclass, field
from typing import Mapping

__all__ = ["Settings", "SettingsError", "get_settings", "reset_settings", "DEFAULT_PROVIDER", "API_AUTH_MODES"]

DEFAULT_PROVIDER = "outbox"
# keys: the api function checks API keys itself (its Function URL is AuthType NONE);
# iam: the Function URL is AWS_IAM, so SigV4 already let only signed callers in
API_AUTH_MODES = ("keys", "iam")


class SettingsError(ValueError):
    """An environment variable has a value the handlers cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    """The environment of a relay function, typed."""

    stage: str = "local"
    request_bucket: str = ""
    message_table: str = ""
    log_table: str = ""
    state_table: str = ""
    job_queue_url: str = ""
    providers: Mapping[str, str] = field(default_factory=dict)
    smtp_host: str = ""
    smtp_port: int = 25
    fetch_allow: frozenset[tuple[str, int]] = frozenset()
    api_max_body_bytes: int = 262_144
    message_retention_days: int = 30
    api_auth: str = "keys"
    # email (ses, and smtp's From) and sms (sns) delivery; docs/configuration.md, docs/providers.md
    email_from: str = ""
    email_reply_to: tuple[str, ...] = ()
    email_configuration_set: str = ""
    sms_sender_id: str = ""
    sms_type: str = "Transactional"
    # STARTTLS unless a stage turns it off; credentials never travel without it (config refuses that)
    smtp_starttls: bool = True
    smtp_username: str = ""
    smtp_password_parameter: str = ""
    smtp_password_secret: str = ""

    def provider_for(self, channel: str) -> str:
        """Provider name for ``channel`` (``outbox`` unless ``PROVIDERS`` says otherwise)."""
        return self.providers.get(channel, DEFAULT_PROVIDER)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Build from ``env`` (default ``os.environ``).

        Raises
        ------
        SettingsError
            When a numeric or JSON variable cannot be parsed; the message names the variable.
        """
        env = os.environ if env is None else env
        stage = env.get("STAGE", "local")
        return cls(
            stage=stage,
            request_bucket=env.get("REQUEST_BUCKET", ""),
            message_table=env.get("MESSAGE_TABLE", f"relay-{stage}-messages"),
            log_table=env.get("LOG_TABLE", f"relay-{stage}-message-log"),
            state_table=env.get("STATE_TABLE", f"relay-{stage}-state"),
            job_queue_url=env.get("JOB_QUEUE_URL", ""),
            providers=_providers(env.get("PROVIDERS", "")),
            smtp_host=env.get("SMTP_HOST", ""),
            smtp_port=_int(env, "SMTP_PORT", 25),
            fetch_allow=parse_fetch_allow(env.get("FETCH_ALLOW", "")),
            api_max_body_bytes=_int(env, "API_MAX_BODY_BYTES", 262_144),
            message_retention_days=_int(env, "MESSAGE_RETENTION_DAYS", 30),
            api_auth=_api_auth(env.get("API_AUTH", "")),
            email_from=env.get("EMAIL_FROM", "").strip(),
            email_reply_to=tuple(a.strip() for a in env.get("EMAIL_REPLY_TO", "").split(",") if a.strip()),
            email_configuration_set=env.get("EMAIL_CONFIGURATION_SET", "").strip(),
            sms_sender_id=env.get("SMS_SENDER_ID", "").strip(),
            sms_type=env.get("SMS_TYPE", "").strip() or "Transactional",
            smtp_starttls=_bool(env, "SMTP_STARTTLS", True),
            smtp_username=env.get("SMTP_USERNAME", ""),
            smtp_password_parameter=env.get("SMTP_PASSWORD_PARAMETER", "").strip(),
            smtp_password_secret=env.get("SMTP_PASSWORD_SECRET", "").strip(),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: must be an integer") from None


def _api_auth(raw: str) -> str:
    # unset means keys: an api function that was not told otherwise never serves an open door
    value = raw.strip().lower() or "keys"
    if value not in API_AUTH_MODES:
        raise SettingsError(f"API_AUTH={raw!r}: must be one of {', '.join(API_AUTH_MODES)}")
    return value


def _providers(raw: str) -> dict[str, str]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise SettingsError(f"PROVIDERS={raw!r}: must be a JSON object channel -> provider") from None
    if not isinstance(value, dict):
        raise SettingsError(f"PROVIDERS={raw!r}: must be a JSON object channel -> provider")
    return {str(k): str(v) for k, v in value.items()}


def parse_fetch_allow(raw: str) -> frozenset[tuple[str, int]]:
    """``"127.0.0.1:8080, api.local:443"`` → ``{("127.0.0.1", 8080), ("api.local", 443)}``.

    Raises
    ------
    SettingsError
        For an entry that is not ``host:port``.
    """
    out: set[tuple[str, int]] = set()
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        host, sep, port = entry.rpartition(":")
        if not sep or not host or not (port.isascii() and port.isdigit()):
            raise SettingsError(f"FETCH_ALLOW entry {entry!r}: must be 'host:port'")
        out.add((host.strip("[]").lower(), int(port)))
    return frozenset(out)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise SettingsError(f"{name}={env.get(name)!r}: must be true or false")


_cached: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    global _cached
    if _cached is None:
        _cached = Settings.from_env()
    return _cached


@on_reset
def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    global _cached
    _cached = None
