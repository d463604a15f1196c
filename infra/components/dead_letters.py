"""The three dead-letter queues: job DLQ, stream DLQ and async-invoke DLQ."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

__all__ = ["DeadLetterQueues", "DeadLetterQueuesArgs", "DLQ_RETENTION_SECONDS"]

# SQS's maximum. A DLQ's retention counts from the original enqueue, so it must outlive the source's.
DLQ_RETENTION_SECONDS = 14 * 24 * 3600


@dataclass
class DeadLetterQueuesArgs:
    job_dlq_name: str
    stream_dlq_name: str
    async_dlq_name: str
    tags: Mapping[str, str]


def encrypted_queue(logical: str, physical: str, tags: Mapping[str, str], opts: pulumi.ResourceOptions,
                    **kwargs) -> aws.sqs.Queue:
    """An SQS queue with SSE-SQS (no KMS key policy to manage; Lambda destinations can write to it)."""
    return aws.sqs.Queue(logical, name=physical, sqs_managed_sse_enabled=True, tags=dict(tags), opts=opts,
                         **kwargs)


class DeadLetterQueues(pulumi.ComponentResource):
    """Where failures land: the console peeks, filters and redrives all three."""

    def __init__(self, name: str, args: DeadLetterQueuesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:DeadLetterQueues", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.job_dlq = encrypted_queue(f"{name}-job-dlq", args.job_dlq_name, args.tags, child,
                                       message_retention_seconds=DLQ_RETENTION_SECONDS)
        self.stream_dlq = encrypted_queue(f"{name}-stream-dlq", args.stream_dlq_name, args.tags, child,
                                          message_retention_seconds=DLQ_RETENTION_SECONDS)
        self.async_dlq = encrypted_queue(f"{name}-async-dlq", args.async_dlq_name, args.tags, child,
                                         message_retention_seconds=DLQ_RETENTION_SECONDS)
        self.register_outputs({
            "job_dlq_url": self.job_dlq.url, "stream_dlq_url": self.stream_dlq.url,
            "async_dlq_url": self.async_dlq.url,
        })
