"""A deploy of the Pulumi program into the emulator, recorded once and replayed while the program is unchanged.

Running the program under Pulumi's mocks costs seconds (Pulumi's runtime, the program, its engine
round trips); what it *does* to the emulator is a short, ordered list of create-or-update calls on
:class:`~relay.local.emulated.EmulatedResources`. So a deploy records that list — each
resource's type, name, inputs and the id/outputs it got — with the program's outputs, under a key that
hashes everything the deploy depends on (the program, the stage file, the overrides, the emulator
mapping). The next ``relay up`` with the same key replays the list against the fresh emulator: the same
handlers, the same idempotent calls, in an order Pulumi already proved (a resource completes only after
the resources its inputs name), without Pulumi.

Values that differ between runs are carried through by substitution: the emulator endpoint and the API
URL (free ports in tests), and whatever the emulator assigns anew (an event source mapping's UUID): each
replayed resource's outputs are compared with the recorded ones, and every recorded string that came back
different is replaced in the inputs of the resources after it and in the outputs.

A replay that fails for any reason falls back to a real deploy, which records again. The cache lives in
``.relay/cache/`` (git-ignored) and is written atomically, so parallel stages share it safely.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = ["DeployRecorder", "cache_key", "load", "save", "replay", "CACHE_DIR", "NO_CACHE_ENV"]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = ROOT / ".relay" / "cache"
NO_CACHE_ENV = "RELAY_NO_DEPLOY_CACHE"
VERSION = 1
# everything a local deploy's calls depend on; function code is not among them (the emulator keeps a
# placeholder; the data plane runs the handlers from the repository)
_INPUT_GLOBS = ("infra/**/*.py", "infra/**/*.lock", "Pulumi.yaml", "pyproject.toml",
                "relay/local/deploy*.py", "relay/local/emulated/**/*.py")


def _jsonable(value: Any) -> Any:
    """Inputs as JSON: Pulumi archives/assets (which the emulator ignores) become a marker."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return {"__unrecorded__": type(value).__name__}


def cache_key(stage: str, overrides: Mapping[str, Any] | None, region: str) -> str:
    """sha256 over the program, the stage file, the overrides and the emulator mapping."""
    h = hashlib.sha256(json.dumps({"v": VERSION, "stage": stage, "region": region,
                                   "overrides": dict(sorted((overrides or {}).items()))},
                                  sort_keys=True, default=str).encode())
    files = sorted({p for g in (*_INPUT_GLOBS, f"Pulumi.{stage}.yaml") for p in ROOT.glob(g) if p.is_file()})
    for path in files:
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:32]


class DeployRecorder:
    """Wraps ``EmulatedResources.create`` during a real deploy, keeping each call in completion order."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def wrap(self, resources: Any) -> None:
        create = resources.create

        def recording(typ: str, name: str, inputs: dict) -> tuple[str, dict]:
            rid, state = create(typ, name, inputs)
            with self._lock:
                self.entries.append({"typ": typ, "name": name, "inputs": _jsonable(inputs), "id": rid,
                                     "state": _jsonable(state)})
            return rid, state

        resources.create = recording


def _path(key: str) -> Path:
    return CACHE_DIR / f"deploy-{key}.json"


def load(key: str) -> dict | None:
    """The recording for ``key``, or None (missing, unreadable, or caching turned off)."""
    if os.environ.get(NO_CACHE_ENV):
        return None
    try:
        doc = json.loads(_path(key).read_text())
    except (OSError, ValueError):
        return None
    return doc if doc.get("version") == VERSION else None


def save(key: str, recorder: DeployRecorder, outputs: dict, endpoint_url: str, api_url: str) -> None:
    if os.environ.get(NO_CACHE_ENV):
        return
    doc = {"version": VERSION, "endpoint_url": endpoint_url, "api_url": api_url,
           "entries": recorder.entries, "outputs": _jsonable(outputs)}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = _path(key).with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, _path(key))


def _substitute(value: Any, subs: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for old, new in subs:
            if old in value:
                value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _substitute(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, subs) for v in value]
    return value


def _differences(recorded: Any, fresh: Any) -> Iterable[tuple[str, str]]:
    """(recorded, fresh) pairs of strings at the same place that differ."""
    if isinstance(recorded, str) and isinstance(fresh, str):
        if recorded != fresh and len(recorded) >= 8:  # short strings are too common to replace safely
            yield recorded, fresh
    elif isinstance(recorded, dict) and isinstance(fresh, dict):
        for k in recorded.keys() & fresh.keys():
            yield from _differences(recorded[k], fresh[k])
    elif isinstance(recorded, list) and isinstance(fresh, list) and len(recorded) == len(fresh):
        for a, b in zip(recorded, fresh):
            yield from _differences(a, b)


def replay(doc: dict, resources: Any, endpoint_url: str, api_url: str) -> dict:
    """Apply a recording to the emulator behind ``resources``; return the stage outputs."""
    subs: list[tuple[str, str]] = [(doc["endpoint_url"], endpoint_url), (doc["api_url"], api_url)]
    subs = [(a, b) for a, b in subs if a and a != b]
    for entry in doc["entries"]:
        inputs = _substitute(entry["inputs"], subs)
        rid, state = resources.create(entry["typ"], entry["name"], inputs)
        recorded = {"id": entry["id"], "state": entry["state"]}
        known = dict(subs)
        for old, new in _differences(recorded, {"id": rid, "state": _jsonable(state)}):
            if _substitute(old, subs) != new and known.get(old) != new:
                subs.append((old, new))
                known[old] = new
        # longest first: a value is never replaced inside a longer one it is part of
        subs.sort(key=lambda pair: -len(pair[0]))
    return _substitute(doc["outputs"], subs)
