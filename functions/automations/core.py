"""The automation run state machine (pure: everything external goes through the ports).

Run status: PENDING (created) → RUNNING (first step started) → COMPLETED | CANCELED | FAILED.
FAILED is written when a failing job has used its last SQS receive (its next stop is the job DLQ);
a redriven job that then succeeds moves the run back to RUNNING.

Exactly-once effects on an at-least-once queue:

* a run is created by one conditional write; a redelivered S3 event finds it and re-enqueues step 0
  only while the run is still PENDING — step 0 has not started, so its job may never have been enqueued
  (a crash right after the create). No flag records that enqueue (``startEnqueued``: honoured on runs
  written before): a duplicate S3 event in that window, which Lambda's async retries make rare, costs
  one more step-0 job — what an SQS duplicate delivery costs too — instead of a write on every run;
* a step is completed by one conditional write (with the run's new data/profile in the same
  transaction); a job whose step is already COMPLETED repeats no side effect and only re-enqueues the
  next step if the completing delivery crashed before recording it (``nextEnqueued``). This flag stays:
  without it a duplicate job would re-enqueue the next step, and that one the step after, to the run's
  end. After the last step nothing is recorded: the run's COMPLETED status tells a redelivery instead;
* the side effects themselves (send, invoke) use ids derived from ``(runId, step)``.

Delays: a step waiting longer than one SQS hop (900 s) re-enqueues itself in hops; the hop that leaves at
most 900 s completes the delay and enqueues the next step with the remaining wait as its ``DelaySeconds``
and as its ``due`` time (one job per delay saved), unless the delay is the run's last step (the run
completes when it ends). A job delivered before its ``due`` (a redrive; a queue restored without its
delays) re-enqueues itself with the rest of the wait instead of running its step early.

Runaway guard: every job carries ``n``, how many jobs of its run came before it (step jobs and delay
hops alike; a redelivered or redriven job keeps its ``n``). A run can never need more than
:func:`job_budget` jobs — one per step of its program, plus the hops of each delay, plus slack — so a
job past that budget means a step is re-enqueueing itself without progress (a bug, a clock gone wrong):
the run fails with that reason instead of looping on the queue for ever. AWS's own loop detection cannot
be that guard: the job worker must allow its recursive loop (docs/deploy.md), so nothing else stops one.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from functions.automations.delays import MAX_HOP_SECONDS, next_hop_seconds, parse_duration, parse_until, remaining_seconds
from functions.automations.ports import JobQueue, RunRecord, RunStore
from functions.automations.program import compile_steps
from functions.automations.steps import StepContext, StepFailed, execute_step
from functions.shared.errors import BadContent
from functions.shared.statuses import RUNNABLE_RUN_STATUSES as RUNNABLE
from functions.shared.statuses import TERMINAL_RUN_STATUSES as TERMINAL
from functions.shared.statuses import RunStatus, StepStatus

__all__ = ["token_cancels", "run_is_canceled", "Job", "BadJob", "RunNotFound", "JobResult", "InvalidRunRequest",
           "parse_job", "job_body", "new_run_record", "run_for_request", "reject_run", "start_run", "run_job",
           "job_budget", "JOB_SLACK", "TERMINAL", "RUNNABLE"]

# jobs a run may use beyond one per step and per delay hop: redeliveries keep their n, so this only has
# to absorb rounding and a few early or repeated hops
JOB_SLACK = 16


def token_cancels(canceled_at: str | None, created_at: str | None) -> bool:
    """A token's latest cancel applies to every run created at or before it (tokens can be reused).

    Both are ISO 8601 UTC strings of one format, so they order as text.
    """
    return canceled_at is not None and (created_at is None or canceled_at >= created_at)


def run_is_canceled(status: str | None, canceled_at: str | None, created_at: str | None) -> bool:
    """A run is canceled when its status says so or its token's latest cancel applies to it.

    The one rule the send worker (before delivering), the job worker and the console's redrive share.
    """
    return status == RunStatus.CANCELED or token_cancels(canceled_at, created_at)


class BadJob(ValueError):
    """A job body that cannot be parsed or names a step the run does not have (never dropped)."""


class InvalidRunRequest(BadContent):
    """A stored invoke that can never start: the run is recorded FAILED with this reason (see :func:`reject_run`)."""

    def __init__(self, reason: str, recipient: str = "") -> None:
        super().__init__(reason)
        self.recipient = recipient


class RunNotFound(LookupError):
    """A job names a run that does not exist (reported failed, so it reaches the DLQ, not the void)."""


@dataclass(frozen=True)
class Job:
    """``{"v": 1, "runId", "step", "n"?, "hop"?: {"until"}, "due"?}``; ``n``: jobs of the run before this one."""

    run_id: str
    step: int
    hop_until: datetime | None = None
    n: int = 0
    due: datetime | None = None  # not before: the step after a delay (see the module note)


@dataclass(frozen=True)
class JobResult:
    """What :func:`run_job` did (for logs and tests)."""

    outcome: str  # completed | waiting | skipped-done | skipped-terminal | canceled | reenqueued | stopped
    next_step: int | None = None
    detail: str = ""


def parse_job(body: str) -> Job:
    """Parse an SQS job body.

    Raises
    ------
    BadJob
        Not JSON, wrong version, or missing/ill-typed ``runId``/``step``/``hop``.
    """
    try:
        doc = json.loads(body)
    except (TypeError, ValueError):
        raise BadJob(f"job body is not JSON: {str(body)[:80]!r}") from None
    if not isinstance(doc, dict) or doc.get("v") != 1:
        raise BadJob("job body must be an object with \"v\": 1")
    run_id, step = doc.get("runId"), doc.get("step")
    if not isinstance(run_id, str) or not run_id.startswith("run_"):
        raise BadJob(f"job runId {run_id!r} is not a run id")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise BadJob(f"job step {step!r} is not a step index")
    n = doc.get("n", 0)  # absent in jobs enqueued before the guard existed: they start counting at 0
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise BadJob(f"job n {n!r} is not a job count")
    hop = doc.get("hop")
    if hop is not None and not (isinstance(hop, dict) and isinstance(hop.get("until"), str)):
        raise BadJob("job hop must be {\"until\": \"<iso time>\"}")
    until = _job_time(hop["until"], "hop") if hop is not None else None
    due = _job_time(doc["due"], "due") if doc.get("due") is not None else None
    return Job(run_id=run_id, step=step, hop_until=until, n=n, due=due)


def _job_time(text: Any, field: str) -> datetime:
    """A job body's ISO time; :class:`BadJob` naming ``field`` when it is not one."""
    if not isinstance(text, str):
        raise BadJob(f"job {field} must be \"<iso time>\"")
    try:
        return parse_until(text)
    except ValueError as exc:
        raise BadJob(f"job {field}: {exc}") from None


def job_body(run_id: str, step: int, hop_until: datetime | None = None, n: int = 0,
             due: datetime | None = None) -> dict[str, Any]:
    """The SQS body for a job (docs/CONTRACTS.md); ``n`` counts the run's jobs before it."""
    body: dict[str, Any] = {"v": 1, "runId": run_id, "step": step}
    if n:
        body["n"] = n
    if hop_until is not None:
        body["hop"] = {"until": _iso(hop_until)}
    if due is not None:
        body["due"] = _iso(due)
    return body


def job_budget(steps: Sequence[Mapping[str, Any]], created_at: str | None) -> int:
    """The most jobs a run of ``steps`` can need: one per step, the hops of every delay, and :data:`JOB_SLACK`.

    Every step counts, though a run takes one branch of each ``if``: a bound, not a forecast. A delay of
    ``d`` seconds needs ``ceil(d / 900)`` hops; one ``until`` a time needs at most the hops from the run's
    creation to that time (the clock only moves on).
    """
    created = _parse_iso(created_at)
    hops = 0
    for instr in steps:
        if instr.get("action") != "delay":
            continue
        spec = instr.get("spec") or {}
        try:
            if spec.get("duration") is not None:
                seconds = parse_duration(spec["duration"])
            else:
                until = parse_until(spec["until"])
                seconds = (until - created).total_seconds() if created else MAX_HOP_SECONDS
        except (KeyError, ValueError):
            seconds = 0  # the step itself fails on it; no hops to budget
        hops += math.ceil(max(0.0, seconds) / MAX_HOP_SECONDS) + 1
    return len(steps) + hops + JOB_SLACK


def new_run_record(doc: Mapping[str, Any], now: str) -> RunRecord:
    """A PENDING run from a stored ``automations/<runId>.json`` document (already validated)."""
    automation = doc["automation"]
    return RunRecord(
        run_id=doc["runId"], status=RunStatus.PENDING, steps=compile_steps(automation["steps"]),
        data=dict(doc.get("data") or {}), profile=dict(doc.get("profile") or {}),
        recipient=doc.get("recipient", ""), template=doc.get("template"),
        cancelation_token=automation.get("cancelation_token"), created_at=now, updated_at=now,
    )


def run_for_request(run_id: str, doc: Mapping[str, Any], now: str) -> RunRecord:
    """The PENDING run a stored ``automations/<runId>.json`` describes, validated as ``POST`` validated it.

    The API validated the body before storing it; this check is for what reached the bucket another
    way (an older schema, a hand-written object), which must fail visibly rather than run half-way.

    Raises
    ------
    InvalidRunRequest
        The document's ``runId`` is not the key's, it carries a reserved ``"$ref"`` key, or it is not a
        valid invoke (every bad field named).
    """
    from pydantic import ValidationError  # pydantic loads in the request worker only, never in the job worker

    from functions.automations.schema import InvokeRequest

    from functions.shared.payloads import reserved_ref_paths

    recipient = str(doc.get("recipient", ""))
    if doc.get("runId") != run_id:
        raise InvalidRunRequest(f"stored runId {doc.get('runId')!r} does not match the key's {run_id!r}", recipient)
    refs = reserved_ref_paths({k: v for k, v in doc.items() if k not in ("runId", "receivedAt")})
    if refs:  # as the API refuses them: a stored '$ref' would make the workers read an object it names
        raise InvalidRunRequest(f"{', '.join(refs)}: '$ref' is reserved for payloads the platform stores", recipient)
    try:
        InvokeRequest.model_validate({k: v for k, v in doc.items() if k not in ("runId", "receivedAt")})
    except ValidationError as exc:
        reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidRunRequest(reason[:2000], recipient) from None
    return new_run_record(doc, now)


def reject_run(run_id: str, reason: str, now: str, runs: RunStore, recipient: str = "") -> str:
    """Record a run whose stored request can never start: FAILED with ``reason``, nothing enqueued.

    Retrying cannot fix content, so the reason goes where a user looks (``GET /automations/runs/{id}``)
    instead of into a retry loop. Returns the outcome ``invalid``.
    """
    runs.create_run(RunRecord(run_id=run_id, status=RunStatus.FAILED, steps=[], created_at=now, updated_at=now,
                              recipient=recipient, error=reason))
    return "invalid"


def start_run(run: RunRecord, runs: RunStore, queue: JobQueue) -> str:
    """Create the run (once) and enqueue its first step.

    Returns
    -------
    str
        ``created`` | ``resumed`` (existed, step 0 had not been enqueued) | ``duplicate``.
    """
    created = runs.create_run(run)
    if run.cancelation_token:
        runs.register_token(run.cancelation_token, run.run_id, run.created_at)
    if not created:
        existing = runs.get_run(run.run_id)
        # PENDING: step 0 has not started, so its job may never have been enqueued (a crash right after the
        # create); enqueueing it again is harmless. Past PENDING, a job ran: nothing to do.
        if existing is None or existing.start_enqueued or existing.status != RunStatus.PENDING:
            return "duplicate"
    queue.enqueue(job_body(run.run_id, 0))
    return "created" if created else "resumed"


def run_job(job: Job, runs: RunStore, queue: JobQueue, ctx: StepContext, *, receive_count: int = 1) -> JobResult:
    """Run the step a job names, then enqueue what follows.

    Raises
    ------
    RunNotFound, BadJob
        The run does not exist, or has no such step.
    StepFailed
        The step failed; the error and attempt are on the STEP# item, and the run is FAILED if this
        was the job's last receive before the DLQ.
    """
    now = ctx.now_iso
    run = runs.get_run(job.run_id)
    if run is None:
        raise RunNotFound(f"run {job.run_id} does not exist")
    if run.status in TERMINAL:
        return JobResult("skipped-terminal", detail=f"run is {run.status}")
    if run.cancelation_token:
        canceled_at = runs.token_canceled_at(run.cancelation_token)
        if token_cancels(canceled_at, run.created_at):
            runs.set_run_status(run.run_id, RunStatus.CANCELED, only_from=RUNNABLE, now=now)
            return JobResult("canceled", detail=f"token {run.cancelation_token} canceled at {canceled_at}")
    if not 0 <= job.step < len(run.steps):
        raise BadJob(f"run {job.run_id} has no step {job.step} (it has {len(run.steps)})")
    instr = run.steps[job.step]
    budget = job_budget(run.steps, run.created_at)
    if job.n >= budget:
        return _stop_runaway(run, job, budget, runs, now)
    early = next_hop_seconds(job.due, ctx.now) if job.due is not None else 0
    if early:
        # delivered before its time (a redrive, a queue restored without its delays): wait the rest out
        queue.enqueue(job_body(run.run_id, job.step, n=job.n + 1, due=job.due), delay_seconds=early)
        return JobResult("waiting", next_step=job.step, detail=f"not due before {_iso(job.due)}")

    existing = runs.get_step(run.run_id, job.step)
    if existing is not None and existing.status == StepStatus.COMPLETED:
        if existing.next_enqueued:
            return JobResult("skipped-done", detail="step already completed")
        nxt = (existing.result or {}).get("next", instr["next"]) if instr["action"] == "if" else instr["next"]
        until = (existing.result or {}).get("until") if instr["action"] == "delay" else None
        _advance(run, job, nxt, runs, queue, ctx, due=parse_until(until) if until else None)
        return JobResult("reenqueued", next_step=nxt)

    if run.status != RunStatus.RUNNING:
        runs.set_run_status(run.run_id, RunStatus.RUNNING, only_from=(RunStatus.PENDING, RunStatus.FAILED), now=now)
    # a delay's hop is the same attempt continuing, not a new one
    step = runs.start_step(run.run_id, job.step, now, count_attempt=job.hop_until is None)
    if step.status == StepStatus.COMPLETED:  # a concurrent duplicate finished it between our read and start
        return JobResult("skipped-done", detail="completed concurrently")
    try:
        outcome = execute_step(instr, run, step, ctx, job.hop_until)
    except StepFailed as exc:
        _record_failure(run.run_id, job.step, str(exc), runs, queue, now, receive_count)
        raise
    except Exception as exc:  # an adapter error: recorded the same way, then retried by SQS
        _record_failure(run.run_id, job.step, f"{type(exc).__name__}: {exc}", runs, queue, now, receive_count)
        raise

    due = None
    if outcome.waiting:
        assert outcome.wait_until is not None
        if outcome.next is None or remaining_seconds(outcome.wait_until, ctx.now) > MAX_HOP_SECONDS:
            queue.enqueue(job_body(run.run_id, job.step, outcome.wait_until, n=job.n + 1),
                          delay_seconds=next_hop_seconds(outcome.wait_until, ctx.now))
            return JobResult("waiting", next_step=job.step, detail=_iso(outcome.wait_until))
        due = outcome.wait_until  # the last hop: the next step's job carries the rest of the wait
    result = dict(outcome.result)
    result.setdefault("next", outcome.next)
    if not runs.complete_step(run.run_id, job.step, result, now, data=outcome.data, profile=outcome.profile):
        # a concurrent duplicate completed it first; that delivery enqueues what follows
        return JobResult("skipped-done", detail="completed concurrently")
    _advance(run, job, outcome.next, runs, queue, ctx, due=due)
    return JobResult("completed", next_step=outcome.next, detail=f"next step due {_iso(due)}" if due else "")


def _advance(run: RunRecord, job: Job, nxt: int | None, runs: RunStore, queue: JobQueue, ctx: StepContext,
             due: datetime | None = None) -> None:
    if nxt is None:
        # nothing recorded: a redelivered job finds the run COMPLETED (or, after a crash here, completes it)
        runs.set_run_status(run.run_id, RunStatus.COMPLETED, only_from=RUNNABLE, now=ctx.now_iso)
        return
    queue.enqueue(job_body(run.run_id, nxt, n=job.n + 1, due=due),
                  delay_seconds=next_hop_seconds(due, ctx.now) if due is not None else 0)
    runs.mark_next_enqueued(run.run_id, job.step)


def _stop_runaway(run: RunRecord, job: Job, budget: int, runs: RunStore, now: str) -> JobResult:
    """Fail the run of a job past its budget; the job is consumed (a retry would only loop once more)."""
    reason = (f"step {job.step}: stopped after {job.n} jobs, more than this run can need ({budget}: one per step "
              f"and per delay hop, plus {JOB_SLACK}); a step kept re-enqueueing itself without progress")
    runs.fail_step(run.run_id, job.step, reason, now)
    runs.set_run_status(run.run_id, RunStatus.FAILED, only_from=RUNNABLE, now=now, error=reason)
    return JobResult("stopped", detail=reason)


def _record_failure(run_id: str, index: int, error: str, runs: RunStore, queue: JobQueue, now: str,
                    receive_count: int) -> None:
    runs.fail_step(run_id, index, error[:2000], now)
    limit = queue.max_receive_count()
    if limit is not None and receive_count >= limit:
        reason = error if error.startswith(f"step {index} ") else f"step {index}: {error}"
        runs.set_run_status(run_id, RunStatus.FAILED, only_from=(RunStatus.PENDING, RunStatus.RUNNING), now=now,
                            error=reason[:1000])


def utc_now() -> datetime:
    """The current time (UTC, aware); the handlers pass it into the core."""
    return datetime.now(timezone.utc)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
