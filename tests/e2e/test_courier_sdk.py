"""The official Courier SDK (``trycourier``: ``from courier import Courier``), unchanged, against the local stage.

It is pointed at the stage's loopback API with the stage's key (SSM ``/relay/local/api-key``) and does what a
team leaving Courier does every day: sends with inline content, Elemental content, a named template (stored
with ``relay templates put``), a channels object with metadata, and a delay; lists messages, retrieves one,
reads its history; writes a profile; invokes an ad-hoc automation (delay, then send a template) and finds
it in the runs list. Every call must succeed, and every message end DELIVERED in the outbox exactly once.

Run with ``-s`` to see each SDK call and what it answered.
"""
from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from typing import Any

import pytest
from courier import Courier

from tests.e2e.harness import ROOT, LocalStage, start_stage

TEMPLATE = {"title": "Welcome, {name}!", "body": "Hi {name}, your plan is {{ plan }}.",
            "channels": {"sms": {"body": "Welcome {name}"}}}


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> LocalStage:
    st = start_stage({}, state_dir=tmp_path_factory.mktemp("relay-courier"))
    yield st
    code = st.stop()
    assert code == 0, f"relay up must exit 0 after SIGINT, got {code}: {''.join(st.lines[-20:])}"


@pytest.fixture(scope="module")
def client(stage: LocalStage) -> Courier:
    # loopback only: the SDK talks to the stage's API, never to Courier
    return Courier(api_key=stage.api_key, base_url=stage.api, max_retries=0, timeout=30)


def _cli(stage: LocalStage, *args: str) -> str:
    env = {**os.environ, "AWS_ENDPOINT_URL": stage.endpoint, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "relay"), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _outbox(stage: LocalStage) -> Counter:
    per_message: Counter = Counter()
    s3 = stage.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stage.outputs["request_bucket"], Prefix="outbox/"):
        for obj in page.get("Contents", []):
            per_message[obj["Key"].split("/")[2]] += 1
    return per_message


def _delivered(stage: LocalStage, client: Courier, request_id: str, timeout: float = 90) -> Any:
    def check() -> Any:
        details = client.messages.retrieve(request_id)
        return details if details.status == "DELIVERED" else None

    return stage.wait_for(check, timeout, interval=0.5, what=f"{request_id} DELIVERED")


def _show(what: str, answer: Any) -> None:
    print(f"\n{what}\n  → {json.dumps(answer.to_dict() if hasattr(answer, 'to_dict') else answer, default=str)[:300]}")


def test_official_sdk_sends_lists_retrieves_and_runs_automations(stage: LocalStage, client: Courier) -> None:
    assert "templates/welcome.json" in _cli(stage, "templates", "put", "--stage", "local", "welcome",
                                            str(_write(stage, "welcome.json", TEMPLATE)))
    profile = client.profiles.create("sdk-user", profile={"email": "sdk-user@example.com", "plan": "pro"})
    _show("profiles.create", profile)
    assert profile.status == "SUCCESS"
    sends = {
        "inline": {"to": {"email": "ada@example.com"}, "content": {"title": "Welcome!", "body": "Thanks, {{name}}"},
                   "data": {"name": "Ada"}, "routing": {"method": "single", "channels": ["email"]}},
        "elemental": {"to": {"email": "bo@example.com"}, "data": {"name": "Bo"}, "content": {
            "version": "2022-01-01", "elements": [
                {"type": "meta", "title": "Hello {name}"}, {"type": "text", "content": "Hello **{{name}}**"},
                {"type": "action", "content": "Open", "href": "https://example.com/open"}, {"type": "divider"}]}},
        "template": {"to": {"user_id": "sdk-user"}, "template": "welcome", "data": {"name": "Cy", "plan": "pro"}},
        "channels+metadata": {"to": {"email": "di@example.com"}, "content": {"title": "T", "body": "B"},
                              "channels": {"email": {"override": {"subject": "Overridden"}, "routing_method": "single"}},
                              "metadata": {"tags": ["onboarding", "sdk"], "trace_id": "trace-sdk", "event": "welcome"}},
        "delay": {"to": {"email": "ed@example.com"}, "content": {"title": "Later", "body": "Two seconds later"},
                  "delay": {"duration": 2000}},
    }
    request_ids = {}
    for name, message in sends.items():
        answer = client.send.message(message=message)
        _show(f"send.message ({name})", answer)
        request_ids[name] = answer.request_id
    details = {name: _delivered(stage, client, rid) for name, rid in request_ids.items()}
    assert details["template"].recipient == "sdk-user" and details["channels+metadata"].to_dict()["tags"] == [
        "onboarding", "sdk"]
    listed = client.messages.list(recipient="di@example.com", status=["DELIVERED"])
    _show("messages.list", listed)
    assert [m.id for m in listed.results] == [details["channels+metadata"].id] and listed.paging.more is False
    by_trace = client.messages.list(trace_id="trace-sdk")
    assert [m.id for m in by_trace.results] == [details["channels+metadata"].id]
    one = client.messages.retrieve(details["elemental"].id)
    _show("messages.retrieve", one)
    history = client.messages.history(one.id)
    _show("messages.history", history)
    assert [e["type"] for e in history.results] == ["ENQUEUED", "SENT", "DELIVERED"]

    run = client.automations.invoke.invoke_ad_hoc(
        automation={"steps": [{"action": "delay", "duration": "1 second"}, {"action": "send", "template": "welcome"}]},
        recipient="auto-user", profile={"email": "auto@example.com"}, data={"name": "Fay", "plan": "free"})
    _show("automations.invoke.invoke_ad_hoc", run)
    runs = client.automations.runs.list()
    _show("automations.runs.list", runs)
    assert run.run_id in [r.run_id for r in runs.runs]

    def run_sent() -> Any:
        steps = client.automations.runs.list_steps(run.run_id).steps
        return next((s.message_id for s in steps if s.action == "send" and s.message_id), None)

    auto_request = stage.wait_for(run_sent, 90, interval=0.5, what="the automation's send step")
    details["automation"] = _delivered(stage, client, auto_request)

    outbox = _outbox(stage)
    assert {d.id: outbox[d.id] for d in details.values()} == {d.id: 1 for d in details.values()}
    email = json.loads(stage.client("s3").get_object(
        Bucket=stage.outputs["request_bucket"],
        Key=next(k["Key"] for k in stage.client("s3").list_objects_v2(
            Bucket=stage.outputs["request_bucket"], Prefix=f"outbox/email/{details['elemental'].id}/")["Contents"]))
        ["Body"].read())
    assert email["title"] == "Hello Bo" and "<strong>Bo</strong>" in email["html"]


def _write(stage: LocalStage, name: str, doc: dict) -> Any:
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / name
    path.write_text(json.dumps(doc))
    return path
