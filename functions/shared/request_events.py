"""The request store's S3 notifications, read one way by every worker they trigger.

The send worker (``send/``) and the request worker (``automations/``) are invoked asynchronously by
S3 ``ObjectCreated`` notifications. Both parse records with Powertools' :class:`S3Event` and share
one policy for a bad record:

* **not ours** — not an ``ObjectCreated:*`` record, or a key outside the worker's prefix or not
  ``.json``: logged (warning) and skipped; its result is ``{"key", "outcome": "ignored"}``. There is
  nothing a retry could change.
* **unreadable** — the object cannot be read (missing, denied, throttled; any error but bad content):
  raised once the event's other records have run, so Lambda retries the event twice and then sends it
  to the async DLQ, where the console redrives it. Nothing is lost.
* **bad content** — the object reads but is not a request (not JSON, not an object, invalid): a
  :class:`~functions.shared.errors.BadContent`, logged (error) and never retried — a retry re-reads
  the same bytes. The worker's ``rejected`` hook leaves the trace a user looks for (the request worker
  records a FAILED run naming the reason; a bad send request has no run, so the log line is its trace);
  its result is ``{"key", "outcome": "invalid"}`` unless the hook returns another.

Re-running a record is harmless in both workers (message-id claims, conditional run create), which is
what makes "retry the whole event" safe.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes.s3_event import S3Event, S3EventRecord

from functions.shared.errors import BadContent

__all__ = ["StoredRequest", "RequestEventProcessor", "RecordHandler", "RejectedHook"]

_CREATED = "ObjectCreated:"


@dataclass(frozen=True)
class StoredRequest:
    """One request object a notification names: ``s3://<bucket>/<prefix><id>.json``."""

    bucket: str
    key: str
    prefix: str

    @property
    def request_id(self) -> str:
        """The id in the key (``send/req_1.json`` → ``req_1``)."""
        return self.key[len(self.prefix):-len(".json")]

    def read(self) -> dict[str, Any]:
        """The stored JSON object.

        Raises
        ------
        MissingPayload
            The object is not there (retryable); other read errors propagate as they are.
        BadContent
            The object is not JSON, or not a JSON object.
        """
        from functions.shared.payloads import resolve  # boto3 loads on the first read, not at import

        try:
            doc = resolve({"$ref": f"s3://{self.bucket}/{self.key}"})
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError; MissingPayload is no ValueError
            raise BadContent(f"{self.key} is not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise BadContent(f"{self.key} is not a JSON object")
        return doc


RecordHandler = Callable[[StoredRequest], dict[str, Any]]
RejectedHook = Callable[[StoredRequest, BadContent], dict[str, Any]]


class RequestEventProcessor:
    """Runs a worker's record handler over an S3 event with the policy above (cf. Powertools' BatchProcessor)."""

    def __init__(self, prefix: str, logger: Any) -> None:
        self.prefix, self._logger = prefix, logger

    def process(self, event: Any, record_handler: RecordHandler,
                rejected: RejectedHook | None = None) -> list[dict[str, Any]]:
        """One result per record, in order.

        Raises
        ------
        Exception
            The first failure of a record that was ours and not bad content, after every record ran.
        """
        records = S3Event(event).records if isinstance(event, dict) and event.get("Records") else ()
        results: list[dict[str, Any]] = []
        failure: Exception | None = None
        for record in records:
            stored = self._ours(record)
            if isinstance(stored, str):
                self._logger.warning("record ignored: not an ObjectCreated event for this worker",
                                     extra={"key": stored, "prefix": self.prefix})
                results.append({"key": stored, "outcome": "ignored"})
                continue
            try:
                results.append(record_handler(stored))
            except BadContent as exc:
                self._logger.error("bad content: recorded, not retried", extra={"key": stored.key, "reason": str(exc)})
                results.append(rejected(stored, exc) if rejected else {"key": stored.key, "outcome": "invalid"})
            except Exception as exc:  # noqa: BLE001 - re-raised below, after the other records ran
                self._logger.warning("record failed: the event will be retried",
                                     extra={"key": stored.key, "error": f"{type(exc).__name__}: {exc}"})
                failure = failure or exc
        if failure is not None:
            raise failure
        return results

    def _ours(self, record: S3EventRecord) -> StoredRequest | str:
        """The stored request a record names, or its key (possibly empty) when it is not ours."""
        try:
            name, bucket = record.event_name, record.s3.bucket.name
            key = unquote_plus(record.s3.get_object.key)  # S3 notifications URL-encode keys
        except (KeyError, TypeError, AttributeError):
            return ""
        if not name.startswith(_CREATED) or not key.startswith(self.prefix) or not key.endswith(".json"):
            return key
        return StoredRequest(bucket=bucket, key=key, prefix=self.prefix)
