"""Log indexer: DynamoDB stream (NEW_IMAGE) of the messages table → message-log views and timeline.

A record that fails (throttling, a malformed event) is reported as a batch item failure; with
bisect-on-error and retries the mapping isolates it and finally sends it to the stream DLQ.
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

logger = Logger(service="log-indexer")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
_store: Any = None


def _log_store() -> Any:
    global _store
    if _store is None:
        from functions.log_indexer.adapters import DynamoLogStore
        from functions.shared.settings import get_settings

        _store = DynamoLogStore(get_settings().log_table)
    return _store


def reset_store() -> None:
    """Forget the cached store (tests change the environment)."""
    global _store
    _store = None


def record_handler(record: DynamoDBRecord) -> str:
    """Index one stream record; returns what it did."""
    from functions.log_indexer.core import is_event, timeline_item, view_item

    image = record.dynamodb.new_image if record.dynamodb else None
    if not is_event(image):
        return "ignored"  # REMOVE (TTL) records and non-event items carry nothing to index
    store = _log_store()
    store.put_timeline(timeline_item(image))
    written = store.put_view_if_newer(view_item(image))
    return "view-updated" if written else "view-kept"


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """DynamoDB stream event source mapping entry point."""
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
