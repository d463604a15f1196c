"""What the local data plane carries across a restart of the local stage.

In AWS two things outlive any Lambda worker: the asynchronous event queue of a function (S3 events
accepted but not yet run) and a DynamoDB stream's records past a mapping's checkpoint (kept 24 h). The
local stage's emulator snapshot keeps queues, buckets and tables, but the data plane's async queue lives
in memory and a restored table gets a new, empty stream. So on stop the data plane writes both to one
file in the stage's state directory, and on start it replays them: async events go back on their
function's queue with their id, age and attempts; stream records are handed to the mapping's function in
batches of its batch size, in shard order, with its retries and on-failure destination. Anything that was
running at the stop bound is replayed too — at least once, as in AWS; the handlers are idempotent.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from relay.local.dataplane.records import stream_failure_record
from relay.local.dataplane.trace import note

if TYPE_CHECKING:  # pragma: no cover
    from relay.local.dataplane import DataPlane
    from relay.local.dataplane.stream_poller import StreamMappingRunner

__all__ = ["CarryOver"]

log = logging.getLogger(__name__)
VERSION = 1


def _table_of(stream_arn: str) -> str:
    # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
    return stream_arn.split(":table/", 1)[-1].split("/", 1)[0]


def _function_name(function_arn: str) -> str:
    return function_arn.split(":function:", 1)[-1].split(":", 1)[0]


class CarryOver:
    """The carry-over file: :meth:`save` on stop, :meth:`replay` on start (then it is removed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.replayed = threading.Event()
        self.stats = {"async": 0, "stream_records": 0, "stream_failed": 0}
        self._halted = threading.Event()
        self._lock = threading.Lock()
        # carried-over stream records not replayed yet: a stop during the replay saves them again
        self._unreplayed: list[dict] = []

    def halt(self) -> None:
        """Stop replaying stream records after the batch in progress (the rest is saved again)."""
        self._halted.set()

    def save(self, async_events: list[dict], stream_runners: Iterable["StreamMappingRunner"],
             _name_of: Callable[[str], str] | None = None) -> None:
        with self._lock:
            streams = [dict(e) for e in self._unreplayed if e["records"]]
        for runner in stream_runners:
            records = runner.tail()
            if records:
                streams.append({"function": _function_name(runner.mapping.function_arn),
                                "table": _table_of(runner.mapping.source_arn), "records": records})
        if not async_events and not streams:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": VERSION, "saved_at": time.time(), "async": async_events,
                                   "streams": streams}, default=str))
        os.replace(tmp, self.path)  # a crash mid-write leaves the previous file, never half of one
        log.info("carried over %d async events and %d stream records to %s", len(async_events),
                 sum(len(s["records"]) for s in streams), self.path)

    def replay(self, plane: "DataPlane") -> None:
        """Queue the saved async events now; replay stream records in the background."""
        if not self.path.exists():
            self.replayed.set()
            return
        doc = json.loads(self.path.read_text())
        faults = plane.invoker.faults
        for event in doc.get("async", []):
            if faults is not None and faults.drop_carried():
                note("async.dropped-by-injected-fault", event.get("function_arn", ""), event.get("payload"))
                continue
            try:
                plane.async_invoker.resubmit(event)
                self.stats["async"] += 1
            except KeyError:
                log.warning("carried-over async event %s dropped: function %s is gone",
                            event.get("request_id"), event.get("function_arn"))
        with self._lock:
            self._unreplayed = [dict(e) for e in doc.get("streams", [])]
        # the async events are queued again; the stream records are held in memory until replayed
        # (a stop before then saves them again)
        self.path.unlink()

        def run() -> None:
            try:
                for entry in list(self._unreplayed):
                    if self._halted.is_set():
                        break
                    self._replay_stream(plane, entry)
            finally:
                self.replayed.set()

        threading.Thread(target=run, name="dataplane-carry-over", daemon=True).start()

    def _replay_stream(self, plane: "DataPlane", entry: dict) -> None:
        mapping = next((m for m in plane.mappings().values() if m.kind == "dynamodb"
                        and _function_name(m.function_arn) == entry["function"]
                        and _table_of(m.source_arn) == entry["table"]), None)
        if mapping is None:
            log.warning("carried-over stream records of %s dropped: no mapping from %s any more",
                        entry["function"], entry["table"])
            with self._lock:
                entry["records"] = []
            return
        spec = plane._lookup(mapping.function_arn)  # noqa: SLF001 - the facade's own resolver
        records: list[dict[str, Any]] = entry["records"]
        retries = max(2, mapping.maximum_retry_attempts if mapping.maximum_retry_attempts != -1 else 2)
        for i in range(0, len(records), max(1, mapping.batch_size)):
            batch = records[i:i + mapping.batch_size]
            for attempt in range(1, retries + 2):
                if self._halted.is_set():
                    return  # this batch and the rest stay in `_unreplayed`, saved by the stop
                result = plane.invoker.invoke(spec, {"Records": batch})
                failures = result.payload.get("batchItemFailures") if isinstance(result.payload, dict) else None
                if result.ok and not failures:
                    self.stats["stream_records"] += len(batch)
                    break
                if result.error_type == "Local.Stopping":
                    return
                time.sleep(0.2 * attempt)
            else:
                self.stats["stream_failed"] += len(batch)
                if mapping.on_failure:
                    plane._destinations.send(mapping.on_failure, stream_failure_record(  # noqa: SLF001
                        request_id=str(uuid.uuid4()), function_arn=spec.arn, records=batch,
                        shard_id="carried-over", stream_arn=mapping.source_arn, attempts=retries + 1,
                        now=time.time(), condition="RetryAttemptsExhausted", error=result.error_payload))
            with self._lock:
                entry["records"] = records[i + len(batch):]
