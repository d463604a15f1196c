"""What a stage's delivery settings must hold (providers, email, SMS, SMTP): rules and address helpers (pure).

:meth:`infra.config.StageConfig.validate` calls :func:`validate_delivery`; a provider without what it
needs is refused before any resource is created.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from infra.config_errors import ConfigError

__all__ = ["validate_delivery", "mail_address", "identity_covers", "reserved_mail_domain", "SMS_TYPES",
           "SMS_SENDER_ID", "SSM_PARAMETER", "SECRET_ID", "RESERVED_MAIL_DOMAINS", "RESERVED_MAIL_TLDS"]

SMS_TYPES = ("Transactional", "Promotional")
SMS_SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$")
SSM_PARAMETER = re.compile(r"^/?[A-Za-z0-9_.\-/]{1,1011}$")
SECRET_ID = re.compile(r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@\-]{1,512}$")
# Domains reserved for examples and tests (RFC 2606, RFC 6761): mail to them reaches no one, so an
# alarm address there is a placeholder that was never replaced.
RESERVED_MAIL_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_MAIL_TLDS = ("example", "invalid", "test", "localhost")


def validate_delivery(cfg: Any, fail: Callable[[str, str], None]) -> None:
    """What each configured provider needs; ``fail(attr, rule)`` raises the config error naming the key.

    Raises
    ------
    infra.config.ConfigError
        For the first setting that breaks a rule.
    """
    if cfg.email_from and not mail_address(cfg.email_from):
        fail("email_from", "must be an email address, or 'Name <address>'")
    if cfg.email_identity and not identity_covers(cfg.email_identity, mail_address(cfg.email_from)):
        fail("email_identity", f"must be the address of relay:emailFrom or its domain "
             f"({mail_address(cfg.email_from) or 'relay:emailFrom is not set'}): SES sends only from "
             "addresses its identity covers")
    for address in cfg.email_reply_to:
        if not mail_address(address):
            raise ConfigError(f"relay:emailReplyTo entry {address!r}: must be an email address")
    if cfg.uses("ses") and not cfg.email_from:
        raise ConfigError(
            "relay:emailFrom is not set: relay:providers.email = 'ses' needs the From address of a verified "
            f"SES identity (`pulumi config set --stack {cfg.stage} relay:emailFrom notifications@<your domain>`; "
            "docs/providers.md)")
    if cfg.uses("smtp") and not cfg.smtp_host:
        raise ConfigError("relay:smtpHost is not set: relay:providers.email = 'smtp' needs the relay host")
    if not 1 <= cfg.smtp_port <= 65_535:
        fail("smtp_port", "must be a TCP port (1-65535)")
    if cfg.sms_type not in SMS_TYPES:
        fail("sms_type", f"must be one of {', '.join(SMS_TYPES)} (SNS's SMS types)")
    if cfg.sms_sender_id and not SMS_SENDER_ID.match(cfg.sms_sender_id):
        fail("sms_sender_id", "must be 1-11 letters and digits with at least one letter (SNS's sender id rule)")
    if cfg.smtp_password_parameter and cfg.smtp_password_secret:
        fail("smtp_password_secret", "set either relay:smtpPasswordParameter or relay:smtpPasswordSecret, not both")
    has_password = bool(cfg.smtp_password_parameter or cfg.smtp_password_secret)
    if cfg.smtp_username and not has_password:
        fail("smtp_username", "needs relay:smtpPasswordParameter (an SSM SecureString) or "
             "relay:smtpPasswordSecret (a Secrets Manager secret) holding the password")
    if has_password and not cfg.smtp_username:
        fail("smtp_username", "is not set, but a password source is: name the login")
    if cfg.smtp_username and not cfg.smtp_starttls:
        fail("smtp_starttls", "must be true when relay:smtpUsername is set: credentials are never sent in clear")
    if cfg.smtp_password_parameter and not SSM_PARAMETER.match(cfg.smtp_password_parameter):
        fail("smtp_password_parameter", "must be an SSM parameter name (/path/name)")
    if cfg.smtp_password_secret and not SECRET_ID.match(cfg.smtp_password_secret):
        fail("smtp_password_secret", "must be a Secrets Manager secret name or ARN")


def mail_address(value: str) -> str:
    """``"Relay <n@acme.io>"`` → ``"n@acme.io"``; ``""`` when ``value`` holds no plausible address."""
    from email.utils import parseaddr

    _, address = parseaddr(value or "")
    local, at, domain = address.rpartition("@")
    return address if at and local and "." in domain and " " not in address else ""


def identity_covers(identity: str, address: str) -> bool:
    """SES: an address identity covers itself; a domain identity covers every address of the domain."""
    if not address:
        return False
    identity = identity.lower()
    return address.lower() == identity if "@" in identity else address.lower().rpartition("@")[2] == identity


def reserved_mail_domain(address: str) -> bool:
    """Whether ``address`` is at a domain reserved for examples and tests: no one would read the mail."""
    domain = address.rpartition("@")[2].strip().lower().rstrip(".")
    return (domain in RESERVED_MAIL_DOMAINS or domain.endswith(tuple(f".{d}" for d in RESERVED_MAIL_DOMAINS))
            or domain.rpartition(".")[2] in RESERVED_MAIL_TLDS)
