"""Delayed sends on the job queue (pure): the job that brings a ``send/`` request back when it is due.

A send with ``delay`` is stored like any other; the send worker sees it is not due and enqueues a release
job ``{"v": 1, "send": "<requestId>", "until": "<iso>", "n"?}`` (:func:`release_job`). The job worker
re-enqueues it in hops of at most 900 s (SQS's DelaySeconds) until it is due, then stores the request
again with ``"released": true``; that write's ObjectCreated event runs the send worker, which now
delivers. Every delivery is still claimed per message id, so a duplicate release delivers nothing twice.
A cancel (``CANCEL#<requestId>``) is read by the send worker when it delivers: the messages end CANCELED.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from functions.automations.delays import MAX_HOP_SECONDS, next_hop_seconds, parse_until

__all__ = ["ReleaseJob", "release_job", "parse_release", "run_release", "is_release"]

# hops a release may take past what its delay needs (clock skew, redeliveries)
_SLACK = 16


@dataclass(frozen=True)
class ReleaseJob:
    """``send/<request_id>.json`` is due at ``until``; ``n`` jobs of this release came before."""

    request_id: str
    until: datetime
    n: int = 0


def release_job(request_id: str, until: datetime, n: int = 0) -> dict[str, Any]:
    """The job body of a release."""
    from functions.shared.schedule import iso

    body: dict[str, Any] = {"v": 1, "send": request_id, "until": iso(until)}
    if n:
        body["n"] = n
    return body


def is_release(body: str) -> bool:
    """Whether an SQS body is a release job (cheap: the job worker checks every body)."""
    return '"send"' in body and '"runId"' not in body


def parse_release(body: str) -> ReleaseJob:
    """Parse a release job.

    Raises
    ------
    ValueError
        When it is not one (reported as a batch item failure: retried, then the job DLQ).
    """
    doc = json.loads(body)
    if not isinstance(doc, dict) or doc.get("v") != 1 or not str(doc.get("send", "")).startswith("req_"):
        raise ValueError("release job must be {\"v\": 1, \"send\": \"req_…\", \"until\"}")
    n = doc.get("n", 0)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"release job n {n!r} is not a job count")
    return ReleaseJob(str(doc["send"]), parse_until(str(doc.get("until"))), n)


def run_release(job: ReleaseJob, now: datetime, *, enqueue: Callable[[dict[str, Any], int], None],
                load: Callable[[str], Mapping[str, Any] | None], store: Callable[[str, dict[str, Any]], None]) -> str:
    """Hop again, or release the request; returns ``waiting``, ``released``, ``gone`` or ``stopped``.

    Parameters
    ----------
    enqueue
        Sends a job body with a delay in seconds (≤ 900).
    load, store
        Read and write the stored request document ``send/<requestId>.json``.
    """
    wait = next_hop_seconds(job.until, now)
    if wait > 0:
        # a runaway guard like the automations': hops beyond what the delay can need stop here
        budget = math.ceil(max(0.0, (job.until - now).total_seconds()) / MAX_HOP_SECONDS) + job.n + 1
        if job.n > _SLACK + budget:
            return "stopped"
        enqueue(release_job(job.request_id, job.until, job.n + 1), wait)
        return "waiting"
    doc = load(job.request_id)
    if doc is None:
        return "gone"  # expired from the store or deleted: nothing left to deliver
    if doc.get("released"):
        return "released"  # a redelivered job: the first one already released it
    store(job.request_id, {**doc, "released": True})
    return "released"
