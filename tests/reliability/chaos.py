"""The chaos run's bookkeeping: what was accepted, what completed, what sits in a DLQ, what is lost.

An *item* is one accepted top-level request: a send (done when its message is DELIVERED) or an
automation run (done when the run is COMPLETED and both of its send steps are DELIVERED). An item is
*in a DLQ* when its job, its S3 event or the S3 event of one of its steps' sends is in a dead-letter
queue. After the platform has gone quiet, whatever is neither done nor in a DLQ is *lost*.
"""
from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

import requests

from tests.e2e.harness import LocalStage
from tests.reliability.stage import outbox_deliveries, peek_all

__all__ = ["Ledger", "send_body", "run_body", "Figures"]


def message_id(request_id: str, email: str) -> str:
    """docs/CONTRACTS.md: msg_ + sha256(requestId|recipientKey|channel)[:32] — deterministic per request."""
    return "msg_" + hashlib.sha256(f"{request_id}|{email}|email".encode()).hexdigest()[:32]


def send_email(i: int) -> str:
    return f"chaos{i % 97}@example.com"


def run_email(i: int) -> str:
    return f"run{i % 89}@example.com"


def send_body(i: int) -> dict:
    return {"message": {"to": {"email": send_email(i)},
                        "content": {"title": "Hi {{ n }}", "body": "send {{ n }}"}, "data": {"n": i},
                        "routing": {"method": "single", "channels": ["email"]}}}


def run_body(i: int) -> dict:
    msg = {"to": {"email": run_email(i)}, "content": {"title": "Run", "body": "step"},
           "routing": {"method": "single", "channels": ["email"]}}
    return {"automation": {"steps": [{"action": "send", "message": msg},
                                     {"action": "delay", "duration": "1 second"},
                                     {"action": "send", "message": msg}]},
            "data": {"i": i}, "profile": {}, "recipient": f"run-{i}"}


@dataclass
class Figures:
    accepted: int
    completed: int
    in_dlq: int
    lost: int
    duplicates: int
    deliveries: int
    lost_ids: list[str] = field(default_factory=list)

    def row(self, phase: str) -> str:
        return (f"| {phase} | {self.accepted} | {self.completed} | {self.in_dlq} | {self.lost} | "
                f"{self.duplicates} | {self.deliveries} |")


@dataclass
class Ledger:
    sends: dict[str, str] = field(default_factory=dict)  # requestId → email
    runs: dict[str, str] = field(default_factory=dict)  # runId → email
    rejected: int = 0
    _done_requests: set[str] = field(default_factory=set)
    _done_runs: dict[str, list[str]] = field(default_factory=dict)  # runId → its steps' requestIds

    # ---- accepting ------------------------------------------------------------------------------
    def submit(self, stage: LocalStage, sends: range, runs: range, workers: int = 8) -> None:
        def post(job: tuple[str, int]) -> tuple[str, str | None, int]:
            kind, i = job
            path, body = ("/send", send_body(i)) if kind == "send" else ("/automations/invoke", run_body(i))
            try:
                r = requests.post(f"{stage.api}{path}", json=body, headers=stage.auth, timeout=30)
            except requests.RequestException:
                return kind, None, i
            if r.status_code != 202:
                return kind, None, i
            return kind, r.json().get("requestId") or r.json().get("runId"), i

        jobs = [("send", i) for i in sends] + [("run", i) for i in runs]
        jobs.sort(key=lambda j: j[1])  # interleave sends and runs
        with ThreadPoolExecutor(workers) as pool:
            for kind, ident, i in pool.map(post, jobs):
                if ident is None:
                    self.rejected += 1
                elif kind == "send":
                    self.sends[ident] = send_email(i)
                else:
                    self.runs[ident] = run_email(i)

    # ---- observing ------------------------------------------------------------------------------
    def _refresh(self, stage: LocalStage) -> None:
        """Delivered = the request's message id has an outbox object (the delivery itself, not the log view)."""
        def run_state(run_id: str) -> list[str] | None:
            body = stage.get(f"/automations/runs/{run_id}").json()
            if body.get("status") != "COMPLETED":
                return None
            return [s["result"]["requestId"] for s in body.get("steps", [])
                    if isinstance(s.get("result"), dict) and "requestId" in s["result"]]

        with ThreadPoolExecutor(8) as pool:
            pending_runs = sorted(self.runs.keys() - self._done_runs.keys())
            for run_id, reqs in zip(pending_runs, pool.map(run_state, pending_runs)):
                if reqs is not None:
                    self._done_runs[run_id] = reqs
        self.deliveries = outbox_deliveries(stage)
        emails = dict(self.sends)
        for run_id, reqs in self._done_runs.items():
            emails.update({r: self.runs[run_id] for r in reqs})
        self._done_requests = {r for r, email in emails.items() if message_id(r, email) in self.deliveries}

    def completed(self) -> set[str]:
        runs = {r for r, reqs in self._done_runs.items() if len(reqs) == 2 and set(reqs) <= self._done_requests}
        return (self.sends.keys() & self._done_requests) | runs

    def dead_lettered(self, stage: LocalStage) -> set[str]:
        """Accepted items with something of theirs in the job or async DLQ."""
        out = stage.outputs
        keys: set[str] = set()
        for letter in peek_all(stage, out["job_dlq_url"], "job"):
            if letter.run_id:
                keys.add(letter.run_id)
        for letter in peek_all(stage, out["async_dlq_url"], "async"):
            body = letter.decoded if isinstance(letter.decoded, dict) else json.loads(letter.body)
            for rec in body.get("requestPayload", {}).get("Records", []):
                key = unquote_plus(rec["s3"]["object"]["key"])
                keys.add(key.rsplit("/", 1)[-1].removesuffix(".json"))
        items = (self.sends.keys() | self.runs.keys()) & keys
        # a run whose step's send request is dead-lettered: we only know that step's id once it ran
        for run_id in self.runs:
            steps = set(self._done_runs.get(run_id, ()))
            if run_id not in self._done_runs:
                body = stage.get(f"/automations/runs/{run_id}").json()
                steps = {s["result"].get("requestId") for s in body.get("steps", [])
                         if isinstance(s.get("result"), dict)}
            if steps & keys:
                items.add(run_id)
        return items

    def figures(self, stage: LocalStage, with_dlq: bool = True) -> Figures:
        self._refresh(stage)
        done = self.completed()
        dlq = (self.dead_lettered(stage) - done) if with_dlq else set()
        deliveries = self.deliveries
        accepted = len(self.sends) + len(self.runs)
        lost_ids = sorted((self.sends.keys() | self.runs.keys()) - done - dlq)
        return Figures(accepted=accepted, completed=len(done), in_dlq=len(dlq),
                       lost=accepted - len(done) - len(dlq),
                       duplicates=sum(n - 1 for n in deliveries.values() if n > 1),
                       deliveries=sum(deliveries.values()), lost_ids=lost_ids if with_dlq else [])

    # ---- diagnosing ------------------------------------------------------------------------------
    def diagnose(self, stage: LocalStage, item_ids: list[str], trace_path: str, limit: int = 25) -> list[str]:
        """One line per lost item: what it is, whether it was stored, and the last things that happened to
        it in the data plane (``RELAY_TRACE``): so a red run is diagnosed from its output alone."""
        from functions.automations.steps import derived_id
        from relay.local.dataplane import trace

        s3, bucket = stage.client("s3"), stage.outputs["request_bucket"]

        def stored(prefix: str, ident: str) -> bool:
            try:
                s3.head_object(Bucket=bucket, Key=f"{prefix}/{ident}.json")
                return True
            except Exception:  # noqa: BLE001 - a 404 is the answer
                return False

        lines = []
        for ident in item_ids[:limit]:
            if ident in self.sends:
                ids = [ident]
                desc = f"send {ident}: stored={stored('send', ident)}"
            else:
                run = stage.get(f"/automations/runs/{ident}").json()
                steps = [(s.get("index", n), s.get("status")) for n, s in enumerate(run.get("steps", []))]
                ids = [ident] + [derived_id("req", ident, i, "send") for i in (0, 2)]
                desc = (f"run {ident}: stored={stored('automations', ident)} status={run.get('status')} "
                        f"steps={steps} step sends stored={[stored('send', r) for r in ids[1:]]}")
            seen = trace.read(trace_path, ids)
            events = sorted((e for i in ids for e in seen[i]), key=lambda e: e["t"])
            last = "; ".join(f"{e['what']}({e['fn']}{', ' + str(e.get('error')) if e.get('error') else ''})"
                             f"[{','.join(k for k in e['keys'] if k.split('#')[0] in ids)}]" for e in events[-6:])
            lines.append(f"LOST {desc}; last seen: {last or 'never reached the data plane'}")
        if len(item_ids) > limit:
            lines.append(f"... and {len(item_ids) - limit} more")
        return lines
