"""SQS message-move tasks (``StartMessageMoveTask`` / ``ListMessageMoveTasks`` / ``CancelMessageMoveTask``).

moto 5.2 does not implement these; the local stage needs them because the console redrives the job
DLQ with exactly these calls in AWS. Rules follow AWS's API reference:

* the source must be a dead-letter queue (some queue's ``RedrivePolicy`` targets it);
* with no ``DestinationArn`` each message returns to the queue it was dead-lettered from;
* ``MaxNumberOfMessagesPerSecond`` is 1..500 (absent: as fast as the queues allow);
* one active task per source queue;
* ``ListMessageMoveTasks`` returns the newest tasks first (``MaxResults`` 1..10, default 1), with a
  ``TaskHandle`` only while the task runs.

A move is receive → send → delete, one message at a time: a message is deleted from the DLQ only
after the send succeeded, and on cancel or failure every message still held is released (made
visible again), so a cancelled task loses nothing.

The wire protocol (JSON and query) lives in :mod:`relay.local.message_move_http`.
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from relay.local.moto_sqs import QueueRef, SqsMessage, parse_queue_arn

__all__ = ["MessageMoveService", "MoveTask", "MessageMoveError", "InvalidParameterValue", "ResourceNotFound",
           "QueuePort", "MAX_RATE"]

MAX_RATE = 500
# held messages stay invisible this long; far above one send+delete, so nobody else sees them meanwhile
_MOVE_VISIBILITY_S = 60
_IDLE_POLL_S = 0.05


class MessageMoveError(Exception):
    """An API error with AWS's code, message and HTTP status."""

    code = "InternalFailure"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameterValue(MessageMoveError):
    code = "InvalidParameterValue"
    status = 400


class ResourceNotFound(MessageMoveError):
    code = "ResourceNotFoundException"
    status = 400


class QueuePort(Protocol):
    """The queue operations a move needs (moto's backend in the emulator; fakes in tests)."""

    def exists(self, ref: QueueRef) -> bool: ...
    def dead_letter_sources(self, ref: QueueRef) -> list[str]: ...
    def depth(self, ref: QueueRef) -> int: ...
    def receive(self, ref: QueueRef, count: int, visibility_timeout: int) -> list[SqsMessage]: ...
    def send(self, ref: QueueRef, message: SqsMessage) -> None: ...
    def delete(self, ref: QueueRef, receipt_handle: str) -> None: ...
    def release(self, ref: QueueRef, receipt_handle: str) -> None: ...


@dataclass
class MoveTask:
    """One message-move task and its progress (fields named as ``ListMessageMoveTasks`` returns them)."""

    task_id: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    to_move: int
    started_ms: int
    status: str = "RUNNING"
    moved: int = 0
    failure_reason: str | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def handle(self) -> str:
        raw = json.dumps({"taskId": self.task_id, "sourceArn": self.source_arn}, separators=(",", ":"))
        return base64.b64encode(raw.encode()).decode()

    @property
    def active(self) -> bool:
        return self.status in ("RUNNING", "CANCELLING")

    def as_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"Status": self.status, "SourceArn": self.source_arn,
                                 "ApproximateNumberOfMessagesMoved": self.moved,
                                 "ApproximateNumberOfMessagesToMove": self.to_move,
                                 "StartedTimestamp": self.started_ms}
        if self.status == "RUNNING":
            entry["TaskHandle"] = self.handle
        if self.destination_arn:
            entry["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            entry["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure_reason:
            entry["FailureReason"] = self.failure_reason
        return entry


class _TaskFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MessageMoveService:
    """Holds the tasks and runs each in a background thread.

    Parameters
    ----------
    queues
        The queue adapter; defaults to moto's in-process backend (:class:`relay.local.moto_sqs.MotoSqs`).
    clock, sleep
        Injected for tests of the rate limiter.
    """

    def __init__(self, queues: QueuePort | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if queues is None:
            from relay.local.moto_sqs import MotoSqs, install_origin_tracking

            install_origin_tracking()
            queues = MotoSqs()
        self._queues = queues
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tasks: list[MoveTask] = []

    # ---- the three API operations -----------------------------------------------------------------
    def start(self, source_arn: Any, destination_arn: Any = None, rate: Any = None) -> str:
        """``StartMessageMoveTask``: validate, register, start the mover thread; return the TaskHandle."""
        src = self._require_queue(source_arn, "SourceArn")
        if rate is not None:
            if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= MAX_RATE:
                raise InvalidParameterValue(
                    f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. "
                    f"Reason: You must enter a number that's between 1 and {MAX_RATE}.")
        if not self._queues.dead_letter_sources(src):
            raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
        dst = None
        if destination_arn:
            dst = self._require_queue(destination_arn, "DestinationArn")
            if dst.arn == src.arn:
                raise InvalidParameterValue("Source queue arn and destination queue arn cannot be the same.")
        with self._lock:
            if any(t.active and t.source_arn == src.arn for t in self._tasks):
                raise InvalidParameterValue("There is already a task running. Only one active task is allowed "
                                            "for a source queue arn at a given time.")
            task = MoveTask(task_id=str(uuid.uuid4()), source_arn=src.arn,
                            destination_arn=dst.arn if dst else None, rate=rate,
                            to_move=self._queues.depth(src), started_ms=int(time.time() * 1000))
            self._tasks.append(task)
        task.thread = threading.Thread(target=self._run, args=(task,), name=f"message-move-{task.task_id[:8]}",
                                       daemon=True)
        task.thread.start()
        return task.handle

    def list(self, source_arn: Any, max_results: Any = None) -> list[dict[str, Any]]:
        """``ListMessageMoveTasks``: newest first, at most ``max_results`` (1..10, default 1)."""
        src = self._require_queue(source_arn, "SourceArn")
        n = 1 if max_results is None else max_results
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10:
            raise InvalidParameterValue(f"Value {max_results} for parameter MaxResults is invalid. "
                                        "Reason: You must enter a number that's between 1 and 10.")
        with self._lock:
            mine = [t for t in self._tasks if t.source_arn == src.arn]
        return [t.as_entry() for t in reversed(mine[-n:])]

    def cancel(self, task_handle: Any) -> int:
        """``CancelMessageMoveTask``: ask a running task to stop; return the messages moved so far."""
        task = self._by_handle(task_handle)
        if task is None or task.status != "RUNNING":
            raise ResourceNotFound("Task does not exist.")
        with self._lock:
            task.status = "CANCELLING"
            task.cancel_requested.set()
        return task.moved

    # ---- lifecycle --------------------------------------------------------------------------------
    def wait(self, task_handle: str, timeout: float = 30.0) -> dict[str, Any]:
        """Block until the task ends (tests and tools); return its ``ListMessageMoveTasks`` entry."""
        task = self._by_handle(task_handle)
        if task is None:
            raise ResourceNotFound("Task does not exist.")
        if task.thread is not None:
            task.thread.join(timeout)
        return task.as_entry()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel every active task and wait for the threads (the emulator stops or resets)."""
        with self._lock:
            active = [t for t in self._tasks if t.active]
            for t in active:
                if t.status == "RUNNING":
                    t.status = "CANCELLING"
                t.cancel_requested.set()
        for t in active:
            if t.thread is not None:
                t.thread.join(timeout)

    # ---- internals --------------------------------------------------------------------------------
    def _require_queue(self, arn: Any, param: str) -> QueueRef:
        if not isinstance(arn, str) or not arn:
            raise InvalidParameterValue(f"Value {arn} for parameter {param} is invalid. "
                                        f"Reason: You must use this format to specify the {param}: "
                                        "arn:<partition>:<service>:<region>:<account-id>:<resource-id>")
        ref = parse_queue_arn(arn)
        if ref is None:
            raise InvalidParameterValue(f"You must use this format to specify the {param}: "
                                        "arn:<partition>:<service>:<region>:<account-id>:<resource-id>")
        if not self._queues.exists(ref):
            raise ResourceNotFound(f"The resource that you specified for the {param} parameter doesn't exist.")
        return ref

    def _by_handle(self, handle: Any) -> MoveTask | None:
        with self._lock:
            return next((t for t in self._tasks if t.handle == handle), None)

    def _destination(self, task: MoveTask, src: QueueRef, message: SqsMessage) -> QueueRef:
        if task.destination_arn:
            ref = parse_queue_arn(task.destination_arn)
        else:
            origin = message.origin_arn
            if origin is None:
                # moto loses the origin of messages that reached the DLQ before tracking was
                # installed; a DLQ with a single source queue still has an unambiguous home
                sources = self._queues.dead_letter_sources(src)
                origin = sources[0] if len(sources) == 1 else None
            ref = parse_queue_arn(origin) if origin else None
            if ref is None:
                raise _TaskFailed("CouldNotDetermineMessageSource")
        if ref is None or not self._queues.exists(ref):
            raise _TaskFailed("AWS.SimpleQueueService.NonExistentQueue")
        return ref

    def _run(self, task: MoveTask) -> None:
        src = parse_queue_arn(task.source_arn)
        assert src is not None
        held: list[SqsMessage] = []
        t0 = self._clock()
        try:
            while True:
                if task.cancel_requested.is_set():
                    self._finish(task, "CANCELLED")
                    return
                if task.moved >= task.to_move or self._queues.depth(src) == 0:
                    self._finish(task, "COMPLETED")
                    return
                want = min(10, task.to_move - task.moved)
                if task.rate is not None:
                    # pace: message n may leave no earlier than t0 + n / rate
                    due = t0 + task.moved / task.rate
                    now = self._clock()
                    if due > now:
                        self._sleep(min(due - now, 0.25))
                        continue
                    allowed = int((now - t0) * task.rate) + 1 - task.moved
                    want = max(1, min(want, allowed))
                held = self._queues.receive(src, want, _MOVE_VISIBILITY_S)
                if not held:
                    # the rest is in flight (someone peeked or holds them): wait for them to come back
                    self._sleep(_IDLE_POLL_S)
                    continue
                while held:
                    message = held[0]
                    if task.cancel_requested.is_set():
                        break
                    dest = self._destination(task, src, message)
                    self._queues.send(dest, message)
                    held.pop(0)
                    # sent: from here on, deleting is the only step left for this message
                    self._queues.delete(src, message.receipt_handle)
                    task.moved += 1
        except _TaskFailed as failed:
            task.failure_reason = failed.reason
            self._finish(task, "FAILED")
        except Exception as exc:  # noqa: BLE001 - a task must end in a state, never die silently
            task.failure_reason = type(exc).__name__
            self._finish(task, "FAILED")
        finally:
            for message in held:
                try:
                    self._queues.release(src, message.receipt_handle)
                except Exception:  # noqa: BLE001 - visibility expiry returns it anyway
                    pass

    def _finish(self, task: MoveTask, status: str) -> None:
        with self._lock:
            task.status = status
