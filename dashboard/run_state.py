"""What the console reads of runs in the state table: whether a run was canceled, and why its jobs failed.

The cancel rule is the automations core's own (:func:`functions.automations.core.run_is_canceled`):
a token's latest cancel applies to the runs created at or before it, so a token reused by a later run
does not keep that run's dead letters from being redriven.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from dashboard.letters import DeadLetter
from functions.automations.core import run_is_canceled
from functions.shared.dynamo_values import item_to_plain

__all__ = ["run_canceled", "explain_job_failures"]


def _get(ddb: Any, table: str, pk: str, sk: str) -> dict[str, Any] | None:
    item = ddb.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True).get("Item")
    return item_to_plain(item) if item else None


def run_canceled(ddb: Any, state_table: str, run_id: str) -> bool:
    """True when the run is CANCELED or its token's latest cancel came at or after its creation."""
    run = _get(ddb, state_table, f"RUN#{run_id}", "RUN")
    if run is None:
        return False
    token = run.get("cancelation_token")
    fired = _get(ddb, state_table, f"TOKEN#{token}", "CANCELED") if token else None
    return run_is_canceled(run.get("status"), (fired or {}).get("canceledAt"), run.get("createdAt"))


def explain_job_failures(ddb: Any, state_table: str, letters: list[DeadLetter]) -> list[DeadLetter]:
    """Give each job dead letter its failing step's recorded error as the reason.

    The job worker writes the error of every failed attempt on ``RUN#<runId>/STEP#<step>`` (CONTRACTS);
    the DLQ message itself only carries ``{runId, step}``. Letters whose step has no record keep the
    generic reason. One BatchGetItem per 100 letters.
    """
    keys = sorted({(x.run_id, x.step) for x in letters if x.kind == "job" and x.run_id and x.step is not None})
    errors: dict[tuple[str, int], str] = {}
    for i in range(0, len(keys), 100):
        request = {state_table: {"Keys": [{"pk": {"S": f"RUN#{r}"}, "sk": {"S": f"STEP#{st:04d}"}}
                                          for r, st in keys[i:i + 100]],
                                 "ProjectionExpression": "pk, sk, #e", "ExpressionAttributeNames": {"#e": "error"}}}
        while request:
            resp = ddb.batch_get_item(RequestItems=request)
            for item in map(item_to_plain, resp.get("Responses", {}).get(state_table, [])):
                if "error" in item:
                    errors[(item["pk"].split("#", 1)[1], int(item["sk"].split("#", 1)[1]))] = item["error"]
            request = resp.get("UnprocessedKeys") or {}
    return [replace(x, reason=f"{errors[(x.run_id, x.step)]} (after maxReceiveCount receives)")
            if (x.run_id, x.step) in errors else x for x in letters]
