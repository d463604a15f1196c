"""The API's ports: small ABCs for what it stores and reads (boto3 adapters in ``adapters.py``)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from functions.api.auth import ApiKey

__all__ = ["IdempotencyRecord", "IdempotencyStore", "AcceptedRequestStore", "RequestStore", "StatusReader",
           "ApiKeyStore", "CourierStore"]


@dataclass(frozen=True)
class IdempotencyRecord:
    """``IDEMP#<key>/API``: the first request that used a key."""

    body_hash: str
    status: str  # an IdempotencyStatus
    resource_id: str
    response: dict[str, Any] | None = None  # {"status": int, "body": {...}} once COMPLETED


class IdempotencyStore(ABC):
    """``IDEMP#<key>/API`` items: the first request that used an ``Idempotency-Key`` and its answer."""

    @abstractmethod
    def begin(self, key: str, body_hash: str, resource_id: str, *, now_s: int, ttl_s: int) -> IdempotencyRecord | None:
        """Record the key for this request; None when it is new, else the earlier record."""

    @abstractmethod
    def complete(self, key: str, response: dict[str, Any]) -> None:
        """Store the response to replay for this key."""


class AcceptedRequestStore(ABC):
    """Where an accepted ``POST`` is stored before the API answers 202, and whether an id was accepted."""

    @abstractmethod
    def put_send(self, request_id: str, message: dict[str, Any]) -> None:
        """``send/<requestId>.json``."""

    @abstractmethod
    def put_invoke(self, run_id: str, invoke: dict[str, Any]) -> None:
        """``automations/<runId>.json``."""

    @abstractmethod
    def has_send(self, request_id: str) -> bool:
        """Whether ``send/<requestId>.json`` exists."""

    @abstractmethod
    def has_invoke(self, run_id: str) -> bool:
        """Whether ``automations/<runId>.json`` exists."""


# the name before AcceptedRequestStore; bench/handlers.py still subclasses it
RequestStore = AcceptedRequestStore


class StatusReader(ABC):
    """What the GET routes read: message-log views and run/step items."""

    @abstractmethod
    def request_messages(self, request_id: str) -> list[dict[str, Any]]:
        """Message-log views of one request (``by_request``)."""

    @abstractmethod
    def run(self, run_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The ``RUN#<runId>`` item and its ``STEP#`` items."""

    @abstractmethod
    def messages(self, *, recipient: str | None, status: str | None, limit: int,
                 start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """A page of message-log views, newest first, and the key to continue from."""


class ApiKeyStore(ABC):
    """``APIKEY#<sha256>/KEY`` items: what the API reads about a key, and when it was last used."""

    @abstractmethod
    def find(self, key_hash: str) -> "ApiKey | None":
        """The key whose sha256 is ``key_hash`` (revoked ones too), or None."""

    @abstractmethod
    def mark_used(self, key_hash: str, at: str) -> None:
        """Record ``lastUsedAt`` (ISO ms Z); a key deleted meanwhile is left alone."""


class CourierStore(ABC):
    """What Courier's routes read and write beyond relay's own: message views and timelines, stored send
    requests and cancel markers, profiles, named templates, and the listing of runs."""

    @abstractmethod
    def view(self, message_id: str) -> dict[str, Any] | None:
        """The message-log VIEW of one message."""

    @abstractmethod
    def timeline(self, message_id: str) -> list[dict[str, Any]]:
        """The message's status events (messages table ``MSG#<id>``), oldest first."""

    @abstractmethod
    def query_views(self, index: str, key: str, value: str, *, limit: int, start: dict[str, Any] | None,
                    after_ms: int | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of VIEWs of one index partition, newest first (``updatedAt > after_ms`` when given)."""

    @abstractmethod
    def get_send(self, request_id: str) -> dict[str, Any] | None:
        """The stored ``send/<requestId>.json``, or None."""

    @abstractmethod
    def cancel(self, request_id: str, now_iso: str) -> None:
        """Write ``CANCEL#<requestId>/CANCEL``."""

    @abstractmethod
    def canceled(self, request_id: str) -> bool:
        """Whether ``CANCEL#<requestId>/CANCEL`` exists."""

    @abstractmethod
    def get_profile(self, user_id: str) -> dict[str, Any] | None:
        """``PROFILE#<user_id>/PROFILE``'s profile, or None."""

    @abstractmethod
    def put_profile(self, user_id: str, profile: dict[str, Any], now_iso: str) -> None:
        """Write the whole profile."""

    @abstractmethod
    def delete_profile(self, user_id: str) -> None:
        """Delete the profile (absent: nothing happens)."""

    @abstractmethod
    def named(self, prefix: str, name: str) -> dict[str, Any] | None:
        """``<prefix>/<name>.json`` (``templates``, ``automation-templates``), or None."""

    @abstractmethod
    def run_keys(self, start_after: str, end_before: str, max_keys: int) -> tuple[list[str], bool]:
        """Run ids stored under ``automations/`` after ``start_after`` and before ``end_before`` (ascending),
        and whether more are there than ``max_keys``."""

    @abstractmethod
    def run_items(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        """``RUN#<runId>/RUN`` items by run id (absent ones left out)."""
