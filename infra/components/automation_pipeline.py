"""The automation pipeline: request worker → job queue (redrive → job DLQ) → job worker."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.components.dead_letters import encrypted_queue
from infra.components.python_function import FunctionDefaults, PythonFunction

__all__ = ["AutomationPipeline", "AutomationPipelineArgs", "JobQueueSettings"]


@dataclass(frozen=True)
class JobQueueSettings:
    """The job queue and its mapping (all from config; validated against AWS's guidance there)."""

    visibility_timeout: int
    max_receive_count: int
    batch_size: int
    batching_window: int
    worker_timeout: int


@dataclass
class AutomationPipelineArgs:
    job_queue_name: str
    job_dlq_arn: pulumi.Input[str]
    async_dlq_arn: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    state_table_arn: pulumi.Input[str]
    message_table_arn: pulumi.Input[str]
    log_table_arn: pulumi.Input[str]
    jobs: JobQueueSettings
    functions: FunctionDefaults
    tags: Mapping[str, str]


class AutomationPipeline(pulumi.ComponentResource):
    """Job queue + request worker + job worker + SQS mapping with ReportBatchItemFailures."""

    def __init__(self, name: str, args: AutomationPipelineArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:AutomationPipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        jobs = args.jobs
        self.job_queue = encrypted_queue(
            f"{name}-job-queue", args.job_queue_name, args.tags, child,
            visibility_timeout_seconds=jobs.visibility_timeout,
            redrive_policy=pulumi.Output.from_input(args.job_dlq_arn).apply(lambda arn: json.dumps(
                {"deadLetterTargetArn": arn, "maxReceiveCount": jobs.max_receive_count})),
        )
        env = {"JOB_QUEUE_URL": self.job_queue.url}

        request_statements = pulumi.Output.all(args.bucket_arn, args.state_table_arn, self.job_queue.arn,
                                               args.async_dlq_arn).apply(
            lambda a: policies.request_worker_statements(*a))
        self.request_worker = PythonFunction(
            f"{name}-request-worker",
            args.functions.args("request-worker", request_statements, environment=env), opts=child)

        job_statements = pulumi.Output.all(args.bucket_arn, args.state_table_arn, args.message_table_arn,
                                           args.log_table_arn, self.job_queue.arn).apply(
            lambda a: policies.job_worker_statements(*a))
        self.job_worker = PythonFunction(
            f"{name}-job-worker",
            args.functions.args("job-worker", job_statements, timeout=jobs.worker_timeout, environment=env),
            opts=child)
        # The job worker enqueues the next step (and each delay hop) on the queue that invokes it: a
        # loop by design. Left at Lambda's default (Terminate), AWS stops the chain after ~16
        # invocations, so a long automation or a wait of hours would silently die.
        self.job_worker_recursion = aws.lambda_.FunctionRecursionConfig(
            f"{name}-job-worker-recursion", function_name=self.job_worker.name, recursive_loop="Allow",
            opts=child)

        self.mapping = aws.lambda_.EventSourceMapping(
            f"{name}-job-mapping",
            event_source_arn=self.job_queue.arn,
            function_name=self.job_worker.name,
            batch_size=jobs.batch_size,
            maximum_batching_window_in_seconds=jobs.batching_window,
            # a failed step is retried alone; its neighbours in the batch are not redone
            function_response_types=["ReportBatchItemFailures"],
            tags=dict(args.tags),
            opts=child,
        )
        self.register_outputs({
            "job_queue_url": self.job_queue.url, "request_worker_function": self.request_worker.name,
            "job_worker_function": self.job_worker.name, "job_worker_esm_uuid": self.mapping.uuid,
        })
