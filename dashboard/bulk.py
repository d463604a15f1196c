"""Bulk actions over a whole DLQ: a small runner that works from what the stage stores (no streamlit).

* **search** — receive through every letter (within a message and time budget), save the ids of those a
  :class:`~dashboard.letter_query.LetterQuery` matches: the saved selection, with its count.
* **redrive / delete** — the one redrive loop (:func:`dashboard.redrive.redrive`) over a selection or
  every letter, at a chosen rate, send first and delete after.
* **export** — every selected letter as JSON in the request store (``exports/<taskId>.json``).

The task lives in the stage (:mod:`dashboard.task_store`); the console starts a runner thread for it
(:func:`start`), which survives the browser tab being closed. The runner checkpoints every half second —
counters, the ids it finished, its lease — and learns there whether someone asked it to stop. A runner
that died (the console process stopped) leaves a RUNNING task whose lease runs out: any console, or
``python -m dashboard.bulk --stage <stage> resume <taskId>``, resumes it from the stored ids.

Each bulk action is audited once: the confirm dialog writes the ``before`` record and the runner writes
the ``after`` record, with the counts, when it stops.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping

from dashboard.audit import AuditLog
from dashboard.aws import Aws
from dashboard.errors import NotResumable
from dashboard.letter_query import LetterQuery
from dashboard.letters import decode, to_export_json
from dashboard.outputs import dlqs
from dashboard.queues import queue_depth
from dashboard.redrive import Pacer, RedriveReport, Resend, only_done, redrive, reinvoke_async, reinvoke_stream, to_job_queue
from dashboard.run_state import explain_job_failures, run_canceled
from dashboard.scan import QueueScan, hold_seconds
from dashboard.task_store import CANCELED, COMPLETED, FAILED, RUNNING, LeaseLost, Task, TaskStore

__all__ = ["Runner", "resend_for", "store_for", "start", "start_search", "start_action", "resume", "cancel", "join",
           "DEFAULT_BUDGET", "LEASE_S", "EXPORT_PREFIX", "ACTIONS"]

log = logging.getLogger(__name__)

LEASE_S = 30.0  # a runner renews it every checkpoint; a console that vanished frees it after this
FLUSH_S = 0.5
ROWS_KEPT = 500  # a search keeps the first matches as rows for the page; the ids are all kept
SAMPLES_KEPT = 20
EXPORT_PREFIX = "exports/"
DEFAULT_BUDGET = {"messages": 50_000, "seconds": 300}
ACTIONS = {"redrive": "bulk_redrive", "delete": "bulk_delete", "export": "bulk_export"}  # kind → audit action


def store_for(aws: Aws, outputs: Mapping[str, Any]) -> TaskStore:
    """The stage's task store (its audit table)."""
    return TaskStore(aws.dynamodb, outputs["audit_table"], outputs["stage"])


def resend_for(dlq: str, aws: Aws, outputs: Mapping[str, Any]) -> Resend:
    """How a letter of ``dlq`` is re-sent: job → the job queue (canceled runs skipped), async → re-invoke
    the failed function, stream → re-invoke the log indexer with the batch's records."""
    if dlq == "job":
        state = outputs.get("state_table", "")
        return to_job_queue(aws.sqs, outputs.get("job_queue_url", ""),
                            is_canceled=(lambda run: run_canceled(aws.dynamodb, state, run)) if state else None)
    if dlq == "async":
        return reinvoke_async(aws.lambda_)
    return reinvoke_stream(aws.lambda_, aws.streams, outputs["log_indexer_function"])


def _chunk(rate: int) -> int:
    # small chunks at low rates, so the pace is smooth and a cancel lands between few letters
    return 10 if not rate else max(1, min(10, rate // 5))


class Runner:
    """Runs one stored task to its end (or until it is canceled, or ``stop`` is set).

    Parameters
    ----------
    aws, outputs
        The stage's clients and outputs.
    store
        Where the task lives.
    task_id
        The task to run.
    stop
        Set it to stop at the next checkpoint *without* finishing the task (a console shutting down): the
        task stays RUNNING with its lease given up, so the next console resumes it at once.
    """

    def __init__(self, aws: Aws, outputs: Mapping[str, Any], store: TaskStore, task_id: str, *,
                 stop: threading.Event | None = None, lease_s: float = LEASE_S, flush_s: float = FLUSH_S) -> None:
        self.aws, self.outputs, self.store, self.task_id = aws, dict(outputs), store, task_id
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop = stop or threading.Event()
        self.lease_s, self.flush_s = lease_s, flush_s
        self.cancel_requested = False
        self._t0 = time.monotonic()
        self._base_ms = 0
        self._last = 0.0
        self._ids: dict[str, list[str]] = {"done": [], "match": []}
        self._rows: list[dict[str, Any]] = []
        self._counters: dict[str, int] = {}  # the latest, so a failure records how far it got

    def claim(self, **fields: Any) -> Task:
        """Become the task's runner (raises :class:`~dashboard.errors.TaskBusy` if another holds it)."""
        task = self.store.claim(self.task_id, self.owner, self.lease_s, **fields)
        self._t0, self._base_ms, self._counters = time.monotonic(), task.elapsed_ms, dict(task.counters)
        return task

    def _elapsed_ms(self) -> int:
        return self._base_ms + int((time.monotonic() - self._t0) * 1000)

    def _keep_going(self) -> bool:
        return not (self.cancel_requested or self.stop.is_set())

    def checkpoint(self, counters: Mapping[str, int], *, done: list[str] = (), match: list[str] = (),
                   rows: list[dict[str, Any]] = (), force: bool = False, **fields: Any) -> bool:
        """Buffer ids/rows; at most every ``flush_s`` store them with the counters and renew the lease.

        Returns whether to keep going (no cancel requested, no stop).
        """
        self._counters = dict(counters)
        self._ids["done"].extend(done)
        self._ids["match"].extend(match)
        self._rows.extend(rows)
        if not force and time.monotonic() - self._last < self.flush_s:
            return self._keep_going()
        for what, ids in self._ids.items():
            if ids:
                self.store.add_ids(self.task_id, what, ids)
                self._ids[what] = []
        if self._rows:
            self.store.add_rows(self.task_id, self._rows)
            self._rows = []
        task = self.store.checkpoint(self.task_id, self.owner, self.lease_s, counters=dict(counters),
                                     elapsedMs=self._elapsed_ms(), **fields)
        self._last = time.monotonic()
        self.cancel_requested = task.cancel_requested
        return self._keep_going()

    def run(self) -> Task:
        """Run the claimed task; finish it (and close its audit record) unless stopped or displaced."""
        task = self.store.get(self.task_id)
        assert task is not None and task.owner == self.owner, "claim() the task first"
        try:
            status, fields = {"search": self._search, "export": self._export}.get(task.kind, self._act)(task)
        except LeaseLost:
            log.warning("bulk %s: another runner took over; this one stops", self.task_id)
            return self.store.get(self.task_id) or task
        except Exception as err:  # noqa: BLE001 - recorded on the task and in the audit log, then resumable
            log.exception("bulk %s failed", self.task_id)
            status, fields = FAILED, {"note": f"{type(err).__name__}: {err}"}
        try:
            self.checkpoint(fields.pop("counters", self._counters), force=True)
            final = self.store.finish(self.task_id, self.owner, status, elapsedMs=self._elapsed_ms(), **fields)
        except LeaseLost:
            return self.store.get(self.task_id) or task
        if final.audit_id and status != RUNNING:
            result = ("ok: " if status == COMPLETED else f"{status.lower()}: ") + final.summary()
            AuditLog(self.aws.dynamodb, self.outputs["audit_table"], self.store.stage).end(
                final.audit_id, final.actor, final.audit_action, final.audit_params, result)
        return final

    def _ended(self, stopped: bool) -> str:
        if self.cancel_requested:
            return CANCELED
        return RUNNING if (stopped and self.stop.is_set()) else COMPLETED

    # ---- search ---------------------------------------------------------------------------------
    def _search(self, task: Task) -> tuple[str, dict[str, Any]]:
        query = LetterQuery.from_dict(task.query)
        budget = {**DEFAULT_BUDGET, **task.budget}
        sqs, url, state = self.aws.sqs, dlqs(self.outputs)[task.dlq]["url"], self.outputs.get("state_table", "")
        deadline = time.monotonic() + budget["seconds"]
        c = {"scanned": 0, "matched": 0}
        first: int | None = None
        keep = True
        over = lambda: c["scanned"] >= budget["messages"] or time.monotonic() >= deadline  # noqa: E731
        with QueueScan(sqs, url, hide_s=budget["seconds"] + 60) as scan:
            for batch in scan.batches(stop=lambda: not keep or over()):
                letters = [decode(task.dlq, m) for m in batch][:budget["messages"] - c["scanned"]]
                if task.dlq == "job" and query.needs_step_errors and state:
                    letters = explain_job_failures(self.aws.dynamodb, state, letters)
                now = datetime.now(timezone.utc)
                hits = [x for x in letters if query.matches(x, now)]
                c["scanned"] += len(letters)
                c["matched"] += len(hits)
                if hits and first is None:
                    first = self._elapsed_ms()
                shown = hits[:max(0, ROWS_KEPT - (c["matched"] - len(hits)))]
                if shown and task.dlq == "job" and state and not query.needs_step_errors:
                    shown = explain_job_failures(self.aws.dynamodb, state, shown)  # the rows say why, too
                rows = [{k: v for k, v in x.as_row(now).items() if k != "body"} | {"body": x.body[:300]} for x in shown]
                keep = self.checkpoint(c, match=[x.message_id for x in hits], rows=rows, firstMatchMs=first)
            others = max(0, queue_depth(sqs, url).in_flight - len(scan.held)) if scan.exhausted else 0
        note = ""
        if not scan.exhausted and keep:
            note = f"budget reached ({budget['messages']} messages / {budget['seconds']} s): not every letter was scanned"
        elif others:
            note = f"{others} letter(s) were held by another reader (a peek or bulk action) and not scanned"
        return self._ended(not keep), {"counters": c, "note": note, "firstMatchMs": first}

    # ---- redrive / delete -------------------------------------------------------------------------
    def _act(self, task: Task) -> tuple[str, dict[str, Any]]:
        sqs, url = self.aws.sqs, dlqs(self.outputs)[task.dlq]["url"]
        base_moved = task.count("moved")
        depth = queue_depth(sqs, url).total
        if task.scope:
            selection = self.store.ids(task.scope, "match")
            done = set(self.store.ids(self.task_id, "done"))
            wanted: list[str] | None = [i for i in selection if i not in done]
            total = len(selection)
        else:
            wanted, total = None, base_moved + depth
        self.store.checkpoint(self.task_id, self.owner, self.lease_s, total=total)
        resend = only_done if task.kind == "delete" else resend_for(task.dlq, self.aws, self.outputs)
        rate = task.rate or None

        def counters(report: RedriveReport) -> dict[str, int]:
            return {"moved": base_moved + len(report.moved), "skipped": len(report.skipped),
                    "failed": len(report.failed), "notFound": len(report.not_found)}

        report = redrive(sqs, url, wanted, resend, chunk=_chunk(task.rate), pace=Pacer(rate),
                         checkpoint=lambda r, deleted: self.checkpoint(counters(r), done=deleted),
                         hide_s=hold_seconds(depth, rate, act=len(wanted) if wanted is not None else None))
        samples = dict(list({**report.skipped, **report.failed}.items())[:SAMPLES_KEPT])
        return self._ended(report.stopped), {"counters": counters(report), "samples": samples}

    # ---- export ---------------------------------------------------------------------------------
    def _export(self, task: Task) -> tuple[str, dict[str, Any]]:
        sqs, url = self.aws.sqs, dlqs(self.outputs)[task.dlq]["url"]
        wanted = set(self.store.ids(task.scope, "match")) if task.scope else None
        pace = Pacer(task.rate or None)
        letters = []
        c = {"scanned": 0, "matched": 0}
        keep = True
        with QueueScan(sqs, url, hide_s=hold_seconds(queue_depth(sqs, url).total, task.rate or None)) as scan:
            for batch in scan.batches(stop=lambda: not keep or (wanted is not None and c["matched"] >= len(wanted))):
                picked = [decode(task.dlq, m) for m in batch if wanted is None or m["MessageId"] in wanted]
                pace.wait(len(picked))
                letters.extend(picked)
                c["scanned"] += len(batch)
                c["matched"] += len(picked)
                keep = self.checkpoint(c)
        key = f"{EXPORT_PREFIX}{self.task_id}.json"
        self.aws.client("s3").put_object(Bucket=self.outputs["request_bucket"], Key=key,
                                         Body=to_export_json(letters).encode(), ContentType="application/json")
        return self._ended(not keep), {"counters": c, "exportKey": key}


# ---- what the console calls --------------------------------------------------------------------------------
_threads: dict[str, threading.Thread] = {}


def start(runner: Runner) -> threading.Thread:
    """Run a claimed runner in a daemon thread of this process (it outlives the page that started it)."""
    def body() -> None:
        try:
            runner.run()
        except Exception:  # noqa: BLE001 - a thread has nobody to raise to; run() records failures itself
            log.exception("bulk %s: runner crashed", runner.task_id)

    thread = threading.Thread(target=body, name=f"bulk-{runner.task_id}", daemon=True)
    _threads[runner.task_id] = thread
    thread.start()
    return thread


def join(task_id: str, timeout: float | None = None) -> bool:
    """Wait for this process's runner of ``task_id``; True when it is not running (any more)."""
    thread = _threads.get(task_id)
    if thread is not None:
        thread.join(timeout)
        return not thread.is_alive()
    return True


def start_search(aws: Aws, outputs: Mapping[str, Any], dlq: str, query: LetterQuery, budget: Mapping[str, int],
                 actor: str) -> Task:
    """Save a search and start scanning (a read: no confirm dialog, no audit record)."""
    store = store_for(aws, outputs)
    depth = queue_depth(aws.sqs, dlqs(outputs)[dlq]["url"]).total
    task = store.create("search", dlq, actor=actor, query=query.to_dict(),
                        budget={**DEFAULT_BUDGET, **budget}, total=min(depth, int(budget.get("messages", depth))))
    runner = Runner(aws, outputs, store, task.task_id)
    runner.claim()
    start(runner)
    return task


def start_action(aws: Aws, outputs: Mapping[str, Any], kind: str, dlq: str, *, scope: str, rate: int, actor: str,
                 audit_id: str, audit_params: Mapping[str, Any]) -> Task:
    """Record a redrive/delete/export of ``scope`` (a search's task id; "" = every letter) and start it."""
    store = store_for(aws, outputs)
    task = store.create(kind, dlq, actor=actor, scope=scope, rate=rate, audit_id=audit_id,
                        audit_action=ACTIONS[kind], audit_params=audit_params)
    runner = Runner(aws, outputs, store, task.task_id)
    runner.claim()
    start(runner)
    return task


def resume(aws: Aws, outputs: Mapping[str, Any], task_id: str, *, actor: str, audit_id: str = "",
           audit_params: Mapping[str, Any] | None = None, background: bool = True) -> Task:
    """Resume a stopped redrive/delete from its stored ids (a new audit pair closes with the total counts)."""
    store = store_for(aws, outputs)
    task = store.get(task_id)
    if task is None or not task.resumable:
        raise NotResumable(f"bulk action {task_id} is {task.status.lower() if task else 'unknown'}: "
                           "only a stopped redrive or delete resumes (run a search or an export again instead)")
    runner = Runner(aws, outputs, store, task_id)
    runner.claim(actor=actor, auditId=audit_id, auditParams=dict(audit_params or {}), note="")
    if background:
        start(runner)
        return task
    return runner.run()


def cancel(aws: Aws, outputs: Mapping[str, Any], task_id: str) -> str:
    """Ask the runner to stop after its current chunk; returns what it had done when asked."""
    store = store_for(aws, outputs)
    store.request_cancel(task_id)
    task = store.get(task_id)
    return f"cancel requested: {task.summary() if task else task_id}"


def main(argv: list[str] | None = None) -> int:
    """``python -m dashboard.bulk --stage <stage> list | resume <taskId>`` (the runner without the console)."""
    parser = argparse.ArgumentParser(description="relay console bulk actions")
    parser.add_argument("--stage", required=True)
    parser.add_argument("verb", choices=["list", "resume"])
    parser.add_argument("task_id", nargs="?")
    args = parser.parse_args(argv)
    from dashboard.aws import clients
    from dashboard.outputs import discover_stages

    aws = clients()
    outputs = discover_stages(aws.ssm)[args.stage]
    if args.verb == "list":
        for t in store_for(aws, outputs).list(50):
            state = "interrupted" if t.interrupted else t.status.lower()
            print(f"{t.task_id}  {t.kind:8} {t.dlq:6} {state:11} {t.summary()}")
        return 0
    actor = f"{os.environ.get('USER', 'cli')} (python -m dashboard.bulk)"
    task = store_for(aws, outputs).get(args.task_id or "")
    params = {"stage": args.stage, "resume": args.task_id}
    audit_id = AuditLog(aws.dynamodb, outputs["audit_table"], args.stage).begin(
        actor, ACTIONS.get(task.kind, "bulk") if task else "bulk", params) if task and task.resumable else ""
    final = resume(aws, outputs, args.task_id or "", actor=actor, audit_id=audit_id, audit_params=params,
                   background=False)
    print(json.dumps({"task": final.task_id, "status": final.status, "summary": final.summary()}))
    return 0 if final.status == COMPLETED else 1


if __name__ == "__main__":
    raise SystemExit(main())
