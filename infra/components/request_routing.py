"""S3 → worker wiring for the request store: prefixes to functions, async retries, on-failure DLQ."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

__all__ = ["RequestRouting", "RequestRoutingArgs", "Route", "ASYNC_MAX_RETRIES"]

# AWS's default for asynchronous invokes, stated so it cannot drift: two retries, then the DLQ.
ASYNC_MAX_RETRIES = 2


@dataclass
class Route:
    """Objects created under ``prefix`` invoke ``function`` (asynchronously)."""

    key: str                                   # logical name, e.g. "send"
    prefix: str                                # "send/"
    function_name: pulumi.Input[str]
    function_arn: pulumi.Input[str]


@dataclass
class RequestRoutingArgs:
    bucket_id: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    routes: Sequence[Route]
    async_dlq_arn: pulumi.Input[str]
    source_account: Optional[pulumi.Input[str]] = None


class RequestRouting(pulumi.ComponentResource):
    """One ``BucketNotification`` (S3 keeps one per bucket), a ``Permission`` and an invoke config per route."""

    def __init__(self, name: str, args: RequestRoutingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:RequestRouting", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        permissions = []
        for route in args.routes:
            permissions.append(aws.lambda_.Permission(
                f"{name}-{route.key}-s3-invoke", function=route.function_name, action="lambda:InvokeFunction",
                principal="s3.amazonaws.com", source_arn=args.bucket_arn, source_account=args.source_account,
                statement_id="RequestStoreInvoke", opts=child))
            aws.lambda_.FunctionEventInvokeConfig(
                f"{name}-{route.key}-async", function_name=route.function_name,
                maximum_retry_attempts=ASYNC_MAX_RETRIES,
                destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                    on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                        destination=args.async_dlq_arn)),
                opts=child)
        self.notification = aws.s3.BucketNotification(
            f"{name}-notification", bucket=args.bucket_id,
            lambda_functions=[
                aws.s3.BucketNotificationLambdaFunctionArgs(
                    id=f"{route.key}-created", lambda_function_arn=route.function_arn,
                    events=["s3:ObjectCreated:*"], filter_prefix=route.prefix, filter_suffix=".json")
                for route in args.routes
            ],
            # S3 test-invokes each target when the notification is saved: permissions first
            opts=pulumi.ResourceOptions(parent=self, depends_on=permissions))
        self.register_outputs({"routes": {r.prefix: r.function_name for r in args.routes}})
