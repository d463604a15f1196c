"""Log indexer: DynamoDB stream (NEW_IMAGE) of the messages table → message-log VIEWs.

A batch is indexed in three moves: coalesce each message's events to its newest VIEW
(:func:`functions.log_indexer.core.plan_batch`), write those VIEWs conditionally and concurrently (at most
:data:`WRITERS` calls in flight, :mod:`functions.shared.concurrency`), report what failed. A lane's time per
batch is then about the slowest of its round trips, not their sum.

A record that fails (a throttled write, a malformed event) is reported as a batch item failure, with
every record folded into the same VIEW; Lambda resumes the shard from the lowest one, and with
bisect-on-error and retries the mapping isolates a poison record and finally sends it to the stream DLQ.
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBStreamEvent
from functions.shared.warm import on_reset

__all__ = ["lambda_handler", "index_records", "reset_store", "WRITERS"]

logger = Logger(service="log-indexer")
# Conditional writes in flight at once per batch: DynamoDB answers a small write in a few milliseconds,
# so 16 overlap a batch of 100 into about 7 round trips; more threads add memory, not throughput.
WRITERS = 16
_store: Any = None


def _log_store() -> Any:
    global _store
    if _store is None:
        from functions.log_indexer.adapters import DynamoLogStore
        from functions.shared.settings import get_settings

        _store = DynamoLogStore(get_settings().log_table, max_connections=WRITERS)
    return _store


@on_reset
def reset_store() -> None:
    """Forget the cached store (tests change the environment)."""
    global _store
    _store = None


def index_records(records: list[tuple[str, dict[str, Any] | None]], store: Any, writers: int = WRITERS) -> list[str]:
    """Index ``(sequence number, NEW_IMAGE)`` pairs; returns the sequence numbers that failed, in batch order.

    Parameters
    ----------
    records
        The batch's records in stream order; the image is ``None`` for a record without one (REMOVE).
    store
        Has ``put_view_if_newer(view) -> bool`` (the conditional write) and, optionally, ``client()``.
    writers
        The most writes in flight at once.
    """
    from functions.log_indexer.core import plan_batch
    from functions.shared.concurrency import run_all

    plan = plan_batch(records)
    failed: set[str] = set()
    for record_id, reason in plan.malformed:
        logger.error("malformed event", extra={"sequenceNumber": record_id, "reason": reason})
        failed.add(str(record_id))
    if plan.views and hasattr(store, "client"):
        store.client()  # created here, once: boto3's session must not build clients from several threads
    written = 0
    for result in run_all(store.put_view_if_newer, plan.views, writers):
        if result.error is not None:
            pk = result.item["pk"]
            logger.error("view write failed", extra={"pk": pk, "error": repr(result.error)})
            failed.update(str(r) for r in plan.records_of[pk])
        elif result.value:
            written += 1
    logger.debug("batch indexed", extra={"records": len(records), "views": len(plan.views), "written": written,
                                         "ignored": plan.ignored, "failed": len(failed)})
    return [seq for seq, _ in records if seq in failed]


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """DynamoDB stream event source mapping entry point (``ReportBatchItemFailures``)."""
    records = []
    for record in DynamoDBStreamEvent(event).records:
        data = record.dynamodb
        records.append((str(data.sequence_number) if data else "", data.new_image if data else None))
    failed = index_records(records, _log_store())
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in dict.fromkeys(failed)]}
