"""Redrive and delete of dead letters: one loop, with the re-send as its parameter.

The loop (:func:`redrive`) receives through the DLQ (:class:`~dashboard.scan.QueueScan`: every message
held hidden until the end), hands the chosen letters — named ids, or every letter — to ``resend`` a
chunk at a time, deletes from the DLQ exactly those the re-send reports done, and at the end (also on
an error) makes every other one visible again. Send first, delete after: a crash between the two
re-sends a letter twice (every consumer is idempotent), never loses one.

The same loop serves a click on ten letters and a bulk action over 50,000 (:mod:`dashboard.bulk`): a
:class:`Pacer` holds it to a rate, and a ``checkpoint`` after every chunk records progress and may stop it
(cancel) between chunks — never between a send and its delete.

The re-sends: a job letter goes back to the job queue (``SendMessageBatch``; jobs of runs whose
cancelation token fired are skipped); an async-DLQ record re-invokes the failed function with its stored
event; a stream-DLQ record re-invokes the log indexer with its batch's records, read back from the
stream. Deleting is the loop with a re-send that only says done; an edited letter is re-sent with its
new body (:func:`resend_edited`).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

from dashboard.errors import NoSourceQueue
from dashboard.letters import decode
from dashboard.queues import PEEK_HIDE_SECONDS
from dashboard.scan import QueueScan

__all__ = ["RedriveReport", "Verdict", "DONE", "Resend", "Checkpoint", "Pacer", "redrive", "redrive_selected",
           "redrive_async", "redrive_stream", "delete_selected", "stream_records", "to_job_queue", "reinvoke_async",
           "reinvoke_stream", "only_done", "resend_edited"]


@dataclass
class RedriveReport:
    """What a redrive/delete did, message by message; ``lost`` must always be empty."""

    moved: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # message id -> why it stayed in the DLQ
    failed: dict[str, str] = field(default_factory=dict)  # message id -> error; still in the DLQ
    not_found: list[str] = field(default_factory=list)
    stopped: bool = False  # a checkpoint stopped it between chunks (cancel); the rest is untouched

    def summary(self) -> str:
        """``"3 done, 1 skipped, …"`` for the confirm dialog's result."""
        parts = [f"{len(self.moved)} done"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.failed:
            parts.append(f"{len(self.failed)} failed (left in the DLQ)")
        if self.not_found:
            parts.append(f"{len(self.not_found)} no longer in the DLQ")
        if self.stopped:
            parts.append("stopped before the end")
        return ", ".join(parts)


@dataclass(frozen=True)
class Verdict:
    """What a re-send did with one letter: ``done`` (delete it), or kept in the DLQ as skipped or failed."""

    done: bool
    why: str = ""
    failed: bool = False

    @classmethod
    def skip(cls, why: str) -> "Verdict":
        """Left in the DLQ on purpose (e.g. a canceled run); ``why`` is shown to the operator."""
        return cls(False, why)

    @classmethod
    def fail(cls, why: str) -> "Verdict":
        """Left in the DLQ because the re-send failed; ``why`` is the error."""
        return cls(False, why, failed=True)


DONE = Verdict(True)
# held messages (ReceiveMessage entries) → {message id: verdict}; a missing verdict counts as failed
Resend = Callable[[list[dict]], Mapping[str, Verdict]]
# after each chunk: (the report so far, the ids just deleted) → keep going?
Checkpoint = Callable[[RedriveReport, list[str]], bool]


class Pacer:
    """At most ``rate`` letters per second on average (``None`` or 0: as fast as the calls go)."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self._clock, self._sleep = clock, sleep
        self._next = 0.0

    def wait(self, n: int) -> None:
        """Block until ``n`` more letters may go; an idle spell earns no burst."""
        if not self.rate:
            return
        now = self._clock()
        start = max(self._next, now)
        if start > now:
            self._sleep(start - now)
        self._next = start + n / self.rate


def redrive(sqs: Any, dlq_url: str, ids: Iterable[str] | None, resend: Resend, chunk: int = 10, *,
            pace: Pacer | None = None, checkpoint: Checkpoint | None = None,
            hide_s: int = PEEK_HIDE_SECONDS) -> RedriveReport:
    """Hand the chosen letters (``ids``; ``None``: every letter) to ``resend``, delete exactly those it
    re-sent, release the rest.

    ``hide_s`` must outlast the pass (see :func:`dashboard.scan.hold_seconds`); ``pace`` limits the rate;
    ``checkpoint`` returning False stops the loop before the next chunk (``report.stopped``).
    """
    report = RedriveReport()
    remaining = None if ids is None else set(ids)
    chunk = max(1, min(10, chunk))
    with QueueScan(sqs, dlq_url, hide_s) as scan:
        for batch in scan.batches(stop=lambda: report.stopped or (remaining is not None and not remaining)):
            picked = [m for m in batch if remaining is None or m["MessageId"] in remaining]
            for i in range(0, len(picked), chunk):
                part = picked[i:i + chunk]
                if pace is not None:
                    pace.wait(len(part))
                verdicts = resend(part)
                done = []
                for m in part:
                    if remaining is not None:
                        remaining.discard(m["MessageId"])
                    verdict = verdicts.get(m["MessageId"], Verdict.fail("the re-send gave no answer for it"))
                    if verdict.done:
                        done.append(m)
                    else:
                        (report.failed if verdict.failed else report.skipped)[m["MessageId"]] = verdict.why
                # only now, with the copy safely re-sent, remove the dead letter
                deleted = _delete(sqs, dlq_url, done, report)
                scan.forget(deleted)
                if checkpoint is not None and not checkpoint(report, deleted):
                    report.stopped = True
                    break
            if not picked and checkpoint is not None and not checkpoint(report, []):
                report.stopped = True  # a long scan past unchosen letters still renews its lease and hears a cancel
        if remaining and scan.exhausted and not report.stopped:
            report.not_found = sorted(remaining)
    return report


def _delete(sqs: Any, url: str, messages: list[dict], report: RedriveReport) -> list[str]:
    deleted: list[str] = []
    for i in range(0, len(messages), 10):
        part = messages[i:i + 10]
        resp = sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]} for j, m in enumerate(part)])
        for s in resp.get("Successful", []):
            deleted.append(part[int(s["Id"])]["MessageId"])
        for f in resp.get("Failed", []):
            report.failed[part[int(f["Id"])]["MessageId"]] = f"delete failed: {f.get('Code')}"
    report.moved.extend(deleted)
    return deleted


def _each(one: Callable[[dict], Verdict]) -> Resend:
    return lambda part: {m["MessageId"]: one(m) for m in part}


def only_done(part: list[dict]) -> dict[str, Verdict]:
    """The re-send of a delete: nothing is sent, every letter is done."""
    return {m["MessageId"]: DONE for m in part}


def delete_selected(sqs: Any, dlq_url: str, ids: Iterable[str] | None, **loop: Any) -> RedriveReport:
    """Delete the chosen dead letters (``None``: all of them) for good (``moved`` lists what was deleted)."""
    return redrive(sqs, dlq_url, ids, only_done, **loop)


# ---- job DLQ → job queue ---------------------------------------------------------------------------------
def redrive_selected(sqs: Any, dlq_url: str, target_url: str, ids: Iterable[str] | None,
                     is_canceled: Callable[[str], bool] | None = None, **loop: Any) -> RedriveReport:
    """Move the chosen job dead letters (``None``: all) back to ``target_url``: send first, delete only what was sent.

    A job whose run was canceled (``is_canceled``) is skipped (left in the DLQ) and reported, so a
    redrive never resurrects a canceled automation. ``loop`` goes to :func:`redrive` (pace, checkpoint, hide_s).
    """
    return redrive(sqs, dlq_url, ids, to_job_queue(sqs, target_url, is_canceled), **loop)


def to_job_queue(sqs: Any, target_url: str, is_canceled: Callable[[str], bool] | None = None) -> Resend:
    """The re-send of job letters: ``SendMessageBatch`` to the job queue, skipping canceled runs.

    Each run's cancelation is read once per redrive (a run's letters are many, its answer is one).
    """
    if not target_url:
        raise NoSourceQueue("this DLQ has no source queue in the stage outputs; nothing was moved")
    canceled: dict[str, bool] = {}

    def resend(part: list[dict]) -> dict[str, Verdict]:
        verdicts: dict[str, Verdict] = {}
        to_send = []
        for m in part:
            run_id = decode("job", m).run_id
            if is_canceled and run_id and run_id not in canceled:
                canceled[run_id] = is_canceled(run_id)
            if run_id and canceled.get(run_id):
                verdicts[m["MessageId"]] = Verdict.skip(f"run {run_id} was canceled (its cancelation token fired)")
            else:
                to_send.append(m)
        if not to_send:
            return verdicts
        entries = [{"Id": str(j), "MessageBody": m["Body"], **_attributes(m)} for j, m in enumerate(to_send)]
        try:
            resp = sqs.send_message_batch(QueueUrl=target_url, Entries=entries)
        except Exception as err:  # noqa: BLE001 - nothing of this chunk was sent: keep all of it
            return {**verdicts, **{m["MessageId"]: Verdict.fail(f"send failed: {err}") for m in to_send}}
        for s in resp.get("Successful", []):
            verdicts[to_send[int(s["Id"])]["MessageId"]] = DONE
        for f in resp.get("Failed", []):
            verdicts[to_send[int(f["Id"])]["MessageId"]] = Verdict.fail(
                f"send failed: {f.get('Code')}: {f.get('Message', '')}")
        return verdicts

    return resend


def _attributes(m: Mapping[str, Any]) -> dict[str, Any]:
    attrs = {k: {x: v[x] for x in ("DataType", "StringValue", "BinaryValue") if x in v}
             for k, v in (m.get("MessageAttributes") or {}).items()}
    return {"MessageAttributes": attrs} if attrs else {}


# ---- async DLQ → the failed function -----------------------------------------------------------------------
def redrive_async(sqs: Any, lam: Any, dlq_url: str, ids: Iterable[str] | None, **loop: Any) -> RedriveReport:
    """Re-invoke each failed function with the event stored in the async DLQ record, then delete it.

    ``lambda.invoke(InvocationType="Event")`` — the same asynchronous path (with its retries and
    on-failure destination) the S3 notification used. In the local stage the data plane serves the
    invoke; in AWS, Lambda does.
    """
    return redrive(sqs, dlq_url, ids, reinvoke_async(lam), **loop)


def reinvoke_async(lam: Any) -> Resend:
    """The re-send of async-DLQ records: ``Invoke`` (``Event``) of the failed function with the stored event."""
    def one(m: dict) -> Verdict:
        letter = decode("async", m)
        body = letter.decoded if isinstance(letter.decoded, dict) else {}
        if not letter.function_arn or "requestPayload" not in body:
            return Verdict.skip("not a Lambda on-failure record (no functionArn / requestPayload)")
        try:
            resp = lam.invoke(FunctionName=letter.function_arn, InvocationType="Event",
                              Payload=json.dumps(body["requestPayload"]).encode())
        except Exception as err:  # noqa: BLE001 - leave the record for the next attempt
            return Verdict.fail(f"invoke failed: {err}")
        if int(resp.get("StatusCode", 0)) != 202:
            return Verdict.fail(f"invoke answered {resp.get('StatusCode')}")
        return DONE

    return _each(one)


# ---- stream DLQ → the log indexer ----------------------------------------------------------------------------
def redrive_stream(sqs: Any, lam: Any, streams: Any, dlq_url: str, ids: Iterable[str] | None,
                   function_name: str, **loop: Any) -> RedriveReport:
    """Re-invoke the log indexer with the stream records each stream DLQ record names, then delete it.

    The records are read back from the shard (a stream keeps them 24 h); a record whose batch has
    been trimmed is skipped and says so. The log indexer's writes are idempotent, so reprocessing a
    batch twice is harmless.
    """
    return redrive(sqs, dlq_url, ids, reinvoke_stream(lam, streams, function_name), **loop)


def reinvoke_stream(lam: Any, streams: Any, function_name: str) -> Resend:
    """The re-send of stream-DLQ records: the batch's records read back, the log indexer invoked with them."""
    def one(m: dict) -> Verdict:
        decoded = decode("stream", m).decoded
        info = decoded.get("DDBStreamBatchInfo") if isinstance(decoded, dict) else None
        if not info:
            return Verdict.skip("no DDBStreamBatchInfo in the record")
        try:
            records = stream_records(streams, info)
            if not records:
                return Verdict.skip("the batch's records are no longer in the stream (trimmed after 24 h)")
            lam.invoke(FunctionName=function_name, InvocationType="Event",
                       Payload=json.dumps({"Records": records}, default=str).encode())
        except Exception as err:  # noqa: BLE001 - leave the record for the next attempt
            return Verdict.fail(f"re-invoke failed: {err}")
        return DONE

    return _each(one)


def resend_edited(resend: Resend, body: str) -> Resend:
    """The re-send of an edited letter: ``resend`` gets a copy carrying ``body``; the original is deleted."""
    return lambda part: resend([{**m, "Body": body} for m in part])


def stream_records(streams: Any, info: Mapping[str, Any]) -> list[dict]:
    """The records a stream DLQ record points at, read back from the shard (if still retained)."""
    it = streams.get_shard_iterator(StreamArn=info["streamArn"], ShardId=info["shardId"],
                                    ShardIteratorType="AT_SEQUENCE_NUMBER",
                                    SequenceNumber=info["startSequenceNumber"])["ShardIterator"]
    end = int(info["endSequenceNumber"])
    out: list[dict] = []
    for _ in range(100):
        resp = streams.get_records(ShardIterator=it, Limit=1000)
        for r in resp.get("Records", []):
            if int(r["dynamodb"]["SequenceNumber"]) > end:
                return out
            d = dict(r["dynamodb"])
            created = d.get("ApproximateCreationDateTime")
            if isinstance(created, datetime):  # boto3 parses it; Lambda events carry epoch seconds
                d["ApproximateCreationDateTime"] = created.timestamp()
            out.append({**r, "eventSourceARN": info["streamArn"], "dynamodb": d})
        it = resp.get("NextShardIterator")
        if not it or not resp.get("Records"):
            break
    return out
