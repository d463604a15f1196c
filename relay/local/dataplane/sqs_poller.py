"""SQS event source mappings: pollers that receive, batch, invoke and delete as Lambda does.

What the queue itself does stays with the queue: a failed message is simply not deleted, becomes
visible again after the visibility timeout, and after ``maxReceiveCount`` receives the queue's redrive
policy moves it to its DLQ (moto does that on receive, as SQS does).

Recursive loop detection (:mod:`.recursion`): a message whose chain already counts 16 invocations does
not invoke a function set to ``Terminate``; as Lambda does, it goes to the queue's DLQ when it has one
(dropped otherwise) and ``RecursiveInvocationsDropped`` counts it. The others of its batch run, with the
largest chain among them.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Callable

from relay.local.dataplane.invoker import Invoker
from relay.local.dataplane.records import sqs_event_record
from relay.local.dataplane.recursion import MAX_CHAIN, lineage_of, over_the_limit
from relay.local.dataplane.registry import FunctionSpec, MappingSpec
from relay.local.dataplane.trace import keys_of, note

__all__ = ["SqsMappingRunner", "failed_message_ids", "DEFAULT_POLLERS"]

log = logging.getLogger(__name__)

DEFAULT_POLLERS = 5  # AWS starts five pollers per SQS mapping
LONG_POLL_S = 1  # short, so a stop or a disabled mapping is noticed within a second


def failed_message_ids(payload: Any, batch_ids: set[str]) -> set[str] | None:
    """The ``batchItemFailures`` of a handler response; ``None`` when Lambda treats the batch as failed.

    AWS rules: no response, or no/empty ``batchItemFailures``, means every message succeeded; an item
    with a missing, empty or unknown ``itemIdentifier`` (or a malformed response) fails the whole batch.
    """
    if payload is None:
        return set()
    if not isinstance(payload, dict):
        return set()
    items = payload.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return None
    failed: set[str] = set()
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in batch_ids:
            return None
        failed.add(ident)
    return failed


class SqsMappingRunner:
    """Runs one SQS event source mapping with a few poller threads."""

    def __init__(self, mapping: MappingSpec, lookup: Callable[[str], FunctionSpec], invoker: Invoker,
                 sqs: Callable[[], Any], region: str, pollers: int = DEFAULT_POLLERS) -> None:
        self.mapping = mapping
        self._lookup = lookup
        self._invoker = invoker
        self._sqs = sqs
        self._region = region
        self._pollers = max(1, min(pollers, mapping.maximum_concurrency or pollers))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queue_url: str | None = None
        self._receiving = 0
        self._count_lock = threading.Lock()

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        for i in range(self._pollers):
            t = threading.Thread(target=self._poll, name=f"sqs-{self.mapping.uuid[:8]}-{i}", daemon=True)
            self._threads.append(t)
            t.start()

    def update(self, mapping: MappingSpec) -> None:
        """Adopt a changed mapping (batch size, window, enabled, response types) from the next batch on."""
        self.mapping = mapping

    @property
    def receiving(self) -> int:
        """Pollers inside a ``ReceiveMessage`` call now (0 once a disabled mapping has gone quiet)."""
        return self._receiving

    def signal_stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    # ---- polling ------------------------------------------------------------------------------
    def _url(self) -> str:
        if self._queue_url is None:
            _, _, _, _, account, name = self.mapping.source_arn.split(":", 5)
            self._queue_url = self._sqs().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        return self._queue_url

    def _poll(self) -> None:
        while not self._stop.is_set():
            m = self.mapping
            if not m.enabled:
                self._stop.wait(0.5)
                continue
            try:
                batch = self._gather(m)
                if batch:
                    self._process(m, batch)
            except Exception:  # noqa: BLE001 - a poller survives emulator hiccups, as Lambda's do
                log.exception("SQS poller for mapping %s failed; retrying", m.uuid)
                self._stop.wait(0.5)

    def _gather(self, m: MappingSpec) -> list[dict]:
        """Receive up to BatchSize messages (10 per call), within MaximumBatchingWindowInSeconds."""
        messages: list[dict] = []
        window_end: float | None = None
        while len(messages) < m.batch_size and not self._stop.is_set():
            if messages:
                left = window_end - time.monotonic()  # type: ignore[operator]
                if left <= 0:
                    break
                wait = min(LONG_POLL_S, math.ceil(left))
            else:
                wait = LONG_POLL_S
            with self._count_lock:
                self._receiving += 1
            try:
                if not self.mapping.enabled:
                    # checked after counting ourselves in: once `receiving` reads 0 on a disabled
                    # mapping, no poller can start another receive
                    break
                got = self._sqs().receive_message(
                    QueueUrl=self._url(), MaxNumberOfMessages=min(10, m.batch_size - len(messages)),
                    WaitTimeSeconds=wait, AttributeNames=["All"], MessageAttributeNames=["All"],
                ).get("Messages", [])
            finally:
                with self._count_lock:
                    self._receiving -= 1
            if not got and not messages:
                return []  # back to the outer loop, which notices a disabled or changed mapping
            if got and window_end is None:
                window_end = time.monotonic() + m.batching_window_s
            messages.extend(got)
            if messages and not got and m.batching_window_s <= 0:
                break
            if messages and m.batching_window_s <= 0 and len(got) < 10:
                break  # no window: invoke with what the queue had
        return messages

    def _process(self, m: MappingSpec, messages: list[dict]) -> None:
        spec = self._lookup(m.function_arn)
        chains = {msg["MessageId"]: lineage_of((msg.get("Attributes") or {}).get("AWSTraceHeader"))
                  for msg in messages}
        stopped = [msg for msg in messages if over_the_limit(chains[msg["MessageId"]], spec.recursive_loop)]
        if stopped:
            self._stop_recursion(spec, stopped, chains)
            messages = [msg for msg in messages if msg not in stopped]
            if not messages:
                return
        event = {"Records": [sqs_event_record(msg, m.source_arn, self._region) for msg in messages]}
        note("sqs.received", spec.arn, event,
             receives=[r["attributes"].get("ApproximateReceiveCount") for r in event["Records"]])
        result = self._invoker.invoke(spec, event, chain=max(chains[msg["MessageId"]] for msg in messages))
        if not result.ok:
            # a function error returns the whole batch to the queue (nothing deleted)
            note("sqs.failed", spec.arn, event, error=result.error_type)
            return
        done = messages
        if m.report_batch_item_failures:
            failed = failed_message_ids(result.payload, {msg["MessageId"] for msg in messages})
            if failed is None:
                log.warning("mapping %s: invalid batchItemFailures from %s; the whole batch is retried",
                            m.uuid, spec.name)
                return
            done = [msg for msg in messages if msg["MessageId"] not in failed]
            if failed:
                note("sqs.failed", spec.arn, keys=keys_of({"Records": [
                    r for r in event["Records"] if r["messageId"] in failed]}), error="batchItemFailures")
        self._delete(done)
        note("sqs.done", spec.arn, keys=keys_of({"Records": [
            r for r in event["Records"] if r["messageId"] in {msg["MessageId"] for msg in done}]}))

    def _stop_recursion(self, spec: FunctionSpec, stopped: list[dict], chains: dict[str, int]) -> None:
        """What Lambda does with a message its loop detection stops: to the queue's DLQ if any, else dropped."""
        dlq_url = self._dead_letter_url()
        if dlq_url is not None:
            for msg in stopped:
                self._sqs().send_message(QueueUrl=dlq_url, MessageBody=msg.get("Body", ""),
                                         MessageAttributes=msg.get("MessageAttributes") or {})
        self._delete(stopped)
        recorder = self._invoker.recorder
        if recorder is not None:
            recorder.record(spec.name, "RecursiveInvocationsDropped", len(stopped))
        where = "moved to the DLQ" if dlq_url else "dropped (the queue has no DLQ)"
        log.warning("recursive loop detection: %s does not allow its recursive loop; %d message(s) of %s whose "
                    "chain reached %d invocations (Lambda stops past %d) %s", spec.name, len(stopped),
                    self.mapping.source_arn.rsplit(":", 1)[-1], max(chains[msg["MessageId"]] for msg in stopped),
                    MAX_CHAIN, where)
        note("sqs.recursion-stopped", spec.arn,
             {"Records": [sqs_event_record(msg, self.mapping.source_arn, self._region) for msg in stopped]})

    def _dead_letter_url(self) -> str | None:
        import json

        attrs = self._sqs().get_queue_attributes(QueueUrl=self._url(), AttributeNames=["RedrivePolicy"])
        raw = (attrs.get("Attributes") or {}).get("RedrivePolicy")
        if not raw:
            return None
        arn = json.loads(raw).get("deadLetterTargetArn", "")
        _, _, _, _, account, name = arn.split(":", 5)
        return self._sqs().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]

    def _delete(self, messages: list[dict]) -> None:
        for i in range(0, len(messages), 10):
            chunk = messages[i:i + 10]
            resp = self._sqs().delete_message_batch(
                QueueUrl=self._url(),
                Entries=[{"Id": str(n), "ReceiptHandle": msg["ReceiptHandle"]} for n, msg in enumerate(chunk)])
            for f in resp.get("Failed", []):
                log.warning("delete of a processed message failed: %s", f)
