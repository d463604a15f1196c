"""Alarms to one SNS topic: DLQ depth, stream IteratorAge, oldest job, function errors."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

__all__ = ["Alarms", "AlarmsArgs"]


@dataclass
class AlarmsArgs:
    name_prefix: str                                   # relay-<stage>
    actions_enabled: bool
    dead_letter_queues: Mapping[str, pulumi.Input[str]]   # "job-dlq" -> queue name
    job_queue_name: pulumi.Input[str]
    stream_function_name: pulumi.Input[str]
    functions: Mapping[str, pulumi.Input[str]]           # "api" -> function name
    iterator_age_ms: int
    oldest_job_seconds: int
    tags: Mapping[str, str]
    email: str = ""
    # an existing topic (pager, chat bridge) notified besides relay-<stage>-alarms; its subscribers
    # are managed where the topic is
    recipient_topic_arn: str = ""


class Alarms(pulumi.ComponentResource):
    """``relay-<stage>-alarms`` topic and the ``MetricAlarm`` set; actions on only where config says."""

    def __init__(self, name: str, args: AlarmsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:Alarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Not KMS-encrypted on purpose: CloudWatch cannot publish to a topic under the AWS-managed
        # aws/sns key, and alarm notifications carry no message content.
        self.topic = aws.sns.Topic(f"{name}-topic", name=f"{args.name_prefix}-alarms", tags=dict(args.tags),
                                   opts=child)
        if args.email:
            aws.sns.TopicSubscription(f"{name}-email", topic=self.topic.arn, protocol="email",
                                      endpoint=args.email, opts=child)
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        targets: list[pulumi.Input[str]] = [self.topic.arn]
        if args.recipient_topic_arn:
            targets.append(args.recipient_topic_arn)

        def alarm(key: str, description: str, namespace: str, metric: str, dimensions: Mapping[str, pulumi.Input[str]],
                  statistic: str, threshold: float, period: int = 60) -> None:
            self.alarms[key] = aws.cloudwatch.MetricAlarm(
                f"{name}-{key}", name=f"{args.name_prefix}-{key}", alarm_description=description,
                namespace=namespace, metric_name=metric, dimensions=dict(dimensions), statistic=statistic,
                period=period, evaluation_periods=1, threshold=threshold,
                comparison_operator="GreaterThanThreshold",
                # no data means no traffic, which is healthy for every alarm here
                treat_missing_data="notBreaching",
                actions_enabled=args.actions_enabled, alarm_actions=list(targets),
                ok_actions=list(targets), tags=dict(args.tags), opts=child)

        for key, queue_name in args.dead_letter_queues.items():
            alarm(f"{key}-visible", f"Messages are waiting in the {key}: inspect and redrive from the console.",
                  "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name}, "Maximum", 0)
        alarm("log-indexer-iterator-age",
              "The message log stream is falling behind: raise relay:parallelizationFactor or fix the indexer.",
              "AWS/Lambda", "IteratorAge", {"FunctionName": args.stream_function_name}, "Maximum",
              args.iterator_age_ms)
        alarm("jobs-oldest-age", "Automation jobs wait too long in the job queue.",
              "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": args.job_queue_name}, "Maximum",
              args.oldest_job_seconds)
        for key, function_name in args.functions.items():
            alarm(f"{key}-errors", f"The {key} function reports errors.", "AWS/Lambda", "Errors",
                  {"FunctionName": function_name}, "Sum", 0, period=300)
        self.topic_arn = self.topic.arn
        self.register_outputs({"alarm_topic_arn": self.topic_arn})
