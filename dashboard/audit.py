"""The audit log: every console action is written before it runs and after it ends (no streamlit).

Records live in the stage's audit table (docs/CONTRACTS.md): ``pk = "AUDIT#<stage>"``,
``sk = "<iso ts>#<auditId>#<phase>"`` with ``actor, action, params (JSON), result, at``. The
``before`` record is written first, so an action that crashes the console half-way still leaves a
trace of who started what.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, TypeVar

__all__ = ["AuditLog", "describe_result"]

T = TypeVar("T")


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def describe_result(value: Any) -> str:
    """A short text for the ``result`` attribute."""
    summary = getattr(value, "summary", None)
    if callable(summary):
        return f"ok: {summary()}"
    return f"ok: {value}" if value is not None else "ok"


class AuditLog:
    """Writes and lists audit records in one stage's audit table."""

    def __init__(self, ddb: Any, table: str, stage: str) -> None:
        self._ddb, self._table, self._stage = ddb, table, stage

    def _put(self, audit_id: str, phase: str, actor: str, action: str, params: Mapping[str, Any], result: str) -> None:
        at = _now_iso()
        self._ddb.put_item(TableName=self._table, Item={
            "pk": {"S": f"AUDIT#{self._stage}"},
            "sk": {"S": f"{at}#{audit_id}#{phase}"},
            "auditId": {"S": audit_id}, "phase": {"S": phase}, "stage": {"S": self._stage},
            "actor": {"S": actor}, "action": {"S": action},
            "params": {"S": json.dumps(dict(params), sort_keys=True, default=str)},
            "result": {"S": result}, "at": {"S": at},
        })

    def begin(self, actor: str, action: str, params: Mapping[str, Any]) -> str:
        """Write the ``before`` record; returns the audit id that :meth:`end` closes.

        A bulk action calls this when it starts and its runner calls :meth:`end` with the counts when it
        stops, so an action that runs for minutes is still one audited pair.
        """
        audit_id = uuid.uuid4().hex[:12]
        self._put(audit_id, "before", actor, action, params, "started")
        return audit_id

    def end(self, audit_id: str, actor: str, action: str, params: Mapping[str, Any], result: str) -> None:
        """Write the ``after`` record of :meth:`begin`'s action with its ``result`` text."""
        self._put(audit_id, "after", actor, action, params, result)

    def run(self, actor: str, action: str, params: Mapping[str, Any], fn: Callable[[], T]) -> T:
        """Write ``before``, run ``fn``, write ``after`` with its result (or its error), and return/raise.

        If the ``before`` record cannot be written, the action does not run: an unaudited action is
        worse than a refused one.
        """
        audit_id = self.begin(actor, action, params)
        try:
            value = fn()
        except Exception as err:
            code = getattr(err, "code", type(err).__name__)
            self.end(audit_id, actor, action, params, f"error: {code}: {err}")
            raise
        self.end(audit_id, actor, action, params, describe_result(value))
        return value

    def list(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest ``limit`` records of the stage, newest first."""
        resp = self._ddb.query(TableName=self._table, KeyConditionExpression="pk = :p",
                               ExpressionAttributeValues={":p": {"S": f"AUDIT#{self._stage}"}},
                               ScanIndexForward=False, Limit=limit)
        out = []
        for item in resp.get("Items", []):
            out.append({k: v.get("S", v.get("N")) for k, v in item.items() if k not in ("pk",)})
        return out
