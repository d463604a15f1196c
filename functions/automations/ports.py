"""The ports the automation core talks through: ABCs with boto3 adapters (``adapters.py``) and test fakes.

The core never sees boto3; every storage decision that must be atomic (create a run once, complete a
step once) is one method here, so the adapter can make it one conditional DynamoDB write.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from functions.shared.statuses import RunStatus, StepStatus

__all__ = ["RunRecord", "StepRecord", "RunStore", "JobQueue", "RequestHandoff", "HttpFetcher", "FetchedResponse"]


@dataclass
class RunRecord:
    """``RUN#<runId>/RUN``: the run's state; ``steps`` is the compiled program."""

    run_id: str
    status: RunStatus
    steps: list[dict[str, Any]]
    data: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    recipient: str = ""
    template: str | None = None
    cancelation_token: str | None = None
    created_at: str = ""
    updated_at: str = ""
    start_enqueued: bool = False  # stored by versions before 2026-12-02 only (see core.start_run)
    error: str | None = None


@dataclass
class StepRecord:
    """``RUN#<runId>/STEP#<index:04d>``."""

    index: int
    status: StepStatus
    attempts: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    next_enqueued: bool = False


class RunStore(ABC):
    """Runs, steps, cancelation tokens and profiles in the state table."""

    @abstractmethod
    def create_run(self, run: RunRecord) -> bool:
        """Create the run unless it exists; ``True`` when this call created it."""

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord | None:
        """The run, or ``None``."""

    @abstractmethod
    def set_run_status(self, run_id: str, status: RunStatus, *, only_from: Iterable[RunStatus], now: str,
                       error: str | None = None) -> bool:
        """Move the run to ``status`` if its status is one of ``only_from``; ``True`` if it moved."""

    @abstractmethod
    def register_token(self, token: str, run_id: str, now: str) -> None:
        """``TOKEN#<token>/RUN#<runId>`` (idempotent)."""

    @abstractmethod
    def token_canceled_at(self, token: str) -> str | None:
        """When ``TOKEN#<token>/CANCELED`` was written, or ``None``."""

    @abstractmethod
    def cancel_token(self, token: str, now: str) -> list[str]:
        """Mark the token canceled (first time wins) and return the run ids registered with it."""

    @abstractmethod
    def get_step(self, run_id: str, index: int) -> StepRecord | None:
        """The step record, or ``None`` if the step never started."""

    @abstractmethod
    def start_step(self, run_id: str, index: int, now: str, *, count_attempt: bool = True) -> StepRecord:
        """Mark the step RUNNING and count an attempt (``startedAt`` kept from the first attempt).

        A step that is already COMPLETED is returned unchanged.
        """

    @abstractmethod
    def complete_step(self, run_id: str, index: int, result: Mapping[str, Any], now: str, *,
                      data: Mapping[str, Any] | None = None, profile: Mapping[str, Any] | None = None) -> bool:
        """Atomically mark the step COMPLETED (once) and write the run's new data/profile.

        ``False`` when the step was already completed (a concurrent duplicate won): nothing written.
        """

    @abstractmethod
    def mark_next_enqueued(self, run_id: str, index: int) -> None:
        """Record that the job after this step is on the queue (a redelivery then does nothing)."""

    @abstractmethod
    def fail_step(self, run_id: str, index: int, error: str, now: str) -> None:
        """Record a failed attempt's error on the step (status FAILED until a retry succeeds)."""

    @abstractmethod
    def get_profile(self, user_id: str) -> dict[str, Any] | None:
        """``PROFILE#<user_id>/PROFILE``."""

    @abstractmethod
    def put_profile(self, user_id: str, profile: Mapping[str, Any], now: str) -> None:
        """Write the whole profile."""


class JobQueue(ABC):
    """The SQS job queue."""

    @abstractmethod
    def enqueue(self, job: Mapping[str, Any], delay_seconds: int = 0) -> None:
        """Send one job message (``delay_seconds`` ≤ 900)."""

    @abstractmethod
    def max_receive_count(self) -> int | None:
        """The queue's redrive ``maxReceiveCount`` (when a failing job's next stop is the DLQ)."""


class RequestHandoff(ABC):
    """Where a step hands work to another pipeline: a send request, or a child run's invoke.

    Both are objects in the request store bucket, written by the same functions the API uses, so a
    step's send or invoke travels exactly the path of a ``POST``.
    """

    @abstractmethod
    def put_send_request(self, request_id: str, message: Mapping[str, Any], source: Mapping[str, Any]) -> None:
        """``send/<requestId>.json`` (starts the send worker)."""

    @abstractmethod
    def put_automation_request(self, run_id: str, invoke: Mapping[str, Any]) -> None:
        """``automations/<runId>.json`` (starts the request worker)."""

    def automation_template(self, name: str) -> dict[str, Any] | None:
        """A stored automation template ``{"cancelation_token"?, "steps"}`` (``relay automations put``), or None."""
        return None


@dataclass(frozen=True)
class FetchedResponse:
    status: int
    body: bytes


class HttpFetcher(ABC):
    """HTTP through the address guard."""

    @abstractmethod
    def fetch(self, method: str, url: str, *, json_body: Any, headers: Mapping[str, str] | None,
              timeout: float, max_bytes: int) -> FetchedResponse:
        """Fetch; raises ``AddressRefused`` / ``FetchError`` subclasses on refusal or failure."""
