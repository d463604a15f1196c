"""The send pipeline: the HTTP API function and the send worker."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from infra import policies
from infra.components.python_function import FunctionDefaults, PythonFunction

__all__ = ["SendPipeline", "SendPipelineArgs"]


@dataclass
class SendPipelineArgs:
    bucket_arn: pulumi.Input[str]
    state_table_arn: pulumi.Input[str]
    message_table_arn: pulumi.Input[str]
    log_table_arn: pulumi.Input[str]
    async_dlq_arn: pulumi.Input[str]
    job_queue_url: pulumi.Input[str]
    functions: FunctionDefaults
    # the api function's reserved concurrency (-1 = none): relay:apiReservedConcurrency
    api_reserved_concurrency: int = -1
    # what the configured providers need beyond the outbox (ses, sns SMS, the SMTP password): policies.delivery_statements
    delivery_statements: Optional[pulumi.Input[list[dict[str, Any]]]] = None
    # delayed sends wait on the job queue: the send worker enqueues their release
    job_queue_arn: Optional[pulumi.Input[str]] = None


class SendPipeline(pulumi.ComponentResource):
    """api (stores ``send/`` and ``automations/`` requests) and send worker (renders, delivers once)."""

    def __init__(self, name: str, args: SendPipelineArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:SendPipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env = {"JOB_QUEUE_URL": args.job_queue_url}

        api_statements = pulumi.Output.all(args.bucket_arn, args.state_table_arn, args.message_table_arn,
                                           args.log_table_arn).apply(lambda a: policies.api_statements(*a))
        self.api = PythonFunction(
            f"{name}-api", args.functions.args("api", api_statements, environment=env,
                                               reserved_concurrency=args.api_reserved_concurrency),
            opts=child)

        send_statements = pulumi.Output.all(args.bucket_arn, args.state_table_arn, args.message_table_arn,
                                            args.async_dlq_arn, args.delivery_statements or [],
                                            args.job_queue_arn or "").apply(
            lambda a: policies.send_worker_statements(*a[:4], job_queue_arn=a[5] or None) + list(a[4]))
        self.send_worker = PythonFunction(
            f"{name}-send-worker", args.functions.args("send-worker", send_statements, environment=env),
            opts=child)
        self.register_outputs({"api_function": self.api.name, "send_worker_function": self.send_worker.name})
