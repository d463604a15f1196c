"""One small exception class per way a console action can be refused or fail.

Each carries a stable ``code`` (what tests and the audit log record) and a message an operator
can act on at 3 a.m.
"""
from __future__ import annotations

__all__ = [
    "ConsoleError",
    "InvalidFactor",
    "InvalidRate",
    "NotAStreamSource",
    "ConfirmationMismatch",
    "NotAnOperator",
    "NoSourceQueue",
    "UnsupportedRedrive",
    "TaskBusy",
    "NotResumable",
    "InvalidEdit",
    "NothingToResend",
]


class ConsoleError(Exception):
    """Base class: ``code`` is stable, ``str(err)`` is the message the operator sees."""

    code = "ConsoleError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidFactor(ConsoleError):
    """A parallelization factor outside 1..10 (the DynamoDB/Kinesis stream mapping limit)."""

    code = "InvalidParallelizationFactor"


class InvalidRate(ConsoleError):
    """A redrive rate outside 1..500 messages/s (StartMessageMoveTask's limit)."""

    code = "InvalidRedriveRate"


class NotAStreamSource(ConsoleError):
    """ParallelizationFactor only exists for stream event sources, never for SQS."""

    code = "NotAStreamSource"


class ConfirmationMismatch(ConsoleError):
    """In prod the operator must type the stage name; anything else means: do nothing."""

    code = "ConfirmationMismatch"


class NotAnOperator(ConsoleError):
    """The signed-in user is a read-only viewer of this stage."""

    code = "NotAnOperator"


class NoSourceQueue(ConsoleError):
    """The DLQ has no known source to redrive to."""

    code = "NoSourceQueue"


class UnsupportedRedrive(ConsoleError):
    """The message cannot be redriven the way that was asked (e.g. a malformed async event)."""

    code = "UnsupportedRedrive"


class TaskBusy(ConsoleError):
    """Another console (or runner) holds this bulk action's lease: it is running there."""

    code = "TaskBusy"


class NotResumable(ConsoleError):
    """The bulk action is finished, or of a kind that starts over instead (search, export)."""

    code = "NotResumable"


class InvalidEdit(ConsoleError):
    """An edited letter that breaks the job or event contract: nothing is sent, the original stays."""

    code = "InvalidEdit"


class NothingToResend(ConsoleError):
    """The message or its stored request cannot be found, so there is nothing to send again."""

    code = "NothingToResend"
