"""DynamoDB stream event source mappings: shard readers with parallelization factor, bisect and retries.

Per shard, one dispatcher thread reads records (``GetRecords``) in order and spreads them over
``ParallelizationFactor`` lanes by a hash of the partition key. Each lane runs one batch at a time, so
records of one key are processed in order while up to N batches of the shard run concurrently. The
checkpoint is the sequence number below which every dispatched record is done (succeeded, or sent to
the on-failure destination). A factor change waits until no batch runs, then re-lanes what is pending,
so order per key holds across the change.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from relay.local.dataplane.destinations import DestinationSender
from relay.local.dataplane.invoker import Invoker
from relay.local.dataplane.metrics import MetricsRecorder
from relay.local.dataplane.records import stream_event_record, stream_failure_record
from relay.local.dataplane.registry import FunctionSpec, MappingSpec

__all__ = ["StreamMappingRunner", "ShardProcessor", "lane_of", "key_hash", "first_failed_index"]

log = logging.getLogger(__name__)

READ_LIMIT = 1000


def key_hash(partition_key: Any) -> int:
    """Stable hash of a partition key value (crc32 of its JSON; Python's ``hash`` is salted per process)."""
    return zlib.crc32(json.dumps(partition_key, sort_keys=True, separators=(",", ":")).encode())


def lane_of(partition_key: Any, factor: int) -> int:
    """Lane (0..factor-1) of a partition key value."""
    return key_hash(partition_key) % max(1, factor)


def first_failed_index(payload: Any, seqs: list[str]) -> int | None:
    """Index of the first record reported in ``batchItemFailures`` (by SequenceNumber).

    ``None``: every record succeeded. ``0`` is also returned for a malformed response or an unknown
    identifier, which Lambda treats as a failure of the whole batch.
    """
    if not isinstance(payload, dict) or payload.get("batchItemFailures") in (None, []):
        return None
    items = payload["batchItemFailures"]
    if not isinstance(items, list):
        return 0
    positions = {s: i for i, s in enumerate(seqs)}
    found: list[int] = []
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if ident not in positions:
            return 0
        found.append(positions[ident])
    return min(found)


@dataclass
class _Entry:
    seq: int
    key_hash: int
    record: dict
    read_at: float

    @property
    def created(self) -> float:
        return self.record["dynamodb"]["ApproximateCreationDateTime"]


class ShardProcessor:
    """Reads one shard of one mapping and runs its batches in up to N lanes."""

    def __init__(self, runner: "StreamMappingRunner", shard_id: str, hash_key: str) -> None:
        self._runner = runner
        self.shard_id = shard_id
        self._hash_key = hash_key
        self._cond = threading.Condition()
        self._pending: list[_Entry] = []
        self._busy: set[int] = set()
        self._inflight: "OrderedDict[int, bool]" = OrderedDict()  # read, not yet checkpointed
        self._records: dict[int, dict] = {}  # the Lambda-shaped record of every read, not yet checkpointed seq
        self._threads: list[threading.Thread] = []
        self._iterator: str | None = None
        self._last_read: str | None = None
        self._next_read = 0.0
        self.checkpoint: str | None = None
        self.factor = runner.mapping.parallelization_factor
        self.max_concurrent_batches = 0
        self._thread = threading.Thread(target=self._loop, name=f"stream-{shard_id[-8:]}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self._thread.join(max(0.0, deadline - time.monotonic()))
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # ---- reading ------------------------------------------------------------------------------
    def _read(self, m: MappingSpec) -> int:
        streams = self._runner.streams()
        if self._iterator is None:
            after = self._last_read or self.checkpoint
            if after:
                kw = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
            else:
                kw = {"ShardIteratorType": m.starting_position if m.starting_position in ("TRIM_HORIZON", "LATEST")
                      else "TRIM_HORIZON"}
            self._iterator = streams.get_shard_iterator(StreamArn=m.source_arn, ShardId=self.shard_id,
                                                        **kw)["ShardIterator"]
        resp = streams.get_records(ShardIterator=self._iterator, Limit=READ_LIMIT)
        self._iterator = resp.get("NextShardIterator")
        records = resp.get("Records", [])
        now = time.monotonic()
        with self._cond:
            for raw in records:
                rec = stream_event_record(raw, m.source_arn, self._runner.region)
                seq = rec["dynamodb"]["SequenceNumber"]
                key = rec["dynamodb"].get("Keys", {}).get(self._hash_key)
                self._pending.append(_Entry(int(seq), key_hash(key), rec, now))
                self._records[int(seq)] = rec
                # registered in read (= sequence) order, so the done prefix is the checkpoint
                self._inflight[int(seq)] = False
                self._last_read = seq
        return len(records)

    def tail(self, max_reads: int = 1000) -> list[dict]:
        """Every record past the checkpoint, in shard order: what a restart must not lose.

        Called after the processor stopped. In AWS a stream keeps 24 h of records and the mapping resumes
        from its checkpoint; the local stage's restored table gets a new stream, so the tail is carried
        over by the data plane (records that were done above a gap are replayed: the handler is idempotent).
        """
        with self._cond:
            records = [self._records[seq] for seq in self._inflight if seq in self._records]
        m = self._runner.mapping
        streams = self._runner.streams()
        after = self._last_read or self.checkpoint
        kw = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after} if after
              else {"ShardIteratorType": "TRIM_HORIZON"})
        try:
            iterator = streams.get_shard_iterator(StreamArn=m.source_arn, ShardId=self.shard_id, **kw)["ShardIterator"]
            for _ in range(max_reads):
                resp = streams.get_records(ShardIterator=iterator, Limit=READ_LIMIT)
                got = resp.get("Records", [])
                records += [stream_event_record(raw, m.source_arn, self._runner.region) for raw in got]
                iterator = resp.get("NextShardIterator")
                if not got or not iterator:
                    break
        except Exception:  # noqa: BLE001 - the emulator may already be going away; keep what we have
            log.exception("reading the unprocessed tail of shard %s failed", self.shard_id)
        return records

    # ---- dispatching --------------------------------------------------------------------------
    def _loop(self) -> None:
        runner = self._runner
        while not runner.stopping.is_set():
            m = runner.mapping
            if not m.enabled:
                runner.stopping.wait(0.5)
                continue
            now = time.monotonic()
            # read ahead only while fewer than two rounds of batches are pending, and an empty shard
            # only every poll_interval: each GetRecords costs the dispatcher time it owes the lanes
            if len(self._pending) < 2 * m.batch_size * m.parallelization_factor and now >= self._next_read:
                try:
                    got = self._read(m)
                    self._next_read = now if got else now + runner.poll_interval
                except Exception:  # noqa: BLE001 - keep polling through emulator hiccups
                    log.exception("reading shard %s of %s failed; retrying", self.shard_id, m.source_arn)
                    self._iterator = None
                    self._next_read = now + runner.poll_interval
            dispatched = self._dispatch(m)
            if not dispatched:
                with self._cond:
                    self._cond.wait(max(0.005, min(runner.poll_interval, self._next_read - time.monotonic())))

    def _dispatch(self, m: MappingSpec) -> int:
        started = 0
        with self._cond:
            if m.parallelization_factor != self.factor:
                if self._busy:
                    return 0  # drain the lanes first: a key must never run in two lanes at once
                self.factor = m.parallelization_factor
            now = time.monotonic()
            by_lane: dict[int, list[_Entry]] = {}
            for e in self._pending:
                lane = e.key_hash % self.factor
                if lane not in self._busy:
                    by_lane.setdefault(lane, []).append(e)
            taken: set[int] = set()
            for lane, mine in sorted(by_lane.items()):
                if len(mine) < m.batch_size and now - mine[0].read_at < m.batching_window_s:
                    continue
                batch = mine[:m.batch_size]
                taken.update(e.seq for e in batch)
                self._busy.add(lane)
                self.max_concurrent_batches = max(self.max_concurrent_batches, len(self._busy))
                t = threading.Thread(target=self._run_lane, args=(lane, batch), daemon=True,
                                     name=f"lane-{self.shard_id[-4:]}-{lane}")
                self._threads = [x for x in self._threads if x.is_alive()] + [t]
                t.start()
                started += 1
            if taken:
                self._pending = [e for e in self._pending if e.seq not in taken]
        return started

    def _run_lane(self, lane: int, batch: list[_Entry]) -> None:
        finished = False
        try:
            finished = self._runner.run_batch(self, batch)
        except Exception:  # noqa: BLE001
            log.exception("stream batch on lane %d failed in the data plane", lane)
        finally:
            with self._cond:
                if finished:
                    for e in batch:
                        self._inflight[e.seq] = True
                    while self._inflight and next(iter(self._inflight.values())):
                        seq, _ = self._inflight.popitem(last=False)
                        self._records.pop(seq, None)
                        self.checkpoint = str(seq)
                self._busy.discard(lane)
                self._cond.notify_all()


class StreamMappingRunner:
    """Runs one DynamoDB stream event source mapping (every shard of the stream)."""

    def __init__(self, mapping: MappingSpec, lookup: Callable[[str], FunctionSpec], invoker: Invoker,
                 streams: Callable[[], Any], destinations: DestinationSender, recorder: MetricsRecorder | None,
                 region: str, poll_interval: float = 0.25, retry_delay: float = 0.05,
                 clock: Callable[[], float] = time.time) -> None:
        self.mapping = mapping
        self._lookup = lookup
        self._invoker = invoker
        self.streams = streams
        self._destinations = destinations
        self._recorder = recorder
        self.region = region
        self.poll_interval = poll_interval
        self._retry_delay = retry_delay
        self._clock = clock
        self.stopping = threading.Event()
        self.shards: list[ShardProcessor] = []

    def start(self) -> None:
        desc = self.streams().describe_stream(StreamArn=self.mapping.source_arn)["StreamDescription"]
        hash_key = next(k["AttributeName"] for k in desc["KeySchema"] if k["KeyType"] == "HASH")
        # moto has one shard per stream and never splits it; new shards after start are not picked up
        for shard in desc.get("Shards", []):
            self.shards.append(ShardProcessor(self, shard["ShardId"], hash_key))
        for sp in self.shards:
            sp.start()

    def update(self, mapping: MappingSpec) -> None:
        """Adopt a changed mapping; a new factor applies once the running batches finish."""
        self.mapping = mapping
        for sp in self.shards:
            sp.wake()

    def signal_stop(self) -> None:
        self.stopping.set()
        for sp in self.shards:
            sp.wake()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for sp in self.shards:
            sp.join(max(0.0, deadline - time.monotonic()))

    def tail(self) -> list[dict]:
        """The unprocessed records of every shard (after :meth:`join`), for a restart to replay."""
        return [r for sp in self.shards for r in sp.tail()]

    # ---- one batch: retries, bisect, partial failures, record age, on-failure -------------------
    def run_batch(self, shard: ShardProcessor, batch: list[_Entry]) -> bool:
        """Process ``batch`` to the end; ``False`` if the data plane stopped before it was done."""
        work: list[list[_Entry]] = [batch]
        while work:
            part = work.pop(0)
            attempts = 0
            while True:
                if self.stopping.is_set():
                    return False
                m = self.mapping
                spec = self._lookup(m.function_arn)
                if m.maximum_record_age_s != -1 and self._clock() - part[0].created > m.maximum_record_age_s:
                    self._give_up(shard, part, spec, attempts, "RecordAgeExceeded", None)
                    break
                result = self._invoke(spec, part)
                attempts += 1
                if result.ok:
                    idx = None
                    if m.report_batch_item_failures:
                        idx = first_failed_index(result.payload, [e.record["dynamodb"]["SequenceNumber"] for e in part])
                    if idx is None:
                        break
                    part = part[idx:]  # everything before the first failure is checkpointed
                    error = {"errorMessage": "batchItemFailures reported", "errorType": "PartialBatchFailure"}
                else:
                    error = result.error_payload
                if m.bisect_on_error and len(part) > 1:
                    half = len(part) // 2
                    # bisecting does not count against the retry quota; each half starts afresh
                    work = [part[:half], part[half:]] + work
                    break
                if m.maximum_retry_attempts != -1 and attempts > m.maximum_retry_attempts:
                    self._give_up(shard, part, spec, attempts, "RetryAttemptsExhausted", error)
                    break
                self.stopping.wait(self._retry_delay)
        return True

    def _invoke(self, spec: FunctionSpec, part: list[_Entry]) -> Any:
        if self._recorder:
            age_ms = max(0.0, (self._clock() - part[-1].created) * 1000)
            self._recorder.record(spec.name, "IteratorAge", age_ms)
        return self._invoker.invoke(spec, {"Records": [e.record for e in part]})

    def _give_up(self, shard: ShardProcessor, part: list[_Entry], spec: FunctionSpec, attempts: int,
                 condition: str, error: dict | None) -> None:
        dest = self.mapping.on_failure
        if not dest:
            log.warning("mapping %s: %d records skipped (%s, no on-failure destination)",
                        self.mapping.uuid, len(part), condition)
            return
        record = stream_failure_record(
            request_id=str(uuid.uuid4()), function_arn=spec.arn, records=[e.record for e in part],
            shard_id=shard.shard_id, stream_arn=self.mapping.source_arn, attempts=attempts,
            now=self._clock(), condition=condition, error=error)
        try:
            self._destinations.send(dest, record)
        except Exception:  # noqa: BLE001
            log.exception("mapping %s: could not send the on-failure record to %s", self.mapping.uuid, dest)
