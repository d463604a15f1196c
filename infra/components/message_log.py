"""The message log: the events table and its NEW_IMAGE stream, the views table, the log indexer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.components.python_function import FunctionDefaults, PythonFunction
from infra.components.tables import Index, TableSettings, key_value_table

__all__ = ["MessageLog", "MessageLogArgs", "StreamMappingSettings", "LOG_INDEXES"]

# The views the log indexer keeps (docs/CONTRACTS.md, "message-log").
LOG_INDEXES = (
    Index("by_recipient", "recipient", "updatedAt"),
    Index("by_status", "status", "updatedAt"),
    Index("by_run", "runId", "updatedAt"),
    Index("by_request", "requestId", "updatedAt"),
    Index("by_trace", "traceId", "updatedAt"),  # GET /messages?trace_id= (Courier's metadata.trace_id)
)


@dataclass(frozen=True)
class StreamMappingSettings:
    """The stream event source mapping's knobs (all from config)."""

    batch_size: int
    parallelization_factor: int
    bisect_on_error: bool
    max_retries: int
    max_record_age: int


@dataclass
class MessageLogArgs:
    message_table_name: str
    log_table_name: str
    table_settings: TableSettings
    stream: StreamMappingSettings
    stream_dlq_arn: pulumi.Input[str]
    functions: FunctionDefaults
    tags: Mapping[str, str]


class MessageLog(pulumi.ComponentResource):
    """messages (stream NEW_IMAGE, TTL) → mapping (bisect, retries, on-failure → stream DLQ) → log indexer."""

    def __init__(self, name: str, args: MessageLogArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:MessageLog", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.message_table = key_value_table(
            f"{name}-messages", args.message_table_name, args.table_settings, args.tags, child,
            ttl=True, stream_view_type="NEW_IMAGE")
        self.log_table = key_value_table(
            f"{name}-views", args.log_table_name, args.table_settings, args.tags, child,
            ttl=True, indexes=LOG_INDEXES)

        statements = pulumi.Output.all(self.message_table.arn, self.message_table.stream_arn,
                                       self.log_table.arn, args.stream_dlq_arn).apply(
            lambda a: policies.log_indexer_statements(*a))
        self.log_indexer = PythonFunction(
            f"{name}-log-indexer", args.functions.args("log-indexer", statements), opts=child)

        s = args.stream
        self.mapping = aws.lambda_.EventSourceMapping(
            f"{name}-stream-mapping",
            event_source_arn=self.message_table.stream_arn,
            function_name=self.log_indexer.name,
            # TRIM_HORIZON: events written between table creation and mapping creation are indexed too
            starting_position="TRIM_HORIZON",
            batch_size=s.batch_size,
            parallelization_factor=s.parallelization_factor,
            bisect_batch_on_function_error=s.bisect_on_error,
            maximum_retry_attempts=s.max_retries,
            maximum_record_age_in_seconds=s.max_record_age,
            function_response_types=["ReportBatchItemFailures"],
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=args.stream_dlq_arn)),
            tags=dict(args.tags),
            opts=child,
        )
        self.register_outputs({
            "message_table": self.message_table.name, "message_stream_arn": self.message_table.stream_arn,
            "log_table": self.log_table.name, "log_indexer_function": self.log_indexer.name,
            "log_indexer_esm_uuid": self.mapping.uuid,
        })
