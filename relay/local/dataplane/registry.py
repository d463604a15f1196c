"""What the data plane runs, read from the emulator's own APIs (never from a second topology).

``parse_*`` functions are pure (API dict in, frozen dataclass out); :class:`Registry` is the thin boto3
adapter that lists functions, event source mappings, event invoke configs, reserved concurrency, the
recursive loop setting and bucket notifications, and hands back one immutable :class:`Snapshot`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "FunctionSpec", "AsyncConfig", "MappingSpec", "Snapshot", "Registry", "ClientFactory",
    "parse_function", "parse_mapping", "parse_async_config", "source_kind",
]

DEFAULT_ASYNC_RETRIES = 2
DEFAULT_MAX_EVENT_AGE = 21_600


class ClientFactory(Protocol):
    """Anything that returns a boto3 client for a service name (see :class:`relay.local.dataplane.Clients`)."""

    def __call__(self, service: str) -> Any: ...


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function as the data plane needs it."""

    name: str
    arn: str
    handler: str
    timeout_s: float
    memory_mb: int
    environment: tuple[tuple[str, str], ...] = ()
    reserved_concurrency: int | None = None
    version: str = "$LATEST"
    # FunctionRecursionConfig: "Terminate" (AWS's default) stops a chain past 16 invocations; "Allow" does not
    recursive_loop: str = "Terminate"

    @property
    def env(self) -> dict[str, str]:
        return dict(self.environment)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"


@dataclass(frozen=True)
class AsyncConfig:
    """A function's event invoke config (asynchronous invocation), with AWS's defaults."""

    maximum_retry_attempts: int = DEFAULT_ASYNC_RETRIES
    maximum_event_age_s: int = DEFAULT_MAX_EVENT_AGE
    on_failure: str | None = None
    on_success: str | None = None


@dataclass(frozen=True)
class MappingSpec:
    """One event source mapping (SQS or DynamoDB stream)."""

    uuid: str
    function_arn: str
    source_arn: str
    kind: str  # "sqs" | "dynamodb"
    enabled: bool = True
    batch_size: int = 10
    batching_window_s: float = 0.0
    parallelization_factor: int = 1
    starting_position: str = "TRIM_HORIZON"
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age_s: int = -1
    report_batch_item_failures: bool = False
    on_failure: str | None = None
    maximum_concurrency: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything the data plane runs at one moment."""

    functions: dict[str, FunctionSpec] = field(default_factory=dict)  # by ARN
    async_configs: dict[str, AsyncConfig] = field(default_factory=dict)  # by function ARN
    mappings: dict[str, MappingSpec] = field(default_factory=dict)  # by UUID
    s3_targets: dict[str, tuple[str, ...]] = field(default_factory=dict)  # function ARN → buckets

    def function(self, name_or_arn: str) -> FunctionSpec:
        """Find a function by ARN (qualified or not) or by name; ``KeyError`` names what was asked for."""
        if name_or_arn in self.functions:
            return self.functions[name_or_arn]
        bare = name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]
        for spec in self.functions.values():
            if spec.name == bare:
                return spec
        raise KeyError(f"Function not found: {name_or_arn}")


def source_kind(source_arn: str) -> str:
    """``sqs`` / ``dynamodb`` / ``kinesis`` from an event source ARN."""
    service = source_arn.split(":")[2] if source_arn.count(":") >= 5 else ""
    return {"sqs": "sqs", "dynamodb": "dynamodb", "kinesis": "kinesis"}.get(service, service or "unknown")


def parse_function(conf: dict, reserved: int | None = None, recursive_loop: str = "Terminate") -> FunctionSpec:
    """``GetFunctionConfiguration`` / ``ListFunctions`` item → :class:`FunctionSpec`."""
    env = (conf.get("Environment") or {}).get("Variables") or {}
    return FunctionSpec(
        name=conf["FunctionName"],
        arn=conf["FunctionArn"],
        handler=conf.get("Handler") or "",
        timeout_s=float(conf.get("Timeout") or 3),
        memory_mb=int(conf.get("MemorySize") or 128),
        environment=tuple(sorted((str(k), str(v)) for k, v in env.items())),
        reserved_concurrency=reserved,
        version=conf.get("Version") or "$LATEST",
        recursive_loop=recursive_loop if recursive_loop in ("Allow", "Terminate") else "Terminate",
    )


def parse_async_config(conf: dict | None) -> AsyncConfig:
    """``GetFunctionEventInvokeConfig`` response (or ``None``: no config) → :class:`AsyncConfig`."""
    if not conf:
        return AsyncConfig()
    dest = conf.get("DestinationConfig") or {}
    return AsyncConfig(
        maximum_retry_attempts=int(conf.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES)),
        maximum_event_age_s=int(conf.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE)),
        on_failure=(dest.get("OnFailure") or {}).get("Destination") or None,
        on_success=(dest.get("OnSuccess") or {}).get("Destination") or None,
    )


def parse_mapping(item: dict) -> MappingSpec:
    """``ListEventSourceMappings`` item → :class:`MappingSpec` (AWS defaults where moto leaves a gap)."""
    kind = source_kind(item["EventSourceArn"])
    state = item.get("State", "Enabled")
    default_batch = 10 if kind == "sqs" else 100
    return MappingSpec(
        uuid=item["UUID"],
        function_arn=item["FunctionArn"],
        source_arn=item["EventSourceArn"],
        kind=kind,
        enabled=state in ("Enabled", "Enabling", "Updating", "Creating"),
        batch_size=int(item.get("BatchSize") or default_batch),
        batching_window_s=float(item.get("MaximumBatchingWindowInSeconds") or 0),
        parallelization_factor=int(item.get("ParallelizationFactor") or 1),
        starting_position=item.get("StartingPosition") or "TRIM_HORIZON",
        bisect_on_error=bool(item.get("BisectBatchOnFunctionError", False)),
        maximum_retry_attempts=int(item.get("MaximumRetryAttempts", -1)),
        maximum_record_age_s=int(item.get("MaximumRecordAgeInSeconds", -1)),
        report_batch_item_failures="ReportBatchItemFailures" in (item.get("FunctionResponseTypes") or []),
        on_failure=((item.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination") or None,
        maximum_concurrency=(item.get("ScalingConfig") or {}).get("MaximumConcurrency"),
    )


class Registry:
    """Reads a :class:`Snapshot` from the emulator with boto3."""

    def __init__(self, clients: ClientFactory) -> None:
        self._clients = clients

    def mappings(self) -> dict[str, MappingSpec]:
        """All event source mappings (the cheap call the live watcher makes every second or two)."""
        lam = self._clients("lambda")
        out: dict[str, MappingSpec] = {}
        for page in lam.get_paginator("list_event_source_mappings").paginate():
            for item in page.get("EventSourceMappings", []):
                spec = parse_mapping(item)
                out[spec.uuid] = spec
        return out

    def snapshot(self) -> Snapshot:
        """Functions, their async configs and concurrency, mappings and S3 notification targets."""
        lam = self._clients("lambda")
        functions: dict[str, FunctionSpec] = {}
        async_configs: dict[str, AsyncConfig] = {}
        for page in lam.get_paginator("list_functions").paginate():
            for conf in page.get("Functions", []):
                name = conf["FunctionName"]
                reserved = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
                spec = parse_function(conf, reserved, self._recursive_loop(lam, conf["FunctionArn"]))
                functions[spec.arn] = spec
                async_configs[spec.arn] = parse_async_config(self._event_invoke_config(lam, name))
        return Snapshot(functions=functions, async_configs=async_configs, mappings=self.mappings(),
                        s3_targets=self._s3_targets())

    @staticmethod
    def _recursive_loop(lam: Any, arn: str) -> str:
        from relay.local.dataplane.recursion import SETTING_TAG, TERMINATE

        # the emulator keeps FunctionRecursionConfig as a tag: moto has no API for it (see recursion.py)
        return str(lam.list_tags(Resource=arn).get("Tags", {}).get(SETTING_TAG, TERMINATE))

    @staticmethod
    def _event_invoke_config(lam: Any, name: str) -> dict | None:
        try:
            return lam.get_function_event_invoke_config(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            return None

    def _s3_targets(self) -> dict[str, tuple[str, ...]]:
        s3 = self._clients("s3")
        targets: dict[str, list[str]] = {}
        for bucket in s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            conf = s3.get_bucket_notification_configuration(Bucket=name)
            for lc in conf.get("LambdaFunctionConfigurations", []):
                targets.setdefault(lc["LambdaFunctionArn"], []).append(name)
        return {arn: tuple(sorted(set(b))) for arn, b in targets.items()}
