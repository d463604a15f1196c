"""Job worker: SQS batch → run one step per job → enqueue the next (ReportBatchItemFailures).

A job that fails to parse, names a missing run, or whose step raises is reported as a batch item
failure: SQS retries it and, after maxReceiveCount, moves it to the job DLQ. Nothing is dropped.
"""
from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

logger = Logger(service="job-worker")


def _time_left(context: Any) -> Callable[[], float | None]:
    """Seconds left in this invocation, keeping 0.5 s to record the outcome (None without a context)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return lambda: None
    return lambda: remaining() / 1000 - 0.5


def record_handler(record: SQSRecord, lambda_context: Any = None) -> dict[str, Any]:
    """Run the job in one SQS record; raise to report it failed (Powertools injects ``lambda_context``)."""
    from functions.automations.bootstrap import get_deps, validate_send_message
    from functions.automations.core import parse_job, run_job, utc_now
    from functions.automations.steps import StepContext
    from functions.shared.delayed_send import is_release

    if is_release(record.body):
        return _release(record)
    try:
        job = parse_job(record.body)
        deps = get_deps()
        ctx = StepContext(runs=deps.runs, requests=deps.requests, http=deps.http, now=utc_now(),
                          validate_message=validate_send_message, time_left=_time_left(lambda_context))
        receive_count = int(record.attributes.approximate_receive_count or 1)
        result = run_job(job, deps.runs, deps.queue, ctx, receive_count=receive_count)
    except Exception as exc:
        logger.warning("job failed", extra={"messageId": record.message_id, "error": f"{type(exc).__name__}: {exc}"})
        raise
    logger.info("job done", extra={"runId": job.run_id, "step": job.step, "outcome": result.outcome,
                                   "next": result.next_step})
    return {"runId": job.run_id, "step": job.step, "outcome": result.outcome}



def _release(record: SQSRecord) -> dict[str, Any]:
    """A delayed send's job: hop again, or store the request released (the send worker then delivers it)."""
    from functions.automations.bootstrap import get_deps
    from functions.automations.core import utc_now
    from functions.shared.delayed_send import parse_release, run_release
    from functions.shared.request_store import get_json, send_key
    from functions.shared.settings import get_settings

    bucket = get_settings().request_bucket

    def load(request_id: str) -> Any:
        try:
            return get_json(bucket, send_key(request_id))
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    def store(request_id: str, doc: dict[str, Any]) -> None:
        from functions.shared.request_store import put_json

        put_json(bucket, send_key(request_id), doc)

    try:
        job = parse_release(record.body)
        outcome = run_release(job, utc_now(), enqueue=lambda body, wait: get_deps().queue.enqueue(body, wait),
                              load=load, store=store)
    except Exception as exc:
        logger.warning("release failed", extra={"messageId": record.message_id, "error": f"{type(exc).__name__}: {exc}"})
        raise
    logger.info("release done", extra={"requestId": job.request_id, "outcome": outcome})
    return {"requestId": job.request_id, "outcome": outcome}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS event source mapping entry point.

    A processor per invocation, not one per module: a BatchProcessor keeps the batch it works on (records,
    successes, failures) on itself, and the local data plane runs a function's concurrent invocations as
    threads of one process — a shared one would answer one batch with another's failures (and delete jobs
    that never ran). In Lambda one environment runs one invocation at a time; this is correct there too.
    """
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
