"""Demo traffic for ``relay up --demo``: steady sends and automations over the real HTTP API.

A share of it fails on purpose so the console has something real to show:
- automations with a fetch-data step aimed at a loopback port the stage does not allow: the address guard
  refuses it on every attempt, so the job is retried and lands in the job DLQ after maxReceiveCount;
- sends whose template needs a variable the data lacks: UNROUTABLE with the reason;
- bursts of sends that make the message-log stream work, so IteratorAge moves.
Every target is on loopback; nothing leaves this machine.
"""
from __future__ import annotations

import itertools
import json
import random
import threading
import urllib.request
from typing import Any

__all__ = ["DemoTraffic", "demo_send", "demo_automation"]

FAILING_SHARE = 0.15
UNROUTABLE_SHARE = 0.05


def demo_send(n: int, rng: random.Random) -> dict[str, Any]:
    """A Courier-like send request; about 5 % lack a template variable and end UNROUTABLE."""
    data = {"name": f"User {n}", "code": f"{rng.randrange(10**6):06d}"}
    if rng.random() < UNROUTABLE_SHARE:
        data.pop("code")
    return {"message": {
        "to": {"user_id": f"user-{n % 50}", "email": f"user{n % 50}@example.com", "phone_number": "+15550100"},
        "content": {"title": "Hello {{ name }}", "body": "Your sign-in code is {{ code }}."},
        "data": data,
        "routing": {"method": "single" if n % 2 else "all", "channels": ["email", "sms"]},
    }}


def demo_automation(n: int, rng: random.Random) -> dict[str, Any]:
    """A welcome series; about 15 % include a fetch-data step the address guard refuses (→ job DLQ)."""
    steps: list[dict[str, Any]] = [
        {"action": "delay", "duration": "2 seconds"},
        {"action": "send", "message": {
            "to": {"user_id": f"user-{n % 50}", "email": f"user{n % 50}@example.com"},
            "content": {"title": "Welcome {{ name }}", "body": "Glad you are here."},
            "data": {"name": f"User {n}"},
            "routing": {"method": "single", "channels": ["email"]}}},
    ]
    if rng.random() < FAILING_SHARE:
        steps.insert(1, {"action": "fetch-data", "merge_strategy": "soft-merge",
                         "webhook": {"url": "http://127.0.0.1:9/profile", "method": "GET"}})
    return {"automation": {"cancelation_token": f"demo-{n}", "steps": steps},
            "data": {"name": f"User {n}"}, "profile": {"email": f"user{n % 50}@example.com"},
            "recipient": f"user-{n % 50}"}


class DemoTraffic:
    """Posts to the API from a background thread until stopped."""

    def __init__(self, api_url: str, outputs: dict | None = None, sends_per_second: float = 4.0,
                 automation_every: int = 4, seed: int = 7, api_key: str = "") -> None:
        self.api_url = api_url.rstrip("/")
        self._auth = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.interval = 1.0 / sends_per_second
        self.automation_every = automation_every
        self.rng = random.Random(seed)
        self.accepted = 0
        self.rejected = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relay-demo", daemon=True)

    def _post(self, path: str, body: dict) -> None:
        req = urllib.request.Request(f"{self.api_url}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json", **self._auth})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                self.accepted += resp.status == 202
        except Exception:  # noqa: BLE001 - demo traffic must never take the stage down
            self.rejected += 1

    def _run(self) -> None:
        for n in itertools.count():
            if self._stop.wait(self.interval):
                return
            # every so often a burst, so the stream mapping has real backlog to chew through
            burst = 10 if n % 60 == 59 else 1
            for i in range(burst):
                self._post("/send", demo_send(n * 10 + i, self.rng))
            if n % self.automation_every == 0:
                self._post("/automations/invoke", demo_automation(n, self.rng))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
