"""A journal of what the data plane did with each unit of work, for diagnosing a run from its output alone.

Enabled by ``RELAY_TRACE=<file>`` (chaos runs and the reliability tests set it); off, every call is a
no-op. Each line is one JSON object::

    {"t": <epoch s>, "what": "async.queued", "fn": "send-worker", "keys": ["req_01..."], ...}

``keys`` name the work: an S3 event's object (``req_…``, ``run_…``: the key's file name) or an SQS job
(``run_…#<step>``). What is noted, in order of a unit's life:

``async.queued`` / ``async.late`` (arrived while stopping) → ``async.invoked`` (attempt, outcome) →
``async.retry`` | ``async.done`` | ``async.dead-lettered``; ``async.carried`` (saved at a stop) →
``async.replayed`` (queued again at the next start); ``sqs.received`` (receive count) →
``sqs.done`` | ``sqs.failed`` (left for redelivery); ``stop.killed`` (sandboxes killed at a stop).

A test that finds an item missing prints the item's last lines (:func:`read`), so "lost" always comes
with where it was last seen.
"""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Any, Iterable

__all__ = ["TRACE_ENV", "note", "keys_of", "read"]

TRACE_ENV = "RELAY_TRACE"
_lock = threading.Lock()
_files: dict[str, Any] = {}


def _short(function: str) -> str:
    name = function.split(":function:", 1)[-1].split(":", 1)[0]
    return name.split("-", 2)[-1] if name.startswith("relay-") else name


def keys_of(event: Any) -> list[str]:
    """The work keys of a Lambda event (S3 objects, SQS jobs); [] for anything else."""
    keys: list[str] = []
    records = event.get("Records") if isinstance(event, dict) else None
    for rec in records or ():
        if not isinstance(rec, dict):
            continue
        s3 = rec.get("s3")
        if isinstance(s3, dict):
            key = str(s3.get("object", {}).get("key", ""))
            keys.append(key.rsplit("/", 1)[-1].removesuffix(".json"))
        elif isinstance(rec.get("body"), str):
            try:
                job = json.loads(rec["body"])
                keys.append(f"{job['runId']}#{job['step']}")
            except (ValueError, KeyError, TypeError):
                keys.append(f"sqs:{rec.get('messageId')}")
    return keys


def note(what: str, function: str, event: Any = None, keys: Iterable[str] | None = None, **extra: Any) -> None:
    """Append one line (no-op unless ``RELAY_TRACE`` names a file)."""
    path = os.environ.get(TRACE_ENV)
    if not path:
        return
    found = list(keys) if keys is not None else keys_of(event)
    if not found:
        return
    line = json.dumps({"t": round(time.time(), 3), "what": what, "fn": _short(function), "keys": found, **extra},
                      default=str)
    with _lock:
        f = _files.get(path)
        if f is None:
            f = _files[path] = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - kept open
        f.write(line + "\n")


def read(path: str, ids: Iterable[str]) -> dict[str, list[dict]]:
    """The journal's lines per id (an id matches a key equal to it or starting with ``<id>#``)."""
    wanted = set(ids)
    out: dict[str, list[dict]] = {i: [] for i in wanted}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for raw in f:
            try:
                doc = json.loads(raw)
            except ValueError:
                continue  # a line cut by a kill
            for key in doc.get("keys", ()):
                base = key.split("#", 1)[0]
                if base in wanted:
                    out[base].append(doc)
    return out
