"""One small exception class per failure mode the handlers share."""
from __future__ import annotations

__all__ = ["RelayError", "RetryableError", "MissingPayload", "BadContent", "PermanentDeliveryError"]


class RelayError(Exception):
    """Base class of relay's own errors."""


class RetryableError(RelayError):
    """A transient problem: let the handler raise so Lambda / SQS retries it."""


class MissingPayload(RetryableError):
    """A ``{"$ref": "s3://…"}`` points at an object that is not (yet) there.

    Writes go S3-first, so a missing object is usually eventual consistency or a lost write;
    retrying is the right answer, and the message names the reference.
    """

    def __init__(self, ref: str, detail: str = "") -> None:
        self.ref = ref
        super().__init__(f"payload {ref} is missing" + (f": {detail}" if detail else "") + " (retryable)")


class BadContent(RelayError):
    """The request itself is wrong; retrying will not help (never raised out of a handler)."""


class PermanentDeliveryError(RelayError):
    """A provider refused the delivery for good (bad address, 4xx, refused by the address guard)."""
