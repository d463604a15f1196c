"""SES feedback: SNS (the configuration set's event destination) → the message's next status event.

Powertools' shape: typed event data (``SNSEvent``), a record handler and a short ``lambda_handler``;
the wiring is in :mod:`functions.ses_feedback.bootstrap`, the rules in :mod:`functions.ses_feedback.core`.
SNS invokes the function asynchronously, so a failure is retried twice and then kept in the async DLQ.

A bad record: **not an SES event** (not JSON, no event type) or **not ours** (no relay tag, another
stage's tag, a message this stage does not have) → logged and skipped, never retried (a retry would
read the same bytes); **a store that fails** (throttled, denied) → raised after the event's other
records ran, so Lambda retries it and the async DLQ keeps it.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from aws_lambda_powertools.logging import Logger  # the submodule: the package root pulls in far more
from aws_lambda_powertools.utilities.data_classes.sns_event import SNSEvent, SNSEventRecord

from functions.ses_feedback.bootstrap import build_ports, reset_ports

__all__ = ["lambda_handler", "record_handler", "build_ports", "reset_ports"]

logger = Logger(service="ses-feedback")  # structured JSON; level from LOG_LEVEL


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_handler(record: SNSEventRecord) -> dict[str, Any]:
    """Apply one SNS record's SES event; returns what happened to each recipient's verdict."""
    from functions.ses_feedback.core import NotSesEvent, apply_feedback, parse_event

    sns = record.sns
    try:
        doc = json.loads(sns.message)
        verdicts = parse_event(doc)
    except (json.JSONDecodeError, TypeError, NotSesEvent) as exc:
        logger.error("not an SES event: skipped", extra={"snsMessageId": sns.message_id, "error": str(exc)})
        return {"snsMessageId": sns.message_id, "outcome": "invalid"}
    if not verdicts:
        logger.info("SES event ignored", extra={"snsMessageId": sns.message_id,
                                                 "eventType": doc.get("eventType") or doc.get("notificationType")})
        return {"snsMessageId": sns.message_id, "outcome": "ignored"}
    ports = build_ports()
    outcomes = []
    for fb in verdicts:
        outcome = apply_feedback(fb, ports.events, ports.suppressions, now_iso=_now_iso(),
                                 retention_days=ports.retention_days, stage=ports.stage)
        outcomes.append(outcome)
        logger.info("SES feedback", extra={"messageId": fb.message_id, "eventType": fb.event_type,
                                           "status": fb.status, "reason": fb.reason, "suppress": fb.suppress,
                                           "outcome": outcome})
    return {"snsMessageId": sns.message_id, "outcome": ",".join(outcomes)}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SNS → every record applied; the first failure is raised after all records ran."""
    results, failure = [], None
    for record in SNSEvent(event).records:
        try:
            results.append(record_handler(record))
        except Exception as exc:  # noqa: BLE001 - raised below, once every record had its turn
            logger.warning("record failed: the event will be retried",
                           extra={"snsMessageId": record.sns.message_id, "error": f"{type(exc).__name__}: {exc}"})
            failure = failure or exc
    if failure is not None:
        raise failure
    return {"records": len(results), "outcomes": [r["outcome"] for r in results]}
