"""The console's side effects by name: what each does, and how to run it (no streamlit).

A page never calls these: it asks :mod:`dashboard.confirm` to open the confirm dialog with an
:class:`Action`; only the dialog's confirm button calls :func:`perform`, inside the audit log.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from dashboard import ops
from dashboard.aws import Aws

__all__ = ["Action", "perform", "RUNNERS"]


@dataclass(frozen=True)
class Action:
    """A requested action: ``name`` picks the runner, ``params`` are audited, ``description`` is shown."""

    name: str
    params: Mapping[str, Any]
    description: str
    stage: str
    details: tuple[str, ...] = field(default_factory=tuple)


Runner = Callable[[Aws, Mapping[str, Any], Mapping[str, Any]], Any]


def _redrive_selected(a: Aws, o: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    kind = p["dlq"]
    url = ops.dlqs(o)[kind]["url"]
    if kind == "job":
        state = o.get("state_table", "")
        return ops.redrive_selected(a.sqs, url, o["job_queue_url"], p["message_ids"],
                                    is_canceled=lambda run: ops.run_canceled(a.dynamodb, state, run))
    if kind == "async":
        return ops.redrive_async(a.sqs, a.lambda_, url, p["message_ids"])
    return ops.redrive_stream(a.sqs, a.lambda_, a.streams, url, p["message_ids"], o["log_indexer_function"])


def _delete_selected(a: Aws, o: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    return ops.delete_selected(a.sqs, ops.dlqs(o)[p["dlq"]]["url"], p["message_ids"])


def _redrive_all(a: Aws, o: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    return "task " + ops.start_redrive_all(a.sqs, o["job_dlq_arn"], o["job_queue_arn"], int(p["rate"]))


def _cancel_redrive(a: Aws, o: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    return f"canceled after {ops.cancel_redrive(a.sqs, p['task_handle'])} messages moved"


def _set_factor(a: Aws, o: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    before, after = ops.set_parallelization_factor(a.lambda_, o["log_indexer_esm_uuid"], int(p["factor"]))
    return f"ParallelizationFactor {before} -> {after}"


def _clear_suppression(a: Aws, o: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    return ops.clear_suppressions(a.dynamodb, o["state_table"], str(p["channel"]), list(p["addresses"]))


def _revoke_api_key(a: Aws, o: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    return ops.revoke_api_key(a.dynamodb, o["state_table"], str(p["name"]))


RUNNERS: dict[str, Runner] = {
    "redrive_selected": _redrive_selected,
    "delete_selected": _delete_selected,
    "redrive_all": _redrive_all,
    "cancel_redrive": _cancel_redrive,
    "set_parallelization_factor": _set_factor,
    "revoke_api_key": _revoke_api_key,
    "clear_suppression": _clear_suppression,
}


def perform(aws: Aws, outputs: Mapping[str, Any], action: Action) -> Any:
    """Run ``action`` against the stage described by ``outputs``."""
    return RUNNERS[action.name](aws, outputs, action.params)
