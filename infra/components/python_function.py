"""A Python Lambda function with its own role, least-privilege inline policy and log group."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.layer.lambda_platform import DEFAULT_ARCHITECTURE, LAMBDA_RUNTIME

__all__ = ["PythonFunction", "PythonFunctionArgs", "FunctionDefaults"]


@dataclass
class PythonFunctionArgs:
    """What one relay function needs; components pass values, they never read config.

    ``statements`` is an Output (or list) of plain IAM statements for the function's data access;
    the component adds the statement for its own log group.
    """

    name: str                                   # physical name, relay-<stage>-<function>
    handler: str                                # functions.<name>.handler.lambda_handler
    code: pulumi.Archive
    statements: pulumi.Input[list[dict[str, Any]]]
    environment: Mapping[str, pulumi.Input[str]]
    tags: Mapping[str, str]
    timeout: int = 10
    memory_size: int = 256
    log_retention_days: int = 14
    layers: Sequence[pulumi.Input[str]] = field(default_factory=list)
    runtime: str = LAMBDA_RUNTIME
    architecture: str = DEFAULT_ARCHITECTURE     # must match the layer's, which carries compiled wheels
    reserved_concurrency: int = -1               # -1: none (the account's unreserved pool)


@dataclass
class FunctionDefaults:
    """What every relay function of a stage shares: code, layers, base environment, sizing, tags.

    ``memory`` gives each function its own size (``send-worker`` → MB, from the stage config); a function
    it does not name gets ``memory_size``.
    """

    code: pulumi.Archive
    layers: Sequence[pulumi.Input[str]]
    environment: Mapping[str, pulumi.Input[str]]
    tags: Mapping[str, str]
    stage: str
    timeout: int = 10
    memory_size: int = 256
    log_retention_days: int = 14
    architecture: str = DEFAULT_ARCHITECTURE
    memory: Mapping[str, int] = field(default_factory=dict)

    def args(self, function: str, statements: pulumi.Input[list[dict[str, Any]]], *,
             timeout: int | None = None, environment: Mapping[str, pulumi.Input[str]] | None = None,
             reserved_concurrency: int = -1) -> PythonFunctionArgs:
        """Args for ``relay-<stage>-<function>`` (``send-worker``) with handler ``functions.send_worker...``."""
        module = function.replace("-", "_")
        return PythonFunctionArgs(
            name=f"relay-{self.stage}-{function}",
            handler=f"functions.{module}.handler.lambda_handler",
            code=self.code,
            statements=statements,
            environment={**self.environment, **(environment or {}), "POWERTOOLS_SERVICE_NAME": module},
            tags=self.tags,
            timeout=self.timeout if timeout is None else timeout,
            memory_size=self.memory.get(function, self.memory_size),
            log_retention_days=self.log_retention_days,
            layers=self.layers,
            architecture=self.architecture,
            reserved_concurrency=reserved_concurrency,
        )


class PythonFunction(pulumi.ComponentResource):
    """``aws.lambda_.Function`` + ``aws.iam.Role`` + inline ``RolePolicy`` + ``LogGroup`` (retention)."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup

    def __init__(self, name: str, args: PythonFunctionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:PythonFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # Created before the function so Lambda never auto-creates it without retention.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/aws/lambda/{args.name}", retention_in_days=args.log_retention_days,
            tags=dict(args.tags), opts=child)
        self.role = aws.iam.Role(
            f"{name}-role", name=args.name, assume_role_policy=json.dumps(policies.lambda_assume_role()),
            tags=dict(args.tags), opts=child)
        policy = aws.iam.RolePolicy(
            f"{name}-access", name="access", role=self.role.id,
            policy=pulumi.Output.all(self.log_group.arn, args.statements).apply(
                lambda v: json.dumps(policies.document(policies.log_statements(v[0]) + list(v[1])))),
            opts=child)
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=args.name,
            runtime=args.runtime,
            architectures=[args.architecture],
            handler=args.handler,
            code=args.code,
            layers=list(args.layers),
            role=self.role.arn,
            timeout=args.timeout,
            memory_size=args.memory_size,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment)),
            # only when reserved: the provider's default (-1) is "unreserved", so a stage without the
            # setting registers the same inputs as before
            **({"reserved_concurrent_executions": args.reserved_concurrency} if args.reserved_concurrency >= 0 else {}),
            tags=dict(args.tags),
            # the policy must exist before the first invocation (S3 events can arrive at once)
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, policy]))
        self.name = self.function.name
        self.arn = self.function.arn
        self.register_outputs({"name": self.name, "arn": self.arn, "role_arn": self.role.arn,
                               "log_group": self.log_group.name})
