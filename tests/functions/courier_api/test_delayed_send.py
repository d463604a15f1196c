"""The release job of a delayed send: hops, releases once, tolerates a vanished request (pure)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from functions.shared.delayed_send import is_release, parse_release, release_job, run_release

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _run(until: datetime, stored: dict[str, Any] | None, n: int = 0) -> tuple[str, list, dict]:
    sent: list[tuple[dict, int]] = []
    store: dict[str, Any] = {}
    job = parse_release(json.dumps(release_job("req_X", until, n)))
    outcome = run_release(job, NOW, enqueue=lambda b, w: sent.append((b, w)), load=lambda rid: stored,
                          store=lambda rid, doc: store.update({rid: doc}))
    return outcome, sent, store


def test_release_not_due_hops_at_most_900_s() -> None:
    outcome, sent, store = _run(NOW + timedelta(hours=1), {"requestId": "req_X"})
    assert outcome == "waiting" and store == {} and sent[0][1] == 900 and sent[0][0]["n"] == 1


def test_release_due_stores_the_request_released_once() -> None:
    outcome, _, store = _run(NOW - timedelta(seconds=1), {"requestId": "req_X", "message": {}})
    assert outcome == "released" and store["req_X"]["released"] is True
    again, _, store2 = _run(NOW, {"requestId": "req_X", "released": True})
    assert again == "released" and store2 == {}


def test_release_of_a_missing_request_is_gone() -> None:
    assert _run(NOW, None)[0] == "gone"


def test_release_job_is_told_apart_from_run_jobs_and_checked() -> None:
    assert is_release(json.dumps(release_job("req_X", NOW))) and not is_release('{"v": 1, "runId": "run_1", "step": 0}')
    with pytest.raises(ValueError):
        parse_release('{"v": 1, "send": "nope", "until": "2026-01-01T00:00:00Z"}')
