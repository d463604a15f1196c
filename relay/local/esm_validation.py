"""AWS's rules for ``UpdateEventSourceMapping`` / ``CreateEventSourceMapping`` that moto does not check.

Pure: the emulator calls :func:`validate_esm_update` with the source kind and the request parameters and
turns a ``(code, message)`` into AWS's error response (HTTP 400).
"""
from __future__ import annotations

from typing import Any, Mapping

__all__ = ["validate_esm_update"]

_STREAM_KINDS = ("dynamodb", "kinesis")


def _constraint(value: Any, field: str, rule: str) -> tuple[str, str]:
    return ("ValidationException",
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {rule}")


def validate_esm_update(source_kind: str, params: Mapping[str, Any]) -> tuple[str, str] | None:
    """Return ``(error code, message)`` as AWS would refuse ``params``, or ``None`` if they are valid.

    Parameters
    ----------
    source_kind
        ``"sqs"``, ``"dynamodb"`` or ``"kinesis"`` (the service of the mapping's EventSourceArn).
    params
        The mapping's settings after the request (the request merged over the current values, so
        a BatchSize-only update still sees the stored ``MaximumBatchingWindowInSeconds``).
    """
    factor = params.get("ParallelizationFactor")
    if factor is not None:
        if int(factor) < 1:
            return _constraint(factor, "parallelizationFactor", "Member must have value greater than or equal to 1")
        if int(factor) > 10:
            return _constraint(factor, "parallelizationFactor", "Member must have value less than or equal to 10")
        if source_kind not in _STREAM_KINDS:
            return ("InvalidParameterValueException",
                    "Unsupported ParallelizationFactor parameter for given event source mapping type.")
    batch = params.get("BatchSize")
    if batch is not None:
        if int(batch) < 1:
            return _constraint(batch, "batchSize", "Member must have value greater than or equal to 1")
        if int(batch) > 10_000:
            return _constraint(batch, "batchSize", "Member must have value less than or equal to 10000")
        window = params.get("MaximumBatchingWindowInSeconds")
        if source_kind == "sqs" and int(batch) > 10 and not window:
            return ("InvalidParameterValueException",
                    "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
    retries = params.get("MaximumRetryAttempts")
    if retries is not None and source_kind in _STREAM_KINDS and not -1 <= int(retries) <= 10_000:
        return _constraint(retries, "maximumRetryAttempts", "Member must have value less than or equal to 10000")
    return None
