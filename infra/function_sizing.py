"""Lambda memory per function: relay's measured defaults, a stage's overrides, and their rules (pure).

Lambda gives a function CPU in proportion to its memory (one vCPU at 1,769 MB), and bills GB-seconds.
relay's functions mostly wait on AWS calls, so the memory they need is what their code holds, not CPU:
``bench/memory.py`` runs each handler on a representative event in a fresh interpreter and reports its
peak resident memory; :data:`MEASURED_MEMORY_MB` is the smallest Lambda size that holds it with room
to spare. A stage overrides any of them with ``relay:memory`` (``{"log-indexer": 256}``); the older
``relay:memorySize``, when a stage file still sets it, sizes every function ``relay:memory`` does not name
(so a stage deployed before this version keeps its sizes until its owner opts in).
"""
from __future__ import annotations

from typing import Any, Mapping

__all__ = ["FUNCTIONS", "MEASURED_MEMORY_MB", "MIN_MEMORY_MB", "MAX_MEMORY_MB", "memory_for", "memory_rule",
           "parse_memory_map", "MemoryConfigError"]

# the deployed functions, by the name their physical name ends with (relay-<stage>-<function>)
FUNCTIONS = ("api", "send-worker", "request-worker", "job-worker", "log-indexer", "ses-feedback")
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10_240
# bench/memory.py, 2026-12-02: peak resident memory over 30 invocations on real work, python3.13 + boto3 + the
# handler (a bare boto3 client: 47 MB): api 61 MB, send-worker 79 MB (Jinja2, the outbox), request-worker 94 MB
# and job-worker 90 MB (the automation schemas), log-indexer 53 MB (16 writer threads), ses-feedback 52 MB.
# The default is the smallest size that holds that plus the runtime's ~15 MB with a third to spare.
MEASURED_MEMORY_MB: Mapping[str, int] = {
    "api": 128, "send-worker": 128, "request-worker": 256, "job-worker": 256, "log-indexer": 128,
    "ses-feedback": 128,
}


class MemoryConfigError(ValueError):
    """``relay:memory`` is not a map of known function names to sizes; the message says which entry."""


def parse_memory_map(raw: Any) -> dict[str, int]:
    """``relay:memory`` as YAML gives it (a map) or as ``pulumi.Config`` does (a JSON string) → ``{name: MB}``.

    Raises
    ------
    MemoryConfigError
        When it is not a map, or a value is not a whole number.
    """
    import json

    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            raise MemoryConfigError(f"relay:memory = {raw!r}: must be a map of function name to MB") from None
    if not isinstance(raw, Mapping):
        raise MemoryConfigError(f"relay:memory = {raw!r}: must be a map of function name to MB")
    out: dict[str, int] = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not str(value).strip().isdigit():
            raise MemoryConfigError(f"relay:memory.{name} = {value!r}: must be a whole number of MB")
        out[str(name)] = int(str(value).strip())
    return out


def memory_rule(memory: Mapping[str, int], memory_size: int) -> str | None:
    """The first broken rule of ``relay:memory`` / ``relay:memorySize``, or None when both are valid."""
    for name, mb in memory.items():
        if name not in FUNCTIONS:
            return f"relay:memory.{name}: not a relay function (known: {', '.join(FUNCTIONS)})"
        if not MIN_MEMORY_MB <= mb <= MAX_MEMORY_MB:
            return f"relay:memory.{name} = {mb}: must be between {MIN_MEMORY_MB} and {MAX_MEMORY_MB} MB (Lambda's range)"
    if memory_size and not MIN_MEMORY_MB <= memory_size <= MAX_MEMORY_MB:
        return (f"relay:memorySize = {memory_size}: must be 0 (unset: relay's measured sizes) or between "
                f"{MIN_MEMORY_MB} and {MAX_MEMORY_MB} MB")
    return None


def memory_for(function: str, memory: Mapping[str, int], memory_size: int) -> int:
    """The MB a stage gives ``function``: its ``relay:memory`` entry, else ``relay:memorySize``, else measured.

    Raises
    ------
    KeyError
        For a name that is not one of :data:`FUNCTIONS`.
    """
    if function not in MEASURED_MEMORY_MB:
        raise KeyError(f"{function!r} is not a relay function (known: {', '.join(FUNCTIONS)})")
    if function in memory:
        return int(memory[function])
    return int(memory_size) if memory_size else int(MEASURED_MEMORY_MB[function])
