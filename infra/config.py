"""Typed stage configuration, read once.

Every difference between stages lives in ``Pulumi.<stage>.yaml`` under the ``relay:`` namespace.
The same :class:`StageConfig` is built three ways, so the Pulumi program, the local stage, the console
(drift display) and the capacity model can never disagree on a default:

* :func:`from_pulumi` inside the Pulumi program (``pulumi.Config("relay")``);
* :func:`load_stage_config` from the YAML file (local stage, console, ``relay capacity``);
* :meth:`StageConfig.from_mapping` from a plain dict (tests).

Validation happens before any resource is created and names the key and the AWS rule it breaks.
A deployment (:func:`from_pulumi`) adds :meth:`StageConfig.validate_deployment`: alarm actions need a
recipient.
"""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from infra.config_errors import ConfigError
from infra.delivery_rules import mail_address, reserved_mail_domain, validate_delivery
from infra.function_sizing import MemoryConfigError, memory_for, memory_rule, parse_memory_map
from infra.layer.lambda_platform import ARCHITECTURES, DEFAULT_ARCHITECTURE

__all__ = ["ConfigError", "StageConfig", "load_stage_config", "from_pulumi", "PROJECT_ROOT", "config_key"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "relay"
# The only values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)
# providers, and the one channel a provider that speaks one medium may deliver
PROVIDERS = ("outbox", "smtp", "webhook", "ses", "sns")
PROVIDER_CHANNEL = {"ses": "email", "sns": "sms", "smtp": "email"}
SNS_TOPIC_ARN = re.compile(
    r"^arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>[A-Za-z0-9_-]{1,256})$")

# relay:apiAuth: "keys" — the api function checks API keys behind a Function URL with AuthType NONE;
# "iam" — the Function URL is AWS_IAM, so only SigV4-signed callers allowed lambda:InvokeFunctionUrl get in
API_AUTH_MODES = ("keys", "iam")
# Lambda keeps at least 100 of an account's concurrency unreserved; with the default account limit of
# 1,000 that leaves at most 900 for reservations (a raised limit allows more: see docs/configuration.md)
MAX_API_RESERVED_CONCURRENCY = 900




def config_key(attr: str) -> str:
    """``job_max_receive_count`` → ``relay:jobMaxReceiveCount`` (the name users type)."""
    head, *rest = attr.split("_")
    return f"{NAMESPACE}:{head}{''.join(p.capitalize() for p in rest)}"


@dataclass(frozen=True)
class StageConfig:
    """All stage settings with their defaults (the dev values unless a stage overrides them)."""

    stage: str
    region: str = "us-east-1"
    log_level: str = "INFO"
    # Lambda memory (MB) per function (infra/function_sizing.py): relay's measured size unless relay:memory
    # names the function; relay:memorySize (0 = unset), kept for stage files from before, sizes the rest
    memory: Mapping[str, int] = field(default_factory=dict)
    memory_size: int = 0
    # CPU architecture of every function and of the dependency layer (arm64 | x86_64)
    architecture: str = DEFAULT_ARCHITECTURE
    # timeout (s) of the api, send worker, request worker and log indexer
    function_timeout: int = 10
    job_worker_timeout: int = 30
    # AWS guidance: visibility timeout >= 6 x the consumer function's timeout
    job_visibility_timeout: int = 180
    # AWS guidance: maxReceiveCount >= 5 so a throttled batch does not dead-letter healthy jobs
    job_max_receive_count: int = 5
    job_batch_size: int = 10
    job_batching_window: int = 0
    stream_batch_size: int = 100
    parallelization_factor: int = 1
    stream_bisect_on_error: bool = True
    stream_max_retries: int = 3
    stream_max_record_age: int = 3600
    log_retention_days: int = 14
    request_retention_days: int = 7
    message_retention_days: int = 30
    versioning: bool = False
    point_in_time_recovery: bool = False
    deletion_protection: bool = False
    alarm_actions: bool = False
    # who hears an alarm: an address subscribed to relay-<stage>-alarms, and/or an existing SNS topic
    # (a pager, a chat bridge) that every alarm notifies as well
    alarm_email: str = ""
    alarm_topic_arn: str = ""
    iterator_age_alarm_ms: int = 60_000
    oldest_job_alarm_seconds: int = 600
    # console operators (OIDC emails) allowed to act; everyone else who logs in is a read-only viewer
    operators: tuple[str, ...] = ()
    # fetch-data / webhook targets on private or loopback addresses that this stage explicitly allows,
    # as "host:port" strings. Empty by default everywhere: no SSRF unless an operator opts in.
    fetch_allow: tuple[str, ...] = ()
    # channel -> provider ("outbox" | "smtp" | "webhook" | "ses" | "sns"); outbox is the default for every channel
    providers: Mapping[str, str] = field(default_factory=dict)
    smtp_host: str = ""
    smtp_port: int = 25
    # email (docs/providers.md): the From address (ses, smtp), the SES identity that authorises it (default:
    # the From address itself; a domain identity covers every address of the domain), reply-to addresses
    email_from: str = ""
    email_identity: str = ""
    email_reply_to: tuple[str, ...] = ()
    # sms through sns: the sender id (where the country supports one) and the SMS type
    sms_sender_id: str = ""
    sms_type: str = "Transactional"
    # smtp: STARTTLS (on: credentials never travel in clear), and the login with its password's home —
    # an SSM SecureString parameter or a Secrets Manager secret, never a value in the stage file
    smtp_starttls: bool = True
    smtp_username: str = ""
    smtp_password_parameter: str = ""
    smtp_password_secret: str = ""
    api_max_body_bytes: int = 262_144
    # who may call the API (API_AUTH_MODES): API keys (default), or SigV4 through the Function URL's AWS_IAM
    api_auth: str = "keys"
    # reserved concurrency of the api function, -1 = none: a cap, so a flood of requests cannot take the
    # concurrency the workers need, and a floor the api always has
    api_reserved_concurrency: int = -1

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, stage: str, values: Mapping[str, Any]) -> "StageConfig":
        """Build from ``{"jobMaxReceiveCount": 5, ...}`` or ``{"relay:jobMaxReceiveCount": ...}``.

        Unknown keys are rejected: a typo in a stage file must not silently fall back to a default.
        """
        by_key = {config_key(f.name).split(":", 1)[1]: f for f in dataclasses.fields(cls) if f.name != "stage"}
        kwargs: dict[str, Any] = {"stage": stage}
        for raw_key, raw in values.items():
            ns, _, key = raw_key.rpartition(":")
            if ns == "aws" and key == "region":
                kwargs["region"] = str(raw)
                continue
            if ns not in ("", NAMESPACE):
                continue  # other providers' settings are not ours to check
            f = by_key.get(key)
            if f is None:
                raise ConfigError(f"{NAMESPACE}:{key} is not a relay setting (known: {', '.join(sorted(by_key))})")
            kwargs[f.name] = _coerce(f, raw)
        cfg = cls(**kwargs)
        cfg.validate()
        return cfg

    # ---- rules ----------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`ConfigError` for the first value that breaks AWS's guidance or our own rules."""
        def fail(attr: str, rule: str) -> None:
            raise ConfigError(f"{config_key(attr)} = {getattr(self, attr)!r}: {rule}")

        if self.job_visibility_timeout < 6 * self.job_worker_timeout:
            fail("job_visibility_timeout",
                 f"must be at least 6 x relay:jobWorkerTimeout ({6 * self.job_worker_timeout} s), AWS's guidance "
                 "for SQS event sources")
        if self.job_max_receive_count < 5:
            fail("job_max_receive_count", "must be at least 5 (AWS's guidance for queues behind Lambda)")
        if not 1 <= self.parallelization_factor <= 10:
            fail("parallelization_factor", "must be between 1 and 10 (the DynamoDB stream mapping limit)")
        if not 1 <= self.job_batch_size <= 10_000:
            fail("job_batch_size", "must be between 1 and 10000")
        if self.job_batch_size > 10 and self.job_batching_window < 1:
            fail("job_batching_window", "must be at least 1 s when relay:jobBatchSize is over 10 (AWS rule)")
        if not 0 <= self.job_batching_window <= 300:
            fail("job_batching_window", "must be between 0 and 300 seconds")
        if not 1 <= self.stream_batch_size <= 10_000:
            fail("stream_batch_size", "must be between 1 and 10000")
        if not -1 <= self.stream_max_retries <= 10_000:
            fail("stream_max_retries", "must be between -1 (infinite) and 10000")
        if not (self.stream_max_record_age == -1 or 60 <= self.stream_max_record_age <= 604_800):
            fail("stream_max_record_age", "must be -1 or between 60 and 604800 seconds")
        if not 1 <= self.job_worker_timeout <= 900:
            fail("job_worker_timeout", "must be between 1 and 900 seconds (Lambda's limit)")
        if not 1 <= self.function_timeout <= 900:
            fail("function_timeout", "must be between 1 and 900 seconds (Lambda's limit)")
        broken = memory_rule(self.memory, self.memory_size)
        if broken:
            raise ConfigError(broken)
        if self.job_visibility_timeout > 43_200:
            fail("job_visibility_timeout", "must be at most 43200 seconds (SQS limit)")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            fail("log_retention_days", "must be one of CloudWatch Logs' retention values "
                 f"({', '.join(map(str, LOG_RETENTION_DAYS))})")
        if self.request_retention_days < 1:
            fail("request_retention_days", "must be at least 1 day (S3 lifecycle expiry)")
        if self.message_retention_days < 1:
            fail("message_retention_days", "must be at least 1 day")
        if self.iterator_age_alarm_ms < 1:
            fail("iterator_age_alarm_ms", "must be a positive number of milliseconds")
        if self.oldest_job_alarm_seconds < 1:
            fail("oldest_job_alarm_seconds", "must be a positive number of seconds")
        if self.alarm_email and "@" not in self.alarm_email:
            fail("alarm_email", "must be an email address (or empty for no subscription)")
        if self.alarm_email and reserved_mail_domain(self.alarm_email):
            fail("alarm_email", "is a reserved example domain that receives no mail: name a real on-call address")
        topic = SNS_TOPIC_ARN.match(self.alarm_topic_arn) if self.alarm_topic_arn else None
        if self.alarm_topic_arn and topic is None:
            fail("alarm_topic_arn", "must be an SNS topic ARN, arn:aws:sns:<region>:<account>:<name> (or empty)")
        if topic is not None and topic.group("region") != self.region:
            fail("alarm_topic_arn", f"must be in the stage's region {self.region} (CloudWatch alarms notify "
                 "topics of their own region only)")
        if self.api_auth not in API_AUTH_MODES:
            fail("api_auth", "must be keys (API keys, the default) or iam (the Function URL's AWS_IAM auth)")
        if self.api_reserved_concurrency == 0:
            fail("api_reserved_concurrency", "0 would throttle every request (the API would be off); use -1 for "
                 "no reservation")
        reserved = self.api_reserved_concurrency
        if not (reserved == -1 or 1 <= reserved <= MAX_API_RESERVED_CONCURRENCY):
            fail("api_reserved_concurrency", f"must be -1 (none) or 1-{MAX_API_RESERVED_CONCURRENCY}: Lambda keeps "
                 "100 of the account's concurrency (1,000 by default) unreserved")
        if self.architecture not in ARCHITECTURES:
            fail("architecture", f"must be one of {', '.join(ARCHITECTURES)} (Lambda's architectures)")
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            fail("log_level", "must be one of DEBUG, INFO, WARNING, ERROR")
        for ch, provider in self.providers.items():
            if provider not in PROVIDERS:
                raise ConfigError(f"relay:providers.{ch} = {provider!r}: must be outbox, smtp, webhook, ses or sns")
            if provider in PROVIDER_CHANNEL and ch != PROVIDER_CHANNEL[provider]:
                raise ConfigError(f"relay:providers.{ch} = {provider!r}: {provider} delivers the "
                                  f"{PROVIDER_CHANNEL[provider]} channel only")
        validate_delivery(self, fail)
        for entry in self.fetch_allow:
            host, sep, port = str(entry).rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ConfigError(f"relay:fetchAllow entry {entry!r}: must be 'host:port'")

    def memory_for(self, function: str) -> int:
        """Lambda memory (MB) of ``function`` (``send-worker``) on this stage."""
        return memory_for(function, self.memory, self.memory_size)

    def uses(self, provider: str) -> bool:
        """Whether some channel is delivered by ``provider``."""
        return provider in self.providers.values()

    @property
    def email_address(self) -> str:
        """The bare address of ``relay:emailFrom`` (without a display name)."""
        return mail_address(self.email_from)

    @property
    def ses_identity(self) -> str:
        """The SES identity the stage sends from: ``relay:emailIdentity``, else the From address."""
        return self.email_identity or self.email_address

    def validate_deployment(self) -> None:
        """The rules a deployment to AWS adds to :meth:`validate`: alarms must reach someone.

        :func:`from_pulumi` (``pulumi preview`` / ``pulumi up``) runs it before any resource is created.
        Tools that only read a stage file (the console, ``relay capacity``) and the local stage, which
        rehearses a stage in the emulator where no alarm can page anyone, skip it, so the committed
        ``Pulumi.prod.yaml`` stays usable there until its owner names a recipient.

        Raises
        ------
        ConfigError
            When ``relay:alarmActions`` is on but neither ``relay:alarmEmail`` nor ``relay:alarmTopicArn``
            names a recipient (nothing would subscribe to ``relay-<stage>-alarms``).
        """
        self.validate()
        if self.alarm_actions and not (self.alarm_email or self.alarm_topic_arn):
            raise ConfigError(
                f"{config_key('alarm_email')} is not set: relay:alarmActions is true in stage {self.stage!r}, "
                f"but nothing subscribes to {self.name('alarms')}, so alarms would reach no one. Set it "
                f"(`pulumi config set --stack {self.stage} relay:alarmEmail <on-call address>`) or set "
                f"{config_key('alarm_topic_arn')} to an existing SNS topic")

    # ---- views used by the program and the tools --------------------------------------------------
    def name(self, resource: str) -> str:
        """Physical name ``relay-<stage>-<resource>``."""
        return f"relay-{self.stage}-{resource}"

    @property
    def tags(self) -> dict[str, str]:
        return {"project": "relay", "stage": self.stage}

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"

    def as_pulumi_values(self) -> dict[str, str]:
        """``{"relay:key": "value"}`` as ``pulumi config set`` would store them (strings / JSON)."""
        out: dict[str, str] = {"aws:region": self.region}
        for f in dataclasses.fields(self):
            if f.name in ("stage", "region"):
                continue
            v = getattr(self, f.name)
            if isinstance(v, bool):
                s = "true" if v else "false"
            elif isinstance(v, (tuple, list, dict)) or hasattr(v, "items"):
                s = json.dumps(list(v) if isinstance(v, tuple) else dict(v))
            else:
                s = str(v)
            out[config_key(f.name)] = s
        return out


def _coerce(f: dataclasses.Field, raw: Any) -> Any:
    """Config values arrive as YAML scalars, or as strings from ``pulumi.Config``; normalise them."""
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
    key = config_key(f.name)
    if f.name == "memory":  # its own message names the entry (the generic one below would say "a dict")
        try:
            return parse_memory_map(raw)
        except MemoryConfigError as exc:
            raise ConfigError(str(exc)) from None
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            s = str(raw).strip().lower()
            if s in ("true", "1", "yes"):
                return True
            if s in ("false", "0", "no"):
                return False
            raise ValueError
        if isinstance(default, int):
            if isinstance(raw, bool):
                raise ValueError
            return int(str(raw).strip())
        if isinstance(default, tuple):
            if isinstance(raw, str):
                raw = json.loads(raw) if raw.strip() else []
            if not isinstance(raw, (list, tuple)):
                raise ValueError
            return tuple(str(x) for x in raw)
        if isinstance(default, dict) or f.name == "providers":
            if isinstance(raw, str):
                raw = json.loads(raw) if raw.strip() else {}
            if not isinstance(raw, dict):
                raise ValueError
            return {str(k): str(v) for k, v in raw.items()}
        return str(raw)
    except (ValueError, TypeError, json.JSONDecodeError):
        kind = type(default).__name__
        raise ConfigError(f"{key} = {raw!r}: must be a {kind}") from None


def load_stage_config(stage: str, root: Path | str | None = None,
                      overrides: Mapping[str, Any] | None = None) -> StageConfig:
    """Read ``Pulumi.<stage>.yaml`` (the local stage, the console and ``relay capacity`` use this).

    ``overrides`` (``{"relay:fetchAllow": [...]}``) play the part of ``pulumi config set`` for one run of
    the local stage, e.g. a test that allows its own loopback server; they are validated like the file.
    """
    import yaml  # only the tools need PyYAML; the Pulumi program reads pulumi.Config instead

    path = Path(root or PROJECT_ROOT) / f"Pulumi.{stage}.yaml"
    if not path.exists():
        raise ConfigError(f"no stage file {path.name}: known stages are "
                          f"{', '.join(sorted(p.name[7:-5] for p in path.parent.glob('Pulumi.*.yaml')))}")
    doc = yaml.safe_load(path.read_text()) or {}
    return StageConfig.from_mapping(stage, {**(doc.get("config") or {}), **(overrides or {})})


def from_pulumi() -> StageConfig:
    """Inside the Pulumi program: read every known key from ``pulumi.Config`` for the current stack.

    The program runs only under the pulumi CLI, i.e. for a deployment, so the deployment rules
    (:meth:`StageConfig.validate_deployment`) apply here, before any resource is created.
    """
    import pulumi

    cfg = pulumi.Config(NAMESPACE)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(StageConfig):
        if f.name in ("stage", "region"):
            continue
        key = config_key(f.name).split(":", 1)[1]
        raw = cfg.get(key)
        if raw is not None:
            values[key] = raw
    region = pulumi.Config("aws").get("region")
    if region:
        values["aws:region"] = region
    cfg = StageConfig.from_mapping(pulumi.get_stack(), values)
    cfg.validate_deployment()
    return cfg
