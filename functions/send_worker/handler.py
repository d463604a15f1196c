"""Send worker: S3 ObjectCreated on ``send/`` → deliver every message of the stored request once.

Powertools' shape: a module-level processor, a record handler and a short ``lambda_handler``. The
wiring is in :mod:`functions.send_worker.bootstrap`, the rules (routing, claims, leases) in
:mod:`functions.send_worker.core`. A bad record follows the one policy of
:mod:`functions.shared.request_events`: not ours → skipped; unreadable → raised (async retry, then
the async DLQ); bad content → logged, never retried.
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import Logger  # the submodule: the package root pulls in far more

from functions.send_worker.bootstrap import build_ports, ports_for, reset_ports
from functions.shared.request_events import RequestEventProcessor, StoredRequest

__all__ = ["lambda_handler", "record_handler", "processor", "build_ports", "reset_ports"]

logger = Logger(service="send-worker")  # structured JSON; level from LOG_LEVEL
processor = RequestEventProcessor("send/", logger)


def record_handler(stored: StoredRequest, ports: Any) -> dict[str, Any]:
    """Deliver the messages of one stored send request; ``settled`` counts the messages it settled."""
    from functions.send_worker.core import process_request  # jinja2 loads on the first record, not at import

    doc = stored.read()
    settled = process_request(doc, ports)
    logger.info("send request processed", extra={"requestId": doc.get("requestId"),
                "messages": [[p.message_id, p.channel, p.outcome.status] for p in settled]})
    return {"key": stored.key, "outcome": "processed", "settled": len(settled)}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """S3 event → every record processed; the first failure is raised after all records ran."""
    ports = ports_for(context)
    results = processor.process(event, lambda stored: record_handler(stored, ports))
    return {"settled": sum(r.get("settled", 0) for r in results)}
