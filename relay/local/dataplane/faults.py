"""Fault injection for the local data plane (chaos runs): never in ``functions/``, only around invocations.

The spec comes from the environment variable ``RELAY_CHAOS`` (read once, when the data plane's
:class:`~relay.local.dataplane.invoker.Invoker` is made), for example::

    RELAY_CHAOS="step_error=0.05,die_mid_batch=0.02,poison=0.02,seed=7,functions=job-worker+send-worker"

``step_error``
    Probability that one step execution fails. For an SQS batch each record fails on its own: it is
    withheld from the handler and reported in ``batchItemFailures`` (so SQS redelivers it after the
    visibility timeout). For any other event the whole invocation raises.
``die_mid_batch``
    Probability that an SQS-triggered invocation processes the first half of its batch, then dies
    (raises): the whole batch comes back after the visibility timeout, half of it already done once.
``poison``
    Share of work items (a job's ``runId``, an S3 event's object key) that fail on every attempt while
    the faults are on: they exhaust their retries and land in a DLQ, so lifting the faults and
    redriving has something to prove. Chosen by a hash of seed and key, so it is the same on every
    attempt and after a restart.
``seed``
    Seed of the random draws (reproducible runs).
``functions``
    ``+``-separated function name suffixes the faults apply to (default ``job-worker``).
``drop_carried``
    Test-only loss: discard this many async events carried over a restart instead of replaying them
    (proves that a chaos run notices a loss and names the lost item; never in a real run).
``report``
    A file the injected counts are written to (JSON, replaced after each injection), so a test driving
    ``relay up`` as a subprocess can prove the faults really happened.

Lifting the faults = restarting the data plane without ``RELAY_CHAOS``.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["ChaosSpec", "ChaosError", "Faults", "parse_chaos", "faults_from_environment", "CHAOS_ENV"]

CHAOS_ENV = "RELAY_CHAOS"
Handler = Callable[[Any, Any], Any]


class ChaosError(RuntimeError):
    """An injected failure (the error type a chaos run shows in DLQ records and metrics)."""


@dataclass(frozen=True)
class ChaosSpec:
    """What to inject; all probabilities in [0, 1]."""

    step_error: float = 0.0
    die_mid_batch: float = 0.0
    poison: float = 0.0
    drop_carried: int = 0
    seed: int = 0
    functions: tuple[str, ...] = ("job-worker",)
    report: str = ""

    def applies_to(self, function_name: str) -> bool:
        """True when ``function_name`` ends with one of the configured suffixes."""
        return any(function_name.endswith(suffix) for suffix in self.functions)


def parse_chaos(text: str) -> ChaosSpec:
    """Parse ``key=value,...`` into a :class:`ChaosSpec`.

    Raises
    ------
    ValueError
        An unknown key, a value that is not a number, or a probability outside [0, 1] — a typo must not
        silently run a chaos test without chaos.
    """
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"{CHAOS_ENV}: {part!r}: expected key=value")
        if key in ("step_error", "die_mid_batch", "poison"):
            p = float(raw)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{CHAOS_ENV}: {key}={raw}: a probability must be within [0, 1]")
            values[key] = p
        elif key in ("seed", "drop_carried"):
            values[key] = int(raw)
        elif key == "report":
            values[key] = raw.strip()
        elif key == "functions":
            values[key] = tuple(s for s in raw.split("+") if s)
        else:
            raise ValueError(f"{CHAOS_ENV}: unknown key {key!r} (step_error, die_mid_batch, poison, drop_carried, seed, functions, report)")
    return ChaosSpec(**values)


def _work_key(record: Any) -> str:
    """What identifies one unit of work across attempts: a job's runId+step, an S3 object key."""
    if isinstance(record, dict):
        body = record.get("body")
        if isinstance(body, str):
            try:
                job = json.loads(body)
                return f"{job.get('runId')}"
            except (ValueError, AttributeError):
                return body
        s3 = record.get("s3")
        if isinstance(s3, dict):
            return str(s3.get("object", {}).get("key"))
    return json.dumps(record, sort_keys=True, default=str)


class Faults:
    """Wraps handlers of the configured functions with the injected failures; counts what it injected."""

    def __init__(self, spec: ChaosSpec) -> None:
        self.spec = spec
        self._rng = random.Random(spec.seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        if spec.report and os.path.exists(spec.report):
            # a restarted data plane keeps counting where the last one stopped
            with open(spec.report, encoding="utf-8") as f:
                self.injected.update(json.load(f))

    def _draw(self) -> float:
        with self._lock:
            return self._rng.random()

    def poisoned(self, key: str) -> bool:
        """Stable per key: the same work item is poison on every attempt and after a restart."""
        if self.spec.poison <= 0:
            return False
        digest = hashlib.sha256(f"{self.spec.seed}|{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2 ** 64 < self.spec.poison

    def drop_carried(self) -> bool:
        """True while the injected loss of carried-over events still has some to drop (counted)."""
        with self._lock:
            if self.injected["drop_carried"] >= self.spec.drop_carried:
                return False
        self._count("drop_carried")
        return True

    def _count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.injected[what] += n
            if self.spec.report:
                tmp = f"{self.spec.report}.tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    json.dump(dict(self.injected), f)
                os.replace(tmp, self.spec.report)

    def wrap(self, function_name: str, handler: Handler) -> Handler:
        """``handler`` itself for a function the spec does not name, else a faulty version of it."""
        if not self.spec.applies_to(function_name):
            return handler

        def faulty(event: Any, context: Any) -> Any:
            records = event.get("Records") if isinstance(event, dict) else None
            if records and records[0].get("eventSource") == "aws:sqs":
                return self._sqs_batch(handler, event, records, context)
            keys = [_work_key(r) for r in (records or [event])]
            if any(self.poisoned(k) for k in keys):
                self._count("poison")
                raise ChaosError("chaos: poisoned event")
            if self._draw() < self.spec.step_error:
                self._count("step_error")
                raise ChaosError("chaos: injected step error")
            return handler(event, context)

        return faulty

    def _sqs_batch(self, handler: Handler, event: dict, records: list[dict], context: Any) -> Any:
        failed = []
        kept = []
        for r in records:
            if self.poisoned(_work_key(r)):
                self._count("poison")
                failed.append(r)
            elif self._draw() < self.spec.step_error:
                self._count("step_error")
                failed.append(r)
            else:
                kept.append(r)
        if len(kept) >= 2 and self._draw() < self.spec.die_mid_batch:
            # run part of the batch for real, then die: SQS must redeliver all of it
            handler({**event, "Records": kept[: len(kept) // 2]}, context)
            self._count("die_mid_batch")
            raise ChaosError("chaos: worker died mid-batch")
        result = handler({**event, "Records": kept}, context) if kept else None
        if not failed:
            return result
        items = list((result or {}).get("batchItemFailures", [])) if isinstance(result, dict) else []
        items += [{"itemIdentifier": r["messageId"]} for r in failed]
        return {**(result if isinstance(result, dict) else {}), "batchItemFailures": items}


def faults_from_environment(environ: dict[str, str] | None = None) -> Faults | None:
    """A :class:`Faults` from ``RELAY_CHAOS``, or ``None`` when it is unset or empty (no overhead)."""
    text = (environ if environ is not None else os.environ).get(CHAOS_ENV, "").strip()
    return Faults(parse_chaos(text)) if text else None
