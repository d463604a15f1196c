"""Fakes that subclass the automation ports (the core is tested against these, adapters against moto)."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

import pytest

from functions.automations.ports import (
    FetchedResponse, HttpFetcher, JobQueue, RequestHandoff, RunRecord, RunStore, StepRecord,
)
from functions.automations.steps import StepContext


class MemoryRunStore(RunStore):
    def __init__(self):
        self.runs: dict[str, RunRecord] = {}
        self.steps: dict[tuple[str, int], StepRecord] = {}
        self.tokens: dict[str, set[str]] = {}
        self.canceled: dict[str, str] = {}
        self.profiles: dict[str, dict] = {}

    def create_run(self, run):
        if run.run_id in self.runs:
            return False
        self.runs[run.run_id] = copy.deepcopy(run)
        return True

    def get_run(self, run_id):
        run = self.runs.get(run_id)
        return copy.deepcopy(run)

    def set_run_status(self, run_id, status, *, only_from, now, error=None):
        run = self.runs.get(run_id)
        if run is None or run.status not in set(only_from):
            return False
        run.status, run.updated_at = status, now
        if error is not None:
            run.error = error
        return True

    def register_token(self, token, run_id, now):
        self.tokens.setdefault(token, set()).add(run_id)

    def token_canceled_at(self, token):
        return self.canceled.get(token)

    def cancel_token(self, token, now):
        self.canceled[token] = now
        return sorted(self.tokens.get(token, ()))

    def get_step(self, run_id, index):
        return copy.deepcopy(self.steps.get((run_id, index)))

    def start_step(self, run_id, index, now, *, count_attempt=True):
        step = self.steps.setdefault((run_id, index), StepRecord(index=index, status="RUNNING", started_at=now))
        if step.status != "COMPLETED":
            step.status = "RUNNING"
            step.attempts += int(count_attempt)
        return copy.deepcopy(step)

    def complete_step(self, run_id, index, result, now, *, data=None, profile=None):
        step = self.steps.setdefault((run_id, index), StepRecord(index=index, status="RUNNING"))
        if step.status == "COMPLETED":
            return False
        step.status, step.result, step.ended_at, step.error = "COMPLETED", dict(result), now, None
        if data is not None:
            self.runs[run_id].data = dict(data)
        if profile is not None:
            self.runs[run_id].profile = dict(profile)
        return True

    def mark_next_enqueued(self, run_id, index):
        self.steps[(run_id, index)].next_enqueued = True

    def fail_step(self, run_id, index, error, now):
        step = self.steps.setdefault((run_id, index), StepRecord(index=index, status="RUNNING"))
        if step.status != "COMPLETED":
            step.status, step.error = "FAILED", error

    def get_profile(self, user_id):
        return copy.deepcopy(self.profiles.get(user_id))

    def put_profile(self, user_id, profile, now):
        self.profiles[user_id] = dict(profile)


class MemoryQueue(JobQueue):
    def __init__(self, max_receive=5):
        self.jobs: list[tuple[dict, int]] = []
        self._max = max_receive

    def enqueue(self, job, delay_seconds=0):
        self.jobs.append((json.loads(json.dumps(job)), delay_seconds))

    def max_receive_count(self):
        return self._max

    def pop(self):
        job, _ = self.jobs.pop(0)
        return json.dumps(job)


class MemoryRequests(RequestHandoff):
    def __init__(self):
        self.sends: dict[str, tuple[dict, dict]] = {}
        self.send_writes = 0
        self.automations: dict[str, dict] = {}
        self.objects: dict[str, dict] = {}

    def put_send_request(self, request_id, message, source):
        self.send_writes += 1
        self.sends[request_id] = (dict(message), dict(source))

    def put_automation_request(self, run_id, invoke):
        self.automations[run_id] = {"runId": run_id, **invoke}

    def get_automation_request(self, key):
        return self.objects[key]


class ScriptedHttp(HttpFetcher):
    """Answers from a table url -> (status, body) or an exception to raise."""

    def __init__(self, table=None):
        self.table = table or {}
        self.calls: list[tuple[str, str]] = []
        self.timeouts: list[float] = []

    def fetch(self, method, url, *, json_body, headers, timeout, max_bytes):
        self.calls.append((method, url))
        self.timeouts.append(timeout)
        answer = self.table[url]
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return FetchedResponse(status=status, body=json.dumps(body).encode() if not isinstance(body, bytes) else body)


class World:
    """A run store, queue, request store and HTTP, plus a settable clock."""

    def __init__(self):
        self.runs = MemoryRunStore()
        self.queue = MemoryQueue()
        self.requests = MemoryRequests()
        self.http = ScriptedHttp()
        self.now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)

    def ctx(self):
        return StepContext(runs=self.runs, requests=self.requests, http=self.http, now=self.now)


@pytest.fixture
def world():
    return World()
