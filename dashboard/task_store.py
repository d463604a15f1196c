"""Bulk actions and saved selections, kept in the stage (the audit table), not in a browser session.

A search, a bulk redrive/delete/export, its progress, its cancel request and who runs it are items in
``relay-<stage>-audit`` (docs/CONTRACTS.md), so closing the console loses nothing: another console —
or ``python -m dashboard.bulk`` — sees the action and resumes it from what is stored here.

Items (besides the ``AUDIT#<stage>`` records):

* ``TASK#<stage>`` / ``<taskId>`` — one bulk action: kind, DLQ, scope, rate, status, counters, the
  runner's lease (``owner``, ``leaseUntilMs``), ``cancelRequested`` and the audit record it closes.
* ``TASK#<stage>#<taskId>#match`` / ``<ulid>`` — a search's matched message ids (the saved selection),
  ``#done`` — ids a redrive/delete finished (what a resume skips), ``#rows`` — the first matches as
  table rows for the page. Ids are newline-joined, a few thousand per item.

One runner at a time: a runner *claims* the task (a conditional write that succeeds only when nobody
holds an unexpired lease) and every checkpoint is conditional on still being the owner.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from dashboard.errors import TaskBusy
from functions.shared.dynamo_values import item_to_plain, plain_to_item
from functions.shared.ids import new_ulid

__all__ = ["Task", "TaskStore", "LeaseLost", "RUNNING", "COMPLETED", "CANCELED", "FAILED", "IDS_PER_ITEM"]

RUNNING, COMPLETED, CANCELED, FAILED = "RUNNING", "COMPLETED", "CANCELED", "FAILED"
IDS_PER_ITEM = 4000  # ~150 KB of message ids: well under DynamoDB's 400 KB item limit


class LeaseLost(Exception):
    """Another runner claimed the task (this one's lease ran out): stop without touching it further."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Task:
    """One bulk action as stored (see the module docstring)."""

    task_id: str
    kind: str  # search | redrive | delete | export
    dlq: str  # job | stream | async
    status: str
    actor: str = ""
    created_at: str = ""
    updated_at: str = ""
    scope: str = ""  # the search whose matches it acts on; "" = every letter in the DLQ
    rate: int = 0
    query: Mapping[str, Any] = field(default_factory=dict)
    budget: Mapping[str, int] = field(default_factory=dict)
    total: int = 0  # selection size, or the DLQ's depth when it started
    counters: Mapping[str, int] = field(default_factory=dict)
    elapsed_ms: int = 0
    first_match_ms: int | None = None
    note: str = ""
    samples: Mapping[str, str] = field(default_factory=dict)  # a few skipped/failed letters and why
    cancel_requested: bool = False
    owner: str = ""
    lease_until_ms: int = 0
    audit_id: str = ""
    audit_action: str = ""
    audit_params: Mapping[str, Any] = field(default_factory=dict)
    export_key: str = ""

    @property
    def interrupted(self) -> bool:
        """RUNNING on paper, but its runner stopped renewing the lease (the console that ran it is gone)."""
        return self.status == RUNNING and self.lease_until_ms < _now_ms()

    @property
    def active(self) -> bool:
        """A runner is working on it right now."""
        return self.status == RUNNING and not self.interrupted

    @property
    def resumable(self) -> bool:
        """A redrive or delete that stopped before its end (canceled, failed or interrupted)."""
        return self.kind in ("redrive", "delete") and (self.status in (CANCELED, FAILED) or self.interrupted)

    def count(self, name: str) -> int:
        """One counter (``scanned``, ``matched``, ``moved``, ``skipped``, ``failed``, ``notFound``)."""
        return int(self.counters.get(name, 0))

    @property
    def progress(self) -> float:
        """0..1 for a progress bar."""
        if self.status == COMPLETED:
            return 1.0
        done = self.count("scanned") if self.kind in ("search", "export") else self.count("moved")
        return min(1.0, done / self.total) if self.total else 0.0

    def summary(self) -> str:
        """One line: what it did so far (the audit ``after`` result and the page's progress text)."""
        c = self.counters
        if self.kind == "search":
            text = f"{c.get('matched', 0)} matched of {c.get('scanned', 0)} scanned"
            if self.first_match_ms is not None:
                text += f" (first match after {self.first_match_ms / 1000:.2f} s)"
        elif self.kind == "export":
            text = f"{c.get('matched', 0)} exported of {c.get('scanned', 0)} scanned"
        else:
            verb = "moved" if self.kind == "redrive" else "deleted"
            text = f"{c.get('moved', 0)} {verb} of {self.total}"
            for key, label in (("skipped", "skipped"), ("failed", "failed"), ("notFound", "no longer in the DLQ")):
                if c.get(key):
                    text += f", {c[key]} {label}"
        return f"{text} in {self.elapsed_ms / 1000:.1f} s" + (f" — {self.note}" if self.note else "")

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> "Task":
        """A task from its plain item (``item_to_plain``)."""
        def js(name: str) -> Any:
            raw = item.get(name)
            return json.loads(raw) if isinstance(raw, str) and raw else {}

        return cls(
            task_id=item["sk"], kind=item.get("kind", ""), dlq=item.get("dlq", ""), status=item.get("status", ""),
            actor=item.get("actor", ""), created_at=item.get("createdAt", ""), updated_at=item.get("updatedAt", ""),
            scope=item.get("scope", ""), rate=int(item.get("rate", 0)), query=js("query"), budget=js("budget"),
            total=int(item.get("total", 0)), counters=js("counters"), elapsed_ms=int(item.get("elapsedMs", 0)),
            first_match_ms=item.get("firstMatchMs"), note=item.get("note", ""), samples=js("samples"),
            cancel_requested=bool(item.get("cancelRequested", False)), owner=item.get("owner", ""),
            lease_until_ms=int(item.get("leaseUntilMs", 0)), audit_id=item.get("auditId", ""),
            audit_action=item.get("auditAction", ""), audit_params=js("auditParams"),
            export_key=item.get("exportKey", ""),
        )


class TaskStore:
    """Bulk actions of one stage in its audit table (one instance per console session or runner)."""

    def __init__(self, ddb: Any, table: str, stage: str) -> None:
        self._ddb, self._table, self.stage = ddb, table, stage
        self._pk = f"TASK#{stage}"

    # ---- the task record ------------------------------------------------------------------------
    def create(self, kind: str, dlq: str, *, actor: str, scope: str = "", rate: int = 0,
               query: Mapping[str, Any] | None = None, budget: Mapping[str, int] | None = None, total: int = 0,
               audit_id: str = "", audit_action: str = "", audit_params: Mapping[str, Any] | None = None) -> Task:
        """Record a new RUNNING task (no runner yet: :meth:`claim` next); returns it."""
        task_id = "task_" + new_ulid()
        now = _iso()
        item = {"pk": self._pk, "sk": task_id, "kind": kind, "dlq": dlq, "status": RUNNING, "actor": actor,
                "createdAt": now, "updatedAt": now, "scope": scope, "rate": int(rate),
                "query": json.dumps(dict(query or {}), sort_keys=True), "budget": json.dumps(dict(budget or {})),
                "total": int(total), "counters": "{}", "elapsedMs": 0, "note": "", "samples": "{}",
                "cancelRequested": False, "leaseUntilMs": 0, "auditId": audit_id, "auditAction": audit_action,
                "auditParams": json.dumps(dict(audit_params or {}), sort_keys=True, default=str)}
        self._ddb.put_item(TableName=self._table, Item=plain_to_item(item),
                           ConditionExpression="attribute_not_exists(pk)")
        return Task.from_item(item)

    def get(self, task_id: str) -> Task | None:
        """The task, or None."""
        item = self._ddb.get_item(TableName=self._table, Key=self._key(task_id), ConsistentRead=True).get("Item")
        return Task.from_item(item_to_plain(item)) if item else None

    def list(self, limit: int = 20) -> list[Task]:
        """The newest ``limit`` tasks of the stage, newest first."""
        resp = self._ddb.query(TableName=self._table, KeyConditionExpression="pk = :p",
                               ExpressionAttributeValues={":p": {"S": self._pk}}, ScanIndexForward=False, Limit=limit)
        return [Task.from_item(item_to_plain(i)) for i in resp.get("Items", [])]

    def claim(self, task_id: str, owner: str, lease_s: float, **fields: Any) -> Task:
        """Become the task's runner (status RUNNING, cancel request cleared); ``fields`` update it too.

        Raises
        ------
        TaskBusy
            Another runner holds an unexpired lease.
        """
        now = _now_ms()
        values = {"status": RUNNING, "cancelRequested": False, "owner": owner, "leaseUntilMs": now + int(lease_s * 1000),
                  "updatedAt": _iso(), **fields}
        try:
            return self._update(task_id, values, "attribute_not_exists(#owner) OR #owner = :me OR #owner = :none "
                                                 "OR #leaseUntilMs < :now", {":me": owner, ":none": "", ":now": now})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            held = self.get(task_id)
            raise TaskBusy(f"bulk action {task_id} is running in another console ({held.owner if held else '?'}); "
                           "it can be resumed once that console stops renewing it (30 s)") from None

    def checkpoint(self, task_id: str, owner: str, lease_s: float, **fields: Any) -> Task:
        """Store progress and renew the lease; returns the record as stored (read ``cancel_requested``).

        Raises
        ------
        LeaseLost
            This runner is no longer the owner.
        """
        values = {"leaseUntilMs": _now_ms() + int(lease_s * 1000), "updatedAt": _iso(), **fields}
        try:
            return self._update(task_id, values, "#owner = :me", {":me": owner})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            raise LeaseLost(task_id) from None

    def finish(self, task_id: str, owner: str, status: str, **fields: Any) -> Task:
        """Record the end (COMPLETED, CANCELED or FAILED) and give the lease up."""
        values = {"status": status, "owner": "", "leaseUntilMs": 0, "updatedAt": _iso(), **fields}
        try:
            return self._update(task_id, values, "#owner = :me", {":me": owner})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            raise LeaseLost(task_id) from None

    def request_cancel(self, task_id: str) -> None:
        """Ask the runner to stop after its current chunk (it notices at its next checkpoint)."""
        self._update(task_id, {"cancelRequested": True, "updatedAt": _iso()}, "attribute_exists(pk)", {})

    def _update(self, task_id: str, values: Mapping[str, Any], condition: str, cond_values: Mapping[str, Any]) -> Task:
        encoded = {k: (json.dumps(v, sort_keys=True, default=str) if isinstance(v, (dict, list)) else v)
                   for k, v in values.items()}
        names = {f"#{k}": k for k in encoded}
        for name in ("owner", "leaseUntilMs"):  # DynamoDB refuses names an expression does not use
            if f"#{name}" in condition:
                names[f"#{name}"] = name
        attr_values = plain_to_item({f":v_{k}": v for k, v in encoded.items()} | dict(cond_values))
        resp = self._ddb.update_item(
            TableName=self._table, Key=self._key(task_id),
            UpdateExpression="SET " + ", ".join(f"#{k} = :v_{k}" for k in encoded),
            ConditionExpression=condition, ExpressionAttributeNames=names,
            ExpressionAttributeValues=attr_values, ReturnValues="ALL_NEW")
        return Task.from_item(item_to_plain(resp["Attributes"]))

    def _key(self, task_id: str) -> dict[str, Any]:
        return {"pk": {"S": self._pk}, "sk": {"S": task_id}}

    # ---- ids and rows ---------------------------------------------------------------------------
    def add_ids(self, task_id: str, what: str, ids: Iterable[str]) -> None:
        """Append message ids to the task's ``what`` list (``match`` or ``done``)."""
        ids = list(ids)
        for i in range(0, len(ids), IDS_PER_ITEM):
            self._ddb.put_item(TableName=self._table, Item={
                "pk": {"S": f"{self._pk}#{task_id}#{what}"}, "sk": {"S": new_ulid()},
                "ids": {"S": "\n".join(ids[i:i + IDS_PER_ITEM])}})

    def ids(self, task_id: str, what: str) -> list[str]:
        """Every id of the task's ``what`` list, in the order they were added."""
        out: list[str] = []
        for item in self._parts(f"{self._pk}#{task_id}#{what}"):
            out.extend(x for x in item["ids"]["S"].split("\n") if x)
        return out

    def add_rows(self, task_id: str, rows: list[Mapping[str, Any]]) -> None:
        """Append table rows (a search's first matches, for the page)."""
        if rows:
            self._ddb.put_item(TableName=self._table, Item={
                "pk": {"S": f"{self._pk}#{task_id}#rows"}, "sk": {"S": new_ulid()},
                "rows": {"S": json.dumps(rows, default=str)}})

    def rows(self, task_id: str) -> list[dict[str, Any]]:
        """The rows :meth:`add_rows` stored, in order."""
        out: list[dict[str, Any]] = []
        for item in self._parts(f"{self._pk}#{task_id}#rows"):
            out.extend(json.loads(item["rows"]["S"]))
        return out

    def _parts(self, pk: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self._table, "KeyConditionExpression": "pk = :p",
                                  "ExpressionAttributeValues": {":p": {"S": pk}}, "ConsistentRead": True}
        while True:
            resp = self._ddb.query(**kwargs)
            items.extend(resp.get("Items", []))
            if not resp.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
