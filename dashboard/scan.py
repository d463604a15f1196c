"""Reading through a whole SQS queue without consuming it: receive, hold, release (no streamlit).

SQS has no "list messages": the only way to see a message is to receive it, and the only way to see the
*next* one is to keep the first hidden. :class:`QueueScan` receives ten at a time with a visibility
timeout long enough for the whole scan, keeps every message it got hidden (so each receive returns
messages not yet seen), and releases them all (``VisibilityTimeout=0``) when it closes — also when the
caller fails half-way. Nothing is ever lost by a scan: at worst (the console killed mid-scan) the
messages come back by themselves when the timeout ends.

A message that comes back while the scan runs (its timeout ended) is not handed out twice: the scan
keeps only its newest receipt handle (older ones no longer work). Messages the caller deleted are
:meth:`forget`-ten, so they are not released.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

__all__ = ["QueueScan", "release", "hold_seconds", "MAX_HIDE_SECONDS", "EMPTY_RECEIVES_TO_STOP"]

MAX_HIDE_SECONDS = 43_200  # SQS's longest visibility timeout (12 h)
EMPTY_RECEIVES_TO_STOP = 2  # short polling samples a subset of SQS hosts: one empty answer is not proof


def release(sqs: Any, url: str, handles: Iterable[str]) -> None:
    """Make received messages visible again at once (ChangeMessageVisibility 0, ten per call)."""
    handles = list(handles)
    for i in range(0, len(handles), 10):
        entries = [{"Id": str(j), "ReceiptHandle": h, "VisibilityTimeout": 0} for j, h in enumerate(handles[i:i + 10])]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


class QueueScan:
    """One pass over a queue, holding what it received until :meth:`close`.

    Parameters
    ----------
    sqs
        A boto3 SQS client.
    url
        The queue.
    hide_s
        Visibility timeout of every receive: how long a held message stays hidden if the scan is never
        closed (1 s to 12 h). Choose it longer than the scan will take.

    Usage::

        with QueueScan(sqs, url, hide_s=90) as scan:
            for batch in scan.batches():
                ...                        # every message once; delete some and scan.forget(their ids)
        # every message still held is visible again here
    """

    def __init__(self, sqs: Any, url: str, hide_s: int) -> None:
        self.sqs, self.url = sqs, url
        self.hide_s = max(1, min(int(hide_s), MAX_HIDE_SECONDS))
        self.held: dict[str, str] = {}  # message id -> newest receipt handle
        self.received = 0  # distinct messages handed out
        self.exhausted = False  # the queue had nothing more to give (not merely stopped early)
        self._seen: set[str] = set()

    def __enter__(self) -> "QueueScan":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def batches(self, stop: Callable[[], bool] | None = None) -> Iterator[list[dict]]:
        """Receive through the queue; yield each receive's messages not handed out before.

        Ends when two receives in a row come back empty (:attr:`exhausted`), or when ``stop()`` says so
        (checked before each receive).
        """
        empty = 0
        while not (stop and stop()):
            batch = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=self.hide_s, WaitTimeSeconds=0,
                AttributeNames=["All"], MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                empty += 1
                if empty >= EMPTY_RECEIVES_TO_STOP:
                    self.exhausted = True
                    return
                continue
            empty = 0
            fresh = []
            for m in batch:
                self.held[m["MessageId"]] = m["ReceiptHandle"]
                if m["MessageId"] not in self._seen:
                    self._seen.add(m["MessageId"])
                    fresh.append(m)
            self.received += len(fresh)
            if fresh:
                yield fresh

    def forget(self, message_ids: Iterable[str]) -> None:
        """These were deleted: nothing to release."""
        for mid in message_ids:
            self.held.pop(mid, None)

    def close(self) -> None:
        """Release every message still held (visible again at once). Safe to call twice."""
        handles, self.held = list(self.held.values()), {}
        release(self.sqs, self.url, handles)


def hold_seconds(scan: int, rate: float | None = None, act: int | None = None, scan_floor_per_s: float = 50.0,
                 margin_s: int = 60) -> int:
    """A visibility timeout that outlasts a pass over ``scan`` messages acting on ``act`` of them (default:
    all) at ``rate`` per second.

    Generous on purpose (twice the estimate): a message that reappears mid-pass is harmless (see the module
    docstring) but costs a receive; one hidden too long only delays a later reader after a crash.
    """
    acted = scan if act is None else act
    estimate = scan / scan_floor_per_s + (acted / rate if rate else 0.0)
    return int(min(MAX_HIDE_SECONDS, margin_s + 2 * estimate))
