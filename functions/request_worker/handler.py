"""Request worker: S3 ObjectCreated on ``automations/`` → create the run (once) → enqueue step 0.

Powertools' shape: a module-level processor, a record handler and a short ``lambda_handler``; the
wiring is :mod:`functions.automations.bootstrap`, the rules (validation, the FAILED run of a request
that can never start, create-once) :mod:`functions.automations.core`. A bad record follows the one
policy of :mod:`functions.shared.request_events`: not ours → skipped; unreadable → raised (async
retry, then the async DLQ); bad content → a FAILED run naming the reason, never retried.
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import Logger  # the submodule: the package root pulls in far more

from functions.shared.errors import BadContent
from functions.shared.request_events import RequestEventProcessor, StoredRequest

__all__ = ["lambda_handler", "record_handler", "rejected", "processor"]

logger = Logger(service="request-worker")
processor = RequestEventProcessor("automations/", logger)


def record_handler(stored: StoredRequest) -> dict[str, str]:
    """Start the run stored at ``stored.key``; ``outcome`` is created | resumed | duplicate."""
    from functions.automations.bootstrap import get_deps
    from functions.automations.core import run_for_request, start_run
    from functions.shared.request_store import utc_now_iso

    deps = get_deps()
    outcome = start_run(run_for_request(stored.request_id, stored.read(), utc_now_iso()), deps.runs, deps.queue)
    logger.info("run started", extra={"runId": stored.request_id, "outcome": outcome})
    return {"key": stored.key, "runId": stored.request_id, "outcome": outcome}


def rejected(stored: StoredRequest, error: BadContent) -> dict[str, str]:
    """A stored request that can never start becomes a FAILED run naming why (``outcome`` invalid)."""
    from functions.automations.bootstrap import get_deps
    from functions.automations.core import reject_run
    from functions.shared.request_store import utc_now_iso

    outcome = reject_run(stored.request_id, str(error), utc_now_iso(), get_deps().runs,
                         recipient=getattr(error, "recipient", ""))
    return {"key": stored.key, "runId": stored.request_id, "outcome": outcome}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """S3 event → one run per ``automations/<runId>.json`` object."""
    return {"runs": processor.process(event, record_handler, rejected)}
