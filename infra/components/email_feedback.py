"""Email through SES with its feedback: identity, configuration set, event destination → SNS → function.

SES publishes what happens to each message sent through the stage's configuration set (delivery,
bounce, complaint, reject, rendering failure) to the ``relay-<stage>-email-events`` topic; the
``ses-feedback`` function, subscribed to it, writes the message's next status event and keeps the
suppression list. SNS invokes the function asynchronously: two retries, then the async DLQ.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.components.python_function import FunctionDefaults, PythonFunction
from infra.components.request_routing import ASYNC_MAX_RETRIES

__all__ = ["EmailFeedback", "EmailFeedbackArgs", "FEEDBACK_EVENT_TYPES"]

# the events relay turns into a status; sends, opens and clicks are not published at all
FEEDBACK_EVENT_TYPES = ("DELIVERY", "BOUNCE", "COMPLAINT", "REJECT", "RENDERING_FAILURE")


@dataclass
class EmailFeedbackArgs:
    name_prefix: str                      # relay-<stage>
    identity: str                         # the SES identity (an address or a domain)
    message_table_arn: pulumi.Input[str]
    state_table_arn: pulumi.Input[str]
    async_dlq_arn: pulumi.Input[str]
    functions: FunctionDefaults
    tags: Mapping[str, str] = field(default_factory=dict)


class EmailFeedback(pulumi.ComponentResource):
    """``EmailIdentity``, ``ConfigurationSet`` (+ event destination), the events topic and the feedback function."""

    def __init__(self, name: str, args: EmailFeedbackArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:EmailFeedback", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.configuration_set_name = f"{args.name_prefix}-email"

        # An address identity gets a verification mail; a domain identity publishes DKIM tokens to put in DNS
        # (docs/providers.md). An identity that already exists in the account is imported, not created twice.
        self.identity = aws.sesv2.EmailIdentity(
            f"{name}-identity", email_identity=args.identity, tags=tags, opts=child)
        self.configuration_set = aws.sesv2.ConfigurationSet(
            f"{name}-configuration-set", configuration_set_name=self.configuration_set_name,
            # mail to receiving servers only over TLS; SES's account-level suppression on top of relay's own
            delivery_options=aws.sesv2.ConfigurationSetDeliveryOptionsArgs(tls_policy="REQUIRE"),
            suppression_options=aws.sesv2.ConfigurationSetSuppressionOptionsArgs(
                suppressed_reasons=["BOUNCE", "COMPLAINT"]),
            tags=tags, opts=child)
        # Not KMS-encrypted: SES cannot publish to a topic under the AWS-managed aws/sns key (a customer key
        # whose policy lets ses.amazonaws.com use it would be needed); events carry addresses, no content.
        self.topic = aws.sns.Topic(f"{name}-topic", name=f"{args.name_prefix}-email-events", tags=tags, opts=child)
        topic_policy = aws.sns.TopicPolicy(
            f"{name}-topic-policy", arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, self.configuration_set.arn).apply(
                lambda a: json.dumps(policies.ses_publish_topic_policy(a[0], a[1]))),
            opts=child)

        statements = pulumi.Output.all(args.message_table_arn, args.state_table_arn, args.async_dlq_arn).apply(
            lambda a: policies.ses_feedback_statements(*a))
        self.function = PythonFunction(f"{name}-function", args.functions.args("ses-feedback", statements),
                                       opts=child)
        permission = aws.lambda_.Permission(
            f"{name}-sns-invoke", function=self.function.name, action="lambda:InvokeFunction",
            principal="sns.amazonaws.com", source_arn=self.topic.arn, statement_id="EmailEventsInvoke", opts=child)
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async", function_name=self.function.name, maximum_retry_attempts=ASYNC_MAX_RETRIES,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=args.async_dlq_arn)),
            opts=child)
        self.subscription = aws.sns.TopicSubscription(
            f"{name}-subscription", topic=self.topic.arn, protocol="lambda", endpoint=self.function.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]))
        # events flow once SES may publish and the function is subscribed
        self.event_destination = aws.sesv2.ConfigurationSetEventDestination(
            f"{name}-event-destination", configuration_set_name=self.configuration_set.configuration_set_name,
            event_destination_name=f"{args.name_prefix}-email-feedback",
            event_destination=aws.sesv2.ConfigurationSetEventDestinationEventDestinationArgs(
                enabled=True, matching_event_types=list(FEEDBACK_EVENT_TYPES),
                sns_destination=aws.sesv2.ConfigurationSetEventDestinationEventDestinationSnsDestinationArgs(
                    topic_arn=self.topic.arn)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[topic_policy, self.subscription]))

        self.identity_arn = self.identity.arn
        self.configuration_set_arn = self.configuration_set.arn
        self.topic_arn = self.topic.arn
        self.register_outputs({"identity_arn": self.identity_arn, "configuration_set_arn": self.configuration_set_arn,
                               "topic_arn": self.topic_arn, "ses_feedback_function": self.function.name})
