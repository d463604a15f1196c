"""The chaos run itself: the stage with faults, a SIGINT restart mid-run, faults lifted, DLQs redriven.

Used by ``test_chaos.py`` (bounded and long modes) and ``test_chaos_injected_loss.py``; the bookkeeping of
what is accepted, completed, dead-lettered and lost is :mod:`tests.reliability.chaos`.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from dashboard import ops
from tests.reliability.chaos import Figures, Ledger
from tests.reliability.stage import launch, queue_count

__all__ = ["chaos_run", "ChaosResult", "MAX_RECEIVE", "OVERRIDES"]

MAX_RECEIVE = 5  # AWS guidance (config refuses less)
# Pulumi.local.yaml's 2 s job worker timeout is tight for batches of 10 on 2 busy cores while the chaos load
# runs (a timed-out batch is killed, as Lambda kills it, and retried): 3 s with visibility 6 × 3 s, batches of 5.
# The visibility is also the poison path's clock: a poison job reaches the DLQ after 5 × 18 s.
VISIBILITY_S = 18
OVERRIDES = {"relay:jobMaxReceiveCount": str(MAX_RECEIVE), "relay:jobWorkerTimeout": "3",
             "relay:jobVisibilityTimeout": str(VISIBILITY_S), "relay:jobBatchSize": "5"}


def _chaos(report: str, extra: str = "") -> str:
    return (f"step_error=0.05,die_mid_batch=0.05,poison=0.02,seed=7,{extra}"
            f"functions=job-worker+send-worker+request-worker,report={report}")


def _activity(trace: Path) -> float:
    """How much the data plane has done so far (the journal's size): progress, whatever the machine's load."""
    try:
        return trace.stat().st_size
    except FileNotFoundError:
        return 0.0


def _settle(stage, ledger: Ledger, trace: Path, with_dlq: bool = True, quiet_s: float = 15,
            cap_s: float = 900) -> Figures:
    """Wait until every item is done or dead-lettered, or until the platform has gone quiet: the job queue
    is empty and the data plane has done nothing for ``quiet_s`` seconds (what is missing then is lost).

    Progress-driven, not timed: a loaded machine gets as long as it keeps making progress; ``cap_s`` only
    stops a run that never goes quiet."""
    start = time.monotonic()
    last, since = None, time.monotonic()
    while True:
        # the queue first: a job moved to the DLQ between the two reads is then seen in the DLQ
        queue_empty = queue_count(stage, stage.outputs["job_queue_url"]) == 0
        fig = ledger.figures(stage, with_dlq=with_dlq)
        state = (fig.completed, fig.in_dlq, _activity(trace))
        if state != last:
            last, since = state, time.monotonic()
        if queue_empty and (fig.lost == 0 or time.monotonic() - since > quiet_s):
            return fig
        if time.monotonic() - start > cap_s:
            return fig
        assert stage.proc.poll() is None, "".join(stage.lines[-20:])
        time.sleep(2)


@dataclass
class ChaosResult:
    under_faults: Figures
    final: Figures
    injected: dict
    carried_at_restart: int  # async events not run at the restart (carried over to the next start)
    dlqs_after: tuple[int, int]
    expected_deliveries: int
    table: list[str]
    diagnosis: list[str]

    def report(self) -> str:
        return "\n".join(self.table + self.diagnosis)


def chaos_run(tmp_path: Path, n_runs: int, n_sends: int, extra_chaos: str = "",
               redrive: bool = True) -> ChaosResult:
    state = tmp_path / "state"
    report = tmp_path / "chaos.json"
    trace = tmp_path / "trace.jsonl"
    overrides = OVERRIDES
    table = ["| phase | accepted | completed | in a DLQ | lost | duplicate deliveries | deliveries |",
             "|---|---|---|---|---|---|---|"]
    ledger = Ledger()
    half_r, half_s = n_runs // 2, n_sends // 2
    # the stop snapshots the whole emulator (every object and item): the long mode's state takes longer
    stop_s = 60 + (n_runs + n_sends) / 10
    stops: list[float] = []

    def stop(st) -> None:
        t0 = time.monotonic()
        code = st.stop(timeout=stop_s)
        stops.append(time.monotonic() - t0)
        assert code == 0, f"relay up exited {code} after SIGINT: " + "".join(st.lines[-20:])

    chaos = _chaos(str(report), extra_chaos)
    diagnosis: list[str] = []

    # GIVEN the local stage with faults injected, taking the first half of the traffic
    stage = launch(state, overrides, fresh=True, chaos=chaos, trace=str(trace))
    try:
        ledger.submit(stage, range(half_s), range(half_r), workers=4)
    finally:
        # WHEN it is stopped (SIGINT) while that work is in flight, and started again on the same state dir
        stop(stage)
    carried = sum(int(m.group(1)) for line in stage.lines
                  if (m := re.search(r"stopped with (\d+) asynchronous events not run", line)))
    stage = launch(state, overrides, fresh=False, chaos=chaos, trace=str(trace))
    try:
        ledger.submit(stage, range(half_s, n_sends), range(half_r, n_runs), workers=4)
        assert ledger.rejected == 0, "the API accepts every well-formed request"
        under_faults = _settle(stage, ledger, trace)
        table.append(under_faults.row("under faults, restarted mid-run"))
        if under_faults.lost_ids:
            diagnosis += ["under faults:"] + ledger.diagnose(stage, under_faults.lost_ids, str(trace))
    finally:
        stop(stage)
    injected = json.loads(report.read_text())
    final, dlqs_after = under_faults, (-1, -1)

    if redrive:
        # WHEN the faults are lifted (restart without RELAY_CHAOS) and both DLQs are redriven
        stage = launch(state, overrides, fresh=False, trace=str(trace))
        try:
            out = stage.outputs
            sqs, lam = stage.client("sqs"), stage.client("lambda")
            if queue_count(stage, out["job_dlq_url"]):
                sqs.start_message_move_task(SourceArn=out["job_dlq_arn"], MaxNumberOfMessagesPerSecond=100)
            letters = ops.peek(sqs, out["async_dlq_url"], "async", max_messages=100_000)
            report_async = ops.redrive_async(sqs, lam, out["async_dlq_url"], [x.message_id for x in letters])
            assert not report_async.failed, report_async.failed
            # a redriven job that fails once more comes back after a visibility cycle: quiet for longer than that
            final = _settle(stage, ledger, trace, with_dlq=False, quiet_s=VISIBILITY_S + 12)
            final.lost_ids = sorted((ledger.sends.keys() | ledger.runs.keys()) - ledger.completed())
            table.append(final.row("faults lifted, DLQs redriven"))
            if final.lost_ids:
                diagnosis += ["after the redrive:"] + ledger.diagnose(stage, final.lost_ids, str(trace))
            dlqs_after = (queue_count(stage, out["job_dlq_url"]), queue_count(stage, out["async_dlq_url"]))
            table.append(f"(after the redrive: job DLQ {dlqs_after[0]}, async DLQ {dlqs_after[1]}; "
                         f"async redriven {len(report_async.moved)})")
        finally:
            stop(stage)
    table.append(f"SIGINT to exit: {', '.join(f'{x:.1f} s' for x in stops)}")
    table.append(f"\ninjected: {injected}; async events carried over the restart: {carried}")
    result = ChaosResult(under_faults, final, injected, carried, dlqs_after,
                         len(ledger.sends) + 2 * len(ledger.runs), table, diagnosis)
    print(result.report())
    return result
