"""The console's side effects by name: what each does, and how to run it (no streamlit).

A page never calls these: it asks :mod:`dashboard.confirm` to open the confirm dialog with an
:class:`Action`; only the dialog's confirm button calls :func:`perform`, inside the audit log.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from dashboard import bulk, ops
from dashboard.aws import Aws
from dashboard.errors import InvalidEdit
from dashboard.letter_edit import check_edit

__all__ = ["Action", "Started", "perform", "RUNNERS", "BULK"]


@dataclass(frozen=True)
class Action:
    """A requested action: ``name`` picks the runner, ``params`` are audited, ``description`` is shown."""

    name: str
    params: Mapping[str, Any]
    description: str
    stage: str
    details: tuple[str, ...] = field(default_factory=tuple)
    typed: str = ""  # words the operator must type to confirm, in every stage (a purge); prod also needs them


@dataclass(frozen=True)
class Started:
    """Who confirmed a bulk action, and the audit record (``before`` written) its runner closes with the counts."""

    actor: str
    audit_id: str


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


def _redrive_edited(a: Aws, o: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    kind, body = p["dlq"], p["body"]
    verdict = check_edit(kind, body, o)  # again at confirm time: the dialog may outlive the page's check
    if not verdict.ok:
        raise InvalidEdit("the edited letter breaks its contract, nothing was sent: " + "; ".join(verdict.errors))
    resend = ops.resend_edited(bulk.resend_for(kind, a, o), body)
    return ops.redrive(a.sqs, ops.dlqs(o)[kind]["url"], [p["message_id"]], resend)


def _set_mapping(enabled: bool) -> Runner:
    def run(a: Aws, o: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        uuid = o[ops.MAPPINGS[p["mapping"]][0]]
        before, after = ops.set_mapping_enabled(a.lambda_, uuid, enabled)
        ops.record_pause(a.dynamodb, o["audit_table"], o["stage"], uuid, paused=not enabled, by=str(p.get("by", "")),
                         reason=str(p.get("reason", "")))
        return f"mapping {uuid} {before} -> {after}"

    return run


def _resend(a: Aws, o: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    return ops.resend_message(a.dynamodb, o["log_table"], o["request_bucket"], p["message_id"])


def _cancel_bulk(a: Aws, o: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    return bulk.cancel(a, o, p["task_id"])


BulkRunner = Callable[[Aws, Mapping[str, Any], Mapping[str, Any], Started], Any]


def _bulk(kind: str) -> BulkRunner:
    def run(a: Aws, o: Mapping[str, Any], p: Mapping[str, Any], started: Started) -> Any:
        if p.get("resume"):
            task = bulk.resume(a, o, p["resume"], actor=started.actor, audit_id=started.audit_id, audit_params=p)
            return f"resumed {task.task_id}: {task.summary()}"
        task = bulk.start_action(a, o, kind, p["dlq"], scope=str(p.get("selection", "")), rate=int(p.get("rate", 0)),
                                 actor=started.actor, audit_id=started.audit_id, audit_params=p)
        return f"started {task.task_id}"

    return run


# actions that run on after the dialog closes: the dialog writes `before`, their runner writes `after`
BULK: dict[str, BulkRunner] = {"bulk_redrive": _bulk("redrive"), "bulk_delete": _bulk("delete"),
                               "bulk_export": _bulk("export")}

RUNNERS: dict[str, Runner] = {
    "redrive_selected": _redrive_selected,
    "delete_selected": _delete_selected,
    "redrive_all": _redrive_all,
    "cancel_redrive": _cancel_redrive,
    "set_parallelization_factor": _set_factor,
    "redrive_edited": _redrive_edited,
    "pause_mapping": _set_mapping(False),
    "resume_mapping": _set_mapping(True),
    "resend_message": _resend,
    "cancel_bulk": _cancel_bulk,
    "revoke_api_key": _revoke_api_key,
    "clear_suppression": _clear_suppression,
}


def perform(aws: Aws, outputs: Mapping[str, Any], action: Action, started: Started | None = None) -> Any:
    """Run ``action`` against the stage described by ``outputs`` (``started``: a bulk action's audit record)."""
    if action.name in BULK:
        return BULK[action.name](aws, outputs, action.params, started or Started("", ""))
    return RUNNERS[action.name](aws, outputs, action.params)
